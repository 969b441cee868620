//! Session lock (seed 003 `acquire_session_lock`): `SET lock:<id> <token>
//! NX PX <lease>` so two Lambda invocations never write one session at the
//! same time; released by its holder only (compare-and-delete). Each
//! acquire is a distinct holder whose token is the write's version.

use std::time::Duration;

use async_trait::async_trait;

use super::key;
use crate::store::redis::RedisBackend;
use crate::store::{OpError, SessionStore};

/// Delete only if the caller still holds the lock.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                       return redis.call('DEL', KEYS[1]) else return 0 end";

pub struct SessionLock {
    pub backend: RedisBackend,
    pub namespace: String,
}

impl SessionLock {
    fn key(&self, id: u64) -> String {
        key(&self.namespace, "lock:session", id)
    }
}

#[async_trait]
impl SessionStore for SessionLock {
    async fn warm(&self) -> crate::store::Warmed {
        self.backend.warm().await
    }

    /// Take the lock unconditionally (prefill only).
    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        self.backend.set(&self.key(id), value, ttl).await
    }

    /// Who holds the lock: the holder's token.
    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        self.backend.get(&self.key(id)).await
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.backend.del(&self.key(id)).await
    }

    async fn acquire(&self, id: u64, token: &str, lease: Duration) -> Result<bool, OpError> {
        let set: Option<String> = self
            .backend
            .exec(
                redis::cmd("SET")
                    .arg(self.key(id))
                    .arg(token)
                    .arg("NX")
                    .arg("PX")
                    .arg(lease.as_millis().max(1) as u64),
            )
            .await?;
        Ok(set.is_some())
    }

    async fn release(&self, id: u64, token: &str) -> Result<bool, OpError> {
        self.backend
            .exec::<i64>(
                redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(self.key(id))
                    .arg(token),
            )
            .await
            .map(|deleted| deleted == 1)
    }

    fn describe(&self) -> String {
        format!(
            "session lock (SET NX PX lease, compare-and-delete release); {}",
            self.backend.describe()
        )
    }
}
