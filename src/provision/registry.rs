//! Runs on this machine, found through their state files: what `status`
//! lists and `down` stops.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::rundir::{Home, RunState, process_start_time};

#[derive(Debug, Clone)]
pub struct RunEntry {
    pub state: RunState,
    pub dir: PathBuf,
    pub alive: bool,
}

/// Every run with a readable state file, oldest first.
pub fn list(home: &Home) -> Vec<RunEntry> {
    let Ok(dirs) = std::fs::read_dir(home.runs()) else {
        return Vec::new();
    };
    let mut runs: Vec<RunEntry> = dirs
        .flatten()
        .filter_map(|d| {
            let dir = d.path();
            let state = RunState::read(&dir).ok()?;
            let alive = state.owner_alive();
            Some(RunEntry { state, dir, alive })
        })
        .collect();
    runs.sort_by_key(|r| r.state.started_unix_ms);
    runs
}

/// Remove the directories of runs whose owner is gone (killed with
/// SIGKILL, machine rebooted). Their processes died with the owner.
pub fn sweep_stale(home: &Home) -> usize {
    let stale: Vec<RunEntry> = list(home)
        .into_iter()
        .filter(|r| !r.alive && !r.dir.join(super::rundir::KEPT_FILE).exists())
        .collect();
    for r in &stale {
        tracing::debug!(run = %r.state.run_id, "removing the directory of a dead run");
        remove_run_dir(&r.dir);
    }
    // A directory whose state file is gone (the machine died before it was
    // written, someone deleted it) names no owner: removed once it is an
    // hour old, so an `up` starting right now keeps its own.
    let orphans: Vec<PathBuf> = std::fs::read_dir(home.runs())
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path())
        .filter(|d| {
            d.is_dir()
                && !d.join(super::rundir::STATE_FILE).exists()
                && !d.join(super::rundir::KEPT_FILE).exists()
                && std::fs::metadata(d)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > ORPHAN_AGE))
        })
        .collect();
    for d in &orphans {
        tracing::debug!(dir = %d.display(), "removing a run directory without a state file");
        remove_run_dir(d);
    }
    stale.len() + orphans.len()
}

/// How old a run directory without a state file must be to be removed.
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Remove a dead run's directory: its power-loss mounts first (normally
/// gone with auto-unmount; never recurse into a live mount), and say so
/// when it cannot be removed.
fn remove_run_dir(dir: &Path) {
    crate::fabric::powerfs::sweep_stale_mounts(dir);
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!("cannot remove {}: {e}", dir.display());
    }
}

/// Stop a run: SIGTERM its owner (which tears the nodes down), SIGKILL it
/// after `grace`, then wait for every node process to be gone.
pub fn stop(run: &RunEntry, grace: Duration) -> Result<(), String> {
    if run.alive {
        let owner = Pid::from_raw(run.state.owner_pid as i32);
        let _ = kill(owner, Signal::SIGTERM);
        if !wait(grace, || !run.state.owner_alive()) {
            let _ = kill(owner, Signal::SIGKILL);
            wait(Duration::from_secs(2), || !run.state.owner_alive());
        }
    }
    let pids: Vec<u32> = run.state.nodes.iter().filter_map(|n| n.pid).collect();
    if !wait(Duration::from_secs(3), || {
        pids.iter().all(|&p| process_start_time(p).is_none())
    }) {
        return Err(format!(
            "processes of run {} are still alive: {pids:?}",
            run.state.run_id
        ));
    }
    let _ = std::fs::remove_dir_all(&run.dir);
    Ok(())
}

fn wait(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}
