//! `cache-aside-versioned`: cache-aside without its stale-set race. A
//! write puts DynamoDB, then leaves a *marker* of its version in Redis
//! instead of deleting the key; a read that misses (nothing, or a marker)
//! loads DynamoDB and populates Redis with a script that refuses a value
//! older than what Redis holds — a newer value, or the marker of a newer
//! write. So a read that loaded an old value before a write cannot put it
//! back after the write's invalidation, which is what `cache-aside` does
//! (`topologies/cache-aside-race.yaml`). A delete leaves a marker that
//! refuses every value until it expires (the session's TTL): reads go to
//! DynamoDB meanwhile. Both scripts keep the version order in Redis itself,
//! so concurrent writers and readers need no lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::SessionStore;
use super::dynamodb::{DynamoBackend, DynamoStore};
use super::error::{OpError, bounded};
use super::hybrid::fell_back;
use super::redis::{RedisBackend, RedisStore};
use super::value;

/// Set the marker of version ARGV[1] unless Redis holds something newer.
const MARK: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^[vm](%d+)'))
  if v and v > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], 'm' .. ARGV[1], 'PX', ARGV[2])
return 1
";

/// Populate with value ARGV[1] of version ARGV[2] unless Redis holds the
/// same or a newer value, or the marker of a newer write.
const POPULATE: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local kind, v = string.match(cur, '^([vm])(%d+)')
  v = tonumber(v)
  local new = tonumber(ARGV[2])
  if v and kind == 'v' and v >= new then return 0 end
  if v and kind == 'm' and v > new then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
";

/// The marker a delete leaves: newer than any version.
const DELETED: u64 = u64::MAX / 2;

pub struct CacheAsideVersioned {
    pub redis: RedisBackend,
    pub dynamo: DynamoBackend,
    pub namespace: String,
    /// TTL of populated entries and markers.
    pub ttl: Duration,
    pub cache_timeout: Duration,
    /// Operations Redis failed and DynamoDB carried.
    pub fallbacks: AtomicU64,
}

impl CacheAsideVersioned {
    async fn mark(&self, id: u64, version: u64) -> Result<(), OpError> {
        let key = RedisStore::key(&self.namespace, id);
        let cmd = redis::cmd("EVAL")
            .arg(MARK)
            .arg(1)
            .arg(&key)
            .arg(version)
            .arg(self.ttl.as_millis() as u64)
            .to_owned();
        let r = bounded(self.cache_timeout, self.redis.exec::<i64>(&cmd)).await;
        fell_back(&self.fallbacks, r.is_err(), true);
        Ok(())
    }
}

#[async_trait]
impl SessionStore for CacheAsideVersioned {
    async fn warm(&self) -> super::Warmed {
        // DynamoDB: see DynamoStore.
        self.redis.warm().await
    }

    async fn put(&self, id: u64, v: &str, ttl: Duration) -> Result<(), OpError> {
        self.dynamo
            .put(&DynamoStore::pk(&self.namespace, id), v, ttl)
            .await?;
        // A value that is not ours has no version: mark it as deleted (no
        // older copy may come back).
        self.mark(id, value::version_of(v).unwrap_or(DELETED)).await
    }

    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        let key = RedisStore::key(&self.namespace, id);
        let hit = bounded(self.cache_timeout, self.redis.get(&key)).await;
        if let Ok(Some(v)) = &hit
            && !v.starts_with('m')
        {
            return Ok(Some(v.clone()));
        }
        let found = self.dynamo.get(&DynamoStore::pk(&self.namespace, id)).await;
        fell_back(&self.fallbacks, hit.is_err(), found.is_ok());
        let found = found?;
        if let (Ok(_), Some(v)) = (&hit, &found)
            && let Some(version) = value::version_of(v)
        {
            let cmd = redis::cmd("EVAL")
                .arg(POPULATE)
                .arg(1)
                .arg(&key)
                .arg(v)
                .arg(version)
                .arg(self.ttl.as_millis() as u64)
                .to_owned();
            let _ = bounded(self.cache_timeout, self.redis.exec::<i64>(&cmd)).await;
        }
        Ok(found)
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.dynamo
            .delete(&DynamoStore::pk(&self.namespace, id))
            .await?;
        self.mark(id, DELETED).await
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
            "read Redis, miss or marker -> DynamoDB -> populate only if not older than Redis holds; write DynamoDB then leave a version marker (no DEL); Redis calls bounded by {} ms; Redis: {}; DynamoDB: {}",
            self.cache_timeout.as_millis(),
            self.redis.describe(),
            self.dynamo.describe()
        )
    }
}
