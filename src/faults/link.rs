//! Link faults on a node's client proxy: `latency`, `bandwidth`,
//! `partition`, `reset`, `throttle` — and healing each (only its own part
//! of the link's toxics, so overlapping faults heal independently).

use super::{FaultKind, LinkParams, Way};
use crate::fabric::proxy::{Throttle, Toxics};
use crate::provision::NodeHandle;

fn proxy<'a>(
    node: &'a NodeHandle,
    p: &LinkParams,
) -> Result<&'a crate::fabric::proxy::Proxy, String> {
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

/// Set the link's toxics to what the faults still active on it add up to
/// (after one of them healed): overlapping faults heal independently.
pub fn rebuild(
    node: &NodeHandle,
    healed: FaultKind,
    p: &LinkParams,
    still: &[(FaultKind, LinkParams)],
) -> Result<String, String> {
    let proxy = proxy(node, p)?;
    proxy.update(|t: &mut Toxics| {
        *t = Toxics {
            reset_generation: t.reset_generation,
            blocked_senders: std::mem::take(&mut t.blocked_senders),
            ..Toxics::default()
        };
        for (kind, q) in still {
            match kind {
                FaultKind::Latency => {
                    t.latency = q.latency;
                    t.jitter = q.jitter;
                }
                FaultKind::Bandwidth => t.bandwidth = Some(q.bandwidth),
                FaultKind::Partition => match q.way {
                    Way::Both => {
                        t.block_up = true;
                        t.block_down = true;
                    }
                    Way::Up => t.block_up = true,
                    Way::Down => t.block_down = true,
                },
                FaultKind::Throttle => {
                    t.throttle = Some(Throttle {
                        share: q.share,
                        status: q.status,
                    })
                }
                FaultKind::Timeout => t.swallow = Some(q.close_after),
                _ => {}
            }
        }
    });
    Ok(if still.is_empty() {
        format!("link healed ({})", healed.name())
    } else {
        format!(
            "{} healed; still on the link: {}",
            healed.name(),
            still
                .iter()
                .map(|(k, _)| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::proxy::Proxy;
    use crate::provision::NodeInfo;

    fn node(proxy: Proxy) -> NodeHandle {
        NodeHandle {
            info: NodeInfo {
                name: "n".into(),
                group: "n".into(),
                kind: "redis".into(),
                role: "server".into(),
                host: "127.0.0.1".into(),
                port: 1,
                pid: None,
                container: None,
                url: String::new(),
                proxy_port: Some(proxy.listen_port),
                peer_port: None,
            },
            process: None,
            dir: None,
            password: None,
            fs: None,
            proxy: Some(proxy),
            peer_proxy: None,
            bus_proxy: None,
            cluster_id: None,
        }
    }

    #[tokio::test]
    async fn healing_one_fault_keeps_the_others_on_the_link() {
        let n = node(Proxy::start(1, false).await.unwrap());
        let both = LinkParams::default();
        let up = LinkParams {
            way: Way::Up,
            ..LinkParams::default()
        };
        let slow = LinkParams {
            latency: std::time::Duration::from_millis(50),
            ..LinkParams::default()
        };
        inject(&n, FaultKind::Partition, &up).unwrap();
        inject(&n, FaultKind::Partition, &both).unwrap();
        inject(&n, FaultKind::Latency, &slow).unwrap();
        // The `both` partition heals; the one-way partition and the latency stay.
        let still = [
            (FaultKind::Partition, up.clone()),
            (FaultKind::Latency, slow.clone()),
        ];
        rebuild(&n, FaultKind::Partition, &both, &still).unwrap();
        let t = n.proxy.as_ref().unwrap().toxics();
        assert!(t.block_up && !t.block_down, "{t:?}");
        assert_eq!(t.latency, slow.latency);
        rebuild(&n, FaultKind::Latency, &slow, &[]).unwrap();
        assert!(n.proxy.as_ref().unwrap().toxics().is_clean());
    }
}
