//! The YAML shape of a topology: plain data, checked by serde for types and
//! unknown fields. [`super::validate`] turns it into domain types.
//!
//! Node fields are one flat struct rather than an enum tagged by `kind`:
//! serde buffers tagged enums and would lose the position of a bad field;
//! the flat struct lets serde_yaml point at every field it rejects, and the
//! validator then refuses fields that do not apply to the node's kind.

use indexmap::IndexMap;
use serde::Deserialize;

pub use super::model::KindName;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologySpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub provider: Option<ProviderName>,
    /// Where the clouds' control planes are for its cloud faults.
    #[serde(default)]
    pub aws: Option<AwsSpec>,
    pub nodes: IndexMap<String, NodeSpec>,
}

/// `aws:` — the region and endpoint of the AWS control planes the
/// topology's cloud faults (`fis`, `test-failover`) call; either left out:
/// the SDK's own (environment, profile).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSpec {
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderName {
    Process,
    Docker,
    External,
}

impl ProviderName {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Process => "process",
            ProviderName::Docker => "docker",
            ProviderName::External => "external",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    None,
    Rdb,
    Aof,
    #[serde(rename = "aof+rdb")]
    AofRdb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppendFsync {
    Always,
    Everysec,
    No,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaxmemoryPolicy {
    Noeviction,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineName {
    Embedded,
    Endpoint,
}

/// Every field any node kind accepts. Which ones apply to which kind is
/// decided by [`super::validate`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub kind: KindName,
    pub port: Option<u16>,
    /// The container image (provider docker).
    pub image: Option<String>,
    pub password: Option<String>,
    // Redis server settings (all Redis kinds)
    pub persistence: Option<Persistence>,
    pub appendfsync: Option<AppendFsync>,
    pub save: Option<String>,
    pub maxmemory: Option<String>,
    pub maxmemory_policy: Option<MaxmemoryPolicy>,
    pub tls: Option<bool>,
    /// ACL users, by name (`users: { app: { password_env: …, rules: … } }`).
    pub users: Option<IndexMap<String, UserSpec>>,
    /// Which of `users` the strategies authenticate as (the only one when
    /// there is one).
    pub client_user: Option<String>,
    /// A Redis sessiondrill does not run (your staging Redis): where it is
    /// and how to reach it. With it, no other field but `kind` applies.
    pub external: Option<ExternalSpec>,
    // redis-replicated
    pub replicas: Option<u32>,
    pub sentinels: Option<u32>,
    pub quorum: Option<u32>,
    pub down_after_ms: Option<u64>,
    pub failover_timeout_ms: Option<u64>,
    pub parallel_syncs: Option<u32>,
    pub min_replicas_to_write: Option<u32>,
    pub min_replicas_max_lag: Option<u32>,
    // redis-cluster
    pub shards: Option<u32>,
    pub replicas_per_shard: Option<u32>,
    pub node_timeout_ms: Option<u64>,
    pub spares: Option<u32>,
    // dynamodb
    pub engine: Option<EngineName>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub tables: Option<Vec<String>>,
    pub ttl_sweep_interval_ms: Option<u64>,
    // dax
    pub dynamodb: Option<String>,
    pub item_ttl: Option<String>,
    pub query_ttl: Option<String>,
    pub max_items: Option<u64>,
    pub nodes: Option<u32>,
    pub replica_delay: Option<String>,
    pub fallback: Option<bool>,
    // memcached
    pub instances: Option<u32>,
    pub memory_mb: Option<u32>,
}

/// An external node (`external:`, a Redis kind, memcached or DynamoDB):
/// its addresses and credentials, the password only by the name of the
/// environment variable holding it (DynamoDB: the AWS SDK's own chain).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSpec {
    /// `HOST:PORT` of the server (`kind: redis`), of the Sentinels
    /// (`kind: redis-replicated`), of seed nodes (`kind: redis-cluster`) or
    /// of every server sessions are sharded over (`kind: memcached`).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// DynamoDB: the endpoint URL (default: the region's AWS endpoint).
    pub endpoint: Option<String>,
    /// DynamoDB: the region (default: the AWS SDK's, from the environment
    /// or profile).
    pub region: Option<String>,
    /// DynamoDB: the existing session table (PK/SK strings).
    pub table: Option<String>,
    /// The Sentinels' name for the primary (`kind: redis-replicated`).
    pub master: Option<String>,
    /// The ACL user the strategies authenticate as (default: `default`).
    pub user: Option<String>,
    pub password_env: Option<String>,
    /// The Sentinels' own password (`requirepass` of a Sentinel).
    pub sentinel_password_env: Option<String>,
    /// The authority (PEM) the servers' TLS certificates verify against:
    /// TLS when given.
    pub ca_file: Option<String>,
    /// The name the servers' certificates are checked for, when it is not
    /// the address's host (memcached only).
    pub server_name: Option<String>,
}

/// One ACL user: its password comes from the environment, never from the
/// file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub password_env: String,
    /// Redis ACL rules: key patterns (`~sd:*`), commands and categories
    /// (`+@all -@dangerous -del`). Default `~* +@all`.
    pub rules: Option<String>,
}

const COMMON: &[&str] = &["image", "kind", "port"];
const REDIS_SERVER: &[&str] = &[
    "password",
    "persistence",
    "appendfsync",
    "save",
    "maxmemory",
    "maxmemory_policy",
    "tls",
    "users",
    "client_user",
];
const REPLICATED: &[&str] = &[
    "replicas",
    "sentinels",
    "quorum",
    "down_after_ms",
    "failover_timeout_ms",
    "parallel_syncs",
    "min_replicas_to_write",
    "min_replicas_max_lag",
];
const CLUSTER: &[&str] = &["shards", "replicas_per_shard", "node_timeout_ms", "spares"];
/// What sessiondrill can drill without running it: the Redis kinds,
/// memcached and DynamoDB.
const EXTERNAL: &[&str] = &["external"];
const DYNAMODB: &[&str] = &[
    "engine",
    "endpoint",
    "region",
    "tables",
    "ttl_sweep_interval_ms",
];
const DAX: &[&str] = &[
    "dynamodb",
    "item_ttl",
    "query_ttl",
    "max_items",
    "nodes",
    "replica_delay",
    "fallback",
];
const MEMCACHED: &[&str] = &["instances", "memory_mb"];

/// Does `field` apply to `kind`? Returns the kinds it is for when it does not.
pub fn field_applies(kind: KindName, field: &str) -> Result<(), &'static str> {
    let groups: &[&[&str]] = match kind {
        KindName::Redis => &[COMMON, REDIS_SERVER, EXTERNAL],
        KindName::RedisReplicated => &[COMMON, REDIS_SERVER, REPLICATED, EXTERNAL],
        KindName::RedisCluster => &[COMMON, REDIS_SERVER, CLUSTER, EXTERNAL],
        KindName::Dynamodb => &[COMMON, DYNAMODB, EXTERNAL],
        KindName::Dax => &[COMMON, DAX],
        KindName::Memcached => &[COMMON, MEMCACHED, EXTERNAL],
    };
    if groups.iter().any(|g| g.contains(&field)) {
        return Ok(());
    }
    Err(if REDIS_SERVER.contains(&field) {
        "the Redis kinds"
    } else if REPLICATED.contains(&field) {
        "kind redis-replicated"
    } else if CLUSTER.contains(&field) {
        "kind redis-cluster"
    } else if EXTERNAL.contains(&field) {
        "the Redis kinds, memcached and dynamodb"
    } else if DYNAMODB.contains(&field) {
        "kind dynamodb"
    } else if DAX.contains(&field) {
        "kind dax"
    } else {
        "kind memcached"
    })
}
