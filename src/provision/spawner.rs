//! Starts node processes so that they die with sessiondrill.
//!
//! Each child asks the kernel for SIGKILL when its parent *thread* exits
//! (`PR_SET_PDEATHSIG`). Children are therefore forked from one dedicated
//! thread that lives exactly as long as the [`Spawner`]: when sessiondrill
//! exits, panics, or is SIGKILLed, that thread is gone and every node with it.
//! (Forking from tokio's blocking pool would kill nodes whenever an idle pool
//! thread retires.)

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::getppid;

/// Everything needed to start (and later restart) a node process.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    /// stdout and stderr are appended here.
    pub log: PathBuf,
    pub env: Vec<(OsString, OsString)>,
}

impl SpawnSpec {
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>, log: PathBuf) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            log,
            env: Vec::new(),
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
}

type Job = (SpawnSpec, tokio::sync::oneshot::Sender<io::Result<Child>>);

pub struct Spawner {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Spawner {
    pub fn new() -> io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sessiondrill-spawner".into())
            .spawn(move || {
                for (spec, reply) in rx {
                    let _ = reply.send(spawn_now(&spec));
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Start `spec` from the spawner thread.
    pub async fn spawn(&self, spec: SpawnSpec) -> io::Result<Child> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .as_ref()
            .and_then(|tx| tx.send((spec, reply)).ok())
            .ok_or_else(|| io::Error::other("spawner thread has stopped"))?;
        rx.await
            .map_err(|_| io::Error::other("spawner thread has stopped"))?
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn spawn_now(spec: &SpawnSpec) -> io::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
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
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
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
