//! The scenario's `timeline:` → [`TimelineEntry`] values, checked against
//! the topology (file:line errors like everything else). The envelope
//! (`at`, `target`, `duration`, `repeat`, `link`) is checked here; each
//! kind's own fields by the kind ([`FaultAction::from_spec`]).

use std::time::Duration;

use crate::faults::spec::{TimelineSpec, at_most_a_day, within_a_day};
use crate::faults::{Fault, FaultAction, FaultKind, TimelineEntry};
use crate::topology::{DynamoEngine, Node, NodeKind, Topology};
use crate::yaml::Problems;

/// `load`: the workload's duration; every injection must fall within it.
pub(crate) fn validate(
    c: &mut Problems<'_>,
    specs: &[TimelineSpec],
    topology: &Topology,
    load: Duration,
) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let entry = format!("timeline[{i}]");
        let path = |field: &str| format!("{entry}.{field}");
        let pos = c.pos(&path("at"));
        let Some(kind) = FaultKind::parse(&s.fault) else {
            c.at(
                &path("fault"),
                format!(
                    "unknown fault `{}`, expected one of: {}",
                    s.fault,
                    FaultKind::ALL
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        let at = match humantime::parse_duration(&s.at) {
            Ok(d) => at_most_a_day(c, &path("at"), d),
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
            .map(|d| within_a_day(c, &path("duration"), d));
        if duration.is_some() && !kind.heals() {
            c.at(
                &path("duration"),
                format!(
                    "`{}` does not last: a duration applies to {}",
                    kind.name(),
                    FaultKind::ALL
                        .iter()
                        .filter(|k| k.heals())
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        // Another kind's field is a mistake, not something to ignore.
        for field in s.given() {
            if !kind.fields().contains(&field) {
                let owners: Vec<&str> = FaultKind::ALL
                    .iter()
                    .filter(|k| k.fields().contains(&field))
                    .map(|k| k.name())
                    .collect();
                c.at(
                    &path(field),
                    format!("`{field}` applies to {} only", owners.join(" and ")),
                );
            }
        }
        let action = FaultAction::from_spec(kind, c, &entry, s);
        let node = target_node(topology, &s.target);
        match node {
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
        let peers = match s.link.as_deref() {
            None | Some("clients") => false,
            Some("peers") => true,
            Some(other) => {
                c.at(
                    &path("link"),
                    format!("unknown link `{other}`, expected clients or peers"),
                );
                false
            }
        };
        if s.link.is_some() && !kind.is_link() {
            c.at(&path("link"), "`link` applies to link faults only");
        }
        if peers
            && node.is_some_and(|n| {
                n.external.is_some()
                    || !matches!(
                        n.kind,
                        NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_)
                    )
            })
        {
            c.at(
                &path("link"),
                "peer links exist between the servers of redis-replicated and redis-cluster nodes only",
            );
        }
        let repeat = s.repeat.as_ref().map(|r| {
            let every = within_a_day(c, &path("repeat.every"), &r.every);
            if r.times > 10_000 {
                c.at(&path("repeat.times"), "at most 10000");
            }
            if r.times == 0 {
                c.at(&path("repeat.times"), "must be at least 1");
            }
            (every, r.times)
        });
        let entry = TimelineEntry {
            at,
            fault: Fault {
                action,
                target: s.target.clone(),
                duration,
                peers,
            },
            repeat,
            pos,
        };
        if let Some(why) = entry.misfit(load) {
            let field = if entry.at < load { "repeat" } else { "at" };
            c.at(&path(field), why);
        }
        out.push(entry);
    }
    out
}

/// The topology node a target belongs to: `cache`, `cache.primary`,
/// `cache-0`, `cache-sentinel-1`; an external node's processes by the name
/// they will have ([`crate::topology::External::may_name`]).
fn target_node<'a>(t: &'a Topology, target: &str) -> Option<&'a Node> {
    // An external node's process, whole (its host may hold dots).
    if let Some(n) = t.nodes.iter().find(|n| {
        n.external
            .as_ref()
            .is_some_and(|e| e.may_name(&n.name, target))
    }) {
        return Some(n);
    }
    let head = target.split('.').next().unwrap_or(target);
    if let Some(n) = t.nodes.iter().find(|n| n.name == head) {
        return Some(n);
    }
    // One of ours (an external node's processes are named above).
    t.nodes.iter().filter(|n| n.external.is_none()).find(|n| {
        head.strip_prefix(n.name.as_str())
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|r| {
                let r = r.strip_prefix("sentinel-").unwrap_or(r);
                r.parse::<usize>().is_ok()
            })
    })
}

/// Whether `kind` can hit `node`: never an endpoint sessiondrill does not
/// own; otherwise the kind says.
fn applies(kind: FaultKind, node: &Node) -> Result<(), String> {
    // Handed to a cloud's fault engine: its own rule (external nodes).
    if kind.is_cloud() {
        return kind.applies(node);
    }
    if node.external.is_some() {
        // The client links of its servers go through our proxies (not a
        // cluster's: its clients follow the cluster's own map); the rest
        // is not ours to touch.
        let proxied = match node.kind {
            NodeKind::Redis(_) | NodeKind::RedisReplicated(_) | NodeKind::Memcached(_) => true,
            NodeKind::RedisCluster(_) | NodeKind::Dynamodb(_) | NodeKind::Dax(_) => false,
        };
        if kind.is_link() && proxied {
            return kind.applies(node);
        }
        return Err(format!(
            "`{}` is an external node: sessiondrill does not own its processes (no process faults; link faults on the client links of an external redis, redis-replicated or memcached only, for now)",
            node.name
        ));
    }
    if let NodeKind::Dynamodb(d) = &node.kind
        && !matches!(d.engine, DynamoEngine::Embedded { .. })
    {
        return Err(format!(
            "`{}` is an external endpoint: sessiondrill does not own its process",
            node.name
        ));
    }
    kind.applies(node)
}
