//! `kind: redis-replicated`: a primary, N replicas and M Sentinels — the
//! shape of ElastiCache with Multi-AZ automatic failover.
//!
//! Sentinels are configured with each other's ids and the replicas up front
//! (`known-sentinel`, `known-replica`), so they agree from the first second
//! instead of discovering each other through hello messages every 2 s.

use std::path::Path;

use super::conf::{self, Conf, quoted};
use super::probe::{RedisAccess, RedisProbe, info_field};
use super::start;
use crate::fabric::proxy::Proxy;
use crate::provision::handle::{ProcessHandle, Role};
use crate::provision::launch::Ctx;
use crate::provision::{ProvisionError, binaries};
use crate::topology::{KindName, Replicated};

const KIND: KindName = KindName::RedisReplicated;

/// Process names: `<group>-0` is the first primary, then the replicas, then
/// `<group>-sentinel-<i>`. Ports come in the same order.
pub async fn up(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &Replicated,
    ports: &[u16],
    access: &RedisAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let password = access.password.as_str();
    let servers = 1 + cfg.replicas as usize;
    let (server_ports, sentinel_ports) = ports.split_at(servers);
    // With link proxies, servers and Sentinels reach each server through
    // its peer proxy (replication and monitoring can then be cut while
    // clients still reach it): every address they exchange is the proxy's.
    let mut peers: Vec<Option<Proxy>> = Vec::new();
    for &p in server_ports {
        peers.push(if ctx.proxies {
            Some(
                Proxy::start(p, false)
                    .await
                    .map_err(ProvisionError::io("starting a peer link proxy"))?,
            )
        } else {
            None
        });
    }
    let announced: Vec<u16> = server_ports
        .iter()
        .zip(&peers)
        .map(|(&p, proxy)| proxy.as_ref().map_or(p, |x| x.listen_port))
        .collect();
    let primary_port = server_ports[0];
    let primary_announced = announced[0];
    let topo = SentinelTopo {
        master: group,
        cfg,
        password,
        primary_port: primary_announced,
        replica_ports: &announced[1..],
        sentinel_ports,
        ids: sentinel_ports.iter().map(|_| sentinel_id()).collect(),
    };
    let server_conf = |port: u16, data: &Path| {
        let mut c = conf::server(&cfg.server, port, data, password);
        if let Some(n) = cfg.min_replicas_to_write {
            c.set("min-replicas-to-write", n).set(
                "min-replicas-max-lag",
                cfg.min_replicas_max_lag.unwrap_or(10),
            );
        }
        if port != primary_port {
            c.set("replicaof", format!("127.0.0.1 {primary_announced}"));
        }
        if ctx.proxies {
            let i = server_ports.iter().position(|&p| p == port).unwrap_or(0);
            c.set("replica-announce-ip", "127.0.0.1")
                .set("replica-announce-port", announced[i]);
        }
        c
    };

    // The primary first: a replica that finds no primary listening retries
    // only on Redis's 1 s cron tick, which would dominate start-up time.
    let mut primary = start(
        ctx,
        format!("{group}-0"),
        primary_port,
        binaries::REDIS_SERVER,
        |d| server_conf(primary_port, d),
    )
    .await?;
    let mut sentinels = Vec::new();
    for (i, &port) in sentinel_ports.iter().enumerate() {
        let name = format!("{group}-sentinel-{i}");
        sentinels.push(
            start(ctx, name, port, binaries::REDIS_SENTINEL, |d| {
                topo.conf(i, d)
            })
            .await?,
        );
    }
    primary.wait_pong(ctx, access).await?;
    let mut peers = peers.into_iter();
    let mut handles = vec![
        primary
            .into_handle(group, KIND, Role::Primary, access)
            .with_peer_proxy(peers.next().flatten()),
    ];

    let mut replicas = Vec::new();
    for (i, &port) in server_ports.iter().enumerate().skip(1) {
        let name = format!("{group}-{i}");
        replicas.push(
            start(ctx, name, port, binaries::REDIS_SERVER, |d| {
                server_conf(port, d)
            })
            .await?,
        );
    }
    for mut r in replicas {
        r.wait_pong(ctx, access).await?;
        let probe = r.probe(access);
        ctx.wait_ready(&r.name, &mut r.proc, || async {
            let info = probe.info("replication").await?;
            match info_field(&info, "master_link_status") {
                Some("up") => Ok(()),
                other => Err(format!("replication link to the primary is {other:?}")),
            }
        })
        .await?;
        handles.push(
            r.into_handle(group, KIND, Role::Replica, access)
                .with_peer_proxy(peers.next().flatten()),
        );
    }
    for mut s in sentinels {
        let probe = s.probe(access);
        ctx.wait_ready(&s.name, &mut s.proc, || async {
            sentinel_sees_everyone(&probe, group, primary_announced, cfg).await
        })
        .await?;
        handles.push(s.into_handle(group, KIND, Role::Sentinel, access));
    }
    Ok(handles)
}

/// Ready when the Sentinel names our primary and counts every replica and
/// every other Sentinel.
async fn sentinel_sees_everyone(
    probe: &RedisProbe,
    master: &str,
    primary_port: u16,
    cfg: &Replicated,
) -> Result<(), String> {
    let addr: Vec<String> = probe
        .query(
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(master),
        )
        .await?;
    if addr.get(1).map(String::as_str) != Some(&primary_port.to_string()) {
        return Err(format!("sentinel reports primary {addr:?}"));
    }
    let fields: Vec<String> = probe
        .query(redis::cmd("SENTINEL").arg("master").arg(master))
        .await?;
    let get = |k: &str| {
        fields
            .chunks(2)
            .find(|kv| kv[0] == k)
            .and_then(|kv| kv.get(1).cloned())
            .unwrap_or_default()
    };
    let replicas = get("num-slaves");
    let others = get("num-other-sentinels");
    if replicas == cfg.replicas.to_string() && others == (cfg.sentinels - 1).to_string() {
        Ok(())
    } else {
        Err(format!(
            "sentinel sees {replicas} replicas and {others} other sentinels"
        ))
    }
}

/// A Sentinel run id: 40 hex characters.
fn sentinel_id() -> String {
    (0..5)
        .map(|_| format!("{:08x}", rand::random::<u32>()))
        .collect()
}

/// What every Sentinel of a group is told about the others.
struct SentinelTopo<'a> {
    master: &'a str,
    cfg: &'a Replicated,
    password: &'a str,
    primary_port: u16,
    replica_ports: &'a [u16],
    sentinel_ports: &'a [u16],
    ids: Vec<String>,
}

impl SentinelTopo<'_> {
    /// sentinel.conf of Sentinel `me`.
    fn conf(&self, me: usize, data: &Path) -> Conf {
        let (master, cfg, password) = (self.master, self.cfg, self.password);
        let mut c = Conf::default();
        c.set("bind", "127.0.0.1")
            .set("port", self.sentinel_ports[me])
            .set("daemonize", "no")
            .set("logfile", "\"\"")
            .set("dir", quoted(data))
            .set("requirepass", password)
            .set("sentinel myid", &self.ids[me])
            .set("sentinel sentinel-pass", password)
            .set(
                "sentinel monitor",
                format!("{master} 127.0.0.1 {} {}", self.primary_port, cfg.quorum),
            )
            .set("sentinel auth-pass", format!("{master} {password}"))
            .set(
                "sentinel down-after-milliseconds",
                format!("{master} {}", cfg.down_after_ms),
            )
            .set(
                "sentinel failover-timeout",
                format!("{master} {}", cfg.failover_timeout_ms),
            )
            .set(
                "sentinel parallel-syncs",
                format!("{master} {}", cfg.parallel_syncs),
            );
        for p in self.replica_ports {
            c.set("sentinel known-replica", format!("{master} 127.0.0.1 {p}"));
        }
        for (i, p) in self.sentinel_ports.iter().enumerate() {
            if i != me {
                c.set(
                    "sentinel known-sentinel",
                    format!("{master} 127.0.0.1 {p} {}", self.ids[i]),
                );
            }
        }
        c
    }
}
