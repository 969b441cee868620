//! Redis as a session store: standalone, Sentinel-aware (follows the
//! current primary after a failover) or cluster-aware, by topology.
//!
//! Clients are configured explicitly: connect and response timeouts equal
//! to the operation timeout, no automatic retries. A connection that fails
//! in a way that means "wrong or dead node" is dropped, and the next
//! operation reconnects (asking the Sentinels for the primary again).
//! Like Sentinel clients that subscribe to `+switch-master`, a Sentinel-aware
//! backend also watches the Sentinels (every [`WATCH_EVERY`]) and drops its
//! connections as soon as they name another primary — so a primary that was
//! cut off from its Sentinels but not from us stops getting our writes once
//! the failover is announced.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

use super::SessionStore;
use super::error::{ErrorClass, OpError, classify_redis};
use crate::fabric::ports::HOST;
use crate::provision::redis::probe::RedisAccess;

/// A server's host and port.
pub type Addr = (String, u16);

/// How to reach the Redis deployment.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    Standalone {
        port: u16,
    },
    Sentinel {
        master: String,
        /// Each Sentinel's host and port.
        sentinels: Vec<Addr>,
        /// How to reach the Sentinels: their own password (as a real
        /// deployment's Sentinels have), not the application user's.
        sentinel_access: RedisAccess,
        /// Address translation: the address a Sentinel names → the port
        /// on this machine clients use (the server's client link proxy),
        /// like a cloud endpoint in front of each node. Addresses not
        /// listed are used as named.
        translate: std::collections::HashMap<Addr, u16>,
    },
    Cluster {
        /// The seed nodes' hosts and ports.
        seeds: Vec<Addr>,
        /// Announced address → the port on this machine clients use (see
        /// `Sentinel`).
        translate: std::collections::HashMap<Addr, u16>,
    },
}

type Slots = Arc<Vec<Mutex<Option<MultiplexedConnection>>>>;

/// `n` places for connections (at least one), none open yet.
fn empty_slots(n: usize) -> Slots {
    Arc::new((0..n.max(1)).map(|_| Mutex::new(None)).collect())
}

/// How often a Sentinel-aware backend asks the Sentinels for the primary.
pub const WATCH_EVERY: Duration = Duration::from_millis(100);

pub struct RedisBackend {
    target: RedisTarget,
    access: RedisAccess,
    timeout: Duration,
    slots: Slots,
    next: AtomicUsize,
    cluster: Mutex<Option<redis::cluster_async::ClusterConnection>>,
    watcher: Option<tokio::task::AbortHandle>,
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        if let Some(w) = &self.watcher {
            w.abort();
        }
    }
}

impl RedisBackend {
    /// A Sentinel target starts its watcher: call inside a tokio runtime.
    pub fn new(
        target: RedisTarget,
        access: &RedisAccess,
        connections: usize,
        timeout: Duration,
    ) -> Self {
        let slots = empty_slots(connections);
        let watcher = match &target {
            RedisTarget::Sentinel {
                master,
                sentinels,
                sentinel_access,
                ..
            } => Some(
                tokio::spawn(watch_primary(
                    master.clone(),
                    sentinels.clone(),
                    sentinel_access.clone(),
                    timeout,
                    slots.clone(),
                ))
                .abort_handle(),
            ),
            _ => None,
        };
        Self {
            target,
            access: access.clone(),
            timeout,
            slots,
            next: AtomicUsize::new(0),
            cluster: Mutex::new(None),
            watcher,
        }
    }

    /// The same deployment, on connections of its own (opened when first
    /// used, closed when it is dropped), and without the Sentinel watch:
    /// for a bulk prefill, which runs apart from the load and must not
    /// open the load's connections where the load does not run.
    pub fn detached(&self) -> Self {
        Self {
            target: self.target.clone(),
            access: self.access.clone(),
            timeout: self.timeout,
            slots: empty_slots(self.slots.len()),
            next: AtomicUsize::new(0),
            cluster: Mutex::new(None),
            watcher: None,
        }
    }

    /// A cluster: keys of one pipeline must share a hash slot.
    pub fn is_cluster(&self) -> bool {
        matches!(self.target, RedisTarget::Cluster { .. })
    }

    pub fn describe(&self) -> String {
        let mode = match &self.target {
            RedisTarget::Standalone { .. } => "standalone",
            RedisTarget::Sentinel { .. } => {
                "Sentinel-aware (re-resolves the primary after connection errors)"
            }
            RedisTarget::Cluster { .. } => "cluster-aware (follows MOVED; rebuilt after a timeout)",
        };
        format!(
            "redis-rs {mode}; {} connections; connect/response timeout {} ms; no retries",
            self.slots.len(),
            self.timeout.as_millis()
        )
    }

    fn config(&self) -> AsyncConnectionConfig {
        config(self.timeout)
    }

    /// Open every connection the load will use ([`SessionStore::warm`]):
    /// the cluster's, or one per slot, all at once.
    pub async fn warm(&self) -> super::Warmed {
        if matches!(self.target, RedisTarget::Cluster { .. }) {
            return super::Warmed::of(&[self.cluster_connection().await.is_ok()]);
        }
        let opened = self.slots.iter().map(|slot| async move {
            let mut guard = slot.lock().await;
            if guard.is_none()
                && let Ok(c) = self.connect().await
            {
                *guard = Some(c);
            }
            guard.is_some()
        });
        super::Warmed::of(&futures::future::join_all(opened).await)
    }

    async fn connect(&self) -> Result<MultiplexedConnection, OpError> {
        let client = match &self.target {
            RedisTarget::Standalone { port } => self.access.client(*port),
            RedisTarget::Sentinel {
                master,
                sentinels,
                sentinel_access,
                translate,
            } => {
                let named = primary_addr(
                    master,
                    sentinels,
                    sentinel_access,
                    &self.config(),
                    &mut None,
                )
                .await?;
                match translate.get(&named) {
                    Some(&proxy) => self.access.at(&HOST.to_string()).client(proxy),
                    None => self.access.at(&named.0).client(named.1),
                }
            }
            RedisTarget::Cluster { .. } => unreachable!("cluster uses its own connection"),
        }
        .map_err(|e| classify_redis(&e))?;
        client
            .get_multiplexed_async_connection_with_config(&self.config())
            .await
            .map_err(|e| classify_redis(&e))
    }

    async fn cluster_connection(&self) -> Result<redis::cluster_async::ClusterConnection, OpError> {
        let mut guard = self.cluster.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        let RedisTarget::Cluster { seeds, translate } = &self.target else {
            unreachable!("only called for clusters")
        };
        let nodes: Vec<redis::ConnectionInfo> = seeds
            .iter()
            .map(|(host, port)| self.access.at(host).info(*port))
            .collect();
        let map = translate
            .iter()
            .map(|((host, from), &to)| {
                (
                    redis::cluster::NodeAddress::new(host, *from),
                    redis::cluster::NodeAddress::new(HOST.to_string(), to),
                )
            })
            .collect();
        // The user (an ACL user or `default`) comes with the nodes' info.
        let mut builder = redis::cluster::ClusterClientBuilder::new(nodes);
        if let Some(certs) = self.access.certs() {
            builder = builder.certs(certs);
        }
        let client = builder
            .node_address_map(map)
            .password(self.access.password.clone())
            .tcp_settings(crate::provision::redis::probe::tcp_settings())
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout)
            .retries(1)
            .build()
            .map_err(|e| classify_redis(&e))?;
        let con = client
            .get_async_connection()
            .await
            .map_err(|e| classify_redis(&e))?;
        *guard = Some(con.clone());
        Ok(con)
    }

    /// Run one command, reconnecting first when the slot has no connection.
    pub async fn exec<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, OpError> {
        self.request(Request::Cmd(cmd)).await
    }

    /// Run a pipeline (on a cluster, its keys must share a slot).
    pub async fn exec_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, OpError> {
        self.request(Request::Pipe(pipe)).await
    }

    async fn request<T: redis::FromRedisValue>(&self, r: Request<'_>) -> Result<T, OpError> {
        if matches!(self.target, RedisTarget::Cluster { .. }) {
            let mut con = self.cluster_connection().await?;
            let answer = r.query(&mut con).await.map_err(|e| classify_redis(&e));
            // A cluster connection that stopped answering is rebuilt, as
            // the other connections are dropped: redis-rs's can stay stuck
            // after a slot refresh during a failover (seen here: every
            // operation timing out for seconds after the cluster was ok).
            if answer
                .as_ref()
                .is_err_and(|e| e.class == ErrorClass::Timeout)
            {
                *self.cluster.lock().await = None;
            }
            return answer;
        }
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let mut con = {
            let mut guard = slot.lock().await;
            match guard.as_ref() {
                Some(c) => c.clone(),
                None => {
                    let c = self.connect().await?;
                    *guard = Some(c.clone());
                    c
                }
            }
        };
        match r.query(&mut con).await {
            Ok(v) => Ok(v),
            Err(e) => {
                let err = classify_redis(&e);
                if err.class.breaks_connection() {
                    *slot.lock().await = None;
                }
                Err(err)
            }
        }
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), OpError> {
        self.exec::<()>(
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64),
        )
        .await
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, OpError> {
        self.exec(redis::cmd("GET").arg(key)).await
    }

    pub async fn del(&self, key: &str) -> Result<(), OpError> {
        self.exec::<i64>(redis::cmd("DEL").arg(key))
            .await
            .map(|_| ())
    }
}

/// A command or a pipeline.
#[derive(Clone, Copy)]
enum Request<'a> {
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl Request<'_> {
    async fn query<T: redis::FromRedisValue>(
        self,
        con: &mut (impl redis::aio::ConnectionLike + Send),
    ) -> redis::RedisResult<T> {
        match self {
            Request::Cmd(c) => c.query_async(con).await,
            Request::Pipe(p) => p.query_async(con).await,
        }
    }
}

fn config(timeout: Duration) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}

/// A Sentinel connection kept between questions: its port and the
/// connection.
type KeptSentinel = Option<(Addr, MultiplexedConnection)>;

/// Host and port of the current primary, asking each Sentinel in turn:
/// the one in `kept` first, over its connection; the one that answers is
/// kept.
async fn primary_addr(
    master: &str,
    sentinels: &[Addr],
    access: &RedisAccess,
    cfg: &AsyncConnectionConfig,
    kept: &mut KeptSentinel,
) -> Result<Addr, OpError> {
    let mut last = OpError::new(ErrorClass::Refused, "no Sentinel answered");
    let first = kept.as_ref().map(|(a, _)| a.clone());
    let order = first.clone().into_iter().chain(
        sentinels
            .iter()
            .filter(|&a| Some(a) != first.as_ref())
            .cloned(),
    );
    for at in order {
        let mut con = match kept.take() {
            Some((a, con)) if a == at => con,
            _ => {
                let client = access
                    .at(&at.0)
                    .client(at.1)
                    .map_err(|e| classify_redis(&e))?;
                match client
                    .get_multiplexed_async_connection_with_config(cfg)
                    .await
                {
                    Ok(con) => con,
                    Err(e) => {
                        last = classify_redis(&e);
                        continue;
                    }
                }
            }
        };
        let asked = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(master)
            .query_async::<Vec<String>>(&mut con)
            .await;
        match asked {
            Ok(addr) => {
                if let (Some(h), Some(p)) = (addr.first(), addr.get(1).and_then(|p| p.parse().ok()))
                {
                    let named = (h.clone(), p);
                    *kept = Some((at, con));
                    return Ok(named);
                }
                last = OpError::new(
                    ErrorClass::Masterdown,
                    format!("Sentinel {}:{} names no primary", at.0, at.1),
                );
            }
            Err(e) => last = classify_redis(&e),
        }
    }
    Err(last)
}

/// Ask the Sentinels for the primary every [`WATCH_EVERY`]; when they name
/// another one, drop every connection so the next operation reconnects.
async fn watch_primary(
    master: String,
    sentinels: Vec<Addr>,
    access: RedisAccess,
    timeout: Duration,
    slots: Slots,
) {
    let cfg = config(timeout.min(Duration::from_millis(500)));
    let mut known: Option<Addr> = None;
    let mut sentinel: KeptSentinel = None;
    let mut tick = tokio::time::interval(WATCH_EVERY);
    loop {
        tick.tick().await;
        let Ok(now) = primary_addr(&master, &sentinels, &access, &cfg, &mut sentinel).await else {
            continue;
        };
        if known.as_ref().is_some_and(|k| *k != now) {
            for slot in slots.iter() {
                *slot.lock().await = None;
            }
        }
        known = Some(now);
    }
}

/// Strategy `redis`: sessions live in Redis only.
pub struct RedisStore {
    pub backend: RedisBackend,
    pub namespace: String,
}

impl RedisStore {
    pub fn key(namespace: &str, id: u64) -> String {
        format!("sd:{namespace}:session:{id}")
    }
}

/// The session keys of `ids` in `namespace`.
pub fn keys(namespace: &str, ids: &[u64]) -> Vec<String> {
    ids.iter()
        .map(|&id| RedisStore::key(namespace, id))
        .collect()
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn warm(&self) -> super::Warmed {
        self.backend.warm().await
    }

    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        self.backend
            .set(&Self::key(&self.namespace, id), value, ttl)
            .await
    }
    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        self.backend.get(&Self::key(&self.namespace, id)).await
    }
    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.backend.del(&Self::key(&self.namespace, id)).await
    }
    fn kept(&self) -> super::Kept<'_> {
        super::Kept {
            namespace: &self.namespace,
            redis: Some(&self.backend),
            redis_is_cache: false,
            dynamodb: None,
        }
    }
    fn describe(&self) -> String {
        self.backend.describe()
    }
}
