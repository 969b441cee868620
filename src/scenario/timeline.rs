//! The scenario's `timeline:` → [`TimelineEntry`] values, checked against
//! the topology (file:line errors like everything else).

use std::time::Duration;

use super::Checker;
use super::spec::TimelineSpec;
use crate::faults::{Fault, FaultKind, LinkParams, TimelineEntry, Way};
use crate::topology::{DynamoEngine, Node, NodeKind, Topology};

/// Longest `at`, `duration`, `every` or link delay accepted: a day.
const LONGEST: Duration = Duration::from_secs(24 * 3600);

fn bounded(c: &mut Checker<'_>, path: &str, d: Duration) -> Duration {
    if d > LONGEST {
        c.at(path, "longer than a day: drills are measured in seconds");
        LONGEST
    } else {
        d
    }
}

/// `load`: the workload's duration; every injection must fall within it.
pub(crate) fn validate(
    c: &mut Checker<'_>,
    specs: &[TimelineSpec],
    topology: &Topology,
    load: Duration,
) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let path = |field: &str| format!("timeline[{i}].{field}");
        let pos = c.pos(&path("at"));
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
            Ok(d) => bounded(c, &path("at"), d),
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
        let duration = s.duration.as_ref().map(|d| {
            let d = super::duration(c, &path("duration"), d);
            bounded(c, &path("duration"), d)
        });
        if duration.is_some() && !kind.heals() {
            c.at(
                &path("duration"),
                format!(
                    "`{}` does not last: a duration applies to {}",
                    kind.name(),
                    FaultKind::ALL
                        .into_iter()
                        .filter(|k| k.heals())
                        .map(FaultKind::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        if s.maxmemory.is_some() && kind != FaultKind::Evict {
            c.at(&path("maxmemory"), "`maxmemory` applies to evict only");
        }
        if let Some(p) = &s.policy {
            if kind != FaultKind::Evict {
                c.at(&path("policy"), "`policy` applies to evict only");
            } else if !crate::faults::evict::POLICIES.contains(&p.as_str()) {
                c.at(
                    &path("policy"),
                    format!(
                        "unknown maxmemory-policy `{p}`, expected one of: {}",
                        crate::faults::evict::POLICIES.join(", ")
                    ),
                );
            }
        }
        let unsynced = s.unsynced.as_ref().map(|u| {
            let p = path("unsynced");
            if kind != FaultKind::PowerLoss {
                c.at(&p, "`unsynced` applies to power-loss only");
            }
            let d = super::duration(c, &p, u);
            if d > Duration::from_secs(60) {
                c.at(&p, format!("at most 60s; got {u:?}"));
            }
            d
        });
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
        let link = link_params(c, i, kind, s);
        if link.peers
            && target_node(topology, &s.target).is_some_and(|n| {
                !matches!(
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
            let every_path = format!("timeline[{i}].repeat.every");
            let every = super::duration(c, &every_path, &r.every);
            let every = bounded(c, &every_path, every);
            if r.times > 10_000 {
                c.at(&format!("timeline[{i}].repeat.times"), "at most 10000");
            }
            if r.times == 0 {
                c.at(&format!("timeline[{i}].repeat.times"), "must be at least 1");
            }
            (every, r.times)
        });
        let entry = TimelineEntry {
            at,
            fault: Fault {
                kind,
                target: s.target.clone(),
                duration,
                mode: s.mode.clone(),
                maxmemory: s.maxmemory.clone(),
                policy: s.policy.clone(),
                unsynced,
                link,
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

/// Parameters of link faults; each must belong to its kind.
fn link_params(c: &mut Checker<'_>, i: usize, kind: FaultKind, s: &TimelineSpec) -> LinkParams {
    let path = |f: &str| format!("timeline[{i}].{f}");
    let mut p = LinkParams {
        status: 400,
        ..LinkParams::default()
    };
    let given: [(&str, bool, FaultKind); 7] = [
        ("close_after", s.close_after.is_some(), FaultKind::Timeout),
        ("latency", s.latency.is_some(), FaultKind::Latency),
        ("jitter", s.jitter.is_some(), FaultKind::Latency),
        ("bandwidth", s.bandwidth.is_some(), FaultKind::Bandwidth),
        ("direction", s.direction.is_some(), FaultKind::Partition),
        ("share", s.share.is_some(), FaultKind::Throttle),
        ("status", s.status.is_some(), FaultKind::Throttle),
    ];
    for (field, present, owner) in given {
        if present && kind != owner {
            c.at(
                &path(field),
                format!("`{field}` applies to {} only", owner.name()),
            );
        }
    }
    match kind {
        FaultKind::Latency => match &s.latency {
            Some(l) => {
                let d = super::duration(c, &path("latency"), l);
                p.latency = bounded(c, &path("latency"), d);
            }
            None => c.at(
                &path("fault"),
                "latency needs `latency`, e.g. `latency: 50ms`",
            ),
        },
        FaultKind::Bandwidth => match s.bandwidth.as_ref().map(bytes_per_second) {
            Some(Ok(b)) => p.bandwidth = b,
            Some(Err(e)) => c.at(&path("bandwidth"), e),
            None => c.at(
                &path("fault"),
                "bandwidth needs `bandwidth`, e.g. `bandwidth: 100kb/s`",
            ),
        },
        FaultKind::Throttle => match s.share.as_ref().map(share) {
            Some(Ok(v)) => p.share = v,
            Some(Err(e)) => c.at(&path("share"), e),
            None => c.at(&path("fault"), "throttle needs `share`, e.g. `share: 30%`"),
        },
        _ => {}
    }
    if let Some(a) = &s.close_after {
        let d = super::duration(c, &path("close_after"), a);
        p.close_after = bounded(c, &path("close_after"), d);
    }
    if let Some(j) = &s.jitter {
        let d = super::duration(c, &path("jitter"), j);
        p.jitter = bounded(c, &path("jitter"), d);
    }
    if let Some(d) = &s.direction {
        match d.as_str() {
            "both" => p.way = Way::Both,
            "up" => p.way = Way::Up,
            "down" => p.way = Way::Down,
            other => c.at(
                &path("direction"),
                format!("unknown direction `{other}`, expected both, up (client → node) or down"),
            ),
        }
    }
    match s.link.as_deref() {
        None | Some("clients") => {}
        Some("peers") => p.peers = true,
        Some(other) => c.at(
            &path("link"),
            format!("unknown link `{other}`, expected clients or peers"),
        ),
    }
    if s.link.is_some() && !kind.is_link() {
        c.at(&path("link"), "`link` applies to link faults only");
    }
    if let Some(st) = s.status {
        if st == 400 || (500..600).contains(&st) {
            p.status = st;
        } else {
            c.at(
                &path("status"),
                format!("status {st}: expected 400 (throughput exceeded) or a 5xx"),
            );
        }
    }
    p
}

fn bytes_per_second(v: &serde_yaml::Value) -> Result<u64, String> {
    let text = match v {
        serde_yaml::Value::Number(n) => {
            return n
                .as_u64()
                .filter(|&b| b > 0)
                .ok_or_else(|| format!("{n}: expected a positive number of bytes per second"));
        }
        serde_yaml::Value::String(s) => s.trim().to_ascii_lowercase(),
        _ => return Err("expected bytes per second like 100kb/s".into()),
    };
    let t = text.strip_suffix("/s").unwrap_or(&text);
    let (num, mult) = if let Some(n) = t.strip_suffix("mb") {
        (n, 1_000_000.0)
    } else if let Some(n) = t.strip_suffix("kb") {
        (n, 1_000.0)
    } else if let Some(n) = t.strip_suffix('b') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok((x * mult).round().max(1.0) as u64),
        _ => Err(format!(
            "{text:?}: expected bytes per second like 5000, 100kb/s, 1mb/s"
        )),
    }
}

fn share(v: &serde_yaml::Value) -> Result<f64, String> {
    let x = match v {
        serde_yaml::Value::Number(n) => n.as_f64(),
        serde_yaml::Value::String(s) => s
            .trim()
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
            .map(|p| p / 100.0),
        _ => None,
    };
    match x {
        Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err("expected a share like 30% or 0.3 (between 0 and 100 %)".into()),
    }
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
        FaultKind::Throttle if !matches!(node.kind, NodeKind::Dynamodb(_)) => Err(format!(
            "throttle applies to DynamoDB; `{}` is {}",
            node.name,
            node.kind.name()
        )),
        FaultKind::PowerLoss if matches!(node.kind, NodeKind::Memcached(_)) => Err(format!(
            "`{}` is memcached: it keeps nothing on disk, a power loss is a kill",
            node.name
        )),
        _ => Ok(()),
    }
}
