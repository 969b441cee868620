//! What the engine works out once the load is over: the acknowledged
//! writes by fate, the spans left out of unavailability, and the prefill
//! before the timed load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::Ledger;
use super::history::Phase;
use super::op::{self, OpCtx};
use crate::check::WriteTally;
use crate::check::checkpoint::Checkpoint;
use crate::metrics::{self, OpKind};

/// The time left out of a strategy's unavailability and recovery: every
/// pause, but of a checkpoint that read the strategy only the part after
/// its first read succeeded — before that, the store may still have been
/// unreachable, and the hold must not hide it.
pub(super) fn unmeasured(
    pauses: &[(Duration, Duration)],
    checkpoints: &[Checkpoint],
    strategy: &str,
) -> Vec<(Duration, Duration)> {
    let ms = Duration::from_millis;
    let mut unsure: Vec<(Duration, Duration)> = checkpoints
        .iter()
        .filter_map(|c| {
            let t = c.strategies.get(strategy)?;
            Some((ms(c.at_ms), ms(t.first_read_ms.unwrap_or(c.resumed_ms))))
        })
        .collect();
    unsure.sort_unstable();
    metrics::subtract(pauses, &unsure)
}

/// Instants as offsets from `origin`.
pub(super) fn relative(spans: &[(Instant, Instant)], origin: Instant) -> Vec<(Duration, Duration)> {
    spans
        .iter()
        .map(|&(a, b)| {
            (
                a.saturating_duration_since(origin),
                b.saturating_duration_since(origin),
            )
        })
        .collect()
}

/// Every acknowledged write in `ledger`, by fate.
pub(super) async fn tally(ledger: &Ledger) -> WriteTally {
    let mut t = WriteTally::default();
    for s in ledger.iter() {
        for w in &s.lock().await.writes {
            t.add(w.fate, 1);
        }
    }
    t
}

/// The read-modify-write updates in `ledger` whose token reads found, and
/// those proven lost.
pub(super) async fn tokens(ledger: &Ledger) -> (u64, u64) {
    let (mut found, mut lost) = (0, 0);
    for s in ledger.iter() {
        let (f, l) = crate::check::updates::tokens(&*s.lock().await);
        found += f;
        lost += l;
    }
    (found, lost)
}

/// Write every session once (closed loop, bounded concurrency); acknowledged
/// writes enter the ledger, no samples are recorded.
pub(super) async fn prefill(ctx: Arc<OpCtx>, sessions: u64) {
    futures::stream::iter(0..sessions)
        .for_each_concurrent(64, |id| {
            let ctx = ctx.clone();
            async move {
                let started = Instant::now();
                let o = op::execute(&ctx, OpKind::Create, id).await;
                op::record(&ctx, OpKind::Create, id, started, &o, Phase::Prefill);
            }
        })
        .await;
}
