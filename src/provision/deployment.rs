//! A running topology ([`Deployment`]) and what `up` is asked for
//! ([`UpOptions`]).

use std::time::Duration;

use super::spawner::Spawner;
use super::{Home, ProcessHandle, ProcessInfo, RunDir, RunState, watchdog};
use crate::topology::Topology;

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub home: Home,
    /// Per-process readiness timeout.
    pub ready_timeout: Duration,
    /// Recorded in the state file: the run was started with `--detach`.
    pub detached: bool,
    /// Keep the run directory after teardown (logs, data) for inspection.
    pub keep: bool,
    /// The sessiondrill binary that runs node subcommands (the embedded
    /// DynamoDB node). Defaults to `$SESSIONDRILL_BIN`, else this executable;
    /// tests point it at the built `sessiondrill`.
    pub node_binary: Option<std::path::PathBuf>,
    /// Mount every data directory on the power-loss filesystem, so that the
    /// `power-loss` fault can drop what was not fsynced.
    pub power_loss_fs: bool,
    /// Put a link proxy in front of every client-facing node (standalone
    /// Redis, memcached, DynamoDB), so link faults can act on client traffic.
    pub proxies: bool,
    /// The command line said `--external`: nodes sessiondrill does not run
    /// may be drilled.
    pub external: bool,
}

impl UpOptions {
    pub fn new(home: Home) -> Self {
        Self {
            home,
            ready_timeout: Duration::from_secs(15),
            detached: false,
            keep: false,
            node_binary: None,
            power_loss_fs: false,
            proxies: false,
            external: false,
        }
    }
}

/// A running topology. Dropping it tears everything down.
pub struct Deployment {
    // Field order is drop order: processes (and their mounts), then the
    // spawner thread, then the run directory, then the watchdog. The
    // watchdog goes last: a SIGKILL while the directory was being removed,
    // after the watchdog had been stopped, left the directory (1 in 100
    // Docker crash cycles); it leaves by itself once the directory is gone.
    pub nodes: Vec<ProcessHandle>,
    pub(super) spawner: Spawner,
    pub run: RunDir,
    /// Held for its `Drop`: stopped once the nodes, mounts and directory
    /// are gone.
    pub(super) _watchdog: Option<watchdog::Watchdog>,
    pub topology: Topology,
    /// Time from the start of `up` until every node answered.
    pub ready_in: Duration,
    pub(super) state: RunState,
}

impl Deployment {
    /// The name `group`'s Sentinels know its primary by: the group's own
    /// for ours, `external.master` for a node sessiondrill does not run.
    pub fn master_name<'a>(&'a self, group: &'a str) -> &'a str {
        self.topology
            .nodes
            .iter()
            .find(|n| n.name == group)
            .and_then(|n| n.external.as_ref())
            .and_then(|e| e.master.as_deref())
            .unwrap_or(group)
    }

    pub fn run_id(&self) -> &str {
        &self.run.id
    }

    pub fn infos(&self) -> Vec<ProcessInfo> {
        self.nodes.iter().map(|n| n.info.clone()).collect()
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn node(&self, name: &str) -> Option<&ProcessHandle> {
        self.nodes.iter().find(|n| n.info.name == name)
    }

    /// The spawner, for restarting node processes (faults).
    pub fn spawner(&self) -> &Spawner {
        &self.spawner
    }

    /// The nodes (mutable) and the spawner at once, for restarts.
    pub fn nodes_and_spawner(&mut self) -> (&mut Vec<ProcessHandle>, &Spawner) {
        (&mut self.nodes, &self.spawner)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // Signal every process first so they die in parallel; the handles'
        // own drops then reap them.
        // A process already reaped (killed by a fault) is not signalled:
        // its pid may belong to someone else by now.
        // Containers are force-removed (killed) by their handles' drops.
        for n in &mut self.nodes {
            if let Some(p) = &mut n.process
                && p.container_id().is_none()
                && p.exit_status().is_none()
            {
                let _ = p.signal(nix::sys::signal::Signal::SIGKILL);
            }
        }
        self.nodes.clear();
        tracing::debug!(run = %self.run.id, "torn down");
    }
}
