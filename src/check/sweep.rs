//! The final sweep: after the load stops, read every session that was ever
//! written and judge it. These counts are the report's loss numbers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Mutex;

use super::{ReadCheck, judge};
use crate::metrics::ledger::SessionState;
use crate::store::{SessionStore, value};

/// Reads in flight at once during the sweep.
const CONCURRENCY: usize = 64;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SweepResult {
    pub checked: u64,
    pub verdicts: BTreeMap<ReadCheck, u64>,
    /// Sessions that could not be read (the store kept failing).
    pub unverified: u64,
    /// Of the lost and stale sessions, those the store of record holds at
    /// the acknowledged version (or newer): a cache in front served the
    /// old copy.
    pub from_cache: u64,
    /// Ids of lost sessions (for tests and drill-down).
    #[serde(skip)]
    pub lost_ids: Vec<u64>,
    #[serde(skip)]
    pub stale_ids: Vec<u64>,
}

impl SweepResult {
    pub fn count(&self, c: ReadCheck) -> u64 {
        self.verdicts.get(&c).copied().unwrap_or(0)
    }
}

/// Does the store of record hold `version` of session `id`, or a newer
/// one (a write whose answer was lost but which landed)? Read up to three
/// times: a failed read proves nothing either way.
async fn source_holds(
    store: &dyn SessionStore,
    id: u64,
    version: Option<u64>,
    timeout: Duration,
) -> bool {
    let Some(version) = version else { return false };
    for attempt in 0..3 {
        match tokio::time::timeout(timeout, store.read_source(id)).await {
            Ok(None) => return false,
            Ok(Some(Ok(v))) => {
                return v
                    .as_deref()
                    .and_then(value::version_of)
                    .is_some_and(|held| held >= version);
            }
            _ => tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await,
        }
    }
    false
}

pub async fn sweep(
    store: Arc<dyn SessionStore>,
    ledger: Arc<Vec<Mutex<SessionState>>>,
    timeout: Duration,
) -> SweepResult {
    let ids: Vec<u64> = {
        let mut ids = Vec::new();
        for (i, s) in ledger.iter().enumerate() {
            if s.lock().await.touched() {
                ids.push(i as u64);
            }
        }
        ids
    };
    let reads = futures::stream::iter(ids)
        .map(|id| {
            let store = store.clone();
            let ledger = ledger.clone();
            async move {
                // The session is locked for the read and the verdict, so no
                // operation can change it in between. A read that fails is
                // retried a few times: the sweep wants the store's state,
                // not a transient error.
                let mut state = ledger[id as usize].lock().await;
                for attempt in 0..3 {
                    match tokio::time::timeout(timeout, store.get(id)).await {
                        Ok(Ok(v)) => {
                            let verdict = judge(&mut state, v.as_deref(), Instant::now());
                            let cached = matches!(verdict, ReadCheck::Missing | ReadCheck::Stale)
                                && source_holds(&*store, id, state.acked_version(), timeout).await;
                            return (id, Some((verdict, cached)));
                        }
                        _ => tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await,
                    }
                }
                (id, None)
            }
        })
        .buffer_unordered(CONCURRENCY);
    let results: Vec<(u64, Option<(ReadCheck, bool)>)> = reads.collect().await;
    let mut out = SweepResult::default();
    for (id, verdict) in results {
        out.checked += 1;
        match verdict {
            Some((v, cached)) => {
                *out.verdicts.entry(v).or_default() += 1;
                out.from_cache += cached as u64;
                match v {
                    ReadCheck::Missing => out.lost_ids.push(id),
                    ReadCheck::Stale => out.stale_ids.push(id),
                    _ => {}
                }
            }
            None => out.unverified += 1,
        }
    }
    out.lost_ids.sort_unstable();
    out.stale_ids.sort_unstable();
    out
}
