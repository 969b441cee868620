//! One operation on one session: serialised with the session's other
//! operations (or, with `concurrency_per_session`, up to that many at
//! once), timed from its intended start, recorded in the ledger.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::history::Phase;
use crate::check::ledger::{Fate, Judged, SessionState};
use crate::check::updates::proven_by_read;
use crate::check::{ReadCheck, judge, judge_concurrent};
use crate::metrics::{OpKind, Sample};
use crate::store::{ErrorClass, OpError, SessionStore, bounded, value};
use crate::store::{Patterns, Semantics};

/// What every operation of one strategy shares.
pub struct OpCtx {
    pub strategy: usize,
    pub store: Arc<dyn SessionStore>,
    pub semantics: Semantics,
    pub patterns: Patterns,
    pub ledger: Arc<Vec<Mutex<SessionState>>>,
    pub samples: mpsc::UnboundedSender<Sample>,
    /// Expiry of a write (a lock's lease for `Semantics::Lock`).
    pub ttl: Duration,
    pub value_bytes: usize,
    pub timeout: Duration,
    /// Cancelled when the drain ends: stragglers stop before the sweep.
    pub cancel: CancellationToken,
    /// With concurrency per session: how many more operations each
    /// session may have in flight. `None`: one at a time, the ledger held
    /// for the whole operation.
    pub sessions_in_flight: Option<Arc<Vec<Semaphore>>>,
    /// `run --history`: every operation recorded.
    pub history: Option<Arc<super::history::History>>,
    /// What its DynamoDB requests consumed, by DynamoDB's own count.
    pub meter: Arc<crate::store::billing::Meter>,
}

/// What one operation came to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub error: Option<ErrorClass>,
    pub check: Option<ReadCheck>,
    /// The read was the first to prove this acknowledged write lost/stale.
    pub first_proof: bool,
    /// A lock held by another, or a request over the limit: answered, not
    /// done.
    pub refused: bool,
    /// The store broke the pattern's promise: a lock granted while an
    /// acknowledged lease was live, an admit beyond the limit.
    pub violation: bool,
    /// It started while another operation on the same session was in
    /// flight.
    pub overlapped: bool,
    /// Read-modify-write updates this read proved lost (each once).
    pub lost_updates: u32,
    /// For the history: the version a write sent, or a read found.
    pub version: Option<u64>,
    /// For the history: from when it had the session (and was sent) to
    /// when its answer was recorded, the session still held — so that one
    /// session's operations never overlap there unless they did overlap.
    pub span: Option<(Instant, Instant)>,
}

fn failed(class: ErrorClass) -> Outcome {
    Outcome {
        error: Some(class),
        ..Outcome::default()
    }
}

/// Does operation `op` change what the store holds? Writes and deletes;
/// and every operation of a rate limit, whose reads are admits too.
pub fn changes(ctx: &OpCtx, op: OpKind) -> bool {
    match ctx.semantics {
        Semantics::RateLimit => true,
        Semantics::Session | Semantics::Lock => op != OpKind::Read,
    }
}

/// Run operation `op` on session (lock, customer) `id`, its DynamoDB
/// requests billed to the strategy's meter.
pub async fn execute(ctx: &OpCtx, op: OpKind, id: u64) -> Outcome {
    crate::store::billing::metered(ctx.meter.clone(), unmetered(ctx, op, id)).await
}

async fn unmetered(ctx: &OpCtx, op: OpKind, id: u64) -> Outcome {
    // Locks and rate limits stay one operation at a time per id: their
    // checks are about order, which concurrency would blur.
    if let (Some(gates), Semantics::Session) = (&ctx.sessions_in_flight, ctx.semantics) {
        let Ok(_permit) = gates[id as usize].acquire().await else {
            return failed(ErrorClass::Other);
        };
        let sent = sent_at(ctx);
        let o = overlapping(ctx, op, id).await;
        return Outcome {
            span: sent.map(|s| (s, Instant::now())),
            ..o
        };
    }
    let mut state = ctx.ledger[id as usize].lock().await;
    let sent = sent_at(ctx);
    let o = match (ctx.semantics, op) {
        (Semantics::Session, _) | (Semantics::Lock, OpKind::Read) => {
            session(ctx, &mut state, op, id).await
        }
        (Semantics::Lock, _) => lock(ctx, &mut state, op, id).await,
        (Semantics::RateLimit, _) => request(ctx, &mut state, id).await,
    };
    Outcome {
        span: sent.map(|s| (s, Instant::now())),
        ..o
    }
}

/// Now, when a history is kept (the span is for it alone: no clock read
/// per operation otherwise).
fn sent_at(ctx: &OpCtx) -> Option<Instant> {
    ctx.history.is_some().then(Instant::now)
}

/// Write, read or delete session `id`.
async fn session(ctx: &OpCtx, state: &mut SessionState, op: OpKind, id: u64) -> Outcome {
    match op {
        // The write is pending in the ledger before it is sent: if this
        // future is dropped mid-flight, it stays uncertain.
        OpKind::Create | OpKind::Update => {
            let version = state.begin_write(Instant::now(), ctx.ttl);
            let v = value::encode(id, version, ctx.value_bytes);
            let r = bounded(ctx.timeout, ctx.store.put(id, &v, ctx.ttl)).await;
            wrote(state, version, r, Instant::now())
        }
        OpKind::Read => {
            let invoked = Instant::now();
            match bounded(ctx.timeout, ctx.store.get(id)).await {
                Ok(v) => {
                    let now = Instant::now();
                    let check = judge(state, v.as_deref(), now).check;
                    read(state, check, v.as_deref(), invoked, now)
                }
                Err(e) => failed(e.class),
            }
        }
        OpKind::Delete => {
            state.begin_delete(Instant::now());
            let r = bounded(ctx.timeout, ctx.store.delete(id)).await;
            deleted(state, r, Instant::now(), None)
        }
    }
}

/// Write, read or delete session `id` while other operations on it may be
/// in flight: the ledger is held only to record what is sent and what came
/// back, and a read is judged by real-time order from when it was sent.
async fn overlapping(ctx: &OpCtx, op: OpKind, id: u64) -> Outcome {
    let cell = &ctx.ledger[id as usize];
    let mut state = cell.lock().await;
    let overlapped = state.begin_op();
    let outcome = match op {
        OpKind::Create | OpKind::Update => {
            let version = state.begin_write(Instant::now(), ctx.ttl);
            drop(state);
            let v = value::encode(id, version, ctx.value_bytes);
            let r = bounded(ctx.timeout, ctx.store.put(id, &v, ctx.ttl)).await;
            // Answered now, whenever the ledger is free (a checkpoint may
            // hold it).
            let at = Instant::now();
            state = cell.lock().await;
            wrote(&mut state, version, r, at)
        }
        OpKind::Read => {
            drop(state);
            let invoked = Instant::now();
            let r = bounded(ctx.timeout, ctx.store.get(id)).await;
            let answered = Instant::now();
            state = cell.lock().await;
            match r {
                Ok(v) => {
                    let check = judge_concurrent(&mut state, v.as_deref(), invoked, answered).check;
                    read(&mut state, check, v.as_deref(), invoked, answered)
                }
                Err(e) => failed(e.class),
            }
        }
        OpKind::Delete => {
            let through = state.begin_delete(Instant::now());
            drop(state);
            let r = bounded(ctx.timeout, ctx.store.delete(id)).await;
            let at = Instant::now();
            state = cell.lock().await;
            deleted(&mut state, r, at, Some(through))
        }
    };
    state.end_op();
    Outcome {
        overlapped,
        ..outcome
    }
}

/// Record the answer to the write of `version`, which came at `at`.
fn wrote(state: &mut SessionState, version: u64, r: Result<(), OpError>, at: Instant) -> Outcome {
    let outcome = match r {
        Ok(()) => {
            state.write_acked(version, at);
            Outcome::default()
        }
        Err(e) => {
            state.write_failed(version);
            failed(e.class)
        }
    };
    Outcome {
        version: Some(version),
        ..outcome
    }
}

/// A read sent at `invoked` that found `observed` at `now`, judged
/// `check`: the first read to prove its write lost or stale says so, and
/// every read says which updates it proved lost.
fn read(
    state: &mut SessionState,
    check: ReadCheck,
    observed: Option<&str>,
    invoked: Instant,
    now: Instant,
) -> Outcome {
    let first_proof = matches!(check, ReadCheck::Lost | ReadCheck::Stale) && state.first_proof();
    let lost_updates = proven_by_read(state, check, observed, invoked, now);
    Outcome {
        check: Some(check),
        first_proof,
        lost_updates: lost_updates.try_into().unwrap_or(u32::MAX),
        version: observed.and_then(value::version_of),
        ..Outcome::default()
    }
}

/// Record the answer to a delete, which came at `at`; `through`: the
/// highest version it may remove, when other deletes may be in flight.
fn deleted(
    state: &mut SessionState,
    r: Result<(), OpError>,
    at: Instant,
    through: Option<u64>,
) -> Outcome {
    match (r, through) {
        (Ok(()), Some(through)) => {
            state.delete_acked_through(at, through);
            Outcome::default()
        }
        (Ok(()), None) => {
            state.delete_acked(at);
            Outcome::default()
        }
        (Err(e), _) => {
            state.delete_failed();
            failed(e.class)
        }
    }
}

/// Acquire (create, update) or release (delete) lock `id`. Each acquire is
/// a new holder. Granted while the ledger's acknowledged lease is certainly
/// still live (the server counts the lease from later than we do) means the
/// store forgot a holder: two holders at once.
async fn lock(ctx: &OpCtx, state: &mut SessionState, op: OpKind, id: u64) -> Outcome {
    if op == OpKind::Delete {
        let token = value::encode(id, state.acked_version().unwrap_or(0), ctx.value_bytes);
        let held_until = state.lease_until();
        state.begin_delete(Instant::now());
        return match bounded(ctx.timeout, ctx.store.release(id, &token)).await {
            Ok(released) => {
                let now = Instant::now();
                // Our token was not there while our lease certainly ran:
                // the store forgot the lock (or gave it to another).
                let forgotten = !released && held_until.is_some_and(|until| until > now);
                let first_proof = forgotten && state.first_proof();
                let acked = state.acked_version();
                if forgotten
                    && let Some(w) = state.writes.last_mut()
                    && Some(w.version) == acked
                    && !w.fate.is_final()
                {
                    w.fate = Fate::Lost;
                    w.judged = Some(Judged {
                        at: now,
                        fault: None,
                    });
                }
                state.delete_acked(now);
                Outcome {
                    check: forgotten.then_some(ReadCheck::Lost),
                    first_proof,
                    ..Outcome::default()
                }
            }
            Err(e) => {
                state.delete_failed();
                failed(e.class)
            }
        };
    }
    let held_until = state.lease_until();
    let version = state.begin_write(Instant::now(), ctx.ttl);
    let token = value::encode(id, version, ctx.value_bytes);
    match bounded(ctx.timeout, ctx.store.acquire(id, &token, ctx.ttl)).await {
        Ok(true) => {
            let now = Instant::now();
            state.write_acked(version, now);
            Outcome {
                violation: held_until.is_some_and(|until| until > now),
                ..Outcome::default()
            }
        }
        Ok(false) => {
            state.write_refused(version);
            Outcome {
                refused: true,
                ..Outcome::default()
            }
        }
        Err(e) => {
            state.write_failed(version);
            failed(e.class)
        }
    }
}

/// One request of customer `id` through the rate limiter. The request's
/// time is the client's clock, the same the limiter scores it with; an
/// admit that makes the ledger's window hold more than the limit is a
/// violation. Requests whose answer was lost are never counted as admits,
/// so they can only hide a violation, not invent one.
async fn request(ctx: &OpCtx, state: &mut SessionState, id: u64) -> Outcome {
    let at_ms = crate::provision::rundir::now_unix_ms() as u64;
    state.issued += 1;
    let seq = state.issued;
    match bounded(ctx.timeout, ctx.store.admit(id, at_ms, seq)).await {
        Ok(true) => {
            let window = ctx.patterns.limit_window.as_millis() as u64;
            let in_window = state.admit(at_ms, window) as u64;
            Outcome {
                violation: in_window > ctx.patterns.limit_max,
                ..Outcome::default()
            }
        }
        Ok(false) => Outcome {
            refused: true,
            ..Outcome::default()
        },
        Err(e) => failed(e.class),
    }
}

/// Keep operation `op` on `id` in the history, if one is kept: (intended,
/// started, ended), and what it came to.
pub fn record(ctx: &OpCtx, op: OpKind, id: u64, intended: Instant, o: &Outcome, phase: Phase) {
    if let (Some(h), Some((sent, answered))) = (&ctx.history, o.span) {
        h.op(super::history::OpRec {
            strategy: ctx.strategy,
            op,
            session: id,
            intended,
            started: sent,
            end: answered,
            error: o.error,
            version: o.version,
            phase,
        });
    }
}

/// Run one scheduled operation and send its sample. An operation still
/// waiting when the engine gives up on the drain is abandoned (no sample;
/// a write in flight stays uncertain in the ledger).
pub async fn run(ctx: Arc<OpCtx>, op: OpKind, id: u64, intended: Instant) {
    let started = Instant::now();
    let outcome = tokio::select! {
        r = execute(&ctx, op, id) => r,
        _ = ctx.cancel.cancelled() => {
            // Abandoned mid-flight: what it sent may still land, like a
            // write that timed out.
            let versions = ctx.ledger[id as usize].lock().await.abandon();
            let o = Outcome {
                version: versions.last().copied(),
                span: Some((started, Instant::now())),
                ..failed(ErrorClass::Other)
            };
            record(&ctx, op, id, intended, &o, Phase::Abandoned);
            return;
        }
    };
    let end = Instant::now();
    record(&ctx, op, id, intended, &outcome, Phase::Load);
    let _ = ctx.samples.send(Sample {
        strategy: ctx.strategy,
        op,
        session: id,
        intended,
        started,
        end,
        error: outcome.error,
        check: outcome.check,
        first_proof: outcome.first_proof,
        refused: outcome.refused,
        violation: outcome.violation,
        overlapped: outcome.overlapped,
        lost_updates: outcome.lost_updates,
    });
}
