//! Containers whose sessiondrill is gone. Node processes die with their
//! owner through the kernel (`PR_SET_PDEATHSIG`); containers are children
//! of the engine, so a killed sessiondrill's containers are removed by its
//! watchdog, or else by the next run that finds them.

use std::collections::HashMap;

use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};

use super::container::{LABEL_OWNER, LABEL_RUN};
use super::engine::Engine;
use crate::provision::rundir::process_start_time;

/// Whether `<pid>:<start>` names a live process.
fn owner_alive(owner: &str) -> bool {
    let Some((pid, start)) = owner.split_once(':') else {
        return false;
    };
    match (pid.parse::<u32>(), start.parse::<u64>()) {
        (Ok(pid), Ok(start)) => process_start_time(pid) == Some(start),
        _ => false,
    }
}

/// The owner label of this process.
pub fn me() -> String {
    let pid = std::process::id();
    format!("{pid}:{}", process_start_time(pid).unwrap_or(0))
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
    let prefix = format!("{pid}:");
    engine
        .block(move |d| async move { d.list_containers(Some(opts)).await })
        .map(|cs| {
            cs.into_iter()
                .filter(|c| {
                    c.labels
                        .as_ref()
                        .and_then(|l| l.get(LABEL_OWNER))
                        .is_some_and(|o| o.starts_with(&prefix))
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
        assert!(super::owner_alive(&super::me()));
        assert!(!super::owner_alive("4194305:1"));
        assert!(!super::owner_alive("garbage"));
    }
}
