//! Bulk prefill (`workload.prefill: { sessions: 2M, value_bytes: 1024 }`):
//! data to make a store as large as a drill asks — recovery time grows
//! with it — written far faster than the open-loop load: Redis in
//! pipelines of up to [`BATCH`] `SET … PX` (on a cluster, one hash slot's
//! keys each), DynamoDB in `BatchWriteItem`s of 25, several in flight. The
//! bulk sessions have keys of their own (`sd:<ns>:bulk:<i>`,
//! `BULK#<ns>:<i>`): the checker does not
//! follow them write by write; what is left of them is sampled at the end.
//! They expire after [`TTL`], never within a drill.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};

use super::dynamodb::{DynamoBackend, classify, expires_at};
use super::error::{ErrorClass, OpError};
use super::redis::RedisBackend;
use crate::dynamo::{PK, SK, TTL_ATTRIBUTE};

/// Bulk data's expiry: a day, never within a drill (the nodes go with the
/// run).
pub const TTL: Duration = Duration::from_secs(24 * 3600);

/// Most keys per Redis pipeline.
pub const BATCH: u64 = 1000;

/// About how many bytes of values one pipeline carries (1 000 sessions of
/// 4 kB; fewer sessions when they are larger).
const PIPELINE_BYTES: u64 = 4 << 20;

/// Pipelines or batch writes in flight at once.
const IN_FLIGHT: usize = 8;

/// Items per `BatchWriteItem` (DynamoDB's limit).
const DYNAMO_BATCH: usize = 25;

/// How often a batch DynamoDB left unprocessed is sent again before the
/// prefill gives up.
const DYNAMO_RETRIES: u32 = 20;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bulk {
    pub sessions: u64,
    pub value_bytes: usize,
}

/// What a strategy's bulk prefill did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkReport {
    pub sessions: u64,
    pub value_bytes: usize,
    /// Stores written (write-through: 2).
    pub copies: u64,
    pub ms: u64,
    /// Bulk sessions written per second, every store counted.
    pub per_second: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// At the end: bulk sessions sampled, and how many were still there
    /// (in the first store the strategy writes).
    pub sampled: u64,
    pub kept: u64,
}

/// At most this many bulk sessions are looked for at the end, spread
/// evenly over the ids.
pub const SAMPLE: u64 = 200;

pub fn sample(sessions: u64) -> Vec<u64> {
    let step = sessions.div_ceil(SAMPLE).max(1);
    (0..sessions).step_by(step as usize).collect()
}

/// Bulk session `i`'s value: recognisably not a checked session's.
pub fn value(i: u64, bytes: usize) -> String {
    let mut s = format!("bulk|{i}|");
    let pad = bytes.saturating_sub(s.len());
    s.extend(std::iter::repeat_n('b', pad));
    s
}

pub fn redis_key(namespace: &str, i: u64) -> String {
    format!("sd:{namespace}:bulk:{i}")
}

pub fn dynamo_pk(namespace: &str, i: u64) -> String {
    format!("BULK#{namespace}:{i}")
}

/// Write `bulk` to Redis, adding to `done` as batches are acknowledged.
/// On a cluster each pipeline holds keys of one hash slot (grouped here, a
/// million ids at a time), so the data spreads over every slot as a
/// session store's does; elsewhere pipelines take the ids in order.
pub async fn redis(
    backend: &RedisBackend,
    namespace: &str,
    bulk: Bulk,
    ttl: Duration,
    done: &AtomicU64,
) -> Result<(), OpError> {
    // Connections of its own: the load's are opened where the load runs.
    let own = backend.detached();
    let backend = &own;
    let px = ttl.as_millis().max(1) as u64;
    // At most BATCH keys and about PIPELINE_BYTES a pipeline.
    let per = (PIPELINE_BYTES / (bulk.value_bytes as u64 + 64)).clamp(1, BATCH) as usize;
    let mut from = 0;
    while from < bulk.sessions {
        let to = (from + WINDOW).min(bulk.sessions);
        let pipelines: Vec<Vec<u64>> = if backend.is_cluster() {
            let mut by_slot: std::collections::BTreeMap<u16, Vec<u64>> = Default::default();
            for i in from..to {
                by_slot
                    .entry(slot(&redis_key(namespace, i)))
                    .or_default()
                    .push(i);
            }
            by_slot
                .into_values()
                .flat_map(|ids| ids.chunks(per).map(<[u64]>::to_vec).collect::<Vec<_>>())
                .collect()
        } else {
            (from..to)
                .collect::<Vec<u64>>()
                .chunks(per)
                .map(<[u64]>::to_vec)
                .collect()
        };
        for wave in pipelines.chunks(IN_FLIGHT) {
            let sent = wave.iter().map(|ids| async move {
                let mut pipe = redis::pipe();
                for &i in ids {
                    pipe.cmd("SET")
                        .arg(redis_key(namespace, i))
                        .arg(value(i, bulk.value_bytes))
                        .arg("PX")
                        .arg(px)
                        .ignore();
                }
                backend.exec_pipe::<()>(&pipe).await?;
                done.fetch_add(ids.len() as u64, Ordering::Relaxed);
                Ok::<_, OpError>(())
            });
            for r in futures::future::join_all(sent).await {
                r?;
            }
        }
        from = to;
    }
    Ok(())
}

/// Ids grouped at once for a cluster.
const WINDOW: u64 = 1_000_000;

/// The hash slot of `key` (no hash tags in the keys written here).
fn slot(key: &str) -> u16 {
    crc16::State::<crc16::XMODEM>::calculate(key.as_bytes()) % 16_384
}

/// Write `bulk` to DynamoDB, adding to `done` as items are acknowledged.
pub async fn dynamodb(
    backend: &DynamoBackend,
    namespace: &str,
    bulk: Bulk,
    ttl: Duration,
    done: &AtomicU64,
) -> Result<(), OpError> {
    let expires = expires_at(ttl).to_string();
    let chunk = (DYNAMO_BATCH * IN_FLIGHT) as u64;
    let mut from = 0;
    while from < bulk.sessions {
        let to = (from + chunk).min(bulk.sessions);
        let ids: Vec<u64> = (from..to).collect();
        let sent = ids.chunks(DYNAMO_BATCH).map(|ids| {
            let expires = expires.clone();
            async move {
                let requests: Vec<WriteRequest> = ids
                    .iter()
                    .map(|&i| {
                        let put = PutRequest::builder()
                            .item(PK, AttributeValue::S(dynamo_pk(namespace, i)))
                            .item(SK, AttributeValue::S("META".into()))
                            .item("data", AttributeValue::S(value(i, bulk.value_bytes)))
                            .item(TTL_ATTRIBUTE, AttributeValue::N(expires.clone()))
                            .build()
                            .map_err(|e| OpError::new(ErrorClass::Other, e.to_string()))?;
                        Ok(WriteRequest::builder().put_request(put).build())
                    })
                    .collect::<Result<_, OpError>>()?;
                batch_write(backend, requests).await?;
                done.fetch_add(ids.len() as u64, Ordering::Relaxed);
                Ok::<_, OpError>(())
            }
        });
        for r in futures::future::join_all(sent).await {
            r?;
        }
        from = to;
    }
    Ok(())
}

/// One `BatchWriteItem`, its unprocessed items sent again (with a short
/// pause) until none is left.
async fn batch_write(backend: &DynamoBackend, mut items: Vec<WriteRequest>) -> Result<(), OpError> {
    for attempt in 0..DYNAMO_RETRIES {
        let out = backend
            .client()
            .batch_write_item()
            .request_items(backend.table(), items)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        items = out
            .unprocessed_items()
            .and_then(|m| m.get(backend.table()))
            .cloned()
            .unwrap_or_default();
        if items.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
    }
    Err(OpError::new(
        ErrorClass::Throttled,
        format!(
            "BatchWriteItem left {} items unprocessed after {DYNAMO_RETRIES} attempts",
            items.len()
        ),
    ))
}

/// Of bulk sessions `ids` (a sample), how many are still in Redis;
/// `None` when one could not be looked for (unknown, not lost).
pub async fn redis_kept(backend: &RedisBackend, namespace: &str, ids: &[u64]) -> Option<u64> {
    let mut kept = 0;
    for &i in ids {
        let found: u64 = backend
            .exec(redis::cmd("EXISTS").arg(redis_key(namespace, i)))
            .await
            .ok()?;
        kept += found;
    }
    Some(kept)
}

/// Of bulk sessions `ids` (a sample), how many DynamoDB still has; `None`
/// when one could not be looked for.
pub async fn dynamodb_kept(backend: &DynamoBackend, namespace: &str, ids: &[u64]) -> Option<u64> {
    let mut kept = 0;
    for &i in ids {
        kept += backend
            .item(&dynamo_pk(namespace, i), true)
            .await
            .ok()?
            .is_some() as u64;
    }
    Some(kept)
}

/// Progress shared with whoever shows it: written so far (each
/// strategy's own count), of how many.
#[derive(Debug, Default)]
pub struct Progress {
    parts: std::sync::Mutex<Vec<Arc<AtomicU64>>>,
    pub total: AtomicU64,
}

impl Progress {
    /// A strategy's own count, added to what [`Progress::get`] sums.
    pub fn part(&self) -> Arc<AtomicU64> {
        let part = Arc::<AtomicU64>::default();
        self.parts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(part.clone());
        part
    }

    pub fn get(&self) -> (u64, u64) {
        let done = self
            .parts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .sum();
        (done, self.total.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_keys_hash_like_redis_and_values_have_their_size() {
        assert_eq!(redis_key("t:redis", 1999), "sd:t:redis:bulk:1999");
        // Redis Cluster's own examples (CLUSTER KEYSLOT).
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("bar"), 5061);
        assert_eq!(value(7, 1024).len(), 1024);
        assert!(value(7, 1024).starts_with("bulk|7|"));
        // Never a checked session's value (those start with `v`).
        assert!(crate::store::value::version_of(&value(7, 64)).is_none());
    }
}
