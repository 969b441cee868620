//! Starts node processes so that they die with sessiondrill.
//!
//! Each child asks the kernel for SIGKILL when its parent *thread* exits
//! (`PR_SET_PDEATHSIG`). Children are therefore forked from one dedicated
//! thread that lives exactly as long as the [`Spawner`]: when sessiondrill
//! exits, panics, or is SIGKILLed, that thread is gone and every node with it.
//! (Forking from tokio's blocking pool would kill nodes whenever an idle pool
//! thread retires.)
//!
//! With the Docker provider the spawner starts each process as a container
//! instead ([`InContainers`]); those die with sessiondrill through its
//! teardown, or its watchdog when it was killed.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::getppid;

use super::docker::{self, Engine, Family};
use super::process::ManagedProcess;

/// Everything needed to start (and later restart) a node process.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    /// stdout and stderr are appended here.
    pub log: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// The image its node names (`image:`), for the Docker provider.
    pub image: Option<String>,
}

impl SpawnSpec {
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>, log: PathBuf) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            log,
            env: Vec::new(),
            image: None,
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
}

type Job = (
    SpawnSpec,
    tokio::sync::oneshot::Sender<io::Result<Unclaimed>>,
);

/// A child on its way from the spawner thread to its [`ManagedProcess`]:
/// killed (and reaped) if nobody takes it — a bring-up cancelled while the
/// child started (a dashboard whose terminal hung up during `up`) would
/// otherwise leave it running, unowned, until sessiondrill itself died.
struct Unclaimed(Option<Child>);

impl Unclaimed {
    fn take(mut self) -> io::Result<Child> {
        self.0
            .take()
            .ok_or_else(|| io::Error::other("the child was already taken"))
    }
}

impl Drop for Unclaimed {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub struct Spawner {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    containers: Option<InContainers>,
}

/// How the Docker provider runs node processes.
pub struct InContainers {
    pub engine: Arc<Engine>,
    pub run_id: String,
    /// The run directory, bind-mounted into every container.
    pub bind: PathBuf,
    pub node_binary: PathBuf,
    /// The image of each family, per image a node names (`None`: default).
    pub images: HashMap<(Family, Option<String>), String>,
}

impl Spawner {
    pub fn new() -> io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sessiondrill-spawner".into())
            .spawn(move || {
                for (spec, reply) in rx {
                    // Not received (the bring-up was cancelled): the
                    // child is dropped here, and killed.
                    let _ = reply.send(spawn_now(&spec).map(|c| Unclaimed(Some(c))));
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
            containers: None,
        })
    }

    /// Start node processes as containers from now on.
    pub fn with_containers(mut self, c: InContainers) -> Self {
        self.containers = Some(c);
        self
    }

    /// The engine, when processes run as containers.
    pub fn engine(&self) -> Option<&Arc<Engine>> {
        self.containers.as_ref().map(|c| &c.engine)
    }

    /// Start process `name` of the run: a child, or a container.
    pub async fn start(&self, name: &str, spec: SpawnSpec) -> io::Result<ManagedProcess> {
        let Some(c) = &self.containers else {
            let child = self.spawn_local(spec.clone()).await?;
            return Ok(ManagedProcess::new(child, spec));
        };
        let family = Family::of(&spec.program, &c.node_binary).ok_or_else(|| {
            io::Error::other(format!(
                "no container image runs {}",
                spec.program.display()
            ))
        })?;
        let image = c
            .images
            .get(&(family, spec.image.clone()))
            .cloned()
            .ok_or_else(|| io::Error::other(format!("no {} image resolved", family.name())))?;
        let launch = docker::Launch {
            name: container_name(&c.run_id, name),
            image,
            entrypoint: family.entrypoint(&spec.program),
            args: spec
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            cwd: spec.cwd.clone(),
            env: spec
                .env
                .iter()
                .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
                .collect(),
            bind: c.bind.clone(),
            labels: vec![
                (docker::container::LABEL_RUN.into(), c.run_id.clone()),
                (docker::container::LABEL_OWNER.into(), docker::orphans::me()),
            ],
            log: spec.log.clone(),
        };
        let container = docker::Container::run(c.engine.clone(), launch).await?;
        Ok(ManagedProcess::in_container(container, spec))
    }

    /// Start `spec` as a child, from the spawner thread.
    pub async fn spawn_local(&self, spec: SpawnSpec) -> io::Result<Child> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .as_ref()
            .and_then(|tx| tx.send((spec, reply)).ok())
            .ok_or_else(|| io::Error::other("spawner thread has stopped"))?;
        rx.await
            .map_err(|_| io::Error::other("spawner thread has stopped"))??
            .take()
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        // Containers die with their handles; any whose handle never came
        // back (a bring-up that failed or was cancelled half way) go here.
        if let Some(c) = &self.containers {
            let left = docker::orphans::remove_run(&c.engine, &c.run_id);
            if left > 0 {
                tracing::debug!(left, "removed containers of an unfinished bring-up");
            }
        }
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `sd-<run>-<process>`, in the characters Docker allows in names.
fn container_name(run_id: &str, process: &str) -> String {
    format!("sd-{run_id}-{process}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn spawn_now(spec: &SpawnSpec) -> io::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&spec.log)?;
    let parent = std::process::id();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        // Own process group: a Ctrl-C in the terminal reaches sessiondrill,
        // which tears nodes down in order, not every node at once.
        .process_group(0);
    // SAFETY: only async-signal-safe calls (prctl, getppid, umask) between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // What a node writes (its data, its AOF) is for this user only.
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
            prctl::set_pdeathsig(Signal::SIGKILL)?;
            // The parent may have died between fork and prctl.
            if getppid().as_raw() as u32 != parent {
                return Err(io::Error::other("parent exited during spawn"));
            }
            Ok(())
        });
    }
    cmd.spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The processes whose working directory is `dir`.
    fn running_in(dir: &std::path::Path) -> Vec<i32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c == dir))
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// A bring-up cancelled while its child starts: the reply is never
    /// received, and the child must not outlive that.
    #[test]
    fn a_child_nobody_takes_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().canonicalize().unwrap();
        // A process of its own: found by its working directory.
        let spec = SpawnSpec::new("/bin/sleep", &cwd, cwd.join("log")).arg("60");
        let spawner = Spawner::new().unwrap();
        let tx = spawner.tx.as_ref().unwrap();
        // Taken: it runs (the test can see one), until killed.
        let (reply, rx) = tokio::sync::oneshot::channel();
        tx.send((spec.clone(), reply)).unwrap();
        let mut taken = rx.blocking_recv().unwrap().unwrap().take().unwrap();
        assert_eq!(running_in(&cwd), vec![taken.id() as i32]);
        taken.kill().unwrap();
        taken.wait().unwrap();
        // Not taken: killed and reaped by the time the spawner answers the
        // next job (jobs are handled in order). The spawner stays: its
        // thread's end would kill the child anyway (PR_SET_PDEATHSIG).
        let (reply, rx) = tokio::sync::oneshot::channel();
        drop(rx);
        tx.send((spec.clone(), reply)).unwrap();
        let (reply, rx) = tokio::sync::oneshot::channel();
        let probe = SpawnSpec::new("/bin/true", dir.path(), dir.path().join("log"));
        tx.send((probe, reply)).unwrap();
        rx.blocking_recv()
            .unwrap()
            .unwrap()
            .take()
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(running_in(&cwd), Vec::<i32>::new());
        drop(spawner);
    }
}
