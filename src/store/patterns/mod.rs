//! Seed 003's Redis patterns for chat sessions — "Redis is for computed,
//! ephemeral state": a connection ↔ session map, online presence, a
//! `SET NX` session lock and a sliding-window rate limiter. Each is a
//! strategy so it runs through the same engine, faults and checker as the
//! session stores; the lock and the limiter add what the checker proves of
//! them (two holders of one lock; more admits than the limit allows).
//!
//! Keys carry the id in a hash tag (`{42}`) so every key an operation
//! touches lives in one cluster slot.

use std::time::Duration;

mod connmap;
mod lock;
mod presence;
mod rate_limit;

pub use connmap::ConnMap;
pub use lock::SessionLock;
pub use presence::Presence;
pub use rate_limit::RateLimiter;

/// Parameters of the pattern strategies (defaults from seed 003).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patterns {
    /// `redis-lock`: lease of an acquired lock (`SET NX EX 10`).
    pub lock_lease: Duration,
    /// `redis-rate-limit`: requests allowed per window (30).
    pub limit_max: u64,
    /// `redis-rate-limit`: the sliding window (60 s).
    pub limit_window: Duration,
}

impl Default for Patterns {
    fn default() -> Self {
        Self {
            lock_lease: Duration::from_secs(10),
            limit_max: 30,
            limit_window: Duration::from_secs(60),
        }
    }
}

fn key(namespace: &str, what: &str, id: u64) -> String {
    format!("sd:{namespace}:{what}:{{{id}}}")
}
