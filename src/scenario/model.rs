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
    pub source: PathBuf,
    pub topology: Topology,
    pub strategies: Vec<StrategyKind>,
    pub targets: Targets,
    pub workload: Workload,
    /// Faults to inject during the load.
    pub timeline: Vec<TimelineEntry>,
    pub expectations: Vec<Expectation>,
}

impl Scenario {
    /// Does any fault need data directories on the power-loss filesystem?
    pub fn needs_power_loss_fs(&self) -> bool {
        self.timeline
            .iter()
            .any(|e| e.fault.kind == FaultKind::PowerLoss)
    }

    /// Does any fault act on a link (so clients must go through proxies)?
    pub fn needs_proxies(&self) -> bool {
        self.timeline.iter().any(|e| e.fault.kind.is_link())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StrategyKind {
    Redis,
    Dynamodb,
    WriteThrough,
    CacheAside,
    Memcached,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 5] = [
        StrategyKind::Redis,
        StrategyKind::Dynamodb,
        StrategyKind::WriteThrough,
        StrategyKind::CacheAside,
        StrategyKind::Memcached,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Redis => "redis",
            StrategyKind::Dynamodb => "dynamodb",
            StrategyKind::WriteThrough => "write-through",
            StrategyKind::CacheAside => "cache-aside",
            StrategyKind::Memcached => "memcached",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn needs_redis(self) -> bool {
        matches!(
            self,
            StrategyKind::Redis | StrategyKind::WriteThrough | StrategyKind::CacheAside
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
