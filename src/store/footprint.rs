//! What a strategy's sessions occupy, measured on the store at the end of
//! the run (before the nodes go): Redis's own figure per key (`MEMORY
//! USAGE`, and `INFO memory` for the node), DynamoDB's billed item size
//! (attribute names and values, as DynamoDB sizes them) of the items read
//! back, memcached's `stats`. The cost model scales these to the user's
//! number of sessions.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::dynamodb::DynamoBackend;
use super::redis::RedisBackend;

/// Requests in flight at once while sampling.
const CONCURRENCY: usize = 16;

/// What one strategy's sessions occupy, per store it writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Footprint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisFootprint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamodb: Option<ItemFootprint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memcached: Option<MemcachedFootprint>,
}

/// Redis: `MEMORY USAGE` of sampled session keys, and the node's `INFO
/// memory` (of the server that answered: the primary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RedisFootprint {
    /// Session keys found among those asked for.
    pub sampled: u64,
    /// Their mean `MEMORY USAGE`: key, value, and the server's overhead
    /// for them (object headers, allocator rounding, the dict entry).
    pub bytes_per_session: f64,
    /// `INFO memory` of the server that answered (absent on a cluster,
    /// whose keys are on several servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_memory: Option<u64>,
    /// What the server used with no data (`used_memory_startup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_memory_startup: Option<u64>,
    /// `used_memory_dataset`: the data, without the server's overhead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_memory_dataset: Option<u64>,
    /// Keys on that server (`DBSIZE`): every strategy's on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
}

/// DynamoDB: the billed size of sampled session items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemFootprint {
    pub sampled: u64,
    /// Mean item size as DynamoDB bills it ([`item_bytes`]).
    pub item_bytes: f64,
    pub max_item_bytes: u64,
}

/// memcached: its servers' items and slab memory, summed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemcachedFootprint {
    pub items: u64,
    /// The slab chunks the items take (`stats slabs`: used chunks × chunk
    /// size): item header, key, value, and the rounding up to the chunk.
    pub bytes: u64,
    pub bytes_per_item: f64,
}

/// The size DynamoDB bills an item at: per attribute, its name's UTF-8
/// bytes plus its value's size — a string its UTF-8 bytes, a binary its
/// bytes, a number 1 byte per two significant digits plus 1, a boolean or
/// null 1 byte, a list or map 3 bytes plus 1 per element plus the
/// elements (a map's element names included), a set the sum of its
/// members. (DynamoDB developer guide, "Item sizes and formats".)
pub fn item_bytes(item: &HashMap<String, AttributeValue>) -> u64 {
    item.iter()
        .map(|(name, v)| name.len() as u64 + value_bytes(v))
        .sum()
}

fn value_bytes(v: &AttributeValue) -> u64 {
    match v {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => number_bytes(n),
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_bytes(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len() as u64).sum(),
        AttributeValue::L(items) => 3 + items.iter().map(|i| 1 + value_bytes(i)).sum::<u64>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, i)| 1 + k.len() as u64 + value_bytes(i))
                .sum::<u64>()
        }
        _ => 0,
    }
}

/// A number's size: its significant digits (leading and trailing zeros
/// trimmed), one byte per two, plus one.
fn number_bytes(n: &str) -> u64 {
    let mantissa = n
        .trim_start_matches('-')
        .split(['e', 'E'])
        .next()
        .unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.max(1).div_ceil(2) + 1
}

/// Sample `keys` on Redis: `MEMORY USAGE` of each (absent ones skipped),
/// and `INFO memory` / `DBSIZE` of the server answering. `None` when no
/// key was found.
pub async fn redis(backend: &RedisBackend, keys: &[String]) -> Option<RedisFootprint> {
    let mut usages = Vec::new();
    for chunk in keys.chunks(CONCURRENCY) {
        let found = futures::future::join_all(chunk.iter().map(|k| memory_usage(backend, k))).await;
        usages.extend(found.into_iter().flatten());
    }
    if usages.is_empty() {
        return None;
    }
    let info: Option<String> = backend.exec(redis::cmd("INFO").arg("memory")).await.ok();
    let field = |name: &str| -> Option<u64> {
        info.as_deref()?.lines().find_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            (k == name).then(|| v.parse().ok()).flatten()
        })
    };
    Some(RedisFootprint {
        sampled: usages.len() as u64,
        bytes_per_session: usages.iter().sum::<u64>() as f64 / usages.len() as f64,
        used_memory: field("used_memory"),
        used_memory_startup: field("used_memory_startup"),
        used_memory_dataset: field("used_memory_dataset"),
        keys: backend.exec(&redis::cmd("DBSIZE")).await.ok(),
    })
}

/// `MEMORY USAGE` of `key` (all of it: `SAMPLES 0`); `None` when absent
/// or not answered.
async fn memory_usage(backend: &RedisBackend, key: &str) -> Option<u64> {
    let mut cmd = redis::cmd("MEMORY");
    cmd.arg("USAGE").arg(key).arg("SAMPLES").arg(0);
    backend.exec::<Option<u64>>(&cmd).await.ok().flatten()
}

/// The billed size of the item of `pk`; `None` when absent or not
/// answered.
async fn billed_size(backend: &DynamoBackend, pk: &str) -> Option<u64> {
    backend
        .item(pk, true)
        .await
        .ok()
        .flatten()
        .map(|i| item_bytes(&i))
}

/// Sample the items of partition keys `pks` (read consistently, outside
/// any meter: the checker's read, not the workload's). `None` when none
/// was found.
pub async fn dynamodb(backend: &DynamoBackend, pks: &[String]) -> Option<ItemFootprint> {
    let mut sizes = Vec::new();
    for chunk in pks.chunks(CONCURRENCY) {
        let found =
            futures::future::join_all(chunk.iter().map(|pk| billed_size(backend, pk))).await;
        sizes.extend(found.into_iter().flatten());
    }
    if sizes.is_empty() {
        return None;
    }
    Some(ItemFootprint {
        sampled: sizes.len() as u64,
        item_bytes: sizes.iter().sum::<u64>() as f64 / sizes.len() as f64,
        max_item_bytes: sizes.iter().copied().max().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> AttributeValue {
        AttributeValue::S(x.into())
    }

    #[test]
    fn items_are_sized_as_dynamodb_documents_it() {
        // The developer guide's rules, worked by hand.
        assert_eq!(number_bytes("1"), 2);
        assert_eq!(number_bytes("1700000000"), 2); // "17": 1 + 1
        assert_eq!(number_bytes("1700000001"), 6); // 10 digits: 5 + 1
        assert_eq!(number_bytes("-0.00123"), 3); // "123": 2 + 1
        assert_eq!(number_bytes("0"), 2);
        let item: HashMap<String, AttributeValue> = [
            ("PK".to_string(), s("SESSION#ab:dynamodb:42")), // 2 + 22
            ("SK".to_string(), s("META")),                   // 2 + 4
            ("data".to_string(), s(&"x".repeat(512))),       // 4 + 512
            (
                "expires_at".to_string(),
                AttributeValue::N("1764600000".into()),
            ), // 10 + 3 + 1 ("17646")
            (
                "t".to_string(),
                AttributeValue::L(vec![AttributeValue::N("7".into())]), // 1 + 3 + (1 + 2)
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(item_bytes(&item), 24 + 6 + 516 + 14 + 7);
    }
}
