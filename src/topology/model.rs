//! Validated topology: what the provisioner builds. Every value here has been
//! checked; defaults are filled in.

use std::path::PathBuf;

pub use super::spec::{AppendFsync, MaxmemoryPolicy, Persistence, ProviderName as Provider};

#[derive(Debug, Clone)]
pub struct Topology {
    pub name: String,
    pub description: Option<String>,
    pub provider: Provider,
    pub nodes: Vec<Node>,
    /// The file it came from, when it came from a file.
    pub source: Option<PathBuf>,
    /// Where its cloud faults' control planes are.
    pub aws: Aws,
}

/// The region and endpoint of the AWS control planes (FIS, ElastiCache);
/// empty: the SDK's own.
pub use crate::dynamo::AwsPlace as Aws;

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    /// Honoured base port: the first process of the node listens here, the
    /// others on the following ports.
    pub port: Option<u16>,
    /// The container image its processes run from (provider docker);
    /// `None`: the default image of each program.
    pub image: Option<String>,
    pub kind: NodeKind,
    /// Where a node sessiondrill does not run is (`external:`); `None`:
    /// sessiondrill provisions it.
    pub external: Option<External>,
}

impl Node {
    /// How many local processes sessiondrill runs for it.
    pub fn process_count(&self) -> usize {
        if self.external.is_some() {
            0
        } else {
            self.kind.process_count()
        }
    }
}

/// A Redis node sessiondrill does not run (`external:`): what it may do
/// there is limited (issue 20): load within `max_rate`, keys under the
/// run's prefix only, removed at the end; no process faults.
#[derive(Debug, Clone, PartialEq)]
pub struct External {
    /// Host and port of the server (`kind: redis`), of each Sentinel, seed
    /// or memcached server; DynamoDB: the endpoint's, if it names one.
    pub addresses: Vec<(String, u16)>,
    /// The Sentinels' name for the primary.
    pub master: Option<String>,
    pub user: Option<String>,
    pub password_env: Option<String>,
    pub sentinel_password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    /// The name certificates are checked for instead of the host
    /// (memcached).
    pub server_name: Option<String>,
}

impl External {
    /// The process name of address `host:port` of external node `node`:
    /// `NODE-PORT` when every address is on one host, else
    /// `NODE-HOST-PORT`. A server a Sentinel-managed node's Sentinels name
    /// is always `NODE-HOST-PORT` ([`External::server_name`]).
    pub fn process_name(&self, node: &str, host: &str, port: u16) -> String {
        if self.addresses.iter().all(|(h, _)| h == host) {
            format!("{node}-{port}")
        } else {
            format!("{node}-{host}-{port}")
        }
    }

    /// The name of a server its Sentinels name at `host:port`.
    pub fn server_name(node: &str, host: &str, port: u16) -> String {
        format!("{node}-{host}-{port}")
    }

    /// Whether `target` can name one of this node's processes: an
    /// address's [`External::process_name`], or — with Sentinels, whose
    /// servers are known only at the start — any `NODE-HOST-PORT`.
    pub fn may_name(&self, node: &str, target: &str) -> bool {
        let by_address = self
            .addresses
            .iter()
            .any(|(h, p)| self.process_name(node, h, *p) == target);
        let by_sentinels = self.master.is_some()
            && target
                .strip_prefix(node)
                .and_then(|r| r.strip_prefix('-'))
                .and_then(|r| r.rsplit_once('-'))
                .is_some_and(|(host, port)| {
                    !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                });
        by_address || by_sentinels
    }
}

/// A topology node's kind and its settings. [`KindName`], its tag, names
/// the kind in YAML, `up --json`, reports and the dashboard.
#[derive(Debug, Clone, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(KindName),
    vis(pub),
    derive(
        Hash,
        serde::Serialize,
        serde::Deserialize,
        strum::VariantArray,
        strum::IntoStaticStr
    ),
    serde(rename_all = "kebab-case"),
    strum(serialize_all = "kebab-case")
)]
pub enum NodeKind {
    Redis(RedisServer),
    RedisReplicated(Replicated),
    RedisCluster(Cluster),
    Dynamodb(Dynamodb),
    Dax(Dax),
    Memcached(Memcached),
}

impl KindName {
    pub const ALL: &'static [KindName] = <KindName as strum::VariantArray>::VARIANTS;

    /// `redis-replicated`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// A kind whose processes are Redis servers (and Sentinels).
    pub fn is_redis(self) -> bool {
        match self {
            KindName::Redis | KindName::RedisReplicated | KindName::RedisCluster => true,
            KindName::Dynamodb | KindName::Dax | KindName::Memcached => false,
        }
    }

    pub fn is_cluster(self) -> bool {
        self == KindName::RedisCluster
    }
}

impl std::fmt::Display for KindName {
    /// Honours width and alignment (`{:<17}` in the `up` table).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl NodeKind {
    /// Its tag.
    pub fn kind_name(&self) -> KindName {
        self.into()
    }

    pub fn name(&self) -> &'static str {
        self.kind_name().name()
    }

    /// Whether its Redis processes speak TLS (`tls: true`).
    pub fn tls(&self) -> bool {
        match self {
            NodeKind::Redis(s) => s.tls,
            NodeKind::RedisReplicated(r) => r.server.tls,
            NodeKind::RedisCluster(c) => c.server.tls,
            NodeKind::Dynamodb(_) | NodeKind::Dax(_) | NodeKind::Memcached(_) => false,
        }
    }

    /// How many local processes the node runs (0 for an external endpoint).
    pub fn process_count(&self) -> usize {
        match self {
            NodeKind::Redis(_) => 1,
            NodeKind::RedisReplicated(r) => (1 + r.replicas + r.sentinels) as usize,
            NodeKind::RedisCluster(c) => c.members() + c.spares as usize,
            NodeKind::Dynamodb(d) => match d.engine {
                DynamoEngine::Embedded { .. } => 1,
                DynamoEngine::Endpoint { .. } => 0,
            },
            NodeKind::Dax(d) => d.nodes as usize,
            NodeKind::Memcached(m) => m.instances as usize,
        }
    }
}

/// Settings shared by every redis-server a node runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisServer {
    pub persistence: Persistence,
    pub appendfsync: AppendFsync,
    /// RDB save points: (seconds, changes).
    pub save: Vec<(u32, u32)>,
    pub maxmemory: Option<String>,
    pub maxmemory_policy: Option<MaxmemoryPolicy>,
    /// Fixed password; `None` means a random one per run.
    pub password: Option<String>,
    /// Clients, replicas and Sentinels speak TLS only (no plaintext port),
    /// verified against the run's certificate authority.
    pub tls: bool,
    /// ACL users besides `default` (which sessiondrill itself uses).
    pub users: Vec<AclUser>,
    /// The one of `users` the strategies authenticate as; `None`: the
    /// `default` user.
    pub client_user: Option<String>,
}

/// An ACL user of a Redis node (`users:`).
#[derive(Debug, Clone, PartialEq)]
pub struct AclUser {
    pub name: String,
    /// The environment variable its password is read from at `up`.
    pub password_env: String,
    /// Its ACL rules, checked token by token (no password among them).
    pub rules: String,
}

impl RedisServer {
    pub fn aof(&self) -> bool {
        matches!(self.persistence, Persistence::Aof | Persistence::AofRdb)
    }
    pub fn rdb(&self) -> bool {
        matches!(self.persistence, Persistence::Rdb | Persistence::AofRdb)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Replicated {
    pub server: RedisServer,
    pub replicas: u32,
    pub sentinels: u32,
    pub quorum: u32,
    pub down_after_ms: u64,
    pub failover_timeout_ms: u64,
    pub parallel_syncs: u32,
    pub min_replicas_to_write: Option<u32>,
    pub min_replicas_max_lag: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub server: RedisServer,
    pub shards: u32,
    pub replicas_per_shard: u32,
    pub node_timeout_ms: u64,
    /// Cluster-enabled servers started with the others but not in the
    /// cluster: `add-master` and `add-replica` bring them in under load.
    pub spares: u32,
}

impl Cluster {
    /// The processes in the cluster from the start (spares not counted).
    pub fn members(&self) -> usize {
        (self.shards * (1 + self.replicas_per_shard)) as usize
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dynamodb {
    pub engine: DynamoEngine,
    pub region: String,
    pub tables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DynamoEngine {
    /// Dynoxide in its own child process, file-backed in the run directory.
    Embedded { ttl_sweep_interval_ms: u64 },
    /// An existing DynamoDB-compatible endpoint (LocalStack, DynamoDB Local, AWS).
    Endpoint { url: String },
}

/// A DAX cluster (seed 003): item and query caches in front of a
/// `dynamodb` node, speaking the DynamoDB protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct Dax {
    /// The `dynamodb` node it fronts.
    pub dynamodb: String,
    pub item_ttl: std::time::Duration,
    pub query_ttl: std::time::Duration,
    /// Entries per cache before LRU eviction.
    pub max_items: u64,
    /// 1 primary + up to 2 replicas.
    pub nodes: u32,
    /// How long replica item caches lag the primary's write-through.
    pub replica_delay: std::time::Duration,
    /// Clients go to DynamoDB directly when no DAX node answers.
    pub fallback: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Memcached {
    pub instances: u32,
    pub memory_mb: u32,
}
