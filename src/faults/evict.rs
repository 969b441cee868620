//! `evict`: shrink a Redis server's memory so it evicts sessions
//! (`CONFIG SET maxmemory` + `maxmemory-policy`, `allkeys-lru` unless told
//! otherwise — `noeviction` refuses writes with OOM instead); healing puts
//! the previous settings back.

use crate::provision::NodeHandle;
use crate::provision::redis::probe::RedisProbe;

/// Redis's `maxmemory-policy` values.
pub const POLICIES: [&str; 8] = [
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "noeviction",
];

/// The policy when a fault names none.
pub const DEFAULT_POLICY: &str = "allkeys-lru";

/// The settings to restore.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub maxmemory: String,
    pub policy: String,
}

fn probe(node: &NodeHandle) -> RedisProbe {
    RedisProbe::new(node.info.port, node.password.as_deref().unwrap_or(""))
}

async fn get(p: &RedisProbe, key: &str) -> Result<String, String> {
    let kv: Vec<String> = p.query(redis::cmd("CONFIG").arg("GET").arg(key)).await?;
    kv.get(1)
        .cloned()
        .ok_or_else(|| format!("CONFIG GET {key}: no value"))
}

async fn set(p: &RedisProbe, key: &str, value: &str) -> Result<(), String> {
    let ok: String = p
        .query(redis::cmd("CONFIG").arg("SET").arg(key).arg(value))
        .await?;
    if ok == "OK" { Ok(()) } else { Err(ok) }
}

pub async fn inject(node: &NodeHandle, maxmemory: &str, policy: &str) -> Result<Saved, String> {
    if !node.info.kind.starts_with("redis") || node.info.role == "sentinel" {
        return Err(format!(
            "evict applies to Redis servers, not {}",
            node.info.name
        ));
    }
    let p = probe(node);
    let saved = Saved {
        maxmemory: get(&p, "maxmemory").await?,
        policy: get(&p, "maxmemory-policy").await?,
    };
    set(&p, "maxmemory-policy", policy).await?;
    set(&p, "maxmemory", maxmemory).await?;
    Ok(saved)
}

pub async fn heal(node: &NodeHandle, saved: &Saved) -> Result<(), String> {
    let p = probe(node);
    set(&p, "maxmemory", &saved.maxmemory).await?;
    set(&p, "maxmemory-policy", &saved.policy).await
}
