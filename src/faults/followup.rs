//! What follows a fault: when it has done its work, so that a checkpoint
//! can count what it destroyed before later load writes over it.
//!
//! - a fault that is over as soon as it is injected (`restart`, `flush`,
//!   `resume`) — at once;
//! - a fault on a group with roles (Sentinel, cluster) that can cost the
//!   primary — when a replica is promoted: then the writes the old primary
//!   had not passed on are gone, and the clients are about to write over
//!   them on the new one;
//! - a fault with a duration — when it heals (the node back, the link
//!   whole again).
//!
//! A client-link fault (latency, a client partition, throttling…) cannot
//! take back what a server acknowledged, but it can leave a cache stale (a
//! lost invalidation): a checkpoint when it heals.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::FaultKind;
use crate::check::checkpoint::{Checkpoints, Held};
use crate::observe::node_status::{NodeState, NodeStatus};
use crate::provision::Deployment;
use crate::provision::redis::probe::RedisProbe;
use crate::topology::NodeKind;

/// How long a checkpoint on a Sentinel group waits, with the load held,
/// before reading: the clients ask the Sentinels every 100 ms
/// (`store::redis::WATCH_EVERY`) and drop their connections when the primary
/// changed.
pub const SENTINEL_SETTLE: Duration = Duration::from_millis(250);

/// The same for a cluster: its clients learn of a new master from a
/// refused connection or a MOVED, once the old master has heard of it over
/// the bus (about 100 ms after a healed partition, measured).
pub const CLUSTER_SETTLE: Duration = Duration::from_millis(500);

/// How long to wait for the Sentinels to name a promoted replica.
pub const ANNOUNCE_LIMIT: Duration = Duration::from_secs(5);

/// How long a `failover` may take before it counts as failed.
pub const FAILOVER_LIMIT: Duration = Duration::from_secs(10);

/// How long to watch for a promotion after a fault that stays.
pub const PROMOTION_LIMIT: Duration = Duration::from_secs(30);

/// When to take checkpoints for a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Plan {
    pub at_once: bool,
    /// Hold the load before the fault acts, for its checkpoint at once:
    /// an operation sent after a flush could land on the emptied session
    /// before the checkpoint reads it and make the writes the flush
    /// destroyed look durable. Only for faults that act at once (no
    /// process to restart: the load keeps running through a restart).
    pub hold_ahead: bool,
    /// Held ahead, read its nodes before it acts (see
    /// `Behaviour::READ_FIRST`).
    pub read_first: bool,
    pub on_promotion: bool,
    pub at_heal: bool,
    /// Wait this long, load held, before reading.
    pub settle: Duration,
}

impl Plan {
    pub fn any(&self) -> bool {
        self.at_once || self.on_promotion || self.at_heal
    }
}

/// The plan for a fault of `kind` on a node of `node` kind. A fault that
/// heals gets its checkpoint when it heals, whatever heals it (its
/// duration, the dashboard's keys, `H`) — not before: a node killed for
/// good has nothing to read (a checkpoint would hold the load while its
/// reads fail).
pub fn plan(kind: FaultKind, peers: bool, node: &NodeKind) -> Plan {
    // Whether a replica can be promoted, and how long its clients take to
    // follow.
    let (roles, settle) = match node {
        NodeKind::RedisReplicated(_) => (true, SENTINEL_SETTLE),
        NodeKind::RedisCluster(_) => (true, CLUSTER_SETTLE),
        NodeKind::Redis(_) | NodeKind::Dynamodb(_) | NodeKind::Dax(_) | NodeKind::Memcached(_) => {
            (false, Duration::ZERO)
        }
    };
    let (at_once, on_promotion) = kind.checkpoints(roles, peers);
    let hold_ahead = at_once && !kind.stops_processes();
    Plan {
        at_once,
        hold_ahead,
        read_first: hold_ahead && kind.reads_first(),
        on_promotion,
        at_heal: kind.heals(),
        settle,
    }
}

/// The processes of `group` the observer last saw as primaries.
pub fn primaries(status: &[NodeStatus], group: &str) -> Vec<String> {
    status
        .iter()
        .filter(|n| n.group == group && n.role == "master" && n.state != NodeState::Down)
        .map(|n| n.name.clone())
        .collect()
}

/// What the injector needs to take checkpoints after faults: where to ask,
/// and the observer's view of the nodes (to see a promotion).
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub checkpoints: Checkpoints,
    pub status: watch::Receiver<Vec<NodeStatus>>,
}

/// What a promotion watch needs to know of a group, taken when the fault
/// is injected.
#[derive(Debug)]
pub struct Watch {
    group: String,
    /// The name its Sentinels know its primary by.
    master: String,
    /// Its primaries before the fault.
    before: Vec<String>,
    /// Its Sentinels.
    sentinels: Vec<RedisProbe>,
    /// Each process's ports (client, peer).
    ports: Vec<(String, Vec<u16>)>,
}

/// The checkpoints and promotion watches that follow the faults of a run.
pub struct FollowUps {
    to: FollowUp,
    /// Watches of `failover` faults still waiting for their promotion.
    failovers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl FollowUps {
    pub fn new(to: FollowUp) -> Self {
        Self {
            to,
            failovers: Default::default(),
        }
    }

    /// What a promotion watch on `group` needs, taken now.
    pub fn watch(&self, dep: &Deployment, group: &str) -> Watch {
        Watch {
            before: primaries(&self.to.status.borrow(), group),
            sentinels: super::target::sentinels(dep, group),
            master: dep.master_name(group).to_string(),
            ports: dep
                .nodes
                .iter()
                .filter(|n| n.info.node == group)
                .map(|n| {
                    let ports = [Some(n.info.port), n.info.peer_port];
                    (n.info.name.clone(), ports.into_iter().flatten().collect())
                })
                .collect(),
            group: group.to_string(),
        }
    }

    /// Hold the load now, ahead of a fault whose checkpoint will be asked
    /// for with it (see [`Plan::hold_ahead`]); dropped, it lets go. `None`
    /// if there is no load to hold.
    pub fn hold(&self) -> Option<Held> {
        self.to.checkpoints.hold()
    }

    /// Hold only the writes now, ahead of the checkpoint of a node started
    /// again: reads go on until the checkpoint holds the whole load.
    pub fn hold_writes(&self) -> Option<Held> {
        self.to.checkpoints.hold_writes()
    }

    /// The load held: wait for the operations in flight to end.
    pub async fn drained(&self) {
        self.to.checkpoints.drained().await;
    }

    /// The load held and drained: read every session of the strategies on
    /// `group` whose requests overlap, before the fault acts (see
    /// [`Plan::read_first`]).
    pub async fn read_first(&self, group: &str) {
        self.to
            .checkpoints
            .read_first(vec![group.to_string()])
            .await;
    }

    /// Take a checkpoint for fault `id` on `group`, in the background. The
    /// load is held from now on (unless `held` already — or its writes
    /// alone, until the checkpoint holds it all to read), not only when
    /// the checkpoint's turn comes. Held ahead of a flush or a resume, and
    /// before a heal brings a node back, that closes the window; after a
    /// `restart` or a promotion it only narrows it (holding before them
    /// would keep the writes from failing that measure the outage):
    /// operations sent between the node answering again and this call
    /// (µs to ms) can still land before the checkpoint reads.
    pub fn checkpoint(
        &self,
        id: usize,
        group: &str,
        why: String,
        settle: Duration,
        held: Option<Held>,
    ) {
        let held = held.or_else(|| self.hold());
        let checkpoints = self.to.checkpoints.clone();
        let groups = vec![group.to_string()];
        tokio::spawn(async move {
            checkpoints.take(id, groups, why, settle, held).await;
        });
    }

    /// Watch for a promotion in the group caused by fault `id` until
    /// `deadline`; take a checkpoint when it comes (with Sentinels: once
    /// they name the new primary, which is when the clients follow it).
    /// `failed`: for a `failover`, told why when nobody was promoted — and
    /// the end of the run waits for the watch.
    pub fn on_promotion(
        &self,
        id: usize,
        watch: Watch,
        deadline: Instant,
        settle: Duration,
        failed: Option<impl FnOnce(String) + Send + 'static>,
    ) {
        let status = self.to.status.clone();
        let checkpoints = self.to.checkpoints.clone();
        let must_happen = failed.is_some();
        let task = tokio::spawn(async move {
            let Watch {
                group,
                master,
                before,
                sentinels,
                ports,
            } = watch;
            match promotion(status, &group, &before, deadline).await {
                Promotion::Of(p) => {
                    if !sentinels.is_empty() {
                        let promoted: Vec<u16> = ports
                            .iter()
                            .filter(|(name, _)| *name == p)
                            .flat_map(|(_, ports)| ports.iter().copied())
                            .collect();
                        let limit = Instant::now() + ANNOUNCE_LIMIT;
                        announced(&sentinels, &master, &promoted, limit).await;
                    }
                    let why = format!("{p} promoted");
                    checkpoints.take(id, vec![group], why, settle, None).await;
                }
                Promotion::None => {
                    if let Some(failed) = failed {
                        failed(format!(
                            "no replica of {group} was promoted within {} s",
                            FAILOVER_LIMIT.as_secs()
                        ));
                    }
                }
                Promotion::Unknown => {}
            }
        });
        if must_happen {
            self.failovers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(task);
        }
    }

    /// Wait for every `failover` watch to end (each by its deadline).
    pub async fn failovers_done(&self) {
        let watches: Vec<_> = self
            .failovers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for w in watches {
            let _ = w.await;
        }
    }
}

/// How a watch for a promotion ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Promotion {
    /// This process now answers as the group's primary.
    Of(String),
    /// None by the deadline.
    None,
    /// The observer stopped (the run is over) before either.
    Unknown,
}

/// Wait until the observer sees a process of `group` that is not among
/// `before` answer as a primary, at most until `deadline`.
pub async fn promotion(
    mut status: watch::Receiver<Vec<NodeStatus>>,
    group: &str,
    before: &[String],
    deadline: Instant,
) -> Promotion {
    let promoted = |s: &[NodeStatus]| {
        primaries(s, group)
            .into_iter()
            .find(|p| !before.contains(p))
    };
    loop {
        if let Some(p) = promoted(&status.borrow_and_update()) {
            return Promotion::Of(p);
        }
        match tokio::time::timeout_at(deadline.into(), status.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Promotion::Unknown,
            Err(_) => return Promotion::None,
        }
    }
}

/// Wait until the Sentinels name one of `ports` as the primary they know
/// as `master` (they announce a promotion after the replica has taken the
/// role), at most until `deadline`.
pub async fn announced(sentinels: &[RedisProbe], master: &str, ports: &[u16], deadline: Instant) {
    while Instant::now() < deadline {
        let named = super::target::sentinels_primary(sentinels, master)
            .await
            .map(|(_, port)| port);
        if named.is_some_and(|p| ports.contains(&p)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{AppendFsync, Memcached, Persistence, RedisServer};

    fn status(name: &str, role: &str, state: NodeState) -> NodeStatus {
        NodeStatus {
            name: name.into(),
            group: "cache".into(),
            kind: crate::topology::KindName::RedisReplicated,
            role: role.into(),
            state,
            offset: None,
            lag_bytes: None,
            cache: None,
        }
    }

    #[test]
    fn faults_that_heal_wait_for_their_heal_and_a_flush_is_read_at_once() {
        let redis = NodeKind::Redis(RedisServer {
            persistence: Persistence::Aof,
            appendfsync: AppendFsync::Everysec,
            save: Vec::new(),
            maxmemory: None,
            maxmemory_policy: None,
            password: None,
            tls: false,
            users: Vec::new(),
            client_user: None,
        });
        for k in [
            FaultKind::Kill,
            FaultKind::PowerLoss,
            FaultKind::Latency,
            FaultKind::Partition,
            FaultKind::Throttle,
        ] {
            let p = plan(k, false, &redis);
            assert!(p.at_heal && !p.at_once && !p.on_promotion, "{k:?}");
        }
        let p = plan(FaultKind::Flush, false, &redis);
        assert!(p.at_once && !p.at_heal);
        // Held ahead and read first: its nodes answer until it acts.
        assert!(p.hold_ahead && p.read_first);
        // Held ahead, but a frozen node has nothing to read before.
        let p = plan(FaultKind::Resume, false, &redis);
        assert!(p.hold_ahead && !p.read_first);
        for k in [FaultKind::Kill, FaultKind::PowerLoss, FaultKind::Restart] {
            assert!(!plan(k, false, &redis).read_first, "{k:?}");
        }
        let mc = NodeKind::Memcached(Memcached {
            instances: 3,
            memory_mb: 64,
        });
        assert!(
            !plan(FaultKind::Kill, false, &mc).at_once,
            "a node killed has nothing to read until it is back"
        );
    }

    #[tokio::test]
    async fn a_promotion_is_a_new_primary_of_the_group() {
        let (tx, rx) = watch::channel(vec![
            status("cache-0", "master", NodeState::Up),
            status("cache-1", "slave", NodeState::Up),
        ]);
        let before = primaries(&tx.borrow(), "cache");
        assert_eq!(before, ["cache-0"]);
        let deadline = Instant::now() + Duration::from_millis(100);
        assert_eq!(
            promotion(rx.clone(), "cache", &before, deadline).await,
            Promotion::None
        );
        tx.send_replace(vec![
            status("cache-0", "master", NodeState::Down),
            status("cache-1", "master", NodeState::Up),
        ]);
        let deadline = Instant::now() + Duration::from_secs(1);
        assert_eq!(
            promotion(rx.clone(), "cache", &before, deadline).await,
            Promotion::Of("cache-1".into())
        );
        // The observer gone (the run over) is not "nobody was promoted".
        let (tx, rx) = watch::channel(Vec::new());
        drop(tx);
        assert_eq!(
            promotion(rx, "cache", &before, deadline).await,
            Promotion::Unknown
        );
    }
}
