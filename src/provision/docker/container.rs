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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
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
/// `<pid namespace>:<pid>:<start time>` of the owning sessiondrill.
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
    /// Bytes of the container's output already in the log file: Docker
    /// replays a restarted container's whole output, this much is skipped.
    logged: Arc<AtomicU64>,
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

/// How long Docker may take to record a container's end after its process
/// is gone.
const SETTLE: Duration = Duration::from_secs(5);

/// Start container `id` and return its main process's pid.
async fn start_and_inspect(d: &Docker, id: &str) -> Result<u32, bollard::errors::Error> {
    d.start_container(id, None).await?;
    let state = d
        .inspect_container(id, None)
        .await?
        .state
        .unwrap_or_default();
    Ok(state.pid.unwrap_or(0).max(0) as u32)
}

/// Whether container `id`'s main process `pid` is visible here as that
/// container's: sessiondrill watches, signals and shares files and loopback
/// with its containers, which needs the engine on this machine.
async fn on_this_machine(engine: &Engine, pid: u32, id: &str) -> bool {
    if pid == 0 {
        // Already ended: reported as a start-up failure, with its log.
        return true;
    }
    if let Ok(cgroup) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) {
        return cgroup.contains(id);
    }
    // No such process here: it ended meanwhile (fine, as above), or it
    // lives where this machine cannot see it.
    let id = id.to_string();
    let running = engine
        .run(move |d| async move { d.inspect_container(&id, None).await })
        .await
        .ok()
        .and_then(|r| r.ok())
        .and_then(|i| i.state)
        .and_then(|s| s.running);
    running != Some(true)
}

fn remove_options() -> RemoveContainerOptions {
    RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    }
}

impl Container {
    /// Create and start the container. Create and start run as one task on
    /// the engine: a container whose start fails, or whose caller has gone
    /// (bring-up cancelled), is removed there and then.
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
        let what = format!("starting container {} from {}", l.name, l.image);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let d = engine.docker();
        engine.spawn(async move {
            let id = match d.create_container(Some(opts), body).await {
                Ok(c) => c.id,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            let started = start_and_inspect(&d, &id).await;
            let failed = started.is_err();
            let answer = started
                .map(|pid| (id.clone(), pid))
                .map_err(|e| e.to_string());
            if tx.send(answer).is_err() || failed {
                let _ = d.remove_container(&id, Some(remove_options())).await;
            }
        });
        let (id, pid) = rx
            .await
            .map_err(|_| io_err(&what, "the Docker client runtime stopped"))?
            .map_err(|e| io_err(&what, e))?;
        if !on_this_machine(&engine, pid, &id).await {
            let _ = engine
                .run(move |d| async move { d.remove_container(&id, Some(remove_options())).await })
                .await;
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!(
                    "the Docker engine at {} runs its containers outside this machine's view \
                     (another PID namespace or a VM: Docker Desktop, or a socket mounted into a \
                     container). provider: docker needs an engine on this machine, sharing its \
                     processes, loopback and files (e.g. ./scripts/dockerd.sh start)",
                    engine.host
                ),
            ));
        }
        let mut c = Container {
            engine,
            id,
            pid,
            start: None,
            log: l.log,
            logged: Arc::new(AtomicU64::new(0)),
            follower: None,
            exited: None,
        };
        c.started(pid);
        Ok(c)
    }

    /// Record the new main process and follow the output.
    fn started(&mut self, pid: u32) {
        self.pid = pid;
        self.start = (pid != 0).then(|| process_start_time(pid)).flatten();
        self.exited = None;
        if let Some(old) = self.follower.take() {
            old.abort();
        }
        self.follower = Some(self.follow());
    }

    /// Append the container's stdout and stderr to its log file, skipping
    /// what an earlier run of the container already put there.
    fn follow(&self) -> tokio::task::JoinHandle<()> {
        let id = self.id.clone();
        let log = self.log.clone();
        let logged = self.logged.clone();
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
            // A broken stream is followed again (a few times), from where
            // the file left off.
            for _ in 0..3 {
                let opts = LogsOptions {
                    follow: true,
                    stdout: true,
                    stderr: true,
                    ..Default::default()
                };
                let mut skip = logged.load(Ordering::Relaxed);
                let mut stream = docker.logs(&id, Some(opts));
                let mut broken = false;
                while let Some(chunk) = stream.next().await {
                    let Ok(chunk) = chunk else {
                        broken = true;
                        break;
                    };
                    let bytes = chunk.into_bytes();
                    let n = bytes.len() as u64;
                    let from = skip.min(n) as usize;
                    skip -= from as u64;
                    if from < bytes.len() && file.write_all(&bytes[from..]).await.is_ok() {
                        logged.fetch_add(n - from as u64, Ordering::Relaxed);
                    }
                }
                let _ = file.flush().await;
                if !broken {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
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
        // The process is gone; Docker records the end a moment later.
        let deadline = Instant::now() + SETTLE;
        let code = loop {
            let id = self.id.clone();
            match self
                .engine
                .block(move |d| async move { d.inspect_container(&id, None).await })
            {
                Ok(i) => {
                    let state = i.state.unwrap_or_default();
                    if state.running != Some(true) {
                        break state.exit_code.unwrap_or(-1);
                    }
                }
                // Removed by someone else: it certainly ended.
                Err(e) if e.contains("404") => break -1,
                // The engine did not answer: nothing known, nothing cached.
                Err(_) => return None,
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // The log stream ends with the container; let it land first, so
        // that start-up errors show the container's last words.
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.follower.as_ref().is_some_and(|f| !f.is_finished()) && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.exited = Some(exit_status(code));
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

    /// `docker kill`, and wait until Docker has recorded the end (so that
    /// a restart right after finds the container stopped).
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
        let id = self.id.clone();
        let pid = self
            .engine
            .run(move |d| async move { start_and_inspect(&d, &id).await })
            .await
            .map_err(|e| io_err(&format!("starting container {}", self.id), e))?
            .map_err(|e| io_err(&format!("starting container {}", self.id), e))?;
        self.started(pid);
        Ok(())
    }
}

/// Docker's exit code as a process status: 128+N is death by signal N.
fn exit_status(code: i64) -> ExitStatus {
    match code {
        129..=192 => ExitStatus::from_raw((code - 128) as i32),
        c => ExitStatus::from_raw(((c & 0xff) as i32) << 8),
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
        let removed = self
            .engine
            .block(move |d| async move { d.remove_container(&id, Some(remove_options())).await });
        if let Err(e) = removed {
            tracing::warn!(container = %self.id, "removing the container: {e}");
        }
        if let Some(f) = self.follower.take() {
            f.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signal_deaths_read_as_signals() {
        let killed = super::exit_status(137);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&killed),
            Some(9)
        );
        assert_eq!(super::exit_status(3).code(), Some(3));
        assert_eq!(super::exit_status(0).code(), Some(0));
    }
}
