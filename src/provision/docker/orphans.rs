//! Containers whose sessiondrill is gone. Node processes die with their
//! owner through the kernel (`PR_SET_PDEATHSIG`); containers are children
//! of the engine, so a killed sessiondrill's containers are removed by its
//! watchdog, or else by the next run that finds them.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};

use super::container::{LABEL_OWNER, LABEL_RUN};
use super::engine::Engine;
use crate::provision::rundir::process_start_time;

/// This process's PID namespace (the inode of /proc/self/ns/pid).
fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|l| {
            l.to_string_lossy()
                .chars()
                .filter(char::is_ascii_digit)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether owner label `<pid namespace>:<pid>:<start>` may name a live
/// process. An owner in another PID namespace (sessiondrill in a container,
/// sharing the engine) cannot be judged from here, so it counts as alive.
fn owner_alive(owner: &str) -> bool {
    let parts: Vec<&str> = owner.split(':').collect();
    let [ns, pid, start] = parts[..] else {
        return false;
    };
    if ns != pid_namespace() {
        return true;
    }
    match (pid.parse::<u32>(), start.parse::<u64>()) {
        (Ok(pid), Ok(start)) => process_start_time(pid) == Some(start),
        _ => false,
    }
}

/// The owner label of this process.
pub fn me() -> String {
    let pid = std::process::id();
    format!(
        "{}:{pid}:{}",
        pid_namespace(),
        process_start_time(pid).unwrap_or(0)
    )
}

/// The pid in an owner label.
fn owner_pid(owner: &str) -> Option<u32> {
    owner.split(':').nth(1)?.parse().ok()
}

/// Remove every container labelled `key=value`, or (with `value` `None`)
/// carrying `key` with an owner that is gone. Returns how many went.
fn remove_where(engine: &Engine, key: &str, value: Option<&str>) -> usize {
    let filter = match value {
        Some(v) => format!("{key}={v}"),
        None => key.to_string(),
    };
    let opts = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([("label".to_string(), vec![filter])])),
        ..Default::default()
    };
    let Ok(listed) = engine.block(move |d| async move { d.list_containers(Some(opts)).await })
    else {
        return 0;
    };
    let doomed: Vec<String> = listed
        .into_iter()
        .filter(|c| {
            value.is_some()
                || !c
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_OWNER))
                    .is_some_and(|o| owner_alive(o))
        })
        .filter_map(|c| c.id)
        .collect();
    let n = doomed.len();
    for id in doomed {
        let opts = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let _ = engine.block(move |d| async move { d.remove_container(&id, Some(opts)).await });
    }
    n
}

/// The containers of run `run_id` (ids), running or not.
pub fn of_run(engine: &Engine, run_id: &str) -> Result<Vec<String>, String> {
    let opts = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_RUN}={run_id}")],
        )])),
        ..Default::default()
    };
    engine
        .block(move |d| async move { d.list_containers(Some(opts)).await })
        .map(|cs| cs.into_iter().filter_map(|c| c.id).collect())
}

/// The containers started by the sessiondrill process `pid` (ids).
pub fn of_owner(engine: &Engine, pid: u32) -> Result<Vec<String>, String> {
    let opts = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![LABEL_OWNER.to_string()],
        )])),
        ..Default::default()
    };
    engine
        .block(move |d| async move { d.list_containers(Some(opts)).await })
        .map(|cs| {
            cs.into_iter()
                .filter(|c| {
                    c.labels
                        .as_ref()
                        .and_then(|l| l.get(LABEL_OWNER))
                        .is_some_and(|o| owner_pid(o) == Some(pid))
                })
                .filter_map(|c| c.id)
                .collect()
        })
}

/// Remove the containers of run `run_id` (its owner is gone).
pub fn remove_run(engine: &Engine, run_id: &str) -> usize {
    remove_where(engine, LABEL_RUN, Some(run_id))
}

/// Remove the containers of every sessiondrill that is no longer running.
pub fn sweep(engine: &Engine) -> usize {
    remove_where(engine, LABEL_OWNER, None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn owners() {
        let me = super::me();
        assert!(super::owner_alive(&me));
        assert_eq!(super::owner_pid(&me), Some(std::process::id()));
        let ns = super::pid_namespace();
        assert!(!ns.is_empty());
        assert!(!super::owner_alive(&format!("{ns}:4194305:1")));
        // Another namespace's owner is not ours to declare dead.
        assert!(super::owner_alive("1:4194305:1"));
        assert!(!super::owner_alive("garbage"));
    }
}
