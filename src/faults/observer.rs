//! Watches the deployment while a run lasts and emits what it sees: a node
//! going down or coming back, a replica promoted (worded as ElastiCache
//! reports it), a cluster's state changing. Polls every [`EVERY`] with its
//! own short connections; never takes the deployment lock.

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::target::role_at;
use crate::events::EventLog;
use crate::provision::redis::probe::{RedisProbe, info_field};
use crate::provision::{Deployment, NodeInfo, health};

pub const EVERY: Duration = Duration::from_millis(100);

/// What the observer needs of a process; ports do not change on restart.
#[derive(Debug, Clone)]
struct Watched {
    name: String,
    group: String,
    kind: String,
    role: String,
    port: u16,
    password: String,
    info: NodeInfo,
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Up(Option<String>),
    Down,
}

/// Start observing; stops when `stop` is cancelled.
pub fn spawn(
    dep: &Deployment,
    events: EventLog,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let watched: Vec<Watched> = dep
        .nodes
        .iter()
        .filter(|n| n.process.is_some())
        .map(|n| Watched {
            name: n.info.name.clone(),
            group: n.info.group.clone(),
            kind: n.info.kind.clone(),
            role: n.info.role.clone(),
            port: n.info.port,
            password: n.password.clone().unwrap_or_default(),
            info: n.info.clone(),
        })
        .collect();
    tokio::spawn(async move {
        let mut last: Vec<Seen> = Vec::new();
        let mut cluster_state: HashMap<String, String> = HashMap::new();
        let mut masters: HashMap<String, String> = HashMap::new();
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = futures::future::join_all(watched.iter().map(look)).await;
            if last.is_empty() {
                for (w, seen) in watched.iter().zip(&now) {
                    if *seen == Seen::Up(Some("master".into())) && w.kind != "redis-cluster" {
                        masters.insert(w.group.clone(), w.name.clone());
                    }
                }
                last = now;
                continue;
            }
            for (i, w) in watched.iter().enumerate() {
                report_change(&events, w, &last[i], &now[i], &mut masters);
            }
            for w in watched.iter().filter(|w| w.kind == "redis-cluster") {
                if let Seen::Up(_) = now[watched.iter().position(|x| x.name == w.name).unwrap_or(0)]
                {
                    let probe = RedisProbe::new(w.port, &w.password);
                    if let Ok(info) = probe
                        .query::<String>(redis::cmd("CLUSTER").arg("INFO"))
                        .await
                        && let Some(state) = info_field(&info, "cluster_state")
                    {
                        let prev = cluster_state.insert(w.group.clone(), state.to_string());
                        if prev.as_deref().is_some_and(|p| p != state) {
                            events.push(
                                "cluster-state",
                                &w.group,
                                format!(
                                    "cluster {} is now {state} (seen from {})",
                                    w.group, w.name
                                ),
                            );
                        }
                        break;
                    }
                }
            }
            last = now;
        }
    })
}

async fn look(w: &Watched) -> Seen {
    if w.kind.starts_with("redis") && w.role != "sentinel" {
        match role_at(w.port, &w.password).await {
            Some(r) => Seen::Up(Some(r)),
            None => Seen::Down,
        }
    } else {
        match health::check_info(&w.info, Some(&w.password), Duration::from_millis(300)).await {
            Ok(()) => Seen::Up(None),
            Err(_) => Seen::Down,
        }
    }
}

fn report_change(
    events: &EventLog,
    w: &Watched,
    last: &Seen,
    now: &Seen,
    masters: &mut HashMap<String, String>,
) {
    match (last, now) {
        (Seen::Up(_), Seen::Down) => events.push(
            "node-down",
            &w.name,
            format!("{} stopped answering", w.name),
        ),
        (Seen::Down, Seen::Up(_)) => {
            events.push("node-up", &w.name, format!("{} answers again", w.name))
        }
        _ => {}
    }
    let Seen::Up(Some(role)) = now else { return };
    let before = match last {
        Seen::Up(Some(r)) => Some(r.as_str()),
        _ => None,
    };
    match (before, role.as_str()) {
        (Some("slave"), "master") if w.kind == "redis-cluster" => events.push(
            "failover",
            &w.name,
            format!(
                "Failover to replica node {} completed: it is now a master",
                w.name
            ),
        ),
        (Some("slave"), "master") => {
            // The group's previous primary: the last process promoted or
            // seen as primary at the start.
            let msg = match masters.insert(w.group.clone(), w.name.clone()) {
                Some(old) if old != w.name => format!(
                    "Failover from primary node {old} to replica node {} completed",
                    w.name
                ),
                _ => format!("{} was promoted to primary", w.name),
            };
            events.push("failover", &w.name, msg);
        }
        (Some("master"), "slave") => {
            events.push("role", &w.name, format!("{} is now a replica", w.name))
        }
        _ => {}
    }
}
