//! A validated scenario: what the engine runs.

use std::path::PathBuf;
use std::time::Duration;

use super::expect::Expectation;
use crate::faults::TimelineEntry;
use crate::store::{Backend, Patterns, StrategyKind, Targets, Wiring};
use crate::topology::Topology;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// The exam or drill question it answers.
    pub question: Option<String>,
    /// The course's exam question it belongs to (the picker's group).
    pub exam: Option<String>,
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
    /// Words over the dashboard for `sessiondrill demo`.
    pub captions: Vec<super::captions::Caption>,
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
            .any(|e| e.fault.kind().needs().power_loss_fs)
    }

    /// The topology nodes a strategy's operations reach: its backends'
    /// nodes, and the DynamoDB node behind a DAX node.
    pub fn groups_of(&self, kind: StrategyKind) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for &b in kind.backends() {
            let Some(node) = self.targets.of(b) else {
                continue;
            };
            out.push(node.to_string());
            if b == Backend::Dax {
                out.extend(self.topology.nodes.iter().find_map(|n| match &n.kind {
                    crate::topology::NodeKind::Dax(d) if n.name == node => Some(d.dynamodb.clone()),
                    _ => None,
                }));
            }
        }
        out
    }

    /// How the strategies' stores are wired to this scenario's nodes.
    pub fn wiring(&self) -> Wiring<'_> {
        let w = &self.workload;
        Wiring {
            targets: &self.targets,
            connections: w.connections,
            op_timeout: w.op_timeout,
            ttl: w.ttl,
            patterns: w.patterns,
            update_work: w.update_work,
        }
    }

    /// Does any fault act on a link (so clients must go through proxies)?
    pub fn needs_proxies(&self) -> bool {
        self.timeline.iter().any(|e| e.fault.kind().needs().proxies)
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
    /// Bulk data written before the load (`prefill: { sessions, … }`).
    pub bulk: Option<crate::store::bulk::Bulk>,
    pub connections: usize,
    pub seed: u64,
    /// Parameters of seed 003's Redis patterns.
    pub patterns: Patterns,
    /// Operations on one session in flight at once (1: serialised).
    pub concurrency_per_session: u32,
    /// Skew: a share of the sessions that takes a share of the operations.
    pub hot: Option<Hot>,
    /// Read-modify-write updates: the application's work between reading
    /// a session and writing it back.
    pub update_work: Duration,
}

/// `hot_sessions` of the session ids take `hot_traffic` of the operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hot {
    /// Share of the session ids, 0..1.
    pub sessions: f64,
    /// Share of the operations, 0..=1.
    pub traffic: f64,
}

impl Hot {
    /// How many of `sessions` ids are hot (at least one).
    pub fn ids(&self, sessions: u64) -> u64 {
        ((sessions as f64 * self.sessions).ceil() as u64).clamp(1, sessions.max(1))
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
