//! What the engine measures of the stores beside the load: the bulk
//! prefill before it (`workload.prefill: { sessions, … }`) and, after the
//! final sweep, what the sessions occupy and what is left of the bulk data.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{LoadControl, StrategyRun};
use crate::events::EventLog;
use crate::store::bulk::{self, Bulk, BulkReport};

/// How long sampling what one strategy's sessions occupy may take.
const FOOTPRINT_LIMIT: Duration = Duration::from_secs(10);

/// Sessions sampled for the footprint: at most this many, spread evenly
/// over the ids.
const FOOTPRINT_SAMPLE: u64 = 200;

fn footprint_sample(sessions: u64) -> Vec<u64> {
    let step = sessions.div_ceil(FOOTPRINT_SAMPLE).max(1);
    (0..sessions).step_by(step as usize).collect()
}

/// Write the bulk data of every strategy side by side, progress on
/// `control`; what each took (an error: the drill is not the one asked for).
pub(super) async fn bulk_prefill(
    strategies: &[StrategyRun],
    b: Bulk,
    control: &LoadControl,
    events: &EventLog,
) -> Vec<Option<BulkReport>> {
    let progress = control.bulk();
    let copies: u64 = strategies.iter().map(|s| s.kind.bulk_copies()).sum();
    progress
        .total
        .store(copies.saturating_mul(b.sessions), Ordering::Relaxed);
    events.push(
        "bulk-prefill",
        "",
        format!(
            "writing {} bulk sessions of {} B per store, {} store(s): pipelines and batch writes",
            b.sessions, b.value_bytes, copies
        ),
    );
    let runs = strategies.iter().map(|s| async move {
        let started = Instant::now();
        let done = progress.part();
        let r = s.store.bulk(b, bulk::TTL, &done).await;
        (r, started.elapsed(), done.load(Ordering::Relaxed))
    });
    let results = futures::future::join_all(runs).await;
    strategies
        .iter()
        .zip(results)
        .map(|(s, (r, took, written))| {
            let per_second = written as f64 / took.as_secs_f64().max(1e-9);
            let error = r.err().map(|e| e.to_string());
            events.push(
                "bulk-prefilled",
                "",
                match &error {
                    None => format!(
                        "{}: {written} bulk writes in {:.1} s ({per_second:.0}/s)",
                        s.kind.name(),
                        took.as_secs_f64()
                    ),
                    Some(e) => format!(
                        "{}: bulk prefill failed after {written} writes: {e}",
                        s.kind.name()
                    ),
                },
            );
            Some(BulkReport {
                sessions: b.sessions,
                value_bytes: b.value_bytes,
                copies: s.kind.bulk_copies(),
                ms: took.as_millis() as u64,
                per_second,
                error,
                sampled: 0,
                kept: 0,
            })
        })
        .collect()
}

/// After the final sweep, while the nodes still run: what each strategy's
/// sessions occupy, and what is left of its bulk data (into `bulk`).
/// Bounded: a store that does not answer leaves it unmeasured, not the
/// run stuck.
pub(super) async fn after_sweep(
    strategies: &[StrategyRun],
    sessions: u64,
    bulk: &mut [Option<BulkReport>],
) -> Vec<crate::store::Footprint> {
    let sample = footprint_sample(sessions);
    let footprints = futures::future::join_all(strategies.iter().map(|s| {
        let sample = &sample;
        async move {
            tokio::time::timeout(FOOTPRINT_LIMIT, s.store.footprint(sample))
                .await
                .unwrap_or_default()
        }
    }))
    .await;
    for (s, b) in strategies.iter().zip(bulk.iter_mut()) {
        if let Some(b) = b {
            let ids = bulk::sample(b.sessions);
            let kept = tokio::time::timeout(FOOTPRINT_LIMIT, s.store.bulk_kept(&ids)).await;
            if let Ok(Some(kept)) = kept {
                b.sampled = ids.len() as u64;
                b.kept = kept;
            }
        }
    }
    footprints
}
