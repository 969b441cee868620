//! External Redis nodes (`external:`, issue 20): a Redis sessiondrill does
//! not run — your staging Redis, a Sentinel-managed primary. Secrets come
//! from the environment, read before anything of the run is written; the
//! node must answer (TLS verified, credentials accepted) within the ready
//! timeout, else the run stops with an error naming it (exit 2). At the end
//! every key of the run (`sd:<tag>:*`) is removed again ([`remove_run_keys`]).

use std::collections::HashMap;
use std::time::Duration;

use super::probe::{RedisAccess, RedisProbe};
use crate::fabric::proxy::Proxy;
use crate::provision::ProvisionError;
use crate::provision::handle::{ProcessHandle, ProcessInfo, Role, redis_url};
use crate::provision::launch::{Ctx, poll_until};
use crate::topology::{External, KindName, Node, Topology};

/// How to reach one external node: its data (as the strategies' user) and,
/// for a Sentinel-managed one, its Sentinels.
pub struct ExternalAccess {
    pub data: RedisAccess,
    pub sentinel: Option<RedisAccess>,
}

/// Every external node's access, by node name; a secret that is not there
/// (variable not set or empty, authority file unreadable) is an error
/// naming the node.
pub fn resolve(topology: &Topology) -> Result<HashMap<String, ExternalAccess>, ProvisionError> {
    let mut all = HashMap::new();
    for node in &topology.nodes {
        let Some(ext) = &node.external else { continue };
        let secret = |message: String| ProvisionError::Secret {
            node: node.name.clone(),
            message,
        };
        let env = |var: &Option<String>| -> Result<String, ProvisionError> {
            let Some(var) = var else {
                return Ok(String::new());
            };
            match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(v),
                Ok(_) => Err(secret(format!("${var} is empty"))),
                Err(_) => Err(secret(format!(
                    "${var} is not set or not UTF-8 (export it first)"
                ))),
            }
        };
        // The passwords first, then the authority file.
        let password = env(&ext.password_env)?;
        let sentinel_password = env(&ext.sentinel_password_env)?;
        let ca: Option<std::sync::Arc<[u8]>> = match &ext.ca_file {
            Some(f) => Some(
                std::fs::read(f)
                    .map_err(|e| secret(format!("ca_file {}: {e}", f.display())))?
                    .into(),
            ),
            None => None,
        };
        let data = RedisAccess {
            user: ext.user.clone(),
            password,
            ca: ca.clone(),
            host: Some(ext.host.clone()),
        };
        let sentinel = ext.master.as_ref().map(|_| RedisAccess {
            user: None,
            password: sentinel_password,
            ca,
            host: Some(ext.host.clone()),
        });
        all.insert(node.name.clone(), ExternalAccess { data, sentinel });
    }
    Ok(all)
}

/// The node's handles, once it answers: the server (`kind: redis`), or the
/// Sentinels with the data access for the strategies.
pub async fn up(
    ctx: &Ctx<'_>,
    node: &Node,
    ext: &External,
    access: &ExternalAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let unusable = |message: String| ProvisionError::Endpoint {
        node: node.name.clone(),
        message,
    };
    let handle = |port: u16, role: Role, redis: &RedisAccess| {
        // The URL names the host and the user, never a password.
        let shown = RedisAccess {
            password: String::new(),
            ..redis.clone()
        };
        let url = redis_url(port, &shown);
        let info = ProcessInfo {
            name: format!("{}-{port}", node.name),
            node: node.name.clone(),
            kind: KindName::from(&node.kind),
            role,
            host: ext.host.clone(),
            port,
            pid: None,
            container: None,
            url,
            proxy_port: None,
            peer_port: None,
        };
        ProcessHandle::external(info).with_redis(redis)
    };
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
                let mut h = handle(port, Role::Sentinel, sentinel);
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
            let mut h = handle(port, Role::Endpoint, &access.data);
            if ctx.proxies {
                // Link faults act on the client link: the strategies reach
                // the server through a proxy on this machine (a TLS
                // certificate must then be valid for 127.0.0.1 too).
                let proxy = Proxy::start_to(&ext.host, port)
                    .await
                    .map_err(ProvisionError::io("starting the client link proxy"))?;
                h.info.proxy_port = Some(proxy.listen_port);
                h.client_redis = Some(RedisAccess {
                    host: None,
                    ..access.data.clone()
                });
                h.proxy = Some(proxy);
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

/// `check` until it passes within `timeout` — at once an error when the
/// first try fails for credentials or a certificate.
async fn answers_within<F, Fut>(timeout: Duration, what: &str, check: F) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    if let Err(e) = check().await {
        let lower = e.to_lowercase();
        let hopeless = [
            "wrongpass",
            "noauth",
            "certificate",
            "invalid peer",
            "authentication",
        ]
        .iter()
        .any(|w| lower.contains(w));
        if hopeless {
            return Err(e);
        }
    }
    poll_until(what, timeout, check)
        .await
        .map_err(|e| e.to_string())
}

/// The primary's host and port, as the Sentinel on `port` names it.
async fn primary_addr(
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
/// behind `handles`: SCAN then UNLINK, on the primary (asked of a
/// Sentinel when there are Sentinels). Returns how many were removed and
/// how many the last SCAN still found (0 when all went).
pub async fn remove_run_keys(
    handles: &[&ProcessHandle],
    master: Option<&str>,
    tag: &str,
) -> Result<(u64, u64), String> {
    let first = handles.first().ok_or("no handle")?;
    // Directly, never through a link proxy a fault may still hold: with
    // Sentinels the strategies' access (theirs is `redis`), else `redis`.
    let data = match master {
        Some(_) => first.client_redis.clone(),
        None => first.redis.clone(),
    }
    .ok_or("no access")?;
    let port = match master {
        Some(m) => {
            // Any Sentinel that answers.
            let mut last = String::from("no Sentinel");
            let mut found = None;
            for h in handles {
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
    let client = data.client(port).map_err(|e| e.to_string())?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(5)));
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    let pattern = format!("sd:{tag}:*");
    // One pass removes what it finds; a second counts what is left.
    let mut removed = 0u64;
    let mut left = 0u64;
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
                left += keys.len() as u64;
            } else if !keys.is_empty() {
                removed += redis::cmd("UNLINK")
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
    Ok((removed, left))
}
