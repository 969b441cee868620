//! Watches the deployment while a run lasts and emits what it sees: a node
//! going down or coming back, a replica promoted (worded as ElastiCache
//! reports it), a cluster's state changing. Polls every [`EVERY`] over one
//! kept connection per process ([`Link`]); never takes the deployment
//! lock.

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use tokio::sync::watch;

use super::node_status::{NodeState, NodeStatus, fill_lag, parse_redis_info};
use crate::events::EventLog;
use crate::provision::health::Link;
use crate::provision::redis::probe::{RedisAccess, info_field};
use crate::provision::{Deployment, ProcessInfo, Role};
use crate::topology::KindName;

pub const EVERY: Duration = Duration::from_millis(100);

/// What the observer needs of a process; ports do not change on restart.
#[derive(Debug, Clone)]
struct Watched {
    name: String,
    group: String,
    kind: KindName,
    role: Role,
    port: u16,
    redis: Option<RedisAccess>,
    info: ProcessInfo,
}

impl Watched {
    fn link(&self) -> Link {
        Link::new(&self.info, self.redis.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Up(Option<String>),
    Down,
    /// Down, with the role it had when last seen up.
    Gone(Option<String>),
}

/// A running observer.
pub struct Observer {
    pub task: tokio::task::JoinHandle<()>,
    /// Every process as last seen, in deployment order.
    pub status: watch::Receiver<Vec<NodeStatus>>,
}

/// Start observing; stops when `stop` is cancelled.
pub fn spawn(dep: &Deployment, events: EventLog, stop: CancellationToken) -> Observer {
    let watched: Vec<Watched> = dep
        .nodes
        .iter()
        .filter(|n| n.process.is_some())
        .map(|n| Watched {
            name: n.info.name.clone(),
            group: n.info.node.clone(),
            kind: n.info.kind,
            role: n.info.role,
            port: n.info.port,
            redis: n.redis.clone(),
            info: n.info.clone(),
        })
        .collect();
    let initial: Vec<NodeStatus> = watched
        .iter()
        .map(|w| NodeStatus {
            name: w.name.clone(),
            group: w.group.clone(),
            kind: w.kind,
            role: w.role.to_string(),
            state: NodeState::Unknown,
            offset: None,
            lag_bytes: None,
            cache: None,
        })
        .collect();
    let (status_tx, status) = watch::channel(initial);
    let task = tokio::spawn(async move {
        let mut links: Vec<Link> = watched.iter().map(Watched::link).collect();
        let mut last: Vec<Seen> = Vec::new();
        let mut last_states: Vec<NodeState> = Vec::new();
        let mut cluster_state: HashMap<String, String> = HashMap::new();
        let mut masters: HashMap<String, String> = HashMap::new();
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let looks = futures::future::join_all(
                watched
                    .iter()
                    .zip(links.iter_mut())
                    .map(|(w, l)| look(w, l)),
            )
            .await;
            publish(&status_tx, &watched, &looks);
            let states: Vec<NodeState> = looks.iter().map(|l| l.state).collect();
            for ((w, &state), &before) in watched.iter().zip(&states).zip(&last_states) {
                report_loading(&events, w, before, state);
            }
            last_states = states;
            let now: Vec<Seen> = looks.into_iter().map(|l| l.seen).collect();
            if last.is_empty() {
                for (w, seen) in watched.iter().zip(&now) {
                    if *seen == Seen::Up(Some("master".into())) && !w.kind.is_cluster() {
                        masters.insert(w.group.clone(), w.name.clone());
                    }
                }
                last = now;
                continue;
            }
            for (i, w) in watched.iter().enumerate() {
                report_change(&events, w, &last[i], &now[i], &mut masters);
            }
            // Remember each process's last known role across a look that
            // failed: a replica promoted while it did not answer (a loaded
            // machine) is still reported as a failover.
            let now: Vec<Seen> = now
                .into_iter()
                .zip(&last)
                .map(|(seen, before)| match (seen, before) {
                    (Seen::Down, Seen::Up(role)) | (Seen::Down, Seen::Gone(role)) => {
                        Seen::Gone(role.clone())
                    }
                    (seen, _) => seen,
                })
                .collect();
            for (i, w) in watched
                .iter()
                .enumerate()
                .filter(|(i, w)| w.kind.is_cluster() && matches!(now[*i], Seen::Up(_)))
            {
                if let Ok(info) = links[i]
                    .redis::<String>(redis::cmd("CLUSTER").arg("INFO"), Duration::from_secs(2))
                    .await
                    && let Some(state) = info_field(&info, "cluster_state")
                {
                    let prev = cluster_state.insert(w.group.clone(), state.to_string());
                    if prev.as_deref().is_some_and(|p| p != state) {
                        events.push(
                            "cluster-state",
                            &w.group,
                            format!("cluster {} is now {state} (seen from {})", w.group, w.name),
                        );
                    }
                    break;
                }
            }
            last = now;
        }
    });
    Observer { task, status }
}

/// One look at one process.
struct Look {
    seen: Seen,
    state: NodeState,
    offset: Option<u64>,
    cache: Option<crate::nodes::dax::DaxStats>,
}

const DOWN: Look = Look {
    seen: Seen::Down,
    state: NodeState::Down,
    offset: None,
    cache: None,
};

async fn look(w: &Watched, link: &mut Link) -> Look {
    if w.kind == KindName::Dax {
        return match crate::nodes::dax::probe::stats(w.port, Duration::from_millis(300)).await {
            Ok(stats) => Look {
                seen: Seen::Up(None),
                state: NodeState::Up,
                offset: None,
                cache: Some(stats),
            },
            Err(_) => DOWN,
        };
    }
    if w.kind.is_redis() && !w.role.is_sentinel() {
        let info = link
            .redis::<String>(
                redis::cmd("INFO").arg("replication").arg("persistence"),
                Duration::from_millis(500),
            )
            .await;
        match info {
            Ok(info) => {
                let r = parse_redis_info(&info);
                Look {
                    seen: Seen::Up(Some(r.role)),
                    state: r.state,
                    offset: r.offset,
                    cache: None,
                }
            }
            _ => DOWN,
        }
    } else {
        match link.check(Duration::from_millis(300)).await {
            Ok(()) => Look {
                seen: Seen::Up(None),
                state: NodeState::Up,
                offset: None,
                cache: None,
            },
            Err(_) => DOWN,
        }
    }
}

fn publish(tx: &watch::Sender<Vec<NodeStatus>>, watched: &[Watched], looks: &[Look]) {
    let mut nodes: Vec<NodeStatus> = watched
        .iter()
        .zip(looks)
        .map(|(w, l)| NodeStatus {
            name: w.name.clone(),
            group: w.group.clone(),
            kind: w.kind,
            role: match &l.seen {
                Seen::Up(Some(r)) => r.clone(),
                _ => w.role.to_string(),
            },
            state: l.state,
            offset: l.offset,
            lag_bytes: None,
            cache: l.cache.clone(),
        })
        .collect();
    fill_lag(&mut nodes);
    tx.send_replace(nodes);
}

/// A process that starts or stops answering `LOADING` (reading its AOF or
/// RDB back after a start): the report's `loading_ms` comes from these.
fn report_loading(events: &EventLog, w: &Watched, before: NodeState, now: NodeState) {
    match (before, now) {
        (b, NodeState::Loading) if b != NodeState::Loading => events.push(
            "loading",
            &w.name,
            format!("{} answers LOADING: reading its data set back", w.name),
        ),
        (NodeState::Loading, NodeState::Up | NodeState::Syncing) => events.push(
            "loaded",
            &w.name,
            format!("{} has its data set back", w.name),
        ),
        _ => {}
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
        (Seen::Down | Seen::Gone(_), Seen::Up(_)) => {
            events.push("node-up", &w.name, format!("{} answers again", w.name))
        }
        _ => {}
    }
    let Seen::Up(Some(role)) = now else { return };
    let before = match last {
        Seen::Up(Some(r)) | Seen::Gone(Some(r)) => Some(r.as_str()),
        _ => None,
    };
    match (before, role.as_str()) {
        (Some("slave"), "master") if w.kind.is_cluster() => events.push(
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
