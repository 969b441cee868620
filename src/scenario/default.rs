//! A bare topology as a scenario: the default load on one strategy per
//! store it has — what the dashboard and `run TOPOLOGY` drive.

use std::path::Path;
use std::time::Duration;

use super::{Document, Rates, Scenario, Workload};
use crate::store::{Patterns, StrategyKind, Targets};
use crate::topology::{NodeKind, Topology};
use crate::yaml::FileError;

/// Load a scenario, or a topology with the default load.
pub fn load_any(path: &Path) -> Result<Scenario, FileError> {
    match Document::load(path)? {
        Document::Scenario(s) => Ok(*s),
        Document::Topology(t) => Ok(for_topology(t, path)),
    }
}

/// The load put on a bare topology (dashboard, `run TOPOLOGY`): one strategy per store,
/// sessions created faster than they are overwritten (20 000 ids, 100 new
/// per second) so a lost write shows up as a lost session when read.
pub fn default_workload() -> Workload {
    Workload {
        sessions: 20_000,
        duration: Duration::from_secs(600),
        rates: Rates {
            create: 100.0,
            read: 300.0,
            update: 50.0,
            delete: 0.0,
        },
        ttl: Duration::from_secs(1800),
        value_bytes: 256,
        op_timeout: Duration::from_secs(1),
        prefill: false,
        bulk: None,
        connections: 8,
        seed: 1,
        patterns: Patterns::default(),
        concurrency_per_session: 1,
        hot: None,
        update_work: Duration::ZERO,
    }
}

pub fn for_topology(topology: Topology, path: &Path) -> Scenario {
    let first = |is: fn(&NodeKind) -> bool| {
        topology
            .nodes
            .iter()
            .find(|n| is(&n.kind))
            .map(|n| n.name.clone())
    };
    let targets = Targets {
        redis: first(|k| {
            matches!(
                k,
                NodeKind::Redis(_) | NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_)
            )
        }),
        dynamodb: first(|k| matches!(k, NodeKind::Dynamodb(_))),
        dax: first(|k| matches!(k, NodeKind::Dax(_))),
        memcached: first(|k| matches!(k, NodeKind::Memcached(_))),
    };
    let mut strategies = Vec::new();
    if targets.redis.is_some() {
        strategies.push(StrategyKind::Redis);
    }
    if targets.dynamodb.is_some() {
        strategies.push(StrategyKind::Dynamodb);
    }
    if targets.redis.is_some() && targets.dynamodb.is_some() {
        strategies.push(StrategyKind::WriteThrough);
    }
    if targets.dax.is_some() {
        strategies.push(StrategyKind::Dax);
    }
    if targets.memcached.is_some() {
        strategies.push(StrategyKind::Memcached);
    }
    Scenario {
        name: topology.name.clone(),
        description: Some(format!("{} with the default load", topology.name)),
        question: None,
        exam: None,
        claim: None,
        source: path.to_path_buf(),
        topology,
        strategies,
        targets,
        workload: default_workload(),
        timeline: Vec::new(),
        check: super::CheckMode::Checkpoints,
        expectations: Vec::new(),
        captions: Vec::new(),
    }
}
