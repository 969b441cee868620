//! Before a bulk prefill: can this machine hold it? Every Redis server
//! keeps a whole copy in memory (and on disk, with persistence), the
//! embedded DynamoDB node keeps its table on disk. A prefill that cannot
//! fit is refused before anything starts, with the figures.

use std::path::Path;

use crate::scenario::Scenario;
use crate::store::Backend;
use crate::topology::{DynamoEngine, NodeKind};

/// Redis's own overhead per key above the key and value (measured: about
/// 170 B at 512-byte values, docs/COST.md), rounded up; the value itself
/// is rounded up to jemalloc's size class, at most a quarter more.
const REDIS_OVERHEAD: u64 = 200;

/// Key, attribute names and SQLite's row and index per DynamoDB item,
/// rounded up; its write-ahead log can double the file while it runs.
const TABLE_OVERHEAD: u64 = 200;

/// Share of what is available a prefill may plan to take.
const SHARE: f64 = 0.8;

/// What a bulk prefill needs: memory, disk, and where each comes from.
#[derive(Debug, Default, PartialEq)]
pub struct Needs {
    pub memory: u64,
    pub disk: u64,
    pub why: Vec<String>,
}

/// What the scenario's bulk prefill needs, by the topology's nodes.
pub fn needs(s: &Scenario) -> Needs {
    let mut n = Needs::default();
    let Some(b) = s.workload.bulk else { return n };
    let value = b.value_bytes as u64;
    for kind in &s.strategies {
        for &backend in kind.backends() {
            let Some(node) = s
                .targets
                .of(backend)
                .and_then(|name| s.topology.nodes.iter().find(|x| x.name == name))
            else {
                continue;
            };
            let writes = match (backend, *kind) {
                // Cache-aside's bulk data goes to DynamoDB only.
                (
                    Backend::Redis,
                    crate::store::StrategyKind::CacheAside
                    | crate::store::StrategyKind::CacheAsideVersioned,
                ) => false,
                (Backend::Redis | Backend::Dynamodb | Backend::Dax, _) => true,
                (Backend::Memcached, _) => false,
            };
            if !writes {
                continue;
            }
            // Copies of the data: a replicated node's primary and replicas
            // each hold all of it; a cluster splits it over its shards,
            // each held by 1 + its replicas.
            let (copies, server) = match &node.kind {
                NodeKind::Redis(r) => (1, Some(r)),
                NodeKind::RedisReplicated(r) => (1 + r.replicas as u64, Some(&r.server)),
                NodeKind::RedisCluster(c) => (1 + c.replicas_per_shard as u64, Some(&c.server)),
                _ => (0, None),
            };
            if node.external.is_some() {
                continue;
            }
            if let Some(server) = server {
                let per = b.sessions * (value + value / 4 + REDIS_OVERHEAD);
                n.memory += per * copies;
                // AOF: every write as a command, and a rewrite may write
                // a second file; RDB: the dump and its temporary file.
                let disk = if server.aof() || server.rdb() {
                    2 * b.sessions * (value + 64) * copies
                } else {
                    0
                };
                n.disk += disk;
                n.why.push(format!(
                    "{}: {copies} cop(ies) in the Redis servers of `{}`",
                    kind.name(),
                    node.name
                ));
                continue;
            }
            let embedded = |n: &crate::topology::Node| matches!(&n.kind, NodeKind::Dynamodb(d) if matches!(d.engine, DynamoEngine::Embedded { .. }));
            let table = match &node.kind {
                NodeKind::Dynamodb(_) => embedded(node),
                // DAX's bulk data goes to the table behind it.
                NodeKind::Dax(d) => s
                    .topology
                    .nodes
                    .iter()
                    .find(|x| x.name == d.dynamodb)
                    .is_some_and(embedded),
                _ => false,
            };
            if table {
                n.disk += 2 * b.sessions * (value + TABLE_OVERHEAD);
                n.why.push(format!(
                    "{}: the DynamoDB node keeps it on disk",
                    kind.name()
                ));
            }
        }
    }
    n
}

/// Refuse a bulk prefill this machine cannot hold (memory available now,
/// disk free under `home`).
pub fn check(s: &Scenario, home: &Path) -> Result<(), String> {
    let n = needs(s);
    if n.memory == 0 && n.disk == 0 {
        return Ok(());
    }
    let gib = |x: u64| x as f64 / (1u64 << 30) as f64;
    let memory = available_memory();
    let disk = free_disk(home);
    let short = |need: u64, have: Option<u64>| have.is_some_and(|h| need as f64 > SHARE * h as f64);
    if short(n.memory, memory) || short(n.disk, disk) {
        let b = s.workload.bulk.expect("needs are 0 without a bulk prefill");
        return Err(format!(
            "workload.prefill: {} bulk sessions of {} B need about {:.1} GiB of memory and {:.1} GiB of disk ({}); this machine has {:.1} GiB of memory available and {:.1} GiB free under {} (a prefill may take {:.0} % of either): ask for fewer sessions or smaller values",
            b.sessions,
            b.value_bytes,
            gib(n.memory),
            gib(n.disk),
            n.why.join("; "),
            gib(memory.unwrap_or(0)),
            gib(disk.unwrap_or(0)),
            home.display(),
            SHARE * 100.0
        ));
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes free for an unprivileged user under `dir` (or its nearest
/// existing parent).
fn free_disk(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|d| d.exists())?;
    let st = nix::sys::statvfs::statvfs(existing).ok()?;
    Some(st.blocks_available() as u64 * st.fragment_size() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_is_read() {
        assert!(available_memory().is_some_and(|m| m > 0));
        assert!(free_disk(Path::new("/nonexistent/sub/dir")).is_some());
    }
}
