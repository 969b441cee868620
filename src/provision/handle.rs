//! Running processes: what the outside sees ([`ProcessInfo`]) and what we hold
//! ([`ProcessHandle`], which kills its process when dropped).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::process::ManagedProcess;
use super::redis::probe::{RedisAccess, RedisProbe};
use crate::fabric::powerfs::PowerFs;
use crate::fabric::proxy::Proxy;
use crate::topology::KindName;

/// What a process is for in its topology node, as provisioned (a Redis
/// server's live role, which failovers change, is observed apart:
/// [`crate::observe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The only server of its node (redis, memcached, dynamodb).
    Server,
    /// The first server of a redis-replicated node or a DAX cluster.
    Primary,
    Replica,
    /// A cluster shard's master.
    Master,
    /// A cluster-enabled server out of its cluster until `add-master` or
    /// `add-replica` brings it in.
    Spare,
    Sentinel,
    /// An external endpoint sessiondrill does not run.
    Endpoint,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Primary => "primary",
            Role::Replica => "replica",
            Role::Master => "master",
            Role::Spare => "spare",
            Role::Sentinel => "sentinel",
            Role::Endpoint => "endpoint",
        }
    }

    pub fn is_sentinel(self) -> bool {
        self == Role::Sentinel
    }
}

impl std::fmt::Display for Role {
    /// Honours width and alignment (`{:<9}` in the `up` table).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One process (or external endpoint) of a deployment, as reported by
/// `up --json` and `status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Unique within the run, e.g. `cache-0`, `cache-sentinel-1`.
    pub name: String,
    /// The topology node it belongs to, e.g. `cache` (`group` in JSON).
    #[serde(rename = "group")]
    pub node: String,
    pub kind: KindName,
    pub role: Role,
    pub host: String,
    pub port: u16,
    pub pid: Option<u32>,
    /// The container it runs in (provider docker), short id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub url: String,
    /// The link proxy in front of the node, when the run has proxies:
    /// clients connect here so link faults apply to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_port: Option<u16>,
    /// The peer link proxy other servers and Sentinels reach it through
    /// (replicated nodes with proxies); the address Sentinels announce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_port: Option<u16>,
}

impl ProcessInfo {
    /// Process `name` of node `node` at `host:port`: no pid or container
    /// yet ([`ProcessHandle::local`] fills them in), no proxies.
    pub fn at(
        name: String,
        node: &str,
        kind: KindName,
        role: Role,
        host: &str,
        port: u16,
        url: String,
    ) -> Self {
        Self {
            name,
            node: node.to_string(),
            kind,
            role,
            host: host.to_string(),
            port,
            pid: None,
            container: None,
            url,
            proxy_port: None,
            peer_port: None,
        }
    }

    /// The port clients use: the proxy's, else the node's.
    pub fn client_port(&self) -> u16 {
        self.proxy_port.unwrap_or(self.port)
    }

    /// The host clients connect to: this machine when they go through a
    /// proxy, else the process's own.
    pub fn client_host(&self) -> String {
        match self.proxy_port {
            Some(_) => crate::fabric::ports::HOST.to_string(),
            None => self.host.clone(),
        }
    }

    /// A connection for our own commands to this Redis process (server or
    /// Sentinel), with the run's `access`: the one place that knows how
    /// to reach one.
    pub fn redis_probe(&self, access: &RedisAccess) -> RedisProbe {
        RedisProbe::new(self.port, access)
    }

    /// The URL clients use (through the proxy when there is one).
    pub fn client_url(&self) -> String {
        match self.proxy_port {
            Some(p) => self
                .url
                .replacen(&format!(":{}", self.port), &format!(":{p}"), 1),
            None => self.url.clone(),
        }
    }
}

pub struct ProcessHandle {
    pub info: ProcessInfo,
    pub process: Option<ManagedProcess>,
    /// The node's directory in the run (config, data, log).
    pub dir: Option<PathBuf>,
    /// How to reach it, for a Redis process (server or Sentinel).
    pub redis: Option<RedisAccess>,
    /// The power-loss filesystem its data directory is mounted on, if any.
    /// Declared after `process`: the process dies before the unmount.
    pub fs: Option<PowerFs>,
    /// The link proxy clients go through, if any.
    pub proxy: Option<Proxy>,
    /// The link proxy peers (replicas, Sentinels) go through, if any.
    pub peer_proxy: Option<Proxy>,
    /// A cluster node's bus proxy, if any.
    pub bus_proxy: Option<Proxy>,
    /// The loopback address a cluster node with a bus proxy opens its
    /// connections from (`bind-source-addr`): how the other nodes' bus
    /// proxies know its connections.
    pub bus_source: Option<std::net::IpAddr>,
    /// How the strategies reach a Redis process when the node has ACL
    /// users (`client_user`); `None`: as sessiondrill does (`redis`).
    pub client_redis: Option<RedisAccess>,
    /// TLS to a memcached server (an external node with `ca_file`).
    pub client_tls: Option<crate::fabric::tls_client::ClientTls>,
}

impl ProcessHandle {
    pub fn local(info: ProcessInfo, process: ManagedProcess, dir: PathBuf) -> Self {
        let info = ProcessInfo {
            pid: Some(process.pid()),
            container: process
                .container_id()
                .map(|id| id.chars().take(12).collect()),
            ..info
        };
        Self {
            process: Some(process),
            dir: Some(dir),
            ..Self::external(info)
        }
    }

    /// A process sessiondrill does not run (an external endpoint); the
    /// start of every handle.
    pub fn external(info: ProcessInfo) -> Self {
        Self {
            info,
            process: None,
            dir: None,
            redis: None,
            fs: None,
            proxy: None,
            peer_proxy: None,
            bus_proxy: None,
            bus_source: None,
            client_redis: None,
            client_tls: None,
        }
    }

    pub fn with_peer_proxy(mut self, p: Option<Proxy>) -> Self {
        self.info.peer_port = p.as_ref().map(|p| p.listen_port);
        self.peer_proxy = p;
        self
    }

    pub fn with_fs(mut self, fs: Option<PowerFs>) -> Self {
        self.fs = fs;
        self
    }

    /// A connection for our own commands to this Redis process (server or
    /// Sentinel).
    pub fn redis_probe(&self) -> RedisProbe {
        self.info
            .redis_probe(self.redis.as_ref().unwrap_or(&RedisAccess::default()))
    }

    pub fn with_redis(mut self, access: &RedisAccess) -> Self {
        self.redis = Some(access.clone());
        self
    }
}

/// `host` as a URL names it: an IPv6 address in brackets.
pub fn url_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// A URL redis-cli (`-u`), redis-py and redis-rs all accept: the user is
/// named (`default`) — redis-cli 7.0.15 sends no password for
/// `redis://:PASSWORD@…` and gets NOAUTH — and the password is
/// percent-encoded. (Redis before 6 has no users: its AUTH takes the
/// password alone.)
/// `rediss://` when the process speaks TLS (verify against the run's
/// `ca.pem`). On the access's host (this machine unless it names one);
/// without a password only a named user is given.
pub fn redis_url(port: u16, access: &RedisAccess) -> String {
    let scheme = if access.tls() { "rediss" } else { "redis" };
    let host = match access.host.as_deref() {
        None => crate::fabric::ports::HOST.to_string(),
        Some(h) => url_host(h),
    };
    if access.password.is_empty() {
        let user = access
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        return format!("{scheme}://{user}{host}:{port}");
    }
    let password =
        percent_encoding::utf8_percent_encode(&access.password, percent_encoding::NON_ALPHANUMERIC);
    let user = access.user.as_deref().unwrap_or("default");
    format!("{scheme}://{user}:{password}@{host}:{port}")
}
