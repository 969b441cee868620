//! Process faults: `kill` (SIGKILL), `restart` (same port, same data),
//! `pause`/`resume` (SIGSTOP/SIGCONT). In a container (provider docker):
//! `docker kill`, `docker start`, `docker pause`/`unpause`.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::provision::spawner::Spawner;
use crate::provision::{Deployment, ManagedProcess, ProcessHandle, health};

/// How long a restarted process may take to answer (Redis replays its AOF).
pub const RESTART_TIMEOUT: Duration = Duration::from_secs(30);

fn process(node: &mut ProcessHandle) -> Result<&mut ManagedProcess, String> {
    node.process
        .as_mut()
        .ok_or_else(|| format!("{} is not a process of this run", node.info.name))
}

/// SIGKILL and reap. Killing a dead process is not an error.
pub fn kill(node: &mut ProcessHandle) -> Result<(), String> {
    process(node)?.kill_now();
    Ok(())
}

pub fn is_running(node: &mut ProcessHandle) -> bool {
    node.process
        .as_mut()
        .is_some_and(|p| p.exit_status().is_none())
}

/// Start the process again from its original command line (same port, same
/// data directory) and wait until it answers. Returns the time that took.
pub async fn start_again(node: &mut ProcessHandle, spawner: &Spawner) -> Result<Duration, String> {
    let name = node.info.name.clone();
    if is_running(node) {
        return Err(format!("{name} is still running"));
    }
    let p = process(node)?;
    p.restart(spawner)
        .await
        .map_err(|e| format!("restarting {name}: {e}"))?;
    node.info.pid = Some(p.pid());
    health::wait(node, RESTART_TIMEOUT)
        .await
        .map_err(|e| format!("{name} restarted but does not answer: {e}"))
}

/// Start process `i` of `dep` again (the heal of a kill or a power loss).
pub async fn restart_in(dep: &mut Deployment, i: usize) -> Result<String, String> {
    let (nodes, spawner) = dep.nodes_and_spawner();
    start_again(&mut nodes[i], spawner)
        .await
        .map(|t| format!("restarted, answered after {} ms", t.as_millis()))
}

/// How `sig` reaches `nodes` — what the timeline says was done:
/// `SIGKILL a, b` for processes, `docker kill a, b` for containers.
pub fn how(nodes: &[&ProcessHandle], sig: Signal) -> String {
    let names: Vec<&str> = nodes.iter().map(|n| n.info.name.as_str()).collect();
    let in_containers = nodes.iter().any(|n| {
        n.process
            .as_ref()
            .is_some_and(|p| p.container_id().is_some())
    });
    let verb = match (in_containers, sig) {
        (false, s) => s.as_str(),
        (true, Signal::SIGSTOP) => "docker pause",
        (true, Signal::SIGCONT) => "docker unpause",
        (true, _) => "docker kill",
    };
    format!("{verb} {}", names.join(", "))
}

pub fn pause(node: &mut ProcessHandle) -> Result<(), String> {
    signal(node, Signal::SIGSTOP)
}

pub fn resume(node: &mut ProcessHandle) -> Result<(), String> {
    signal(node, Signal::SIGCONT)
}

fn signal(node: &mut ProcessHandle, sig: Signal) -> Result<(), String> {
    let name = node.info.name.clone();
    let p = process(node)?;
    if p.exit_status().is_some() {
        return Err(format!("{name} is not running"));
    }
    p.signal(sig).map_err(|e| format!("{sig} to {name}: {e}"))
}
