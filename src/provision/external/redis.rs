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
    match (&access.sentinel, &ext.master) {
        (Some(sentinel), Some(master)) => {
            let mut handles = Vec::new();
            for &port in &ext.ports {
                let probe = RedisProbe::new(port, sentinel);
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
                let what = format!("Sentinel {}:{port}", ext.host);
                answers_within(ctx.timeout, &what, ask)
                    .await
                    .map_err(|e| unusable(format!("{what}: {e}")))?;
                let mut h = redis_handle(node, ext, port, Role::Sentinel, sentinel);
                h.client_redis = Some(access.data.clone());
                handles.push(h);
            }
            // The strategies' user on the primary the Sentinels name — on
            // the node's host: one host per external node, for now.
            let (at, primary) = primary_addr(ext.ports[0], sentinel, master)
                .await
                .map_err(unusable)?;
            if at != ext.host {
                return Err(unusable(format!(
                    "the Sentinels name the primary at {at}:{primary}, not on {}: an external node's servers must be on the host of its addresses, for now",
                    ext.host
                )));
            }
            let probe = RedisProbe::new(primary, &access.data);
            probe
                .query::<String>(&redis::cmd("PING"))
                .await
                .map_err(|e| unusable(format!("primary {}:{primary}: {e}", ext.host)))?;
            if ctx.proxies {
                behind_proxies(node, ext, access, sentinel, master, primary, &mut handles).await?;
            }
            Ok(handles)
        }
        _ => {
            let port = ext.ports[0];
            let probe = RedisProbe::new(port, &access.data);
            let ping = || async { probe.query::<String>(&redis::cmd("PING")).await.map(drop) };
            let what = format!("{}:{port}", ext.host);
            answers_within(ctx.timeout, &what, ping)
                .await
                .map_err(|e| unusable(format!("{what}: {e}")))?;
            let mut h = redis_handle(node, ext, port, Role::Endpoint, &access.data);
            if ctx.proxies {
                behind_proxy(&mut h).await?;
                h.client_redis = Some(RedisAccess {
                    host: None,
                    ..access.data.clone()
                });
                let through = RedisProbe::new(
                    h.info.client_port(),
                    h.client_redis.as_ref().unwrap_or(&access.data),
                );
                through
                    .query::<String>(&redis::cmd("PING"))
                    .await
                    .map_err(|e| unusable(format!("through the link proxy: {e}")))?;
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
/// later is reached directly, on this machine: so every server must be on
/// the node's host.
async fn behind_proxies(
    node: &Node,
    ext: &External,
    access: &ExternalAccess,
    sentinel: &RedisAccess,
    master: &str,
    primary: u16,
    handles: &mut Vec<ProcessHandle>,
) -> Result<(), ProvisionError> {
    let unusable = |message: String| super::unusable(node, message);
    let replicas: Vec<std::collections::HashMap<String, String>> =
        RedisProbe::new(ext.ports[0], sentinel)
            .query(redis::cmd("SENTINEL").arg("replicas").arg(master))
            .await
            .map_err(unusable)?;
    let mut servers = vec![(ext.host.clone(), primary, Role::Primary)];
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
    // The strategies' user, on this machine: where the proxies are.
    let through = RedisAccess {
        host: None,
        ..access.data.clone()
    };
    for (host, port, role) in servers {
        if host != ext.host {
            return Err(unusable(format!(
                "the Sentinels name a server at {host}:{port}, not on {}: link faults need every server on the node's host, for now",
                ext.host
            )));
        }
        let mut h = redis_handle(node, ext, port, role, &access.data);
        behind_proxy(&mut h).await?;
        RedisProbe::new(h.info.client_port(), &through)
            .query::<String>(&redis::cmd("PING"))
            .await
            .map_err(|e| unusable(format!("{host}:{port} through the link proxy: {e}")))?;
        h.client_redis = Some(through.clone());
        handles.push(h);
    }
    for h in handles.iter_mut().filter(|h| h.info.role.is_sentinel()) {
        h.client_redis = Some(through.clone());
    }
    Ok(())
}

/// The primary's host and port, as the Sentinel on `port` names it.
pub(super) async fn primary_addr(
    port: u16,
    sentinel: &RedisAccess,
    master: &str,
) -> Result<(String, u16), String> {
    let addr: Vec<String> = RedisProbe::new(port, sentinel)
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
    // Sentinels the strategies' user (theirs is `redis`) on the node's
    // host, else `redis`.
    let data = match master {
        Some(_) => first.client_redis.clone().map(|a| RedisAccess {
            host: Some(first.info.host.clone()),
            ..a
        }),
        None => first.redis.clone(),
    }
    .ok_or("no access")?;
    let port = match master {
        Some(m) => {
            // Any Sentinel that answers.
            let mut last = String::from("no Sentinel");
            let mut found = None;
            for h in handles.iter().filter(|h| h.info.role.is_sentinel()) {
                let Some(sentinel) = &h.redis else { continue };
                match primary_addr(h.info.port, sentinel, m).await {
                    Ok((_, p)) => {
                        found = Some(p);
                        break;
                    }
                    Err(e) => last = e,
                }
            }
            found.ok_or(last)?
        }
        None => first.info.port,
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
