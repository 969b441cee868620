//! The DAX strategies: the DynamoDB client pointed at a DAX cluster, as an
//! application using DAX is. Writes go to the primary DAX node (which
//! writes through to DynamoDB), or to a replica when the primary refuses
//! the connection (the replica takes the write itself); reads are spread
//! over the DAX nodes. When no DAX node answers — killed, paused, cut off —
//! and the topology says `fallback: true`, the client goes to DynamoDB
//! directly (seed 003: "Failure impact: falls back to DynamoDB
//! automatically").
//!
//! aws-smithy reports a refused connection and an I/O error after the
//! request was sent alike, so a write can be re-sent to another node after
//! all; for the session workload (PutItem of one version) that is
//! idempotent, and a late landing is counted indeterminate.
//!
//! - `dax`: GetItem, eventually consistent: DAX's item cache.
//! - `dax-query`: the session read by Query: DAX's query cache, which
//!   writes do not invalidate.
//! - `dax-consistent`: Query with `ConsistentRead`: DAX passes it through.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::dynamodb::{DynamoBackend, DynamoStore};
use super::{ErrorClass, OpError, SessionStore, bounded};

pub struct DaxStore {
    /// One client per DAX node; the first is the primary.
    pub nodes: Vec<DynamoBackend>,
    /// DynamoDB itself: the fallback when configured.
    pub fallback: Option<DynamoBackend>,
    /// DynamoDB itself, read consistently: the store of record.
    pub source: DynamoBackend,
    pub namespace: String,
    /// How long a read waits for one DAX node before trying the next.
    pub node_timeout: Duration,
    pub next: AtomicUsize,
    /// Operations a DAX node failed and another node (or DynamoDB) answered.
    pub fallbacks: AtomicU64,
}

/// Errors that mean "this node is not there", worth trying elsewhere.
/// A write is tried elsewhere only when it was refused: one that timed
/// out may still land, and writing it again by another path could land
/// out of order.
fn unreachable(e: &OpError, write: bool) -> bool {
    match e.class {
        ErrorClass::Refused => true,
        ErrorClass::Timeout => !write,
        _ => false,
    }
}

impl DaxStore {
    fn pk(&self, id: u64) -> String {
        DynamoStore::pk(&self.namespace, id)
    }

    /// Try `nodes` in order, then the fallback. A read waits at most
    /// `node_timeout` for each node; a write waits for its answer (the
    /// operation's own timeout bounds it).
    async fn attempt<'a, T, F, Fut>(
        &'a self,
        order: Vec<&'a DynamoBackend>,
        write: bool,
        call: F,
    ) -> Result<T, OpError>
    where
        F: Fn(&'a DynamoBackend) -> Fut,
        Fut: Future<Output = Result<T, OpError>> + 'a,
    {
        let mut last = OpError::new(ErrorClass::Refused, "no DAX node");
        let mut failed = false;
        for node in order {
            let answer = if write {
                call(node).await
            } else {
                bounded(self.node_timeout, call(node)).await
            };
            match answer {
                Err(e) if unreachable(&e, write) => {
                    last = e;
                    failed = true;
                }
                done => {
                    if failed && done.is_ok() {
                        self.fallbacks.fetch_add(1, Ordering::Relaxed);
                    }
                    return done;
                }
            }
        }
        match &self.fallback {
            Some(direct) => {
                let done = call(direct).await;
                if done.is_ok() {
                    self.fallbacks.fetch_add(1, Ordering::Relaxed);
                }
                done
            }
            None => Err(last),
        }
    }

    /// Writes: the primary, then the replicas (which forward to it, or
    /// take the write when it is gone).
    fn writer(&self) -> Vec<&DynamoBackend> {
        self.nodes.iter().collect()
    }

    /// Reads: every node, starting with the next in turn.
    fn readers(&self) -> Vec<&DynamoBackend> {
        let n = self.nodes.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        (0..n).map(|i| &self.nodes[(first + i) % n]).collect()
    }
}

#[async_trait]
impl SessionStore for DaxStore {
    async fn warm(&self) -> super::Warmed {
        // As DynamoStore: the SDK connects on its first requests.
        super::Warmed::default()
    }

    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        let pk = self.pk(id);
        self.attempt(self.writer(), true, |b| b.put(&pk, value, ttl))
            .await
    }

    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        let pk = self.pk(id);
        self.attempt(self.readers(), false, |b| b.get(&pk)).await
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        let pk = self.pk(id);
        self.attempt(self.writer(), true, |b| b.delete(&pk)).await
    }

    async fn read_source(&self, id: u64) -> Option<Result<Option<String>, OpError>> {
        Some(self.source.get(&self.pk(id)).await)
    }

    fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    fn kept(&self) -> super::Kept<'_> {
        super::Kept {
            namespace: &self.namespace,
            redis: None,
            redis_is_cache: false,
            dynamodb: Some(&self.source),
        }
    }

    fn describe(&self) -> String {
        format!(
            "DAX, {} node(s) (writes to the primary first, the next node when refused; reads spread, {} ms per node; then {}); {}",
            self.nodes.len(),
            self.node_timeout.as_millis(),
            if self.fallback.is_some() {
                "DynamoDB directly"
            } else {
                "no fallback"
            },
            self.nodes.first().map(|b| b.describe()).unwrap_or_default()
        )
    }
}
