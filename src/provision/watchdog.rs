//! The mount watchdog: a small process that outlives a killed sessiondrill
//! just long enough to take its power-loss mounts down.
//!
//! Mounts are made with `auto_unmount`, so `fusermount3` unmounts them when
//! the FUSE server dies — usually. Measured here, after a SIGKILL of
//! sessiondrill about one run in three still left a dead mount ("Transport
//! endpoint is not connected") until the next `up` swept it: fusermount3's
//! helper wakes when the owner's socket is released and opens the mount to
//! check it is dead; when the owner's FUSE device is released a moment
//! later, that open fails with ECONNABORTED instead of ENOTCONN and the
//! helper leaves the mount (seen in tests/powerfs.rs). A run with
//! power-loss mounts therefore starts `sessiondrill __watchdog`: its own
//! process group, no parent-death signal, polling whether the owner (pid and
//! start time, so a reused pid does not fool it) is still alive. When the
//! owner is gone it lazily unmounts whatever FUSE mount is left under the
//! run directory, waits for the nodes to be gone, removes the directory
//! (unless it was kept) and exits. A normal teardown removes the directory
//! before it stops the watchdog (which sees it gone and leaves).
//!
//! With the Docker provider it also removes the run's containers: they are
//! the engine's children, so no parent-death signal reaches them.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use super::rundir::{KEPT_FILE, RunState, process_start_time};
use crate::fabric::powerfs;

/// How often the owner is looked at.
const POLL: Duration = Duration::from_millis(200);

/// How long the watchdog keeps trying to unmount and to see the nodes gone.
const CLEANUP_LIMIT: Duration = Duration::from_secs(30);

/// `sessiondrill __watchdog`.
#[derive(Debug, Args)]
pub struct WatchdogArgs {
    /// The sessiondrill process that owns the run.
    #[arg(long)]
    pub owner: u32,
    /// Its start time (field 22 of /proc/PID/stat).
    #[arg(long)]
    pub owner_start: u64,
    /// The run directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Leave the run directory in place (`--keep`).
    #[arg(long)]
    pub keep: bool,
    /// The run's nodes are containers (provider docker): remove them.
    #[arg(long)]
    pub containers: bool,
}

/// A running watchdog; dropping it stops it (the owner cleans up itself).
#[derive(Debug)]
pub struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Start `binary __watchdog` for this process and `run_dir`.
    pub fn start(
        binary: &Path,
        run_dir: &Path,
        keep: bool,
        containers: bool,
    ) -> io::Result<Watchdog> {
        use std::os::unix::process::CommandExt;
        let me = std::process::id();
        let start = process_start_time(me)
            .ok_or_else(|| io::Error::other("cannot read this process's start time"))?;
        let mut cmd = Command::new(binary);
        cmd.arg("__watchdog");
        if keep {
            cmd.arg("--keep");
        }
        if containers {
            cmd.arg("--containers");
        }
        let child = cmd
            .arg("--owner")
            .arg(me.to_string())
            .arg("--owner-start")
            .arg(start.to_string())
            .arg("--dir")
            .arg(run_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Not in our process group: a Ctrl-C in the terminal must not
            // stop it before it did its work.
            .process_group(0)
            .spawn()?;
        Ok(Watchdog { child })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The watchdog process's body; returns its exit code.
pub fn run(args: &WatchdogArgs) -> u8 {
    let alive = || process_start_time(args.owner) == Some(args.owner_start);
    // The run id is the directory's name (known before anything can remove
    // the directory).
    let run_id = args
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    while alive() && args.dir.exists() {
        std::thread::sleep(POLL);
    }
    if args.containers {
        remove_containers(&run_id);
    }
    if !args.dir.exists() {
        return 0;
    }
    let state = RunState::read(&args.dir).ok();
    let nodes: Vec<u32> = state
        .map(|s| s.nodes.iter().filter_map(|n| n.pid).collect())
        .unwrap_or_default();
    let deadline = Instant::now() + CLEANUP_LIMIT;
    let done =
        || no_mounts_under(&args.dir) && nodes.iter().all(|&p| process_start_time(p).is_none());
    while !done() && Instant::now() < deadline {
        powerfs::sweep_stale_mounts(&args.dir);
        std::thread::sleep(Duration::from_millis(50));
    }
    if !done() {
        return 1;
    }
    if args.keep {
        let _ = std::fs::write(args.dir.join(KEPT_FILE), b"");
    } else {
        let _ = std::fs::remove_dir_all(&args.dir);
    }
    0
}

/// Remove the run's containers, retrying while the engine does not answer.
fn remove_containers(run_id: &str) {
    let deadline = Instant::now() + CLEANUP_LIMIT;
    while Instant::now() < deadline {
        if let Ok(engine) = super::docker::Engine::connect() {
            super::docker::orphans::remove_run(&engine, run_id);
            if super::docker::orphans::of_run(&engine, run_id).is_ok_and(|left| left.is_empty()) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn no_mounts_under(dir: &Path) -> bool {
    powerfs::fuse_mounts_under(dir).is_empty()
}
