//! Link faults on a node's client proxy: `latency`, `bandwidth`,
//! `partition`, `reset`, `throttle` — and healing each (only its own part
//! of the link's toxics, so overlapping faults heal independently).

use super::proxy::{Throttle, Toxics};
use super::{FaultKind, LinkParams, Way};
use crate::provision::NodeHandle;

fn proxy<'a>(node: &'a NodeHandle, p: &LinkParams) -> Result<&'a super::proxy::Proxy, String> {
    if p.peers {
        return node.peer_proxy.as_ref().ok_or_else(|| {
            format!(
                "{} has no peer link (peer links exist between the servers and Sentinels of redis-replicated nodes)",
                node.info.name
            )
        });
    }
    node.proxy.as_ref().ok_or_else(|| {
        format!(
            "{} has no client link proxy (runs get them when their timeline has link faults)",
            node.info.name
        )
    })
}

fn which(p: &LinkParams) -> &'static str {
    if p.peers {
        "peer link (replicas, Sentinels)"
    } else {
        "client link"
    }
}

/// Apply; returns a description.
pub fn inject(node: &NodeHandle, kind: FaultKind, p: &LinkParams) -> Result<String, String> {
    let proxy = proxy(node, p)?;
    let name = &node.info.name;
    Ok(match kind {
        FaultKind::Latency => {
            proxy.update(|t| {
                t.latency = p.latency;
                t.jitter = p.jitter;
            });
            format!(
                "latency {} ms ± {} ms on the {} of {name}",
                p.latency.as_millis(),
                p.jitter.as_millis(),
                which(p)
            )
        }
        FaultKind::Bandwidth => {
            proxy.update(|t| t.bandwidth = Some(p.bandwidth));
            format!(
                "bandwidth {} B/s on the {} of {name}",
                p.bandwidth,
                which(p)
            )
        }
        FaultKind::Partition => {
            proxy.update(|t| match p.way {
                Way::Both => {
                    t.block_up = true;
                    t.block_down = true;
                }
                Way::Up => t.block_up = true,
                Way::Down => t.block_down = true,
            });
            let way = match p.way {
                Way::Both => "both ways",
                Way::Up => "client → node",
                Way::Down => "node → client",
            };
            format!(
                "partition of the {} of {name} ({way}), held until healed",
                which(p)
            )
        }
        FaultKind::Timeout => {
            proxy.update(|t| t.swallow = Some(p.close_after));
            if p.close_after.is_zero() {
                format!("every byte on the {} of {name} dropped", which(p))
            } else {
                format!(
                    "every byte on the {} of {name} dropped; connections closed after {} ms",
                    which(p),
                    p.close_after.as_millis()
                )
            }
        }
        FaultKind::Reset => {
            proxy.reset();
            format!("every connection on the {} of {name} reset", which(p))
        }
        FaultKind::Throttle => {
            if !proxy.http {
                return Err(format!(
                    "{name} does not speak DynamoDB's HTTP: throttle applies to DynamoDB nodes"
                ));
            }
            proxy.update(|t| {
                t.throttle = Some(Throttle {
                    share: p.share,
                    status: p.status,
                })
            });
            format!(
                "{:.0} % of requests to {name} answered with HTTP {}",
                p.share * 100.0,
                p.status
            )
        }
        other => return Err(format!("{} is not a link fault", other.name())),
    })
}

/// Undo `kind` on the node's link.
pub fn heal(node: &NodeHandle, kind: FaultKind, p: &LinkParams) -> Result<String, String> {
    let proxy = proxy(node, p)?;
    proxy.update(|t: &mut Toxics| match kind {
        FaultKind::Latency => {
            t.latency = Default::default();
            t.jitter = Default::default();
        }
        FaultKind::Bandwidth => t.bandwidth = None,
        FaultKind::Partition => match p.way {
            Way::Both => {
                t.block_up = false;
                t.block_down = false;
            }
            Way::Up => t.block_up = false,
            Way::Down => t.block_down = false,
        },
        FaultKind::Throttle => t.throttle = None,
        FaultKind::Timeout => t.swallow = None,
        _ => {}
    });
    Ok(format!("link healed ({})", kind.name()))
}

/// Cut cluster node `i` off from the rest of its cluster (`on`) or restore
/// it: its peer proxy (replication, redirected clients' announced address)
/// and its bus proxy hold everything, and every other node's bus proxy
/// holds the bus connections node `i` opened. Clients still reach it
/// through its client proxy.
pub fn cluster_partition(nodes: &[NodeHandle], i: usize, on: bool) -> Result<String, String> {
    let me = &nodes[i];
    let name = &me.info.name;
    let (Some(peer), Some(bus), Some(id)) = (&me.peer_proxy, &me.bus_proxy, &me.cluster_id) else {
        return Err(format!(
            "{name} has no cluster links (runs get them when their timeline has link faults)"
        ));
    };
    for p in [peer, bus] {
        p.update(|t| {
            t.block_up = on;
            t.block_down = on;
        });
    }
    for other in nodes
        .iter()
        .filter(|n| n.info.group == me.info.group && n.info.name != *name)
    {
        if let Some(b) = &other.bus_proxy {
            b.update(|t| {
                t.blocked_senders.retain(|s| s != id);
                if on {
                    t.blocked_senders.push(id.clone());
                }
            });
        }
    }
    Ok(if on {
        format!(
            "{name} cut off from its cluster (bus and replication), held until healed; clients still reach it"
        )
    } else {
        "back on the cluster bus".to_string()
    })
}
