//! `kind: redis-cluster`: shards × (1 + replicas) cluster-enabled servers,
//! bootstrapped over the protocol (SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET,
//! REPLICATE). `redis-cli --cluster create` takes ~6 s here; this takes a
//! fraction of that and keeps replica placement deterministic.

use super::conf;
use super::probe::{RedisAccess, RedisProbe, info_field};
use super::start;
use crate::fabric::proxy::Proxy;
use crate::provision::handle::{ProcessHandle, Role};
use crate::provision::launch::{Ctx, poll_until};
use crate::provision::{ProvisionError, binaries};
use crate::topology::{Cluster, KindName};

const KIND: KindName = KindName::RedisCluster;
pub const SLOTS: u32 = 16384;

/// Slot range `[start, end]` owned by shard `i` of `n`.
pub fn slot_range(i: u32, n: u32) -> (u32, u32) {
    (i * SLOTS / n, (i + 1) * SLOTS / n - 1)
}

/// The loopback address cluster node `i` connects from when its cluster
/// has link proxies: 127.0.1.1, 127.0.1.2, … (a node count is capped far
/// below 254 at validation), never the 127.0.0.1 every proxy connects from.
pub fn bus_source(i: usize) -> std::net::IpAddr {
    std::net::Ipv4Addr::new(127, 0, 1, 1 + (i % 254) as u8).into()
}

/// Process `<group>-<i>`: masters first (0..shards), then the replicas of
/// shard 0, shard 1, …, then the spares (cluster-enabled, each alone, out
/// of the cluster until a fault brings it in); `ports[i]` is its client
/// port, `bus_ports[i]` its cluster bus port.
pub async fn up(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &Cluster,
    ports: &[u16],
    bus_ports: &[u16],
    access: &RedisAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let password = access.password.as_str();
    let n = cfg.members();
    let shards = cfg.shards as usize;
    // With link proxies, every node announces a peer proxy (what other
    // nodes, replicas and MOVED redirects name; clients translate it to
    // their own client proxy) and a bus proxy (which knows each bus
    // connection by its sender, so one node can be cut off the bus).
    let mut peers: Vec<Option<Proxy>> = Vec::new();
    let mut buses: Vec<Option<Proxy>> = Vec::new();
    for (&port, &bus) in ports.iter().zip(bus_ports) {
        if ctx.proxies {
            let io = ProvisionError::io("starting a cluster link proxy");
            peers.push(Some(Proxy::start(port, false).await.map_err(io)?));
            let io = ProvisionError::io("starting a cluster bus proxy");
            buses.push(Some(Proxy::start_bus(bus).await.map_err(io)?));
        } else {
            peers.push(None);
            buses.push(None);
        }
    }
    let announced: Vec<(u16, u16)> = (0..ports.len())
        .map(|i| {
            (
                peers[i].as_ref().map_or(ports[i], |p| p.listen_port),
                buses[i].as_ref().map_or(bus_ports[i], |p| p.listen_port),
            )
        })
        .collect();
    let mut nodes = Vec::new();
    for (i, (&port, &bus)) in ports.iter().zip(bus_ports).enumerate() {
        let node = start(
            ctx,
            format!("{group}-{i}"),
            port,
            binaries::REDIS_SERVER,
            |data| {
                let mut c = conf::server(&cfg.server, port, data, password);
                c.set("cluster-enabled", "yes")
                    .set("cluster-config-file", "nodes.conf")
                    .set("cluster-node-timeout", cfg.node_timeout_ms)
                    .set("cluster-port", bus);
                if ctx.proxies {
                    // Under tls-cluster the announced client port is the
                    // TLS one.
                    let port_key = if ctx.tls.is_some() {
                        "cluster-announce-tls-port"
                    } else {
                        "cluster-announce-port"
                    };
                    c.set("cluster-announce-ip", "127.0.0.1")
                        .set(port_key, announced[i].0)
                        .set("cluster-announce-bus-port", announced[i].1)
                        .set("bind-source-addr", bus_source(i));
                }
                if ctx.tls.is_some() {
                    c.set("tls-cluster", "yes");
                }
                c
            },
        )
        .await?;
        nodes.push(node);
    }
    for node in &mut nodes {
        node.wait_pong(ctx, access).await?;
    }
    let mut probes: Vec<RedisProbe> = nodes.iter().map(|s| s.probe(access)).collect();
    let spares = probes.split_off(n);

    let setup = |e: String| ProvisionError::Setup(format!("bootstrapping cluster `{group}`: {e}"));
    let mut ids = Vec::new();
    for (i, probe) in probes.iter().enumerate() {
        ids.push(
            probe
                .query::<String>(redis::cmd("CLUSTER").arg("MYID"))
                .await
                .map_err(setup)?,
        );
        // Distinct epochs up front: no epoch collision to resolve later. (A
        // spare joins with epoch 0, as `redis-cli --cluster add-node`
        // leaves it, and takes a new one when slots move to it.)
        probe
            .query::<()>(redis::cmd("CLUSTER").arg("SET-CONFIG-EPOCH").arg(i + 1))
            .await
            .map_err(setup)?;
    }
    for (s, probe) in probes.iter().take(shards).enumerate() {
        let (a, b) = slot_range(s as u32, shards as u32);
        probe
            .query::<()>(redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(a).arg(b))
            .await
            .map_err(setup)?;
    }
    for &(port, bus) in announced.iter().take(n).skip(1) {
        meet(&probes[0], port, bus).await.map_err(setup)?;
    }
    for (node, probe) in nodes.iter().zip(&probes) {
        poll_until(&node.name, ctx.timeout, || async {
            let text: String = probe.query(redis::cmd("CLUSTER").arg("NODES")).await?;
            let known = text.lines().filter(|l| !l.trim().is_empty()).count();
            let settled = !text.contains("handshake") && !text.contains("noaddr");
            if known == n && settled {
                Ok(())
            } else {
                Err(format!("knows {known} of {n} cluster nodes"))
            }
        })
        .await?;
    }
    // Replicas of shard 0 first, then shard 1, ….
    for (j, probe) in probes.iter().skip(shards).enumerate() {
        let master = j / cfg.replicas_per_shard.max(1) as usize;
        probe
            .query::<()>(redis::cmd("CLUSTER").arg("REPLICATE").arg(&ids[master]))
            .await
            .map_err(setup)?;
    }
    let mut handles = Vec::new();
    let links = peers.into_iter().zip(buses);
    for (i, ((mut node, probe), (peer, bus))) in nodes
        .into_iter()
        .zip(probes.iter().chain(&spares))
        .zip(links)
        .enumerate()
    {
        let role = if i >= n {
            Role::Spare
        } else if i >= shards {
            Role::Replica
        } else {
            Role::Master
        };
        ctx.wait_ready(&node.name, &mut node.proc, || cluster_ok(probe, n, role))
            .await?;
        let mut h = node
            .into_handle(group, KIND, role, access)
            .with_peer_proxy(peer);
        h.bus_source = bus.as_ref().map(|_| bus_source(i));
        h.bus_proxy = bus;
        handles.push(h);
    }
    Ok(handles)
}

/// Tell the node behind `probe` to meet the one that announces `port` and
/// `bus` on this machine (`CLUSTER MEET`): gossip does the rest.
pub async fn meet(probe: &RedisProbe, port: u16, bus: u16) -> Result<(), String> {
    probe
        .query::<()>(
            redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(port)
                .arg(bus),
        )
        .await
}

/// Ready when the node sees the cluster `ok` with every slot served and
/// every node known, and (for a replica) its replication link is up; a
/// spare when it answers as a cluster node that knows only itself.
async fn cluster_ok(probe: &RedisProbe, n: usize, role: Role) -> Result<(), String> {
    let info: String = probe.query(redis::cmd("CLUSTER").arg("INFO")).await?;
    if role == Role::Spare {
        return match info_field(&info, "cluster_known_nodes") {
            Some("1") => Ok(()),
            other => Err(format!("a spare that knows {other:?} cluster nodes")),
        };
    }
    let ok = info_field(&info, "cluster_state") == Some("ok")
        && info_field(&info, "cluster_slots_ok") == Some("16384")
        && info_field(&info, "cluster_known_nodes") == Some(&n.to_string());
    if !ok {
        return Err(format!(
            "cluster_state:{:?} slots_ok:{:?}",
            info_field(&info, "cluster_state"),
            info_field(&info, "cluster_slots_ok")
        ));
    }
    if role == Role::Replica {
        let repl = probe.info("replication").await?;
        if info_field(&repl, "master_link_status") != Some("up") {
            return Err("replica link to its master is not up".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ranges_cover_all_slots_once() {
        for n in 1..=16 {
            let mut next = 0;
            for i in 0..n {
                let (a, b) = slot_range(i, n);
                assert_eq!(a, next);
                next = b + 1;
            }
            assert_eq!(next, SLOTS);
        }
    }
}
