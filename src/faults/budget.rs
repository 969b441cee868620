//! The expected-loss budget of a fault, from the node's configuration: what
//! the documentation promises, to set next to what the checker observed.

use super::FaultKind;
use crate::topology::{AppendFsync, Node, NodeKind, RedisServer};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Budget {
    /// In words, e.g. "AOF everysec: about 1 s of acknowledged writes, at most 2 s".
    pub rule: String,
    /// The loss window the rule allows, in seconds of acknowledged writes;
    /// `None` when unbounded (everything since the last RDB save, or all).
    pub window_s: Option<f64>,
}

impl Budget {
    fn new(rule: impl Into<String>, window_s: Option<f64>) -> Self {
        Self {
            rule: rule.into(),
            window_s,
        }
    }

    /// Writes the budget allows at `write_rate` acknowledged writes/s.
    pub fn max_writes(&self, write_rate: f64) -> Option<f64> {
        self.window_s.map(|w| (w * write_rate).ceil())
    }
}

/// What a single server loses by the fault, by persistence.
fn server(kind: FaultKind, s: &RedisServer) -> Budget {
    let durable_on_kill = s.aof() || s.rdb();
    match kind {
        FaultKind::Kill | FaultKind::Restart if durable_on_kill && s.aof() => Budget::new(
            "process crash: everything written to the kernel survives (AOF)",
            Some(0.0),
        ),
        FaultKind::Kill | FaultKind::Restart if durable_on_kill => Budget::new(
            "process crash, RDB only: every write since the last save",
            None,
        ),
        FaultKind::PowerLoss if s.aof() => match s.appendfsync {
            AppendFsync::Always => Budget::new("AOF always: nothing acknowledged", Some(0.0)),
            AppendFsync::Everysec => Budget::new(
                "AOF everysec: about 1 s of acknowledged writes, at most 2 s",
                Some(2.0),
            ),
            AppendFsync::No => Budget::new(
                "AOF appendfsync no: whatever the kernel had not flushed (up to ~30 s)",
                Some(30.0),
            ),
        },
        FaultKind::PowerLoss if s.rdb() => {
            Budget::new("RDB only: every write since the last save", None)
        }
        FaultKind::Kill | FaultKind::Restart | FaultKind::PowerLoss => {
            Budget::new("no persistence: everything", None)
        }
        FaultKind::Flush => Budget::new("flush: every session in the cache", None),
        FaultKind::Evict => Budget::new(
            "eviction: whatever no longer fits in maxmemory (none with noeviction: writes fail with OOM)",
            None,
        ),
        _ => Budget::new("no data loss expected", Some(0.0)),
    }
}

/// The budget of `kind` on topology node `node` (`peers`: a link fault on
/// the peer link rather than the client link).
pub fn of(kind: FaultKind, node: &Node, peers: bool) -> Budget {
    let cuts_primary = matches!(
        kind,
        FaultKind::Kill | FaultKind::PowerLoss | FaultKind::Pause
    ) || (peers && kind == FaultKind::Partition);
    if kind.is_link() && !cuts_primary {
        return Budget::new("link fault: nothing acknowledged may be lost", Some(0.0));
    }
    match &node.kind {
        NodeKind::Redis(s) => server(kind, s),
        // Provisioning applies a max lag of 10 s when only
        // min_replicas_to_write is given.
        NodeKind::RedisReplicated(r) => match (
            kind,
            r.min_replicas_to_write
                .map(|_| r.min_replicas_max_lag.unwrap_or(10)),
        ) {
            // The primary learns its replicas are gone from their missing
            // acknowledgements, which they send once a second, and checks
            // them once a second in whole seconds: it refuses writes up to
            // `lag` + 2 s after the cut (about `lag` + 1 s measured).
            (_, Some(lag)) if cuts_primary && r.min_replicas_to_write.unwrap_or(0) > 0 => {
                Budget::new(
                    format!(
                        "Sentinel failover with min-replicas-max-lag {lag}: the writes of at most {lag} s after the replicas were cut off, + up to 2 s until the primary notices (replicas acknowledge, and it checks, once a second)"
                    ),
                    Some(lag as f64 + 2.0),
                )
            }
            _ if cuts_primary => Budget::new(
                "Sentinel failover, asynchronous replication: writes not yet replicated when the primary was cut off, and all it accepts while cut off (unbounded while a partition holds)",
                None,
            ),
            (FaultKind::Failover, _) => Budget::new(
                "SENTINEL FAILOVER is not coordinated: the old primary keeps accepting writes until it is reconfigured and clients follow the new primary; those writes are lost",
                None,
            ),
            _ => server(kind, &r.server),
        },
        NodeKind::RedisCluster(c) => match kind {
            FaultKind::Failover => Budget::new(
                "CLUSTER FAILOVER: the master pauses clients until its replica has caught up (nothing lost); FORCE/TAKEOVER skip that",
                Some(0.0),
            ),
            _ if cuts_primary => Budget::new(
                format!(
                    "cluster failover: writes to the shard within node-timeout ({} ms) not yet replicated",
                    c.node_timeout_ms
                ),
                Some(c.node_timeout_ms as f64 / 1000.0),
            ),
            _ => server(kind, &c.server),
        },
        NodeKind::Dynamodb(_) => {
            Budget::new("DynamoDB: an acknowledged write is durable", Some(0.0))
        }
        NodeKind::Dax(_) => match kind {
            FaultKind::Flush | FaultKind::Kill | FaultKind::Restart | FaultKind::Pause => {
                Budget::new(
                    "DAX is a cache: writes are acknowledged once DynamoDB has them, nothing is lost",
                    Some(0.0),
                )
            }
            _ => Budget::new("no data loss expected", Some(0.0)),
        },
        NodeKind::Memcached(_) => match kind {
            FaultKind::Flush | FaultKind::Kill | FaultKind::Restart => {
                Budget::new("memcached keeps nothing: everything on the node", None)
            }
            _ => Budget::new("no data loss expected", Some(0.0)),
        },
    }
}
