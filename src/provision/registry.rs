//! Runs on this machine, found through their state files: what `status`
//! lists and `down` stops.

use std::path::PathBuf;
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
        // A crashed run may have left power-loss mounts (normally gone with
        // AutoUnmount); never recurse into a live mount.
        crate::fabric::powerfs::sweep_stale_mounts(&r.dir);
        let _ = std::fs::remove_dir_all(&r.dir);
    }
    stale.len()
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
