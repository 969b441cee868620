//! Which loopback ports a node's processes get: fresh free ones, or the
//! consecutive ports from the node's `port:` (refused when taken).

use super::ProvisionError;
use crate::fabric::ports;
use crate::topology::{Node, NodeKind};

/// Ports of a node's processes: client ports, and cluster bus ports.
pub(super) struct PortPlan {
    pub client: Vec<u16>,
    pub bus: Vec<u16>,
}

pub(super) fn plan_ports(node: &Node) -> Result<PortPlan, ProvisionError> {
    let n = node.process_count();
    let cluster = matches!(node.kind, NodeKind::RedisCluster(_));
    let fresh = |k: usize| {
        (0..k)
            .map(|_| ports::free_port())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ProvisionError::io("finding a free loopback port"))
    };
    let Some(base) = node.port else {
        return Ok(PortPlan {
            client: fresh(n)?,
            bus: if cluster { fresh(n)? } else { Vec::new() },
        });
    };
    let client: Vec<u16> = (0..n).map(|i| base + i as u16).collect();
    let bus: Vec<u16> = if cluster {
        client
            .iter()
            .map(|p| p.checked_add(10000))
            .collect::<Option<_>>()
            .ok_or_else(|| ProvisionError::PortBusy {
                node: node.name.clone(),
                port: base,
            })?
    } else {
        Vec::new()
    };
    for &p in client.iter().chain(&bus) {
        if !ports::is_free(p) {
            return Err(ProvisionError::PortBusy {
                node: node.name.clone(),
                port: p,
            });
        }
    }
    Ok(PortPlan { client, bus })
}
