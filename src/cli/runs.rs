//! `status` and `down`.

use std::time::Duration;

use serde_json::json;

use crate::provision::Home;
use crate::provision::registry::{self, RunEntry};

pub fn status(home: &Home, json: bool) -> u8 {
    let runs = registry::list(home);
    if json {
        let list: Vec<_> = runs
            .iter()
            .map(|r| {
                json!({
                    "run_id": r.state.run_id,
                    "topology": r.state.topology,
                    "topology_file": r.state.topology_file,
                    "detached": r.state.detached,
                    "alive": r.alive,
                    "ready": r.state.ready,
                    "owner_pid": r.state.owner_pid,
                    "started_unix_ms": r.state.started_unix_ms,
                    "nodes": r.state.nodes,
                })
            })
            .collect();
        println!("{}", json!({ "runs": list }));
        return 0;
    }
    if runs.is_empty() {
        println!("no runs");
        return 0;
    }
    for r in &runs {
        println!(
            "run {} ({}) {}{}",
            r.state.run_id,
            r.state.topology,
            if r.alive { "up" } else { "dead (owner gone)" },
            if r.state.detached {
                ", detached"
            } else {
                ", foreground"
            }
        );
        super::up::print_nodes(&r.state.nodes);
    }
    0
}

pub fn down(home: &Home, run_id: Option<&str>) -> u8 {
    let runs = registry::list(home);
    let targets: Vec<&RunEntry> = match run_id {
        Some(id) => runs.iter().filter(|r| r.state.run_id == id).collect(),
        None => runs
            .iter()
            .filter(|r| r.state.detached || !r.alive)
            .collect(),
    };
    if let Some(id) = run_id
        && targets.is_empty()
    {
        eprintln!("error: no run called {id} (see `sessiondrill status`)");
        return 2;
    }
    let mut failed = false;
    for r in targets {
        match registry::stop(r, Duration::from_secs(5)) {
            Ok(()) => println!("stopped {}", r.state.run_id),
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    if failed { 1 } else { 0 }
}
