//! External nodes (`external:`, issue 20): systems sessiondrill does not
//! run — your staging Redis, a Sentinel-managed primary, a Redis Cluster,
//! memcached servers. Secrets come from the environment, read before
//! anything of the run is written; every address must answer (TLS
//! verified, credentials accepted) within the ready timeout, else the run
//! stops with an error naming the node (exit 2). At the end what the run
//! wrote there is removed again ([`remove_run_data`]).

mod cluster;
mod dynamodb;
mod memcached;
mod redis;

use std::collections::HashMap;
use std::time::Duration;

use super::ProvisionError;
use super::handle::{ProcessHandle, ProcessInfo, Role, redis_url};
use super::launch::{Ctx, poll_until};
use super::redis::probe::RedisAccess;
use crate::fabric::proxy::Proxy;
use crate::topology::{External, KindName, Node, NodeKind, Topology};

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
        // The host goes with each address: `RedisAccess::at`.
        let data = RedisAccess {
            user: ext.user.clone(),
            password,
            ca: ca.clone(),
            host: None,
        };
        let sentinel = ext.master.as_ref().map(|_| RedisAccess {
            user: None,
            password: sentinel_password,
            ca,
            host: None,
        });
        all.insert(node.name.clone(), ExternalAccess { data, sentinel });
    }
    Ok(all)
}

/// The node's handles, once every address answers.
pub async fn up(
    ctx: &Ctx<'_>,
    node: &Node,
    ext: &External,
    access: &ExternalAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    match &node.kind {
        NodeKind::Redis(_) | NodeKind::RedisReplicated(_) => {
            redis::up(ctx, node, ext, access).await
        }
        NodeKind::RedisCluster(_) => cluster::up(ctx, node, ext, access).await,
        NodeKind::Memcached(_) => memcached::up(ctx, node, ext, access).await,
        NodeKind::Dynamodb(_) => dynamodb::up(ctx, node, ext).await,
        NodeKind::Dax(_) => Err(unusable(
            node,
            format!("{} nodes cannot be external", node.kind.name()),
        )),
    }
}

/// What removing a run's data from an external node did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub removed: u64,
    /// What a second look still found (0 when everything went).
    pub left: u64,
    /// What could not be removed or looked at (the counts are then
    /// incomplete).
    pub error: Option<String>,
}

impl Removed {
    /// Both counts, and every error.
    pub fn add(&mut self, other: Removed) {
        self.removed += other.removed;
        self.left += other.left;
        self.error = match (self.error.take(), other.error) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
    }
}

/// Remove the keys of run `tag` (`sd:<tag>:*`) from the external Redis
/// node behind `handles`: on the primary (the one its Sentinels name), on
/// every master of a cluster. (Memcached and DynamoDB data is removed
/// through the strategies' stores: `drill::external_cleanup`.)
pub async fn remove_run_keys(
    node: &Node,
    handles: &[&ProcessHandle],
    tag: &str,
) -> Result<Removed, String> {
    let ext = node.external.as_ref().ok_or("not an external node")?;
    match &node.kind {
        NodeKind::Redis(_) | NodeKind::RedisReplicated(_) => {
            redis::remove_run_keys(handles, ext.master.as_deref(), tag).await
        }
        NodeKind::RedisCluster(_) => cluster::remove_run_keys(handles, tag).await,
        NodeKind::Memcached(_) | NodeKind::Dynamodb(_) | NodeKind::Dax(_) => {
            Err(format!("`{}` holds no Redis keys", node.name))
        }
    }
}

/// How long one exchange of a check or a cleanup may take.
pub const EXCHANGE: Duration = Duration::from_secs(5);

fn unusable(node: &Node, message: String) -> ProvisionError {
    ProvisionError::Endpoint {
        node: node.name.clone(),
        message,
    }
}

/// The handle of process `name` of an external node, at `host:port`. Its
/// URL names the host and the user, never a password.
fn handle(
    node: &Node,
    name: String,
    (host, port): (&str, u16),
    role: Role,
    url: String,
) -> ProcessHandle {
    ProcessHandle::external(ProcessInfo::at(
        name,
        &node.name,
        KindName::from(&node.kind),
        role,
        host,
        port,
        url,
    ))
}

/// A Redis process's handle, `name`, reached with `access` on its host.
fn redis_handle(
    node: &Node,
    name: String,
    (host, port): (&str, u16),
    role: Role,
    access: &RedisAccess,
) -> ProcessHandle {
    let access = access.at(host);
    let shown = RedisAccess {
        password: String::new(),
        ..access.clone()
    };
    handle(node, name, (host, port), role, redis_url(port, &shown)).with_redis(&access)
}

/// Link faults act on the client link: put `h` behind a proxy on this
/// machine that forwards to its address (over TLS the server's
/// certificate must then be valid for 127.0.0.1 too).
async fn behind_proxy(h: &mut ProcessHandle) -> Result<(), ProvisionError> {
    let proxy = Proxy::start_to(&h.info.host, h.info.port)
        .await
        .map_err(ProvisionError::io("starting the client link proxy"))?;
    h.info.proxy_port = Some(proxy.listen_port);
    h.proxy = Some(proxy);
    Ok(())
}

/// `check` until it passes within `timeout` — at once an error when the
/// first try fails for credentials or a certificate.
pub(super) async fn answers_within<F, Fut>(
    timeout: Duration,
    what: &str,
    check: F,
) -> Result<(), String>
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
            "noperm",
            // DynamoDB: credentials, permissions, no such table.
            "credential",
            "accessdenied",
            "unrecognizedclient",
            "signature",
            "security token",
            "resourcenotfound",
            "not the session key",
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
