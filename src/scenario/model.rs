//! A validated scenario: what the engine runs.

use std::path::PathBuf;
use std::time::Duration;

use super::expect::Expectation;
use crate::faults::{FaultKind, TimelineEntry};
use crate::topology::Topology;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// The exam or drill question it answers.
    pub question: Option<String>,
    /// The claim of the source material it tests.
    pub claim: Option<Claim>,
    pub source: PathBuf,
    pub topology: Topology,
    pub strategies: Vec<StrategyKind>,
    pub targets: Targets,
    pub workload: Workload,
    /// Faults to inject during the load.
    pub timeline: Vec<TimelineEntry>,
    /// When acknowledged writes are judged.
    pub check: CheckMode,
    pub expectations: Vec<Expectation>,
}

/// When the checker reads every session back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckMode {
    /// After each fault that can destroy acknowledged writes has done its
    /// work (load held meanwhile), and at the end.
    #[default]
    Checkpoints,
    /// Only at the end: losses that later load wrote over are not seen.
    EndOnly,
}

impl CheckMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "checkpoints" => Some(CheckMode::Checkpoints),
            "end-only" => Some(CheckMode::EndOnly),
            _ => None,
        }
    }
}

impl Scenario {
    /// Does any fault need data directories on the power-loss filesystem?
    pub fn needs_power_loss_fs(&self) -> bool {
        self.timeline
            .iter()
            .any(|e| e.fault.kind == FaultKind::PowerLoss)
    }

    /// The topology nodes a strategy's operations reach.
    pub fn groups_of(&self, kind: StrategyKind) -> Vec<String> {
        let t = &self.targets;
        let dax_store = t.dax.as_ref().and_then(|dax| {
            self.topology.nodes.iter().find_map(|n| match &n.kind {
                crate::topology::NodeKind::Dax(d) if &n.name == dax => Some(d.dynamodb.clone()),
                _ => None,
            })
        });
        let uses = [
            (kind.needs_redis(), t.redis.clone()),
            (kind.needs_dynamodb(), t.dynamodb.clone()),
            (kind == StrategyKind::Memcached, t.memcached.clone()),
            (kind.needs_dax(), t.dax.clone()),
            (kind.needs_dax(), dax_store),
        ];
        let mut out: Vec<String> = Vec::new();
        for (needed, group) in uses {
            if let (true, Some(g)) = (needed, group)
                && !out.contains(&g)
            {
                out.push(g);
            }
        }
        out
    }

    /// Does any fault act on a link (so clients must go through proxies)?
    pub fn needs_proxies(&self) -> bool {
        self.timeline.iter().any(|e| e.fault.kind.is_link())
    }
}

/// A claim of the source material (the seeds) a scenario tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `000` … `004`.
    pub seed: String,
    pub says: String,
}

/// The seeds the scenario library is built from: id, file, subject.
pub const SEEDS: [(&str, &str, &str); 5] = [
    (
        "000",
        "000_3f4be348d358fd3a.txt",
        "DynamoDB vs ElastiCache for Redis for session storage",
    ),
    (
        "001",
        "001_41eee1deb987fbef.txt",
        "ElastiCache: Memcached vs Redis",
    ),
    (
        "002",
        "002_6aabc1cba53fd077.txt",
        "ElastiCache for session management, Multi-AZ",
    ),
    (
        "003",
        "003_5e5582c7601f8fcc.txt",
        "Redis, DynamoDB and DAX patterns for chat sessions",
    ),
    (
        "004",
        "004_23af944887e6f31a.txt",
        "Memcached vs Redis, once more",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StrategyKind {
    Redis,
    Dynamodb,
    WriteThrough,
    CacheAside,
    Memcached,
    /// Seed 003's Redis patterns: WebSocket connection ↔ session map.
    RedisConnmap,
    /// Online presence (who is chatting) in sorted sets.
    RedisPresence,
    /// `SET NX` session lock with a lease.
    RedisLock,
    /// Sliding-window rate limiter on a sorted set.
    RedisRateLimit,
    /// DynamoDB through a DAX cluster: GetItem via the item cache.
    Dax,
    /// DynamoDB through DAX, sessions read by Query (the query cache).
    DaxQuery,
    /// DynamoDB through DAX, Query with `ConsistentRead` (bypasses DAX).
    DaxConsistent,
}

/// What a strategy's operations mean and what the checker proves of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// Writes, reads and deletes of a value: lost / stale / resurrected.
    Session,
    /// Writes are acquires (set if absent, with a lease), deletes release:
    /// an acquire granted while an acknowledged lease is live is a
    /// violation (two holders).
    Lock,
    /// Every operation is one request of customer `id`: an admit beyond
    /// the limit within the window is a violation.
    RateLimit,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 12] = [
        StrategyKind::Redis,
        StrategyKind::Dynamodb,
        StrategyKind::WriteThrough,
        StrategyKind::CacheAside,
        StrategyKind::Memcached,
        StrategyKind::RedisConnmap,
        StrategyKind::RedisPresence,
        StrategyKind::RedisLock,
        StrategyKind::RedisRateLimit,
        StrategyKind::Dax,
        StrategyKind::DaxQuery,
        StrategyKind::DaxConsistent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Redis => "redis",
            StrategyKind::Dynamodb => "dynamodb",
            StrategyKind::WriteThrough => "write-through",
            StrategyKind::CacheAside => "cache-aside",
            StrategyKind::Memcached => "memcached",
            StrategyKind::RedisConnmap => "redis-connmap",
            StrategyKind::RedisPresence => "redis-presence",
            StrategyKind::RedisLock => "redis-lock",
            StrategyKind::RedisRateLimit => "redis-rate-limit",
            StrategyKind::Dax => "dax",
            StrategyKind::DaxQuery => "dax-query",
            StrategyKind::DaxConsistent => "dax-consistent",
        }
    }

    pub fn semantics(self) -> Semantics {
        match self {
            StrategyKind::RedisLock => Semantics::Lock,
            StrategyKind::RedisRateLimit => Semantics::RateLimit,
            _ => Semantics::Session,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn needs_redis(self) -> bool {
        matches!(
            self,
            StrategyKind::Redis
                | StrategyKind::WriteThrough
                | StrategyKind::CacheAside
                | StrategyKind::RedisConnmap
                | StrategyKind::RedisPresence
                | StrategyKind::RedisLock
                | StrategyKind::RedisRateLimit
        )
    }

    pub fn needs_dax(self) -> bool {
        matches!(
            self,
            StrategyKind::Dax | StrategyKind::DaxQuery | StrategyKind::DaxConsistent
        )
    }

    pub fn needs_dynamodb(self) -> bool {
        matches!(
            self,
            StrategyKind::Dynamodb | StrategyKind::WriteThrough | StrategyKind::CacheAside
        )
    }
}

/// The topology node each backend uses.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub redis: Option<String>,
    pub dynamodb: Option<String>,
    pub dax: Option<String>,
    pub memcached: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub sessions: u64,
    pub duration: Duration,
    /// Operations per second of each kind.
    pub rates: Rates,
    pub ttl: Duration,
    pub value_bytes: usize,
    pub op_timeout: Duration,
    pub prefill: bool,
    pub connections: usize,
    pub seed: u64,
    /// Parameters of seed 003's Redis patterns.
    pub patterns: Patterns,
}

/// Parameters of the pattern strategies (defaults from seed 003).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patterns {
    /// `redis-lock`: lease of an acquired lock (`SET NX EX 10`).
    pub lock_lease: Duration,
    /// `redis-rate-limit`: requests allowed per window (30).
    pub limit_max: u64,
    /// `redis-rate-limit`: the sliding window (60 s).
    pub limit_window: Duration,
}

impl Default for Patterns {
    fn default() -> Self {
        Self {
            lock_lease: Duration::from_secs(10),
            limit_max: 30,
            limit_window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rates {
    pub create: f64,
    pub read: f64,
    pub update: f64,
    pub delete: f64,
}

impl Rates {
    pub fn total(&self) -> f64 {
        self.create + self.read + self.update + self.delete
    }
}
