//! Read-modify-write updates of sessions in Redis (`redis-blind-update`,
//! `redis-optimistic-update`, `redis-atomic-update`). The optimistic flavour
//! is a compare-and-set script rather than WATCH/MULTI: a WATCH belongs to
//! a connection, and the backend's connections are multiplexed between
//! concurrent operations.

use std::time::Duration;

use async_trait::async_trait;

use super::{Conflicts, Flavour, gave_up, not_ours, work};
use crate::store::SessionStore;
use crate::store::error::OpError;
use crate::store::redis::{RedisBackend, RedisStore};
use crate::store::value;

/// Set KEYS[1] to ARGV[2] (expiring in ARGV[3] ms) only if it still holds
/// ARGV[1] (`''`: nothing); 1 if set.
const COMPARE_AND_SET: &str = r"
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
";

/// Append token ARGV[1] (the update's version) to the session's tokens and
/// write `v<ARGV[1]>|<ARGV[2]>|t<tokens>|` padded to ARGV[3] bytes,
/// expiring in ARGV[4] ms — the format of `value::compose`.
const APPEND_TOKEN: &str = r"
local cur = redis.call('GET', KEYS[1])
local toks = cur and string.match(cur, '^v%d+|[^|]*|t([%d,]*)|')
if cur and not toks then
  return redis.error_reply('not a session kept by updates')
end
local list = ARGV[1]
if toks and toks ~= '' then list = toks .. ',' .. ARGV[1] end
local v = 'v' .. ARGV[1] .. '|' .. ARGV[2] .. '|t' .. list .. '|'
local pad = tonumber(ARGV[3]) - #v
if pad > 0 then v = v .. string.rep('x', pad) end
redis.call('SET', KEYS[1], v, 'PX', ARGV[4])
return 1
";

pub struct RedisUpdates {
    pub backend: RedisBackend,
    pub namespace: String,
    pub flavour: Flavour,
    /// The application's work on the session before it writes it back.
    pub work: Duration,
    pub conflicts: Conflicts,
}

impl RedisUpdates {
    async fn optimistic(&self, key: &str, base: &str, ttl: Duration) -> Result<(), OpError> {
        for _ in 0..super::ATTEMPTS {
            let old = self.backend.get(key).await?;
            work(self.work).await;
            let new = value::with_token(base, old.as_deref()).ok_or_else(not_ours)?;
            let cmd = redis::cmd("EVAL")
                .arg(COMPARE_AND_SET)
                .arg(1)
                .arg(key)
                .arg(old.as_deref().unwrap_or(""))
                .arg(&new)
                .arg(ttl.as_millis().max(1) as u64)
                .to_owned();
            if self.backend.exec::<i64>(&cmd).await? == 1 {
                return Ok(());
            }
            self.conflicts.add();
        }
        Err(gave_up())
    }

    async fn atomic(&self, key: &str, base: &str, ttl: Duration) -> Result<(), OpError> {
        let version = value::version_of(base).ok_or_else(not_ours)?;
        let session = base.split('|').nth(1).unwrap_or_default();
        work(self.work).await;
        let cmd = redis::cmd("EVAL")
            .arg(APPEND_TOKEN)
            .arg(1)
            .arg(key)
            .arg(version)
            .arg(session)
            .arg(base.len())
            .arg(ttl.as_millis().max(1) as u64)
            .to_owned();
        self.backend.exec::<i64>(&cmd).await.map(|_| ())
    }
}

#[async_trait]
impl SessionStore for RedisUpdates {
    async fn warm(&self) -> crate::store::Warmed {
        self.backend.warm().await
    }

    /// Update the session with the change `base` carries (its version).
    async fn put(&self, id: u64, base: &str, ttl: Duration) -> Result<(), OpError> {
        let key = RedisStore::key(&self.namespace, id);
        match self.flavour {
            Flavour::Blind => {
                let old = self.backend.get(&key).await?;
                work(self.work).await;
                let new = value::with_token(base, old.as_deref()).ok_or_else(not_ours)?;
                self.backend.set(&key, &new, ttl).await
            }
            Flavour::Optimistic => self.optimistic(&key, base, ttl).await,
            Flavour::Atomic => self.atomic(&key, base, ttl).await,
        }
    }

    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        self.backend
            .get(&RedisStore::key(&self.namespace, id))
            .await
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.backend
            .del(&RedisStore::key(&self.namespace, id))
            .await
    }

    fn conflicts(&self) -> u64 {
        self.conflicts.get()
    }

    fn kept(&self) -> crate::store::Kept<'_> {
        crate::store::Kept {
            namespace: &self.namespace,
            redis: Some(&self.backend),
            redis_is_cache: false,
            dynamodb: None,
        }
    }

    fn describe(&self) -> String {
        self.flavour.describe(self.work, &self.backend.describe())
    }
}
