//! `evict`: shrink a Redis server's memory so it evicts sessions
//! (`CONFIG SET maxmemory` + `maxmemory-policy`, `allkeys-lru` unless told
//! otherwise — `noeviction` refuses writes with OOM instead); healing puts
//! the previous settings back.

use crate::faults::FaultKind;
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::provision::ProcessHandle;
use crate::provision::redis::probe::RedisProbe;
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

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

/// The `maxmemory` when a fault names none.
const DEFAULT_MAXMEMORY: &str = "1mb";

#[derive(Debug, Clone, PartialEq)]
pub struct Evict {
    /// The `maxmemory` to set, e.g. `1mb`.
    pub maxmemory: String,
    /// The `maxmemory-policy` meanwhile.
    pub policy: String,
    /// What it changed, per process (index), to put back.
    pub saved: Vec<(usize, Saved)>,
}

/// The settings to restore.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub maxmemory: String,
    pub policy: String,
}

impl Behaviour for Evict {
    const KIND: FaultKind = FaultKind::Evict;
    const SAID: &'static str = "had sessions evicted";
    const HEALS: bool = true;
    const LINK: bool = false;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const HEALED_AT_END: bool = true;
    const FIELDS: &'static [&'static str] = &["maxmemory", "policy"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        if let Some(p) = &s.policy
            && !POLICIES.contains(&p.as_str())
        {
            c.at(
                &format!("{path}.policy"),
                format!(
                    "unknown maxmemory-policy `{p}`, expected one of: {}",
                    POLICIES.join(", ")
                ),
            );
        }
        Evict {
            maxmemory: s
                .maxmemory
                .clone()
                .unwrap_or_else(|| DEFAULT_MAXMEMORY.into()),
            policy: s.policy.clone().unwrap_or_else(|| DEFAULT_POLICY.into()),
            saved: Vec::new(),
        }
    }

    fn applies(node: &Node) -> Result<(), String> {
        match budget::redis_server(node) {
            Some(_) => Ok(()),
            None => Err(format!(
                "evict shrinks a Redis server's memory; `{}` is {}",
                node.name,
                node.kind.name()
            )),
        }
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        match node.kind {
            NodeKind::Redis(_) | NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_) => {
                Budget::new(
                    "eviction: whatever no longer fits in maxmemory (none with noeviction: writes fail with OOM)",
                    None,
                )
            }
            NodeKind::Dynamodb(_) | NodeKind::Dax(_) | NodeKind::Memcached(_) => {
                budget::nothing(node)
            }
        }
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        (false, false)
    }

    /// Evicted sessions are gone for good, whenever they were written.
    fn destroys_while_in_force(_peers: bool) -> bool {
        true
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        for &i in cx.nodes {
            let saved = shrink(&cx.dep.nodes[i], &self.maxmemory, &self.policy).await?;
            self.saved.push((i, saved));
        }
        Ok(format!(
            "maxmemory {} ({}) on {}",
            self.maxmemory,
            self.policy,
            cx.names.join(", ")
        ))
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        let Some((_, saved)) = self.saved.iter().find(|(j, _)| *j == i) else {
            return Ok(String::new());
        };
        let p = cx.dep.nodes[i].redis_probe();
        set(&p, "maxmemory", &saved.maxmemory).await?;
        set(&p, "maxmemory-policy", &saved.policy).await?;
        Ok(format!("maxmemory back to {}", saved.maxmemory))
    }
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

async fn shrink(node: &ProcessHandle, maxmemory: &str, policy: &str) -> Result<Saved, String> {
    if !node.info.kind.is_redis() || node.info.role.is_sentinel() {
        return Err(format!(
            "evict applies to Redis servers, not {}",
            node.info.name
        ));
    }
    let p = node.redis_probe();
    let saved = Saved {
        maxmemory: get(&p, "maxmemory").await?,
        policy: get(&p, "maxmemory-policy").await?,
    };
    set(&p, "maxmemory-policy", policy).await?;
    set(&p, "maxmemory", maxmemory).await?;
    Ok(saved)
}
