//! `test-failover`: ElastiCache's managed failover (`TestFailover`) of one
//! node group of a replication group behind an external node. It holds
//! until ElastiCache's own events say the failover completed; every event
//! of the group meanwhile goes into the run's event log. A failover cannot
//! be called back: a heal before that moment (the end of the load, its
//! `duration`) records that it never completed.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::cloud::elasticache::ElastiCache;
use crate::faults::FaultKind;
use crate::faults::behaviour::{BeforeLoad, Behaviour, Ends, Leftover, Mend, Needs, Strike};
use crate::faults::budget::Budget;
use crate::faults::spec::TimelineSpec;
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone)]
pub struct TestFailover {
    pub replication_group: String,
    pub node_group: String,
    /// Set once ElastiCache reported the failover complete (shared with
    /// the copy the injector keeps for the heal).
    done: Arc<AtomicBool>,
}

impl PartialEq for TestFailover {
    fn eq(&self, o: &Self) -> bool {
        self.replication_group == o.replication_group && self.node_group == o.node_group
    }
}

/// ElastiCache's node group of a replication group without cluster mode.
pub const DEFAULT_NODE_GROUP: &str = "0001";

/// How far back events are read from the moment of the request: the
/// service dates them by its clock, not ours.
const CLOCK_SLACK: Duration = Duration::from_secs(30);

/// ElastiCache's events are read this often (its API is rate-limited).
const EVENTS_EVERY: Duration = Duration::from_secs(2);

impl Behaviour for TestFailover {
    const KIND: FaultKind = FaultKind::TestFailover;
    const SAID: &'static str = "was failed over by ElastiCache's TestFailover";
    const HEALS: bool = true;
    const LINK: bool = false;
    const HEALED_AT_END: bool = true;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const FIELDS: &'static [&'static str] = &["replication_group", "node_group"];
    const CLOUD: bool = true;

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let id_ok = |v: &str| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        };
        let replication_group = s.replication_group.clone().unwrap_or_default();
        if s.replication_group.is_none() {
            c.at(
                &format!("{path}.fault"),
                "`test-failover` needs `replication_group` (the ElastiCache replication group id)",
            );
        } else if !id_ok(&replication_group) {
            c.at(
                &format!("{path}.replication_group"),
                "a replication group id is letters, digits and `-`",
            );
        }
        let node_group = s
            .node_group
            .clone()
            .unwrap_or_else(|| DEFAULT_NODE_GROUP.into());
        if !id_ok(&node_group) {
            c.at(
                &format!("{path}.node_group"),
                "a node group id is letters, digits and `-` (0001)",
            );
        }
        TestFailover {
            replication_group,
            node_group,
            done: Arc::default(),
        }
    }

    fn applies(node: &Node) -> Result<(), String> {
        super::fis::cloud_node(FaultKind::TestFailover, node)
    }

    fn budget(_node: &Node, _peers: bool) -> Budget {
        Budget::new(
            "ElastiCache promotes a replica; writes the old primary acknowledged and had not replicated are lost (Redis replication is asynchronous)",
            None,
        )
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        // One when ElastiCache says it completed (it heals).
        (false, false)
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        true
    }

    async fn before_load(&mut self, cx: &BeforeLoad<'_>) -> Result<Vec<Leftover>, String> {
        ElastiCache::new(cx.aws)
            .await
            .node_group(&self.replication_group, &self.node_group)
            .await
            .map(|()| Vec::new())
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let aws = &cx.dep.topology.aws;
        let ec = ElastiCache::new(aws).await;
        // Whose events are ours: the group and its member clusters (a
        // prefix would take `sessions-eu`'s too).
        let mut sources = ec.members(&self.replication_group).await?;
        sources.push(self.replication_group.clone());
        let since = SystemTime::now()
            .checked_sub(CLOCK_SLACK)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let status = ec
            .test_failover(&self.replication_group, &self.node_group)
            .await?;
        // This injection's own (a repeat is another failover).
        self.done = Arc::default();
        cx.ends = Some(watch(
            ec,
            Watched {
                sources,
                node_group: self.node_group.clone(),
                since,
            },
            self.done.clone(),
            cx.events.clone(),
        ));
        Ok(format!(
            "ElastiCache TestFailover of {} node group {} (group {status})",
            self.replication_group, self.node_group
        ))
    }

    async fn heal(&self, _cx: &mut Mend<'_>, _i: usize) -> Result<String, String> {
        if self.done.load(Ordering::SeqCst) {
            Ok("failover completed".into())
        } else {
            Err(format!(
                "ElastiCache had not reported the failover of {} complete",
                self.replication_group
            ))
        }
    }
}

/// What a test failover's events are read for.
struct Watched {
    /// The replication group and its member clusters.
    sources: Vec<String>,
    node_group: String,
    /// Events from here on (the request's time less the clock slack).
    since: SystemTime,
}

/// ElastiCache's events of the group read until one says the failover
/// completed, each in the run's event log. Only a completion dated at or
/// after ElastiCache's "Test Failover API called for node group …" counts:
/// the clock slack may bring an earlier failover's events back.
fn watch(
    ec: ElastiCache,
    w: Watched,
    done: Arc<AtomicBool>,
    events: crate::events::EventLog,
) -> Ends {
    Box::pin(async move {
        let mut seen = HashSet::new();
        let mut failures = 0;
        let called = format!("test failover api called for node group {}", w.node_group);
        let mut called_at = None;
        loop {
            tokio::time::sleep(EVENTS_EVERY).await;
            let new = match ec.events(&w.sources, w.since, &mut seen).await {
                Ok(n) => n,
                Err(e) => {
                    failures += 1;
                    if failures >= 10 {
                        return Err(format!("its events could not be read: {e}"));
                    }
                    continue;
                }
            };
            failures = 0;
            let mut completed = None;
            for e in new {
                events.push("elasticache", &e.source, e.message.clone());
                if e.message.to_ascii_lowercase().starts_with(&called) {
                    called_at.get_or_insert(e.date_s);
                }
                if e.failover_completed()
                    && called_at.is_some_and(|c| e.date_s >= c)
                    && completed.is_none()
                {
                    completed = Some(e.message);
                }
            }
            if let Some(m) = completed {
                done.store(true, Ordering::SeqCst);
                return Ok(m);
            }
        }
    })
}
