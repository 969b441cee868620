//! Connection ID ↔ session ID mapping (seed 003 `map_connection_to_session`):
//! both directions written together, both removed on disconnect. A read is
//! the hot-path lookup `get_session_for_connection`; a mapping the ledger
//! acknowledged and Redis no longer has is a lost connection — the user's
//! WebSocket messages can no longer be routed to their session.

use std::time::Duration;

use async_trait::async_trait;

use super::key;
use crate::store::redis::RedisBackend;
use crate::store::{OpError, SessionStore};

/// Set both directions with one expiry (atomic, one slot).
const MAP: &str = "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) \
                   redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) return 1";
const UNMAP: &str = "return redis.call('DEL', KEYS[1], KEYS[2])";

pub struct ConnMap {
    pub backend: RedisBackend,
    pub namespace: String,
}

impl ConnMap {
    fn keys(&self, id: u64) -> (String, String) {
        (
            key(&self.namespace, "conn", id),
            key(&self.namespace, "session_conn", id),
        )
    }
}

#[async_trait]
impl SessionStore for ConnMap {
    async fn warm(&self) -> crate::store::Warmed {
        self.backend.warm().await
    }

    /// Connect: connection `id` maps to the session named in `value`.
    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        let (conn, back) = self.keys(id);
        self.backend
            .exec::<i64>(
                redis::cmd("EVAL")
                    .arg(MAP)
                    .arg(2)
                    .arg(conn)
                    .arg(back)
                    .arg(value)
                    .arg(id)
                    .arg(ttl.as_millis().max(1) as u64),
            )
            .await
            .map(|_| ())
    }

    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        self.backend.get(&self.keys(id).0).await
    }

    /// Disconnect: remove both directions.
    async fn delete(&self, id: u64) -> Result<(), OpError> {
        let (conn, back) = self.keys(id);
        self.backend
            .exec::<i64>(redis::cmd("EVAL").arg(UNMAP).arg(2).arg(conn).arg(back))
            .await
            .map(|_| ())
    }

    fn describe(&self) -> String {
        format!(
            "connection map (SET conn + session_conn, PX); {}",
            self.backend.describe()
        )
    }
}
