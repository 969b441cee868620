//! Store strategies: how the application keeps sessions. One trait, one
//! file per backend or strategy; [`build`] wires a strategy to a deployment.

pub mod billing;
pub mod bulk;
pub mod cache_aside_versioned;
pub mod dax;
pub mod dynamodb;
mod error;
pub mod footprint;
pub mod hybrid;
mod kind;
pub mod memcached;
pub mod patterns;
pub mod redis;
pub mod updates;
pub mod value;
pub mod versioned;

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::AtomicU64;

use async_trait::async_trait;

pub use error::{ErrorClass, OpError, bounded, classify_redis};
pub use footprint::Footprint;
pub use kind::{Backend, Semantics, StrategyKind, Targets};
pub use patterns::Patterns;

use crate::provision::{Deployment, Role};
use crate::topology::{DynamoEngine, NodeKind};
use dynamodb::{DynamoBackend, DynamoStore, Reads};
use redis::{RedisBackend, RedisStore, RedisTarget};

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Create or overwrite a session with an expiry.
    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError>;
    /// Read a session; `None` when absent.
    async fn get(&self, id: u64) -> Result<Option<String>, OpError>;
    async fn delete(&self, id: u64) -> Result<(), OpError>;
    /// A lock's acquire: set only if absent, expiring after `lease`;
    /// `Ok(false)` when already held. Only `redis-lock` takes locks.
    async fn acquire(&self, _id: u64, _token: &str, _lease: Duration) -> Result<bool, OpError> {
        Err(OpError::new(
            ErrorClass::Other,
            "this strategy takes no locks",
        ))
    }
    /// A lock's release: delete only if `token` still holds it; whether it
    /// did (`false`: the lock was no longer the caller's).
    async fn release(&self, _id: u64, _token: &str) -> Result<bool, OpError> {
        Err(OpError::new(
            ErrorClass::Other,
            "this strategy takes no locks",
        ))
    }
    /// One request of customer `id` at `at_ms` (unique per customer by
    /// `seq`) through a rate limiter: is it allowed? Only
    /// `redis-rate-limit` limits.
    async fn admit(&self, _id: u64, _at_ms: u64, _seq: u64) -> Result<bool, OpError> {
        Err(OpError::new(
            ErrorClass::Other,
            "this strategy limits nothing",
        ))
    }
    /// Read the session from the store of record, past any cache in
    /// front of it — so the checker can tell a stale or missing read that
    /// the cache served from one the store itself would give. `None` for
    /// strategies without a cache.
    async fn read_source(&self, _id: u64) -> Option<Result<Option<String>, OpError>> {
        None
    }
    /// Operations a cache in front failed (an error, not a miss) and the
    /// store of record answered instead: the proof a fallback happened.
    /// 0 for strategies without a cache.
    fn fallbacks(&self) -> u64 {
        0
    }
    /// Conditional writes refused because the session changed since it
    /// was read (optimistic updates retry them), or because a copy held a
    /// newer version (`write-through-versioned`). 0 for other strategies.
    fn conflicts(&self) -> u64 {
        0
    }
    /// The stores it keeps sessions in, with its namespace: what the bulk
    /// prefill writes and the footprint measures, alike for every
    /// strategy. Empty for the patterns (their keys are not one per
    /// session) and memcached (its own footprint, no bulk prefill).
    fn kept(&self) -> Kept<'_> {
        Kept::default()
    }
    /// Bulk prefill ([`bulk`]): write `b` to every store it keeps sessions
    /// in (not a cache: cache-aside's Redis fills on reads), adding to
    /// `done` as they are acknowledged (a strategy that writes two stores
    /// counts each). Refused by the strategies
    /// [`StrategyKind::bulk_copies`] says 0 for.
    async fn bulk(&self, b: bulk::Bulk, ttl: Duration, done: &AtomicU64) -> Result<(), OpError> {
        let k = self.kept();
        let redis = async {
            match k.redis.filter(|_| !k.redis_is_cache) {
                Some(r) => bulk::redis(r, k.namespace, b, ttl, done).await,
                None => Ok(()),
            }
        };
        let dynamodb = async {
            match k.dynamodb {
                Some(d) => bulk::dynamodb(d, k.namespace, b, ttl, done).await,
                None => Ok(()),
            }
        };
        if k.redis.filter(|_| !k.redis_is_cache).is_none() && k.dynamodb.is_none() {
            return Err(OpError::new(
                ErrorClass::Other,
                "this strategy takes no bulk prefill",
            ));
        }
        let (r, d) = tokio::join!(redis, dynamodb);
        r.and(d)
    }
    /// Of bulk sessions `ids` (a sample), how many every store it wrote
    /// still has (the least of them); `None` when one could not be looked
    /// at.
    async fn bulk_kept(&self, ids: &[u64]) -> Option<u64> {
        let k = self.kept();
        let redis = async {
            match k.redis.filter(|_| !k.redis_is_cache) {
                Some(r) => Some(bulk::redis_kept(r, k.namespace, ids).await),
                None => None,
            }
        };
        let dynamodb = async {
            match k.dynamodb {
                Some(d) => Some(bulk::dynamodb_kept(d, k.namespace, ids).await),
                None => None,
            }
        };
        let (r, d) = tokio::join!(redis, dynamodb);
        let found: Vec<Option<u64>> = r.into_iter().chain(d).collect();
        if found.is_empty() {
            return None;
        }
        found
            .into_iter()
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .min()
    }
    /// What its sessions occupy on its stores, sampling sessions `ids`
    /// (absent ones are skipped): the cost model's input.
    async fn footprint(&self, ids: &[u64]) -> Footprint {
        let k = self.kept();
        let redis = async {
            match k.redis {
                Some(r) => footprint::redis(r, &redis::keys(k.namespace, ids)).await,
                None => None,
            }
        };
        let dynamodb = async {
            match k.dynamodb {
                Some(d) => footprint::dynamodb(d, &dynamodb::pks(k.namespace, ids)).await,
                None => None,
            }
        };
        let (redis, dynamodb) = tokio::join!(redis, dynamodb);
        Footprint {
            redis,
            dynamodb,
            memcached: None,
        }
    }
    /// Client configuration in one line (timeouts, retries), for the report.
    fn describe(&self) -> String;
    /// Open the connections the load may use, before it starts: else its
    /// first operations wait for them (a Sentinel's answer, TCP, AUTH — on
    /// the hybrid topology, in the first 20 ms of `redis-baseline`, 5–15
    /// operations over 1 ms, up to 2.9–9.1 ms; none with it,
    /// docs/PERFORMANCE.md), our set-up counted as the store's latency. One
    /// that cannot be opened is left to the load, which reports it; a
    /// connection lost later fails its operation and is reopened by the
    /// next one, and that does count.
    async fn warm(&self) -> Warmed;
}

/// Of the connections a store wanted open before the load, how many are
/// ([`SessionStore::warm`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Warmed {
    pub open: usize,
    pub wanted: usize,
}

impl Warmed {
    /// Each wanted connection: is it open?
    pub fn of(open: &[bool]) -> Self {
        Self {
            open: open.iter().filter(|&&o| o).count(),
            wanted: open.len(),
        }
    }
}

/// The stores a strategy keeps its sessions in ([`SessionStore::kept`]).
#[derive(Default, Clone, Copy)]
pub struct Kept<'a> {
    pub namespace: &'a str,
    pub redis: Option<&'a RedisBackend>,
    /// Its Redis is a cache filled on reads (cache-aside): measured, not
    /// bulk-written.
    pub redis_is_cache: bool,
    pub dynamodb: Option<&'a DynamoBackend>,
}

/// What a store needs besides the deployment: which topology node each
/// backend uses, and the client's settings.
#[derive(Debug, Clone, Copy)]
pub struct Wiring<'a> {
    pub targets: &'a Targets,
    /// Connections per Redis/memcached endpoint.
    pub connections: usize,
    pub op_timeout: std::time::Duration,
    /// The expiry cache-aside gives an entry it populates on a miss.
    pub ttl: std::time::Duration,
    pub patterns: Patterns,
    /// Read-modify-write updates: the application's work on a session
    /// before it writes it back.
    pub update_work: std::time::Duration,
}

/// The key namespace of strategy `kind` in run `run_id`: the run's tag
/// (the random part of its id) and the strategy's name, so several
/// strategies run side by side and a store shared between runs (an
/// external endpoint) never shows one run another's sessions.
pub fn namespace(run_id: &str, kind: StrategyKind) -> String {
    let tag = run_id.rsplit('-').next().unwrap_or(run_id);
    format!("{tag}:{}", kind.name())
}

/// Build the store of `kind` for `scenario` on `deployment`, in its own
/// key namespace ([`namespace`]).
pub async fn build(
    kind: StrategyKind,
    w: &Wiring<'_>,
    deployment: &Deployment,
) -> Result<Arc<dyn SessionStore>, String> {
    let ns = namespace(deployment.run_id(), kind);
    let redis = || redis_backend(w, deployment);
    let dynamo = || dynamo_backend(w, deployment);
    let flavour = || {
        kind.update_flavour()
            .ok_or_else(|| format!("{} makes no updates", kind.name()))
    };
    Ok(match kind {
        StrategyKind::Redis => Arc::new(RedisStore {
            backend: redis()?,
            namespace: ns,
        }),
        StrategyKind::Dynamodb => Arc::new(DynamoStore {
            backend: dynamo()?.await,
            namespace: ns,
        }),
        StrategyKind::WriteThrough | StrategyKind::WriteThroughVersioned => {
            Arc::new(hybrid::WriteThrough {
                redis: redis()?,
                dynamo: dynamo()?.await,
                namespace: ns,
                cache_timeout: cache_timeout(w.op_timeout),
                fallbacks: Default::default(),
                versioned: kind == StrategyKind::WriteThroughVersioned,
                conflicts: Default::default(),
            })
        }
        StrategyKind::CacheAside => Arc::new(hybrid::CacheAside {
            redis: redis()?,
            dynamo: dynamo()?.await,
            namespace: ns,
            ttl: w.ttl,
            cache_timeout: cache_timeout(w.op_timeout),
            fallbacks: Default::default(),
        }),
        StrategyKind::CacheAsideVersioned => Arc::new(cache_aside_versioned::CacheAsideVersioned {
            redis: redis()?,
            dynamo: dynamo()?.await,
            namespace: ns,
            ttl: w.ttl,
            cache_timeout: cache_timeout(w.op_timeout),
            fallbacks: Default::default(),
        }),
        StrategyKind::RedisConnmap => Arc::new(patterns::ConnMap {
            backend: redis()?,
            namespace: ns,
        }),
        StrategyKind::RedisPresence => Arc::new(patterns::Presence {
            backend: redis()?,
            namespace: ns,
        }),
        StrategyKind::RedisLock => Arc::new(patterns::SessionLock {
            backend: redis()?,
            namespace: ns,
        }),
        StrategyKind::RedisRateLimit => Arc::new(patterns::RateLimiter {
            backend: redis()?,
            namespace: ns,
            max: w.patterns.limit_max,
            window: w.patterns.limit_window,
        }),
        StrategyKind::Dax | StrategyKind::DaxQuery | StrategyKind::DaxConsistent => {
            let reads = match kind {
                StrategyKind::Dax => Reads::Eventual,
                StrategyKind::DaxQuery => Reads::Query { consistent: false },
                _ => Reads::Query { consistent: true },
            };
            Arc::new(dax_store(w, deployment, reads, ns).await?)
        }
        StrategyKind::RedisBlindUpdate
        | StrategyKind::RedisOptimisticUpdate
        | StrategyKind::RedisAtomicUpdate => Arc::new(updates::redis::RedisUpdates {
            backend: redis()?,
            namespace: ns,
            flavour: flavour()?,
            work: w.update_work,
            conflicts: Default::default(),
        }),
        StrategyKind::DynamodbBlindUpdate
        | StrategyKind::DynamodbOptimisticUpdate
        | StrategyKind::DynamodbAtomicUpdate => Arc::new(updates::dynamodb::DynamoUpdates {
            backend: dynamo()?.await,
            namespace: ns,
            flavour: flavour()?,
            work: w.update_work,
            conflicts: Default::default(),
        }),
        StrategyKind::Memcached => {
            let group = w.targets.memcached.as_deref().ok_or("no memcached node")?;
            let handles: Vec<_> = deployment
                .nodes
                .iter()
                .filter(|n| n.info.node == group)
                .collect();
            let servers: Vec<memcached::Server> = handles
                .iter()
                .map(|n| memcached::Server {
                    host: n.info.client_host(),
                    port: n.info.client_port(),
                    name: n.info.host.clone(),
                })
                .collect();
            let tls = handles.first().and_then(|h| h.client_tls.clone());
            Arc::new(
                memcached::MemcachedStore::new(&servers, &ns, w.connections, w.op_timeout)
                    .with_tls(tls),
            )
        }
    })
}

/// The topology node named `group`.
fn topology_node<'a>(d: &'a Deployment, group: &str) -> Result<&'a crate::topology::Node, String> {
    d.topology
        .nodes
        .iter()
        .find(|n| n.name == group)
        .ok_or_else(|| format!("no node {group}"))
}

fn redis_backend(w: &Wiring<'_>, d: &Deployment) -> Result<RedisBackend, String> {
    let group = w.targets.redis.as_deref().ok_or("no redis node")?;
    let node = topology_node(d, group)?;
    let handles: Vec<_> = d.nodes.iter().filter(|n| n.info.node == group).collect();
    let control = handles
        .first()
        .and_then(|h| h.redis.clone())
        .ok_or_else(|| format!("node {group} has no Redis access (password, authority)"))?;
    // As the node's client user, when it has ACL users.
    let access = handles
        .first()
        .and_then(|h| h.client_redis.clone())
        .unwrap_or_else(|| control.clone());
    let target = match &node.kind {
        NodeKind::Redis(_) => RedisTarget::Standalone {
            port: handles[0].info.client_port(),
        },
        NodeKind::RedisReplicated(_) => RedisTarget::Sentinel {
            // Ours are named after their node; an external node's Sentinels
            // know the primary by its own name.
            master: d.master_name(group).to_string(),
            sentinel_access: control,
            sentinels: handles
                .iter()
                .filter(|h| h.info.role.is_sentinel())
                .map(|h| (h.info.host.clone(), h.info.port))
                .collect(),
            // Through a proxy, a server is reached at the proxy's port on
            // this machine, whatever address its Sentinels name.
            translate: handles
                .iter()
                .filter(|h| !h.info.role.is_sentinel() && h.info.proxy_port.is_some())
                .flat_map(|h| {
                    let c = h.info.client_port();
                    let host = &h.info.host;
                    [((host.clone(), h.info.port), c)]
                        .into_iter()
                        .chain(h.info.peer_port.map(|p| ((host.clone(), p), c)))
                })
                .collect(),
        },
        NodeKind::RedisCluster(_) => RedisTarget::Cluster {
            // Not a spare: alone, it would hand the client an empty slot
            // map. Once in the cluster, clients learn of it from the
            // others (MOVED, a refreshed map), through `translate`.
            seeds: handles
                .iter()
                .filter(|h| h.info.role != Role::Spare)
                .map(|h| (h.info.client_host(), h.info.client_port()))
                .collect(),
            translate: handles
                .iter()
                .filter_map(|h| {
                    h.info
                        .peer_port
                        .map(|p| ((h.info.host.clone(), p), h.info.client_port()))
                })
                .collect(),
        },
        other => return Err(format!("node {group} is {}, not Redis", other.name())),
    };
    Ok(RedisBackend::new(
        target,
        &access,
        w.connections,
        w.op_timeout,
    ))
}

fn dynamo_backend(
    w: &Wiring<'_>,
    d: &Deployment,
) -> Result<impl Future<Output = DynamoBackend> + use<>, String> {
    let group = w.targets.dynamodb.as_deref().ok_or("no dynamodb node")?;
    let node = topology_node(d, group)?;
    let NodeKind::Dynamodb(cfg) = &node.kind else {
        return Err(format!("node {group} is not DynamoDB"));
    };
    let url = match &cfg.engine {
        DynamoEngine::Endpoint { url } => url.clone(),
        DynamoEngine::Embedded { .. } => d
            .nodes
            .iter()
            .find(|n| n.info.node == group)
            .map(|n| n.info.client_url())
            .ok_or_else(|| format!("node {group} is not running"))?,
    };
    let region = cfg.region.clone();
    let table = cfg.tables[0].clone();
    let timeout = w.op_timeout;
    Ok(async move { DynamoBackend::new(&url, &region, &table, timeout).await })
}

/// A DAX strategy: one client per DAX node (primary first), DynamoDB
/// itself for the fallback and as the store of record.
async fn dax_store(
    w: &Wiring<'_>,
    d: &Deployment,
    reads: Reads,
    namespace: String,
) -> Result<dax::DaxStore, String> {
    let group = w.targets.dax.as_deref().ok_or("no dax node")?;
    let NodeKind::Dax(cfg) = &topology_node(d, group)?.kind else {
        return Err(format!("node {group} is not DAX"));
    };
    let NodeKind::Dynamodb(db) = &topology_node(d, &cfg.dynamodb)?.kind else {
        return Err(format!("node {} is not DynamoDB", cfg.dynamodb));
    };
    let direct = match &db.engine {
        DynamoEngine::Endpoint { url } => url.clone(),
        DynamoEngine::Embedded { .. } => d
            .nodes
            .iter()
            .find(|n| n.info.node == cfg.dynamodb)
            .map(|n| n.info.client_url())
            .ok_or_else(|| format!("node {} is not running", cfg.dynamodb))?,
    };
    let table = &db.tables[0];
    let timeout = w.op_timeout;
    let mut nodes = Vec::new();
    for h in d.nodes.iter().filter(|n| n.info.node == group) {
        nodes.push(
            DynamoBackend::new(&h.info.client_url(), &db.region, table, timeout)
                .await
                .with_reads(reads),
        );
    }
    let fallback = if cfg.fallback {
        Some(
            DynamoBackend::new(&direct, &db.region, table, timeout)
                .await
                .with_reads(reads),
        )
    } else {
        None
    };
    Ok(dax::DaxStore {
        nodes,
        fallback,
        source: DynamoBackend::new(&direct, &db.region, table, timeout).await,
        namespace,
        node_timeout: cache_timeout(timeout),
        next: Default::default(),
        fallbacks: Default::default(),
    })
}

/// How long the cache strategies wait for Redis before treating it as a
/// miss: a quarter of the operation timeout, at least 50 ms.
fn cache_timeout(op_timeout: std::time::Duration) -> std::time::Duration {
    (op_timeout / 4).max(std::time::Duration::from_millis(50))
}
