//! Sliding-window rate limiter (seed 003 `check_rate_limit`): per customer
//! a sorted set of request times; drop those older than the window, count
//! the rest, add this request, refresh the key's expiry — atomically (the
//! seed's MULTI pipeline; here one script). Allowed when the count was
//! below the limit. Denied requests are recorded too, as in the seed.

use std::time::Duration;

use async_trait::async_trait;

use super::key;
use crate::store::redis::RedisBackend;
use crate::store::{OpError, SessionStore};

/// KEYS[1] set; ARGV: now (ms), window (ms), member. Returns the count
/// before this request. The key expires a window after this request's own
/// time (the seed's `EXPIRE key window`, but on the request clock: a
/// request that spent long in flight must not let the set expire while
/// its entries are still inside the window).
const CHECK: &str = "redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1] - ARGV[2]) \
                     local n = redis.call('ZCARD', KEYS[1]) \
                     redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3]) \
                     redis.call('PEXPIREAT', KEYS[1], ARGV[1] + ARGV[2]) return n";

pub struct RateLimiter {
    pub backend: RedisBackend,
    pub namespace: String,
    pub max: u64,
    pub window: Duration,
}

impl RateLimiter {
    fn key(&self, id: u64) -> String {
        key(&self.namespace, "rate", id)
    }
}

#[async_trait]
impl SessionStore for RateLimiter {
    async fn warm(&self) -> crate::store::Warmed {
        self.backend.warm().await
    }

    /// A limiter keeps no value to write: every operation is a request
    /// ([`SessionStore::admit`]); prefill writes nothing.
    async fn put(&self, _id: u64, _value: &str, _ttl: Duration) -> Result<(), OpError> {
        Ok(())
    }

    /// Nothing to read back: what the checker proves of a limiter it
    /// proves on each admit, so the final sweep finds nothing to judge.
    async fn get(&self, _id: u64) -> Result<Option<String>, OpError> {
        Ok(None)
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.backend.del(&self.key(id)).await
    }

    async fn admit(&self, id: u64, at_ms: u64, seq: u64) -> Result<bool, OpError> {
        let window = self.window.as_millis() as u64;
        let before: u64 = self
            .backend
            .exec(
                redis::cmd("EVAL")
                    .arg(CHECK)
                    .arg(1)
                    .arg(self.key(id))
                    .arg(at_ms)
                    .arg(window)
                    .arg(format!("{at_ms}-{seq}")),
            )
            .await?;
        Ok(before < self.max)
    }

    fn describe(&self) -> String {
        format!(
            "rate limiter ({} per {} sliding window, sorted set); {}",
            self.max,
            humantime::format_duration(self.window),
            self.backend.describe()
        )
    }
}
