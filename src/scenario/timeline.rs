//! The scenario's `timeline:` → [`TimelineEntry`] values, checked against
//! the topology (file:line errors like everything else).

use std::time::Duration;

use super::Checker;
use super::spec::TimelineSpec;
use crate::faults::{Fault, FaultKind, TimelineEntry};
use crate::topology::{DynamoEngine, Node, NodeKind, Topology};

pub(crate) fn validate(
    c: &mut Checker<'_>,
    specs: &[TimelineSpec],
    topology: &Topology,
) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let path = |field: &str| format!("timeline[{i}].{field}");
        let Some(kind) = FaultKind::parse(&s.fault) else {
            c.at(
                &path("fault"),
                format!(
                    "unknown fault `{}`, expected one of: {}",
                    s.fault,
                    FaultKind::ALL.map(FaultKind::name).join(", ")
                ),
            );
            continue;
        };
        let at = match humantime::parse_duration(&s.at) {
            Ok(d) => d,
            Err(e) => {
                c.at(
                    &path("at"),
                    format!(
                        "{e}: expected an offset into the load like 0s, 5s, 1500ms; got {:?}",
                        s.at
                    ),
                );
                Duration::ZERO
            }
        };
        let duration = s
            .duration
            .as_ref()
            .map(|d| super::duration(c, &path("duration"), d));
        if duration.is_some() && !kind.heals() {
            c.at(
                &path("duration"),
                format!(
                    "`{}` does not last: a duration applies to kill, pause and power-loss",
                    kind.name()
                ),
            );
        }
        if s.mode.is_some() && kind != FaultKind::Failover {
            c.at(&path("mode"), "`mode` applies to failover only");
        }
        if let Some(m) = &s.mode
            && !["force", "takeover"].contains(&m.as_str())
        {
            c.at(
                &path("mode"),
                format!("unknown mode `{m}`, expected force or takeover"),
            );
        }
        match target_node(topology, &s.target) {
            None => c.at(
                &path("target"),
                format!(
                    "`{}` names no node of topology `{}` (nodes: {}); use a node (`cache`), a process (`cache-0`) or a role (`cache.primary`)",
                    s.target,
                    topology.name,
                    topology
                        .nodes
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(node) => {
                if let Err(why) = applies(kind, node) {
                    c.at(&path("fault"), why);
                }
            }
        }
        let repeat = s.repeat.as_ref().map(|r| {
            let every = super::duration(c, &format!("timeline[{i}].repeat.every"), &r.every);
            if r.times == 0 {
                c.at(&format!("timeline[{i}].repeat.times"), "must be at least 1");
            }
            (every, r.times)
        });
        out.push(TimelineEntry {
            at,
            fault: Fault {
                kind,
                target: s.target.clone(),
                duration,
                mode: s.mode.clone(),
            },
            repeat,
        });
    }
    out
}

/// The topology node a target belongs to: `cache`, `cache.primary`,
/// `cache-0`, `cache-sentinel-1`.
fn target_node<'a>(t: &'a Topology, target: &str) -> Option<&'a Node> {
    let head = target.split('.').next().unwrap_or(target);
    t.nodes.iter().find(|n| n.name == head).or_else(|| {
        t.nodes.iter().find(|n| {
            head.strip_prefix(n.name.as_str())
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|r| {
                    let r = r.strip_prefix("sentinel-").unwrap_or(r);
                    r.parse::<usize>().is_ok()
                })
        })
    })
}

fn applies(kind: FaultKind, node: &Node) -> Result<(), String> {
    let is_cache = matches!(
        node.kind,
        NodeKind::Redis(_)
            | NodeKind::RedisReplicated(_)
            | NodeKind::RedisCluster(_)
            | NodeKind::Memcached(_)
    );
    let external = matches!(
        &node.kind,
        NodeKind::Dynamodb(d) if !matches!(d.engine, DynamoEngine::Embedded { .. })
    );
    match kind {
        _ if external => Err(format!(
            "`{}` is an external endpoint: sessiondrill does not own its process",
            node.name
        )),
        FaultKind::Failover
            if !matches!(
                node.kind,
                NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_)
            ) =>
        {
            Err(format!(
                "failover needs a redis-replicated or redis-cluster node; `{}` is neither",
                node.name
            ))
        }
        FaultKind::Flush if !is_cache => {
            Err(format!("flush empties a cache; `{}` is not one", node.name))
        }
        FaultKind::PowerLoss if matches!(node.kind, NodeKind::Memcached(_)) => Err(format!(
            "`{}` is memcached: it keeps nothing on disk, a power loss is a kill",
            node.name
        )),
        _ => Ok(()),
    }
}
