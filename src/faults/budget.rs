//! The expected-loss budget of a fault, from the node's configuration: what
//! the documentation promises, to set next to what the checker observed.

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
    pub fn new(rule: impl Into<String>, window_s: Option<f64>) -> Self {
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

/// Nothing acknowledged may be lost.
pub fn none() -> Budget {
    Budget::new("no data loss expected", Some(0.0))
}

/// A fault on the client link.
pub fn link() -> Budget {
    Budget::new("link fault: nothing acknowledged may be lost", Some(0.0))
}

/// A fault that cannot destroy anything on `node`: DynamoDB says why.
pub fn nothing(node: &Node) -> Budget {
    match &node.kind {
        NodeKind::Dynamodb(_) => durable(),
        NodeKind::Redis(_)
        | NodeKind::RedisReplicated(_)
        | NodeKind::RedisCluster(_)
        | NodeKind::Dax(_)
        | NodeKind::Memcached(_) => none(),
    }
}

fn durable() -> Budget {
    Budget::new("DynamoDB: an acknowledged write is durable", Some(0.0))
}

/// A DAX node loses nothing: it is a cache in front of DynamoDB.
pub fn dax_cache() -> Budget {
    Budget::new(
        "DAX is a cache: writes are acknowledged once DynamoDB has them, nothing is lost",
        Some(0.0),
    )
}

/// The Redis server settings of a node of the Redis family.
pub fn redis_server(node: &Node) -> Option<&RedisServer> {
    match &node.kind {
        NodeKind::Redis(s) => Some(s),
        NodeKind::RedisReplicated(r) => Some(&r.server),
        NodeKind::RedisCluster(c) => Some(&c.server),
        NodeKind::Dynamodb(_) | NodeKind::Dax(_) | NodeKind::Memcached(_) => None,
    }
}

/// What a process crash (SIGKILL, nothing lost in the kernel) loses on
/// `node`, by its persistence.
pub fn crash(node: &Node) -> Budget {
    match &node.kind {
        NodeKind::Redis(s) => crash_server(s),
        NodeKind::RedisReplicated(r) => crash_server(&r.server),
        NodeKind::RedisCluster(c) => crash_server(&c.server),
        NodeKind::Dynamodb(_) => durable(),
        NodeKind::Dax(_) => dax_cache(),
        NodeKind::Memcached(_) => {
            Budget::new("memcached keeps nothing: everything on the node", None)
        }
    }
}

fn crash_server(s: &RedisServer) -> Budget {
    if s.aof() {
        Budget::new(
            "process crash: everything written to the kernel survives (AOF)",
            Some(0.0),
        )
    } else if s.rdb() {
        Budget::new(
            "process crash, RDB only: every write since the last save",
            None,
        )
    } else {
        everything()
    }
}

fn everything() -> Budget {
    Budget::new("no persistence: everything", None)
}

/// What a power loss (everything not fsynced gone) loses on a single
/// Redis server, by its persistence.
pub fn power_loss(s: &RedisServer) -> Budget {
    if s.aof() {
        match s.appendfsync {
            AppendFsync::Always => Budget::new("AOF always: nothing acknowledged", Some(0.0)),
            AppendFsync::Everysec => Budget::new(
                "AOF everysec: about 1 s of acknowledged writes, at most 2 s",
                Some(2.0),
            ),
            AppendFsync::No => Budget::new(
                "AOF appendfsync no: whatever the kernel had not flushed (up to ~30 s)",
                Some(30.0),
            ),
        }
    } else if s.rdb() {
        Budget::new("RDB only: every write since the last save", None)
    } else {
        everything()
    }
}

/// What a fault that cuts the primary off (kill, power loss, pause, a
/// peer partition) loses on a node with replicas: a failover's. `None` on
/// a node without roles.
pub fn cut_off_primary(node: &Node) -> Option<Budget> {
    match &node.kind {
        // Provisioning applies a max lag of 10 s when only
        // min_replicas_to_write is given.
        NodeKind::RedisReplicated(r) => Some(match r.min_replicas_to_write {
            // The primary learns its replicas are gone from their missing
            // acknowledgements, which they send once a second, and checks
            // them once a second in whole seconds: it refuses writes up to
            // `lag` + 2 s after the cut (about `lag` + 1 s measured).
            Some(n) if n > 0 => {
                let lag = r.min_replicas_max_lag.unwrap_or(10);
                Budget::new(
                    format!(
                        "Sentinel failover with min-replicas-max-lag {lag}: the writes of at most {lag} s after the replicas were cut off, + up to 2 s until the primary notices (replicas acknowledge, and it checks, once a second)"
                    ),
                    Some(lag as f64 + 2.0),
                )
            }
            _ => Budget::new(
                "Sentinel failover, asynchronous replication: writes not yet replicated when the primary was cut off, and all it accepts while cut off (unbounded while a partition holds)",
                None,
            ),
        }),
        NodeKind::RedisCluster(c) => Some(Budget::new(
            format!(
                "cluster failover: writes to the shard within node-timeout ({} ms) not yet replicated",
                c.node_timeout_ms
            ),
            Some(c.node_timeout_ms as f64 / 1000.0),
        )),
        NodeKind::Redis(_) | NodeKind::Dynamodb(_) | NodeKind::Dax(_) | NodeKind::Memcached(_) => {
            None
        }
    }
}
