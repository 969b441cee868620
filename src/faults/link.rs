//! What link faults share: the proxy of a node's client or peer link,
//! putting a fault's toxics on it, and healing one fault's part of them
//! while the others on the link stay (overlapping faults heal
//! independently). The kinds themselves are in [`super::kinds`].

use super::behaviour::{Behaviour, Mend, Strike};
use super::{FaultAction, FaultKind};
use crate::fabric::proxy::{Proxy, Toxics};
use crate::provision::ProcessHandle;

/// The proxy of `node`'s client link, or of its peer link (`peers`).
pub fn proxy(node: &ProcessHandle, peers: bool) -> Result<&Proxy, String> {
    if peers {
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

/// Which link, in words.
pub fn which(peers: bool) -> &'static str {
    if peers {
        "peer link (replicas, Sentinels)"
    } else {
        "client link"
    }
}

/// Put `fault`'s toxics on the link of every process struck; `say` tells,
/// for one process (its name), what was done.
pub fn strike<B: Behaviour>(
    cx: &Strike<'_>,
    fault: &B,
    say: impl Fn(&str) -> String,
) -> Result<String, String> {
    let mut said = Vec::new();
    for &i in cx.nodes {
        let node = &cx.dep.nodes[i];
        proxy(node, cx.peers)?.update(|t| fault.toxics(t));
        said.push(say(&node.info.name));
    }
    Ok(said.join("; "))
}

/// Heal the `healed` fault on process `i`'s link: its toxics become what
/// the faults still on it add up to.
pub fn mend(cx: &Mend<'_>, i: usize, healed: FaultKind) -> Result<String, String> {
    rebuild(proxy(&cx.dep.nodes[i], cx.peers)?, healed, cx.still)
}

fn rebuild(proxy: &Proxy, healed: FaultKind, still: &[FaultAction]) -> Result<String, String> {
    proxy.update(|t: &mut Toxics| {
        *t = Toxics {
            reset_generation: t.reset_generation,
            blocked_senders: std::mem::take(&mut t.blocked_senders),
            ..Toxics::default()
        };
        for f in still {
            f.toxics(t);
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
                .map(|f| f.kind().name())
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
pub fn cluster_partition(nodes: &[ProcessHandle], i: usize, on: bool) -> Result<String, String> {
    let me = &nodes[i];
    let name = &me.info.name;
    let (Some(peer), Some(bus), Some(id)) = (&me.peer_proxy, &me.bus_proxy, &me.bus_source) else {
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
        .filter(|n| n.info.node == me.info.node && n.info.name != *name)
    {
        if let Some(b) = &other.bus_proxy {
            b.update(|t| {
                t.blocked_senders.retain(|s| s != id);
                if on {
                    t.blocked_senders.push(*id);
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
    use crate::fabric::proxy::Direction;
    use crate::faults::kinds::{Latency, Partition};
    use std::time::Duration;

    #[tokio::test]
    async fn healing_one_fault_keeps_the_others_on_the_link() {
        let proxy = Proxy::start(1, false).await.unwrap();
        let up = FaultAction::Partition(Partition {
            direction: Some(Direction::Up),
        });
        let both = FaultAction::Partition(Partition { direction: None });
        let slow = FaultAction::Latency(Latency {
            latency: Duration::from_millis(50),
            jitter: Duration::ZERO,
            direction: Default::default(),
        });
        proxy.update(|t| up.toxics(t));
        let t = proxy.toxics();
        assert!(t.block_up && !t.block_down, "{t:?}");
        proxy.update(|t| {
            both.toxics(t);
            slow.toxics(t);
        });
        proxy.reset();
        let generation = proxy.toxics().reset_generation;
        // The `both` partition heals; the one-way partition and the latency stay.
        let said = rebuild(&proxy, FaultKind::Partition, &[up.clone(), slow.clone()]).unwrap();
        assert_eq!(
            said,
            "partition healed; still on the link: partition, latency"
        );
        let t = proxy.toxics();
        assert!(t.block_up && !t.block_down, "{t:?}");
        assert_eq!(t.latency, Duration::from_millis(50));
        assert_eq!(t.reset_generation, generation, "a heal is no reset");
        // The latency heals; the one-way partition stays.
        rebuild(&proxy, FaultKind::Latency, std::slice::from_ref(&up)).unwrap();
        let t = proxy.toxics();
        assert!(t.block_up && !t.block_down && t.latency.is_zero(), "{t:?}");
        // The last one heals.
        let said = rebuild(&proxy, FaultKind::Partition, &[]).unwrap();
        assert_eq!(said, "link healed (partition)");
        assert!(!proxy.toxics().block_up);
    }
}
