//! One node process running as a container: started from the same command
//! line the process provider would run, with the same faults.
//!
//! Containers share the host's network namespace (`--network host`): each
//! node listens on the same 127.0.0.1 port it would as a process, so
//! Sentinel's and the cluster's announced addresses, the link proxies and
//! every client work unchanged, and nothing is published beyond loopback.
//! Everything else is the container's own: filesystem (the image), process
//! namespace, cgroup. Only the run directory is bind-mounted, at its own
//! path (config, data — the power-loss filesystem included — and logs).
//!
//! Fault mapping: SIGKILL → `docker kill`, SIGSTOP/SIGCONT → `docker
//! pause`/`unpause` (the cgroup freezer), restart → `docker start` of the
//! same container (same data, same port).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, LogsOptions, RemoveContainerOptions,
};
use futures::StreamExt;
use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;

use super::engine::Engine;
use crate::provision::rundir::process_start_time;

/// Labels on every container: whose it is, so that a watchdog or the next
/// run can remove the containers of a sessiondrill that was killed.
pub const LABEL_RUN: &str = "io.sessiondrill.run";
/// `<pid>:<start time>` of the owning sessiondrill.
pub const LABEL_OWNER: &str = "io.sessiondrill.owner";

/// What to run.
#[derive(Debug, Clone)]
pub struct Launch {
    pub name: String,
    pub image: String,
    pub entrypoint: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<String>,
    /// Bind-mounted at the same path.
    pub bind: PathBuf,
    pub labels: Vec<(String, String)>,
    /// Where the container's output is appended.
    pub log: PathBuf,
}

pub struct Container {
    engine: Arc<Engine>,
    pub id: String,
    /// The main process's pid on this machine, and its start time.
    pid: u32,
    start: Option<u64>,
    log: PathBuf,
    follower: Option<tokio::task::JoinHandle<()>>,
    exited: Option<ExitStatus>,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("id", &self.id)
            .field("pid", &self.pid)
            .finish()
    }
}

fn io_err(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

impl Container {
    /// Create and start the container.
    pub async fn run(engine: Arc<Engine>, l: Launch) -> std::io::Result<Container> {
        let uid = nix::unistd::getuid();
        let gid = nix::unistd::getgid();
        let bind = l.bind.display().to_string();
        let body = ContainerCreateBody {
            image: Some(l.image.clone()),
            entrypoint: Some(vec![l.entrypoint.clone()]),
            cmd: Some(l.args.clone()),
            working_dir: Some(l.cwd.display().to_string()),
            env: Some(l.env.clone()),
            // Files in the run directory stay ours (and removable).
            user: Some(format!("{uid}:{gid}")),
            labels: Some(l.labels.iter().cloned().collect()),
            host_config: Some(HostConfig {
                network_mode: Some("host".into()),
                binds: Some(vec![format!("{bind}:{bind}")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(l.name.clone()),
            ..Default::default()
        };
        let what = format!("creating container {} from {}", l.name, l.image);
        let id = engine
            .run(move |d| async move { d.create_container(Some(opts), body).await })
            .await
            .map_err(|e| io_err(&what, e))?
            .id;
        let mut c = Container {
            engine,
            id,
            pid: 0,
            start: None,
            log: l.log,
            follower: None,
            exited: None,
        };
        c.start(0).await?;
        Ok(c)
    }

    /// Start the (created or stopped) container and follow its output.
    async fn start(&mut self, since: i32) -> std::io::Result<()> {
        let id = self.id.clone();
        let state = self
            .engine
            .run(move |d| async move {
                d.start_container(&id, None).await?;
                d.inspect_container(&id, None).await
            })
            .await
            .map_err(|e| io_err(&format!("starting container {}", self.id), e))?
            .state
            .unwrap_or_default();
        self.pid = state.pid.unwrap_or(0).max(0) as u32;
        self.start = (self.pid != 0)
            .then(|| process_start_time(self.pid))
            .flatten();
        self.exited = None;
        self.follower = Some(self.follow(since));
        Ok(())
    }

    /// Append the container's stdout and stderr to its log file.
    fn follow(&self, since: i32) -> tokio::task::JoinHandle<()> {
        let id = self.id.clone();
        let log = self.log.clone();
        let docker = self.engine.docker();
        self.engine.spawn(async move {
            let Ok(mut file) = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .await
            else {
                return;
            };
            let opts = LogsOptions {
                follow: true,
                stdout: true,
                stderr: true,
                since,
                ..Default::default()
            };
            let mut stream = docker.logs(&id, Some(opts));
            while let Some(Ok(chunk)) = stream.next().await {
                let _ = file.write_all(&chunk.into_bytes()).await;
            }
            let _ = file.flush().await;
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn process_alive(&self) -> bool {
        self.pid != 0 && self.start.is_some() && process_start_time(self.pid) == self.start
    }

    /// `None` while running (or paused); the exit status once it ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_some() {
            return self.exited;
        }
        if self.process_alive() {
            return None;
        }
        let id = self.id.clone();
        let state = self
            .engine
            .block(move |d| async move { d.inspect_container(&id, None).await })
            .ok()
            .and_then(|i| i.state);
        if state.as_ref().and_then(|s| s.running) == Some(true) {
            // Started again meanwhile (not by us): not our process to judge.
            return None;
        }
        let code = state.and_then(|s| s.exit_code).unwrap_or(-1);
        // The log stream ends with the container; let it land first, so
        // that start-up errors show the container's last words.
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.follower.as_ref().is_some_and(|f| !f.is_finished()) && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let status = ExitStatus::from_raw(((code & 0xff) as i32) << 8);
        self.exited = Some(status);
        self.exited
    }

    /// Deliver `sig` the container way: KILL → kill, STOP → pause,
    /// CONT → unpause, anything else → kill with that signal.
    pub fn signal(&mut self, sig: Signal) -> Result<(), String> {
        let id = self.id.clone();
        let r = match sig {
            Signal::SIGSTOP => self
                .engine
                .block(move |d| async move { d.pause_container(&id).await }),
            Signal::SIGCONT => self
                .engine
                .block(move |d| async move { d.unpause_container(&id).await }),
            _ => {
                let opts = KillContainerOptions {
                    signal: sig.as_str().to_string(),
                };
                self.engine
                    .block(move |d| async move { d.kill_container(&id, Some(opts)).await })
            }
        };
        r.map_err(|e| format!("docker {}: {e}", verb(sig)))
    }

    /// `docker kill` and wait until the process is gone.
    pub fn kill_now(&mut self) {
        if self.exit_status().is_some() {
            return;
        }
        let _ = self.signal(Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.process_alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.exit_status();
    }

    /// Start the stopped container again: same data, same port.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        if self.exit_status().is_none() {
            return Err(std::io::Error::other("still running"));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i32);
        self.start(now).await
    }
}

fn verb(sig: Signal) -> &'static str {
    match sig {
        Signal::SIGSTOP => "pause",
        Signal::SIGCONT => "unpause",
        _ => "kill",
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let id = self.id.clone();
        let opts = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let removed = self
            .engine
            .block(move |d| async move { d.remove_container(&id, Some(opts)).await });
        if let Err(e) = removed {
            tracing::warn!(container = %self.id, "removing the container: {e}");
        }
        if let Some(f) = self.follower.take() {
            f.abort();
        }
    }
}
