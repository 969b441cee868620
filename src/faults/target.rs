//! Which processes a fault's `target` names, resolved when the fault is
//! injected (roles change: after a failover `cache.primary` is another
//! process than before).
//!
//! - a process: `cache-0`, `cache-sentinel-1`, `sessions`;
//! - a node group: `cache` — its only server, or its current primary;
//! - a role: `cache.primary`, `cache.replica` (the first current replica),
//!   `cache.replicas` (all of them) — for Redis the live role, for a DAX
//!   cluster the provisioned one.

use crate::observe::roles::live_role;
use crate::provision::redis::probe::RedisProbe;
use crate::provision::{Deployment, ProcessHandle, Role};

/// Server processes of a group (not Sentinels), in process order.
fn servers<'a>(dep: &'a Deployment, group: &str) -> Vec<(usize, &'a ProcessHandle)> {
    dep.nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.info.node == group && !n.info.role.is_sentinel())
        .collect()
}

/// The Sentinels of a group.
pub fn sentinels(dep: &Deployment, group: &str) -> Vec<RedisProbe> {
    dep.nodes
        .iter()
        .filter(|n| n.info.node == group && n.info.role.is_sentinel())
        .map(ProcessHandle::redis_probe)
        .collect()
}

/// The host and port of the primary the first answering Sentinel names
/// `master` ([`Deployment::master_name`]).
pub async fn sentinels_primary(sentinels: &[RedisProbe], master: &str) -> Option<(String, u16)> {
    for probe in sentinels {
        let asked = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            probe.query::<Vec<String>>(
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(master),
            ),
        )
        .await;
        let Ok(Ok(addr)) = asked else { continue };
        return Some((addr.first()?.clone(), addr.get(1)?.parse().ok()?));
    }
    None
}

/// The server the group's Sentinels name as primary, if it has Sentinels
/// and one of them answers.
async fn sentinel_primary(
    dep: &Deployment,
    group: &str,
    members: &[(usize, &ProcessHandle)],
) -> Option<usize> {
    let (host, port) = sentinels_primary(&sentinels(dep, group), dep.master_name(group)).await?;
    members
        .iter()
        .find(|(_, n)| {
            n.info.host == host && (n.info.port == port || n.info.peer_port == Some(port))
        })
        .map(|(i, _)| *i)
}

/// Indexes into `dep.nodes` of the processes `target` names.
pub async fn resolve(dep: &Deployment, target: &str) -> Result<Vec<usize>, String> {
    if let Some(i) = dep.nodes.iter().position(|n| n.info.name == target) {
        return Ok(vec![i]);
    }
    let (group, role) = match target.split_once('.') {
        Some((g, r)) => (g, Some(r)),
        None => (target, None),
    };
    let members = servers(dep, group);
    if members.is_empty() {
        let names: Vec<&str> = dep.nodes.iter().map(|n| n.info.name.as_str()).collect();
        return Err(format!(
            "no process or node group `{group}` in this deployment (processes: {})",
            names.join(", ")
        ));
    }
    let is_redis = members.iter().all(|(_, n)| n.info.kind.is_redis());
    match role {
        None if members.len() == 1 => Ok(vec![members[0].0]),
        None | Some("primary") | Some("master") if is_redis => {
            // With Sentinels, the primary is the one they name — the one
            // clients follow. In a split brain a demoted primary still
            // answers `master` until it is reconfigured.
            if let Some(i) = sentinel_primary(dep, group, &members).await {
                return Ok(vec![i]);
            }
            for (i, n) in &members {
                if live_role(n).await.as_deref() == Some("master") {
                    return Ok(vec![*i]);
                }
            }
            Err(format!(
                "no process of `{group}` answers as primary right now"
            ))
        }
        Some("replica") | Some("replicas") if is_redis => {
            let mut out = Vec::new();
            for (i, n) in &members {
                if live_role(n).await.as_deref() == Some("slave") {
                    out.push(*i);
                }
            }
            if out.is_empty() {
                return Err(format!(
                    "no process of `{group}` answers as replica right now"
                ));
            }
            if role == Some("replica") {
                out.truncate(1);
            }
            Ok(out)
        }
        // Not Redis (a DAX cluster): roles are as provisioned.
        Some(r @ ("primary" | "master" | "replica" | "replicas")) => {
            let want = if matches!(r, "primary" | "master") {
                Role::Primary
            } else {
                Role::Replica
            };
            let mut out: Vec<usize> = members
                .iter()
                .filter(|(_, n)| n.info.role == want)
                .map(|(i, _)| *i)
                .collect();
            if out.is_empty() {
                return Err(format!("`{group}` has no {want}"));
            }
            if r != "replicas" {
                out.truncate(1);
            }
            Ok(out)
        }
        None => Err(format!(
            "`{group}` has {} processes; name one ({}) or a role like `{group}.primary`",
            members.len(),
            members
                .iter()
                .map(|(_, n)| n.info.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(r) => Err(format!(
            "unknown role `{r}` for `{group}`: expected primary, replica or replicas"
        )),
    }
}
