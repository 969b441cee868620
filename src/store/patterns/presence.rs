//! Online presence (seed 003: "who is currently chatting"): users are
//! members of sorted sets scored by their last heartbeat. Here the score is
//! the heartbeat's version, so a read can be judged against the ledger: a
//! user the ledger saw come online (and not leave) who is not in the set
//! shows as offline — lost; an older heartbeat than acknowledged is stale.

use std::time::Duration;

use async_trait::async_trait;

use crate::store::redis::RedisBackend;
use crate::store::{OpError, SessionStore, value};

/// Presence is spread over this many sets (cluster slots).
const SETS: u64 = 16;

pub struct Presence {
    pub backend: RedisBackend,
    pub namespace: String,
}

impl Presence {
    fn set(&self, id: u64) -> String {
        super::key(&self.namespace, "online", id % SETS)
    }
}

#[async_trait]
impl SessionStore for Presence {
    async fn warm(&self) -> crate::store::Warmed {
        self.backend.warm().await
    }

    /// Come online or heartbeat: ZADD with the heartbeat's version. A set
    /// member has no expiry of its own; presence ends with a delete.
    async fn put(&self, id: u64, v: &str, _ttl: Duration) -> Result<(), OpError> {
        let version = value::version_of(v).unwrap_or(0);
        self.backend
            .exec::<i64>(redis::cmd("ZADD").arg(self.set(id)).arg(version).arg(id))
            .await
            .map(|_| ())
    }

    /// Is `id` online, and since which heartbeat?
    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        let score: Option<f64> = self
            .backend
            .exec(redis::cmd("ZSCORE").arg(self.set(id)).arg(id))
            .await?;
        Ok(score.map(|s| value::encode(id, s as u64, 0)))
    }

    /// Go offline.
    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.backend
            .exec::<i64>(redis::cmd("ZREM").arg(self.set(id)).arg(id))
            .await
            .map(|_| ())
    }

    fn describe(&self) -> String {
        format!(
            "presence (ZADD online:<n> <heartbeat> <user>, {SETS} sets); {}",
            self.backend.describe()
        )
    }
}
