//! One operation on one session: serialised with the session's other
//! operations, timed from its intended start, recorded in the ledger.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use crate::check::{ReadCheck, judge};
use crate::metrics::ledger::SessionState;
use crate::metrics::{OpKind, Sample};
use crate::store::{ErrorClass, SessionStore, bounded, value};

/// What every operation of one strategy shares.
pub struct OpCtx {
    pub strategy: usize,
    pub store: Arc<dyn SessionStore>,
    pub ledger: Arc<Vec<Mutex<SessionState>>>,
    pub samples: mpsc::UnboundedSender<Sample>,
    pub ttl: Duration,
    pub value_bytes: usize,
    pub timeout: Duration,
    /// Cancelled when the drain ends: stragglers stop before the sweep.
    pub cancel: CancellationToken,
}

/// What one operation came to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub error: Option<ErrorClass>,
    pub check: Option<ReadCheck>,
    /// The read was the first to prove this acknowledged write lost/stale.
    pub first_proof: bool,
}

fn failed(class: ErrorClass) -> Outcome {
    Outcome {
        error: Some(class),
        ..Outcome::default()
    }
}

/// Write, read or delete session `id`.
pub async fn execute(ctx: &OpCtx, op: OpKind, id: u64) -> Outcome {
    let mut state = ctx.ledger[id as usize].lock().await;
    match op {
        // The write is pending in the ledger before it is sent: if this
        // future is dropped mid-flight, it stays uncertain.
        OpKind::Create | OpKind::Update => {
            let version = state.begin_write(Instant::now(), ctx.ttl);
            let v = value::encode(id, version, ctx.value_bytes);
            match bounded(ctx.timeout, ctx.store.put(id, &v, ctx.ttl)).await {
                Ok(()) => {
                    state.write_acked(version, Instant::now());
                    Outcome::default()
                }
                Err(e) => failed(e.class),
            }
        }
        OpKind::Read => match bounded(ctx.timeout, ctx.store.get(id)).await {
            Ok(v) => {
                let check = judge(&mut state, v.as_deref(), Instant::now());
                let first_proof =
                    matches!(check, ReadCheck::Missing | ReadCheck::Stale) && state.first_proof();
                Outcome {
                    error: None,
                    check: Some(check),
                    first_proof,
                }
            }
            Err(e) => failed(e.class),
        },
        OpKind::Delete => {
            state.begin_delete(Instant::now());
            match bounded(ctx.timeout, ctx.store.delete(id)).await {
                Ok(()) => {
                    state.delete_acked(Instant::now());
                    Outcome::default()
                }
                Err(e) => failed(e.class),
            }
        }
    }
}

/// Run one scheduled operation and send its sample. An operation still
/// waiting when the engine gives up on the drain is abandoned (no sample;
/// a write in flight stays uncertain in the ledger).
pub async fn run(ctx: Arc<OpCtx>, op: OpKind, id: u64, intended: Instant) {
    let outcome = tokio::select! {
        r = execute(&ctx, op, id) => r,
        _ = ctx.cancel.cancelled() => return,
    };
    let _ = ctx.samples.send(Sample {
        strategy: ctx.strategy,
        op,
        intended,
        end: Instant::now(),
        error: outcome.error,
        check: outcome.check,
        first_proof: outcome.first_proof,
    });
}
