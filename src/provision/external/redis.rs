//! External Redis servers and Sentinel-managed primaries: checked before
//! the load, and every key of the run (`sd:<tag>:*`) removed at the end
//! ([`remove_run_keys`]).

use std::time::Duration;

use super::{ExternalAccess, Removed, answers_within, behind_proxy, redis_handle};
use crate::provision::ProvisionError;
use crate::provision::handle::{ProcessHandle, Role};
use crate::provision::launch::Ctx;
use crate::provision::redis::probe::{RedisAccess, RedisProbe};
use crate::topology::{External, Node};

/// The node's handles, once it answers: the server (`kind: redis`), or the
/// Sentinels with the data access for the strategies.
pub(super) async fn up(
    ctx: &Ctx<'_>,
    node: &Node,
    ext: &External,
    access: &ExternalAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let unusable = |message: String| super::unusable(node, message);
    let (first_host, first_port) = ext
        .addresses
        .first()
        .map(|(h, p)| (h.clone(), *p))
        .ok_or_else(|| unusable("no address".into()))?;
    match (&access.sentinel, &ext.master) {
        (Some(sentinel), Some(master)) => {
            let mut handles = Vec::new();
            for (host, port) in &ext.addresses {
                let (host, port) = (host.as_str(), *port);
                let probe = RedisProbe::new(port, &sentinel.at(host));
                let asked = redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(master)
                    .clone();
                let ask = || async {
                    let addr: Vec<String> = probe.query(&asked).await?;
                    if addr.len() == 2 {
                        Ok(())
                    } else {
                        Err(format!("Sentinel knows no primary named {master}"))
                    }
                };
                let what = format!("Sentinel {host}:{port}");
                answers_within(ctx.timeout, &what, ask)
                    .await
                    .map_err(|e| unusable(format!("{what}: {e}")))?;
                // The strategies' user: on whatever host the Sentinels name.
                let name = ext.process_name(&node.name, host, port);
                let mut h = redis_handle(node, name, (host, port), Role::Sentinel, sentinel);
                h.client_redis = Some(access.data.clone());
                handles.push(h);
            }
            let (at, primary) = primary_addr(&first_host, first_port, sentinel, master)
                .await
                .map_err(unusable)?;
            let probe = RedisProbe::new(primary, &access.data.at(&at));
            probe
                .query::<String>(&redis::cmd("PING"))
                .await
                .map_err(|e| unusable(format!("primary {at}:{primary}: {e}")))?;
            if ctx.proxies {
                let named = (first_host.as_str(), first_port);
                behind_proxies(
                    node,
                    access,
                    sentinel,
                    master,
                    named,
                    (at, primary),
                    &mut handles,
                )
                .await?;
            }
            Ok(handles)
        }
        _ => {
            let (host, port) = (first_host.as_str(), first_port);
            let probe = RedisProbe::new(port, &access.data.at(host));
            let ping = || async { probe.query::<String>(&redis::cmd("PING")).await.map(drop) };
            let what = format!("{host}:{port}");
            answers_within(ctx.timeout, &what, ping)
                .await
                .map_err(|e| unusable(format!("{what}: {e}")))?;
            let name = ext.process_name(&node.name, host, port);
            let mut h = redis_handle(node, name, (host, port), Role::Endpoint, &access.data);
            if ctx.proxies {
                behind_proxy(&mut h).await?;
                // Through the proxy, on this machine.
                let through = RedisAccess {
                    host: None,
                    ..access.data.clone()
                };
                RedisProbe::new(h.info.client_port(), &through)
                    .query::<String>(&redis::cmd("PING"))
                    .await
                    .map_err(|e| unusable(format!("through the link proxy: {e}")))?;
                h.client_redis = Some(through);
            }
            Ok(vec![h])
        }
    }
}

/// Link faults on a Sentinel-managed node act on its client links: every
/// server the Sentinels name now (the primary and its replicas) gets a
/// proxy on this machine, the strategies reach each through it (the
/// Sentinels' answers are translated to the proxies, as for our own
/// nodes), and the servers get handles of their own for the faults to
/// target (`NODE.primary`, `NODE-PORT`). A server the Sentinels name only
/// later is reached directly.
#[allow(clippy::too_many_arguments)]
async fn behind_proxies(
    node: &Node,
    access: &ExternalAccess,
    sentinel: &RedisAccess,
    master: &str,
    (s_host, s_port): (&str, u16),
    primary: (String, u16),
    handles: &mut Vec<ProcessHandle>,
) -> Result<(), ProvisionError> {
    let unusable = |message: String| super::unusable(node, message);
    let replicas: Vec<std::collections::HashMap<String, String>> =
        RedisProbe::new(s_port, &sentinel.at(s_host))
            .query(redis::cmd("SENTINEL").arg("replicas").arg(master))
            .await
            .map_err(unusable)?;
    let mut servers = vec![(primary.0, primary.1, Role::Primary)];
    for r in &replicas {
        let down = r
            .get("flags")
            .is_some_and(|f| f.contains("s_down") || f.contains("disconnected"));
        let (Some(ip), Some(port)) = (r.get("ip"), r.get("port").and_then(|p| p.parse().ok()))
        else {
            continue;
        };
        if !down {
            servers.push((ip.clone(), port, Role::Replica));
        }
    }
    // Through the proxies, on this machine.
    let through = RedisAccess {
        host: None,
        ..access.data.clone()
    };
    for (host, port, role) in servers {
        let name = External::server_name(&node.name, &host, port);
        let mut h = redis_handle(node, name, (&host, port), role, &access.data);
        behind_proxy(&mut h).await?;
        RedisProbe::new(h.info.client_port(), &through)
            .query::<String>(&redis::cmd("PING"))
            .await
            .map_err(|e| unusable(format!("{host}:{port} through the link proxy: {e}")))?;
        h.client_redis = Some(through.clone());
        handles.push(h);
    }
    Ok(())
}

/// The primary's host and port, as the Sentinel at `host:port` names it.
pub(super) async fn primary_addr(
    host: &str,
    port: u16,
    sentinel: &RedisAccess,
    master: &str,
) -> Result<(String, u16), String> {
    let addr: Vec<String> = RedisProbe::new(port, &sentinel.at(host))
        .query(
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(master),
        )
        .await?;
    match (addr.first(), addr.get(1).and_then(|p| p.parse().ok())) {
        (Some(host), Some(port)) => Ok((host.clone(), port)),
        _ => Err(format!("the Sentinel names no primary called {master}")),
    }
}

/// Remove every key of run `tag` (`sd:<tag>:*`) from the external node
/// behind `handles`: on the primary (asked of a Sentinel when there are
/// Sentinels).
pub(super) async fn remove_run_keys(
    handles: &[&ProcessHandle],
    master: Option<&str>,
    tag: &str,
) -> Result<Removed, String> {
    let first = handles.first().ok_or("no handle")?;
    // Directly, never through a link proxy a fault may still hold: with
    // Sentinels the strategies' user (theirs is `redis`) on the host they
    // name, else `redis`.
    let (data, port) = match master {
        Some(m) => {
            let user = first.client_redis.clone().ok_or("no access")?;
            // Any Sentinel that answers.
            let mut last = String::from("no Sentinel");
            let mut found = None;
            for h in handles.iter().filter(|h| h.info.role.is_sentinel()) {
                let Some(sentinel) = &h.redis else { continue };
                match primary_addr(&h.info.host, h.info.port, sentinel, m).await {
                    Ok(addr) => {
                        found = Some(addr);
                        break;
                    }
                    Err(e) => last = e,
                }
            }
            let (host, port) = found.ok_or(last)?;
            (user.at(&host), port)
        }
        None => (first.redis.clone().ok_or("no access")?, first.info.port),
    };
    scan_and_unlink(&data, port, tag, false).await
}

/// SCAN the server at `port` (on the access's host) for the keys of run
/// `tag` and UNLINK them; a second SCAN counts what is left. `per_key`:
/// one UNLINK per key (pipelined), as a cluster node refuses one command
/// over keys of several slots.
pub(super) async fn scan_and_unlink(
    data: &RedisAccess,
    port: u16,
    tag: &str,
    per_key: bool,
) -> Result<Removed, String> {
    let client = data.client(port).map_err(|e| e.to_string())?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(5)));
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    let pattern = format!("sd:{tag}:*");
    let mut done = Removed::default();
    for removing in [true, false] {
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut con)
                .await
                .map_err(|e| e.to_string())?;
            if !removing {
                done.left += keys.len() as u64;
            } else if keys.is_empty() {
            } else if per_key {
                let mut pipe = redis::pipe();
                for k in &keys {
                    pipe.cmd("UNLINK").arg(k);
                }
                let each: Vec<u64> = pipe
                    .query_async(&mut con)
                    .await
                    .map_err(|e| e.to_string())?;
                done.removed += each.iter().sum::<u64>();
            } else {
                done.removed += redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async::<u64>(&mut con)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
    }
    Ok(done)
}
