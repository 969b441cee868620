//! The DAX node: DynamoDB Accelerator's cache semantics behind the
//! DynamoDB JSON protocol, so the `dax` strategies are the DynamoDB client
//! pointed at it (DAX's own binary protocol is out of scope).
//!
//! - GetItem / BatchGetItem: the item cache (table + full key; absent items
//!   are cached too). A miss reads DynamoDB and fills the cache.
//! - Query / Scan: the query cache, keyed by the exact request. Writes do
//!   **not** invalidate it: a written item shows up in a cached query only
//!   once the entry expires (`query_ttl`).
//! - PutItem / UpdateItem / DeleteItem / BatchWriteItem /
//!   TransactWriteItems: forwarded; on success the item cache is updated
//!   (write-through); the query cache is left alone.
//! - `ConsistentRead: true` bypasses both caches; anything else passes
//!   through unchanged.
//!
//! A cluster is one primary and up to two replicas. Replicas answer reads
//! from their own caches and forward writes to the primary, which pushes
//! its write-through updates to its peers after `replica_delay` — so
//! replica caches converge, as DAX's do, a little later. When the primary
//! does not answer, a replica takes the write itself (DAX promotes a
//! replica) and pushes to its peers; updates the dead primary had not yet
//! pushed are never learnt — stale until `item_ttl`.
//!
//! `GET /__dax/stats` reports hits, misses, evictions per cache; `POST
//! /__dax/flush` empties both caches (the `flush` fault).

mod cache;
mod capacity;
mod handlers;
mod keys;
mod locks;
pub mod probe;
mod push;
mod upstream;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde_json::Value;

use cache::Cache;
pub use cache::CacheStats;
use upstream::Upstream;

#[derive(Debug, Clone, clap::Args)]
pub struct DaxNodeArgs {
    /// Loopback port to listen on.
    #[arg(long)]
    pub port: u16,
    /// The DynamoDB endpoint the cluster fronts.
    #[arg(long)]
    pub dynamodb: String,
    /// Item cache TTL in milliseconds (DAX default: 5 minutes).
    #[arg(long, default_value_t = 300_000)]
    pub item_ttl_ms: u64,
    /// Query cache TTL in milliseconds (DAX default: 5 minutes).
    #[arg(long, default_value_t = 300_000)]
    pub query_ttl_ms: u64,
    /// Entries per cache before the least recently used is evicted.
    #[arg(long, default_value_t = 100_000)]
    pub max_items: usize,
    /// This node is a replica of the primary at this URL (writes go there
    /// while it answers).
    #[arg(long)]
    pub primary: Option<String>,
    /// The other nodes of the cluster: write-through updates are pushed to
    /// them.
    #[arg(long = "peer")]
    pub peers: Vec<String>,
    /// How long after a write the replicas' item caches learn of it.
    #[arg(long, default_value_t = 100)]
    pub replica_delay_ms: u64,
    #[command(flatten)]
    pub limits: crate::nodes::serve::Limits,
}

/// Everything a DAX node reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DaxStats {
    pub role: String,
    pub item: CacheStats,
    pub query: CacheStats,
    /// Reads with `ConsistentRead: true`: straight to DynamoDB.
    pub bypassed: u64,
    /// Writes received (forwarded to DynamoDB, or by a replica to the
    /// primary).
    pub writes: u64,
    /// Writes a replica took itself because the primary did not answer.
    #[serde(default)]
    pub writes_as_primary: u64,
    /// Requests DAX does not cache, passed through unchanged.
    pub passed_through: u64,
    /// Requests that failed because upstream did not answer.
    pub upstream_errors: u64,
}

pub(crate) struct Dax {
    items: Cache<Option<Value>>,
    queries: Cache<bytes::Bytes>,
    dynamodb: Upstream,
    primary: Option<Upstream>,
    peers: Vec<String>,
    /// One ordered queue per peer.
    pushers: Vec<tokio::sync::mpsc::UnboundedSender<(tokio::time::Instant, bytes::Bytes)>>,
    replica_delay: Duration,
    write_locks: locks::KeyLocks,
    bypassed: AtomicU64,
    writes: AtomicU64,
    writes_as_primary: AtomicU64,
    passed_through: AtomicU64,
    upstream_errors: AtomicU64,
}

impl Dax {
    /// Send write-through effects to every peer after the replica delay.
    fn push(&self, effects: bytes::Bytes) {
        let due = tokio::time::Instant::now() + self.replica_delay;
        for tx in &self.pushers {
            let _ = tx.send((due, effects.clone()));
        }
    }

    fn stats(&self) -> DaxStats {
        DaxStats {
            role: if self.primary.is_some() {
                "replica"
            } else {
                "primary"
            }
            .into(),
            item: self.items.stats(),
            query: self.queries.stats(),
            bypassed: self.bypassed.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            writes_as_primary: self.writes_as_primary.load(Ordering::Relaxed),
            passed_through: self.passed_through.load(Ordering::Relaxed),
            upstream_errors: self.upstream_errors.load(Ordering::Relaxed),
        }
    }
}

/// A connection's descriptors: its own and, while a request on it runs,
/// one upstream (DynamoDB, the primary); the client keeps idle ones to
/// DynamoDB, the primary and two peers at most.
const COST: crate::nodes::serve::Cost = crate::nodes::serve::Cost {
    per_connection: 2,
    pooled: 4 * crate::nodes::http::IDLE_PER_HOST,
};

pub async fn run(args: DaxNodeArgs) -> Result<(), String> {
    let dax = Arc::new(Dax {
        items: Cache::new(args.max_items, Duration::from_millis(args.item_ttl_ms)),
        queries: Cache::new(args.max_items, Duration::from_millis(args.query_ttl_ms)),
        dynamodb: Upstream::new(&args.dynamodb)?,
        primary: args.primary.as_deref().map(Upstream::new).transpose()?,
        peers: args.peers.clone(),
        pushers: args.peers.iter().map(|p| push::start(p.clone())).collect(),
        replica_delay: Duration::from_millis(args.replica_delay_ms),
        write_locks: locks::KeyLocks::new(256),
        bypassed: AtomicU64::new(0),
        writes: AtomicU64::new(0),
        writes_as_primary: AtomicU64::new(0),
        passed_through: AtomicU64::new(0),
        upstream_errors: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/__dax/stats", get(handlers::stats))
        .route("/__dax/flush", post(handlers::flush))
        .route("/__dax/items", post(handlers::replicate))
        .fallback(handlers::dynamodb)
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024 * 1024))
        .with_state(dax);
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, args.port))
        .await
        .map_err(|e| format!("binding 127.0.0.1:{}: {e}", args.port))?;
    eprintln!(
        "dax node ({}) listening on http://127.0.0.1:{} in front of {}",
        if args.primary.is_some() {
            "replica"
        } else {
            "primary"
        },
        args.port,
        args.dynamodb
    );
    let stopped = crate::nodes::serve::stop_signal()?;
    args.limits.serve(listener, app, COST, stopped).await;
    Ok(())
}
