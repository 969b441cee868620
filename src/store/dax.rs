//! The DAX strategies: the DynamoDB client pointed at a DAX cluster, as an
//! application using DAX is. Writes go to the primary DAX node (which
//! writes through to DynamoDB); reads are spread over the DAX nodes. When
//! no DAX node answers — killed, paused, cut off — and the topology says
//! `fallback: true`, the client goes to DynamoDB directly (seed 003:
//! "Failure impact: falls back to DynamoDB automatically").
//!
//! - `dax`: GetItem, eventually consistent: DAX's item cache.
//! - `dax-query`: the session read by Query: DAX's query cache, which
//!   writes do not invalidate.
//! - `dax-consistent`: Query with `ConsistentRead`: DAX passes it through.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How long to wait for one DAX node before trying the next.
    pub node_timeout: Duration,
    pub next: AtomicUsize,
}

/// Errors that mean "this node is not there", worth trying elsewhere.
fn unreachable(e: &OpError) -> bool {
    matches!(e.class, ErrorClass::Timeout | ErrorClass::Refused)
}

impl DaxStore {
    fn pk(&self, id: u64) -> String {
        DynamoStore::pk(&self.namespace, id)
    }

    /// Try `nodes` in order, then the fallback.
    async fn attempt<'a, T, F, Fut>(
        &'a self,
        order: Vec<&'a DynamoBackend>,
        call: F,
    ) -> Result<T, OpError>
    where
        F: Fn(&'a DynamoBackend) -> Fut,
        Fut: Future<Output = Result<T, OpError>> + 'a,
    {
        let mut last = OpError::new(ErrorClass::Refused, "no DAX node");
        for node in order {
            match bounded(self.node_timeout, call(node)).await {
                Err(e) if unreachable(&e) => last = e,
                done => return done,
            }
        }
        match &self.fallback {
            Some(direct) => call(direct).await,
            None => Err(last),
        }
    }

    /// Writes: the primary (a replica would only forward to it).
    fn writer(&self) -> Vec<&DynamoBackend> {
        self.nodes.iter().take(1).collect()
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
    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        let pk = self.pk(id);
        self.attempt(self.writer(), |b| b.put(&pk, value, ttl))
            .await
    }

    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        let pk = self.pk(id);
        self.attempt(self.readers(), |b| b.get(&pk)).await
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        let pk = self.pk(id);
        self.attempt(self.writer(), |b| b.delete(&pk)).await
    }

    async fn read_source(&self, id: u64) -> Option<Result<Option<String>, OpError>> {
        Some(self.source.get(&self.pk(id)).await)
    }

    fn describe(&self) -> String {
        format!(
            "DAX, {} node(s) (writes to the primary, reads spread; {} ms per node, then {}); {}",
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
