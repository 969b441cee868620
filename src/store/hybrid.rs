//! The two strategies that combine Redis and DynamoDB.
//!
//! - `write-through` (seed 000 case 3): write both; read Redis, fall back to
//!   DynamoDB on a miss or a Redis error. A write is acknowledged once
//!   DynamoDB has it (Redis failures are non-fatal), so a Redis crash loses
//!   nothing — but a failed Redis write can leave an older copy there, and
//!   two overlapping writes can reach the two copies in different orders
//!   (`write-through-race`). `write-through-versioned` writes each copy
//!   only if it holds nothing newer ([`super::versioned`]), so both keep
//!   the newest; a delete is a plain delete in both (a write older than it
//!   that lands after it can bring the session back: no tombstones).
//! - `cache-aside` (seed 003): read Redis; on a miss read DynamoDB and
//!   populate Redis with the TTL; write DynamoDB, then delete the Redis key.
//!   Redis failures are non-fatal.
//!
//! Both bound every Redis call by `cache_timeout` (a quarter of the
//! operation timeout): a cache that hangs (a partition, a paused node)
//! degrades to a miss, as an application's short cache timeout would make
//! it, instead of failing the whole operation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::SessionStore;
use super::dynamodb::{DynamoBackend, DynamoStore};
use super::error::{OpError, bounded};
use super::redis::{RedisBackend, RedisStore};
use super::versioned;

pub struct WriteThrough {
    pub redis: RedisBackend,
    pub dynamo: DynamoBackend,
    pub namespace: String,
    pub cache_timeout: Duration,
    /// Operations Redis failed and DynamoDB carried.
    pub fallbacks: AtomicU64,
    /// Write each copy only if it holds nothing newer.
    pub versioned: bool,
    /// Versioned: writes a copy refused because it held a newer one — the
    /// proof that overlapping writes reached it out of order.
    pub conflicts: super::updates::Conflicts,
}

/// Count an operation whose cache call failed and whose store-of-record
/// call answered: the operation was carried by the store of record.
pub(super) fn fell_back(counter: &AtomicU64, cache_failed: bool, source_answered: bool) {
    if cache_failed && source_answered {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl SessionStore for WriteThrough {
    async fn warm(&self) -> super::Warmed {
        // DynamoDB: see DynamoStore.
        self.redis.warm().await
    }

    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        let key = RedisStore::key(&self.namespace, id);
        let pk = DynamoStore::pk(&self.namespace, id);
        if self.versioned {
            // A copy that refused the write holds a newer one: done.
            let (cache, durable) = tokio::join!(
                bounded(
                    self.cache_timeout,
                    versioned::set_if_newer(&self.redis, &key, value, ttl)
                ),
                versioned::put_if_newer(&self.dynamo, &pk, value, ttl)
            );
            fell_back(&self.fallbacks, cache.is_err(), durable.is_ok());
            if matches!(cache, Ok(false)) || matches!(durable, Ok(false)) {
                self.conflicts.add();
            }
            return durable.map(|_| ());
        }
        let (cache, durable) = tokio::join!(
            bounded(self.cache_timeout, self.redis.set(&key, value, ttl)),
            self.dynamo.put(&pk, value, ttl)
        );
        fell_back(&self.fallbacks, cache.is_err(), durable.is_ok());
        durable
    }
    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        let key = RedisStore::key(&self.namespace, id);
        let cache = bounded(self.cache_timeout, self.redis.get(&key)).await;
        if let Ok(Some(v)) = cache {
            return Ok(Some(v));
        }
        let found = self.dynamo.get(&DynamoStore::pk(&self.namespace, id)).await;
        fell_back(&self.fallbacks, cache.is_err(), found.is_ok());
        found
    }
    async fn delete(&self, id: u64) -> Result<(), OpError> {
        let key = RedisStore::key(&self.namespace, id);
        let pk = DynamoStore::pk(&self.namespace, id);
        let (cache, durable) = tokio::join!(
            bounded(self.cache_timeout, self.redis.del(&key)),
            self.dynamo.delete(&pk)
        );
        fell_back(&self.fallbacks, cache.is_err(), durable.is_ok());
        durable
    }
    async fn read_source(&self, id: u64) -> Option<Result<Option<String>, OpError>> {
        Some(self.dynamo.get(&DynamoStore::pk(&self.namespace, id)).await)
    }
    fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }
    fn conflicts(&self) -> u64 {
        self.conflicts.get()
    }
    fn kept(&self) -> super::Kept<'_> {
        super::Kept {
            namespace: &self.namespace,
            redis: Some(&self.redis),
            redis_is_cache: false,
            dynamodb: Some(&self.dynamo),
        }
    }
    fn describe(&self) -> String {
        format!(
            "write both{} (ack = DynamoDB ok), read Redis then DynamoDB; Redis calls bounded by {} ms; Redis: {}; DynamoDB: {}",
            if self.versioned {
                ", each only if it holds nothing newer"
            } else {
                ""
            },
            self.cache_timeout.as_millis(),
            self.redis.describe(),
            self.dynamo.describe()
        )
    }
}

pub struct CacheAside {
    pub redis: RedisBackend,
    pub dynamo: DynamoBackend,
    pub namespace: String,
    /// TTL of entries populated on a miss.
    pub ttl: Duration,
    pub cache_timeout: Duration,
    /// Operations Redis failed and DynamoDB carried.
    pub fallbacks: AtomicU64,
}

#[async_trait]
impl SessionStore for CacheAside {
    async fn warm(&self) -> super::Warmed {
        // DynamoDB: see DynamoStore.
        self.redis.warm().await
    }

    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        self.dynamo
            .put(&DynamoStore::pk(&self.namespace, id), value, ttl)
            .await?;
        // Invalidate; a failure here leaves a stale entry until its TTL.
        let key = RedisStore::key(&self.namespace, id);
        let cache = bounded(self.cache_timeout, self.redis.del(&key)).await;
        fell_back(&self.fallbacks, cache.is_err(), true);
        Ok(())
    }
    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        let key = RedisStore::key(&self.namespace, id);
        let hit = bounded(self.cache_timeout, self.redis.get(&key)).await;
        if let Ok(Some(v)) = hit {
            return Ok(Some(v));
        }
        let found = self.dynamo.get(&DynamoStore::pk(&self.namespace, id)).await;
        fell_back(&self.fallbacks, hit.is_err(), found.is_ok());
        let found = found?;
        if let (Ok(None), Some(v)) = (&hit, &found) {
            let _ = bounded(self.cache_timeout, self.redis.set(&key, v, self.ttl)).await;
        }
        Ok(found)
    }
    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.dynamo
            .delete(&DynamoStore::pk(&self.namespace, id))
            .await?;
        let key = RedisStore::key(&self.namespace, id);
        let cache = bounded(self.cache_timeout, self.redis.del(&key)).await;
        fell_back(&self.fallbacks, cache.is_err(), true);
        Ok(())
    }
    async fn read_source(&self, id: u64) -> Option<Result<Option<String>, OpError>> {
        Some(self.dynamo.get(&DynamoStore::pk(&self.namespace, id)).await)
    }
    fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }
    fn kept(&self) -> super::Kept<'_> {
        super::Kept {
            namespace: &self.namespace,
            redis: Some(&self.redis),
            redis_is_cache: true,
            dynamodb: Some(&self.dynamo),
        }
    }
    fn describe(&self) -> String {
        format!(
            "read Redis, miss -> DynamoDB -> populate; write DynamoDB then DEL; Redis calls bounded by {} ms; Redis: {}; DynamoDB: {}",
            self.cache_timeout.as_millis(),
            self.redis.describe(),
            self.dynamo.describe()
        )
    }
}
