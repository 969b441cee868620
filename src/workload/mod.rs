//! The engine: prefill, open-loop load on every strategy side by side, a
//! drain, and the final sweep. It publishes snapshots on a `watch` channel
//! and knows nothing of terminals; the TUI and the headless runner both
//! consume it.

mod checkpoint;
mod clock;
mod control;
mod generator;
pub mod history;
mod load_thread;
mod measure;
mod op;
mod outcome;
pub mod rng;
mod scheduler;
mod warm;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::check::checkpoint::{Checkpoint, Requests, Scope};
use crate::check::ledger::SessionState;
use crate::check::{self, Patience, Purpose, SweepResult, WriteTally};
use crate::events::{Event, EventLog};
use crate::metrics::{self, Phase, Snapshot, StrategyStats};
use crate::scenario::Workload;
use crate::store::SessionStore;
use crate::store::StrategyKind;
pub use control::{Hold, LoadControl};
pub use history::History;
use op::OpCtx;
use outcome::{prefill, relative, tally, unmeasured};
use scheduler::{MAX_IN_FLIGHT, Schedule};

pub type Ledger = Arc<Vec<Mutex<SessionState>>>;

#[derive(Clone)]
pub struct StrategyRun {
    pub kind: StrategyKind,
    pub store: Arc<dyn SessionStore>,
    /// The topology nodes its operations reach.
    pub groups: Vec<String>,
}

/// A running engine.
pub struct RunHandle {
    pub snapshots: watch::Receiver<Snapshot>,
    pub events: EventLog,
    /// Per strategy, in scenario order.
    pub ledgers: Vec<Ledger>,
    pub started: Instant,
    /// Pause, resume or end the load.
    pub control: LoadControl,
    /// The checkpoints taken so far, in order (the outcome has them all).
    pub taken: Taken,
    task: tokio::task::JoinHandle<RunOutcome>,
}

/// The checkpoints taken so far, shared with whoever shows them live.
pub type Taken = Arc<std::sync::Mutex<Vec<Checkpoint>>>;

impl RunHandle {
    /// Has the engine finished (load, drain and sweep)? Snapshots stop at
    /// the sweep; this says when the outcome is ready.
    pub fn is_done(&self) -> bool {
        self.task.is_finished()
    }

    pub async fn finish(self) -> RunOutcome {
        self.task.await.expect("engine task panicked")
    }
}

/// Everything the report is built from.
pub struct RunOutcome {
    pub started: Instant,
    pub started_unix_ms: u128,
    /// Length of the timed load.
    pub load: Duration,
    pub load_start: Instant,
    pub load_end: Instant,
    pub strategies: Vec<StrategyOutcome>,
    pub events: Vec<Event>,
    /// Checkpoints taken after faults, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// When the load was paused or held (relative to `started`).
    pub pauses: Vec<(Duration, Duration)>,
    /// Why the load generator stopped before the load was over, if it did.
    pub generator_error: Option<String>,
    /// Every operation and checker read, when asked for (`--history`).
    pub history: Option<Arc<History>>,
}

impl RunOutcome {
    /// How much of `[from, to)` (relative to the start) the load spent
    /// paused.
    pub fn paused_within(&self, from: Duration, to: Duration) -> Duration {
        self.pauses
            .iter()
            .map(|&(a, b)| b.min(to).saturating_sub(a.max(from)))
            .sum()
    }
}

pub struct StrategyOutcome {
    pub kind: StrategyKind,
    pub client: String,
    pub stats: StrategyStats,
    /// The final sweep.
    pub sweep: SweepResult,
    /// Every acknowledged write by fate, over checkpoints and the final sweep.
    pub writes: WriteTally,
    /// Operations a cache failed and the store of record carried, during
    /// the load.
    pub fallbacks: u64,
    /// Read-modify-write updates proven lost, live and by every sweep.
    pub lost_updates: u64,
    /// Read-modify-write updates whose token a read found (and none later
    /// missed): the proof the checker read the tokens.
    pub updates_found: u64,
    /// Optimistic updates' conditional writes refused (and retried).
    pub conflicts: u64,
    /// Time left out of its unavailability and recovery (relative to the
    /// run start): pauses, but not a checkpoint's wait for the store.
    pub excluded: Vec<(Duration, Duration)>,
    pub ledger: Ledger,
    /// What its DynamoDB requests of the timed load consumed.
    pub consumed: crate::store::billing::Consumed,
    /// What its sessions occupy on its stores, after the final sweep.
    pub footprint: crate::store::Footprint,
    /// Its bulk prefill, if one was asked for.
    pub bulk: Option<crate::store::bulk::BulkReport>,
}

/// What a consumer (the fault timeline) does at the engine's turning points.
#[async_trait::async_trait]
pub trait RunHooks: Send + Sync {
    /// The timed load starts now (`at`) and lasts `duration`, unless
    /// `stopped` is cancelled first (the load ended early). Runs in its own
    /// task while the load runs.
    async fn load_started(&self, at: Instant, duration: Duration, stopped: CancellationToken);
    /// The load has stopped and drained; the final sweep comes next.
    async fn before_sweep(&self);
}

/// Start the engine. `duration` is the timed load (prefill comes first).
/// Events go to `events`, whose origin is the run's time origin.
/// `checkpoints`: requests from the fault side, answered while the load runs.
pub fn start(
    workload: &Workload,
    duration: Duration,
    strategies: Vec<StrategyRun>,
    events: EventLog,
    hooks: Option<Arc<dyn RunHooks>>,
    checkpoints: Option<Requests>,
    history: Option<Arc<History>>,
) -> RunHandle {
    let started = events.origin();
    let (snap_tx, snap_rx) = watch::channel(Snapshot::default());
    let ledgers: Vec<Ledger> = strategies
        .iter()
        .map(|_| {
            Arc::new(
                (0..workload.sessions)
                    .map(|_| Mutex::new(SessionState::default()))
                    .collect(),
            )
        })
        .collect();
    let control = LoadControl::new(events.clone());
    if let Some(r) = &checkpoints {
        let c = control.clone();
        r.install_hold(move |scope, on| match scope {
            Scope::Load => c.hold_for_checkpoint(on),
            Scope::Writes => c.hold_writes(on),
        });
    }
    let taken = Taken::default();
    // The engine runs on the load's thread when its stores allow it
    // (`load_thread.rs`): the prefill, the load, the checkpoints and the
    // final sweep open and use the connections there; the timeline's faults
    // stay on this runtime.
    let kinds: Vec<_> = strategies.iter().map(|s| s.kind).collect();
    let place = load_thread::for_load(&kinds);
    let task = load_thread::spawn(
        &place,
        run(
            Load {
                w: workload.clone(),
                duration,
                hooks,
                control: control.clone(),
                checkpoints,
                history,
                taken: taken.clone(),
                main: tokio::runtime::Handle::current(),
            },
            strategies,
            ledgers.clone(),
            events.clone(),
            snap_tx,
        ),
    );
    RunHandle {
        snapshots: snap_rx,
        events,
        ledgers,
        started,
        control,
        taken,
        task,
    }
}

/// What the load is and who steers it.
struct Load {
    w: Workload,
    duration: Duration,
    hooks: Option<Arc<dyn RunHooks>>,
    control: LoadControl,
    checkpoints: Option<Requests>,
    history: Option<Arc<History>>,
    taken: Taken,
    /// The caller's runtime, where the hooks (the timeline's faults) and
    /// the bulk prefill run, not on the load's thread: the bulk prefill
    /// builds its pipelines faster on two workers (1M sessions: 7.3 s
    /// there, 11.1 s on the load's thread).
    main: tokio::runtime::Handle,
}

async fn run(
    load: Load,
    strategies: Vec<StrategyRun>,
    ledgers: Vec<Ledger>,
    events: EventLog,
    snapshots: watch::Sender<Snapshot>,
) -> RunOutcome {
    let Load {
        w,
        duration,
        hooks,
        control,
        checkpoints,
        history,
        taken,
        main,
    } = load;
    let started = events.origin();
    let started_unix_ms = crate::provision::rundir::now_unix_ms();
    let (phase_tx, phase_rx) = watch::channel(Phase::Starting);
    let (sample_tx, sample_rx) = mpsc::unbounded_channel();
    let names = strategies
        .iter()
        .map(|s| s.kind.name().to_string())
        .collect();
    let pauses = {
        let control = control.clone();
        Arc::new(move || relative(&control.pauses(), started)) as metrics::Pauses
    };
    // Sessions whose operations overlapped are judged by real-time order;
    // locks and rate limits stay one operation at a time per id.
    let overlaps = |kind: crate::store::StrategyKind| {
        w.concurrency_per_session > 1 && kind.semantics() == crate::store::Semantics::Session
    };
    let aggregator = tokio::spawn(metrics::aggregate(
        started, names, sample_rx, phase_rx, snapshots, pauses,
    ));

    let cancel = CancellationToken::new();
    let ctxs: Vec<Arc<OpCtx>> = strategies
        .iter()
        .zip(&ledgers)
        .enumerate()
        .map(|(i, (s, ledger))| {
            Arc::new(OpCtx {
                strategy: i,
                store: s.store.clone(),
                ledger: ledger.clone(),
                samples: sample_tx.clone(),
                semantics: s.kind.semantics(),
                patterns: w.patterns,
                ttl: match s.kind.semantics() {
                    crate::store::Semantics::Lock => w.patterns.lock_lease,
                    _ => w.ttl,
                },
                value_bytes: w.value_bytes,
                timeout: w.op_timeout,
                cancel: cancel.clone(),
                history: history.clone(),
                meter: Arc::default(),
                sessions_in_flight: (w.concurrency_per_session > 1).then(|| {
                    Arc::new(
                        (0..w.sessions)
                            .map(|_| Semaphore::new(w.concurrency_per_session as usize))
                            .collect(),
                    )
                }),
            })
        })
        .collect();
    drop(sample_tx);

    let mut bulk: Vec<Option<crate::store::bulk::BulkReport>> = vec![None; strategies.len()];
    if let Some(b) = w.bulk {
        let _ = phase_tx.send(Phase::Prefill);
        let (s, c, e) = (strategies.clone(), control.clone(), events.clone());
        match main
            .spawn(async move { measure::bulk_prefill(&s, b, &c, &e).await })
            .await
        {
            Ok(b) => bulk = b,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Its runtime is shutting down: so is the drill.
            Err(_) => control.stop(),
        }
        // A prefill that failed: not the drill asked for — no load.
        if bulk.iter().flatten().any(|b| b.error.is_some()) {
            control.stop();
        }
    }
    if w.prefill {
        let _ = phase_tx.send(Phase::Prefill);
        events.push(
            "prefill",
            "",
            format!("writing all {} sessions once per strategy", w.sessions),
        );
        futures::future::join_all(ctxs.iter().map(|c| prefill(c.clone(), w.sessions))).await;
    }
    warm::warm(&strategies, w.op_timeout, control.stopped(), &events).await;
    let _ = phase_tx.send(Phase::Load);
    for c in &ctxs {
        c.meter.start();
    }
    let load_start = Instant::now();
    events.push(
        "load-started",
        "",
        format!(
            "open-loop load at {:.0} ops/s per strategy for {}",
            w.rates.total(),
            humantime::format_duration(duration)
        ),
    );
    let hook_task = hooks.clone().map(|h| {
        let stopped = control.stopped().clone();
        main.spawn(async move { h.load_started(load_start, duration, stopped).await })
    });
    let gates: Vec<Arc<Semaphore>> = ctxs
        .iter()
        .map(|_| Arc::new(Semaphore::new(MAX_IN_FLIGHT)))
        .collect();
    let drain_limit = w.op_timeout * 2 + Duration::from_secs(1);
    if let Some(r) = &checkpoints {
        let gates = gates.clone();
        r.install_drain(move || {
            let gates = gates.clone();
            Box::pin(async move { scheduler::drain(gates.iter().map(|g| &**g), drain_limit).await })
        });
    }
    let load_over = CancellationToken::new();
    let swept_fallbacks: Vec<Arc<AtomicU64>> = ctxs.iter().map(|_| Arc::default()).collect();
    let checkpointer = checkpoints.map(|requests| {
        let server = checkpoint::Server {
            strategies: strategies
                .iter()
                .zip(&ledgers)
                .zip(&gates)
                .zip(&swept_fallbacks)
                .enumerate()
                .map(|(index, (((s, l), g), f))| checkpoint::Swept {
                    index,
                    name: s.kind.name().to_string(),
                    groups: s.groups.clone(),
                    store: s.store.clone(),
                    ledger: l.clone(),
                    gate: g.clone(),
                    swept_fallbacks: f.clone(),
                    overlaps: overlaps(s.kind),
                })
                .collect(),
            control: control.clone(),
            events: events.clone(),
            history: history.clone(),
            patience: Patience {
                timeout: w.op_timeout,
                attempts: 3,
                limit: Some(checkpoint::LIMIT),
                overlaps: false,
            },
            drain_limit,
            taken,
        };
        tokio::spawn(server.serve(requests, load_over.clone()))
    });
    let lanes = ctxs
        .iter()
        .zip(&gates)
        .enumerate()
        .map(|(i, (c, gate))| generator::Lane {
            ctx: c.clone(),
            schedule: Schedule::new(&w.rates, duration),
            sessions: scheduler::Sessions {
                count: w.sessions,
                hot: w.hot,
            },
            rng: rng::SplitMix::new(w.seed.wrapping_add(i as u64)),
            gate: gate.clone(),
        })
        .collect();
    let generator_error = generator::drive(lanes, load_start, control.clone())
        .await
        .err();
    let load_end = Instant::now();
    if let Some(e) = &generator_error {
        tracing::error!("{e}");
        events.push("error", "", format!("{e}: the load ended early"));
    }
    load_over.cancel();
    let checkpoints = match checkpointer {
        Some(t) => t.await.unwrap_or_default(),
        None => Vec::new(),
    };

    let _ = phase_tx.send(Phase::Draining);
    events.push(
        "load-stopped",
        "",
        "load stopped; waiting for operations in flight",
    );
    scheduler::drain(gates.iter().map(|g| &**g), drain_limit).await;
    cancel.cancel();
    // The load's fallbacks: not those the checkpoints' reads caused.
    let fallbacks: Vec<u64> = strategies
        .iter()
        .zip(&swept_fallbacks)
        .map(|(s, f)| {
            s.store
                .fallbacks()
                .saturating_sub(f.load(Ordering::Relaxed))
        })
        .collect();
    let conflicts: Vec<u64> = strategies.iter().map(|s| s.store.conflicts()).collect();
    let clients: Vec<String> = ctxs.iter().map(|c| c.store.describe()).collect();
    let consumed: Vec<_> = ctxs.iter().map(|c| c.meter.consumed()).collect();
    drop(ctxs);
    let _ = phase_tx.send(Phase::Sweep);
    let mut stats = aggregator.await.unwrap_or_default();
    let pauses = relative(&control.pauses(), started);
    let excluded: Vec<Vec<(Duration, Duration)>> = strategies
        .iter()
        .map(|s| unmeasured(&pauses, &checkpoints, s.kind.name()))
        .collect();
    for (s, excluded) in stats.iter_mut().zip(&excluded) {
        s.availability.finish(load_end);
        s.availability.exclude(excluded);
    }

    if let Some(t) = hook_task {
        // A load ended early also ends the timeline (faults being injected
        // finish); what it injected is healed before the sweep.
        let _ = t.await;
    }
    if let Some(h) = hooks.clone()
        && let Err(e) = main.spawn(async move { h.before_sweep().await }).await
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
    events.push("sweep", "", "final sweep: reading every session written");
    let patience = Patience {
        timeout: w.op_timeout,
        attempts: 3,
        limit: None,
        // The load has drained, but writes that overlapped may have landed
        // in either order: the sweep judges by real-time order too (per
        // strategy, below).
        overlaps: false,
    };
    let sweeps = futures::future::join_all(strategies.iter().zip(&ledgers).map(|(s, l)| {
        let patience = Patience {
            overlaps: overlaps(s.kind),
            ..patience
        };
        check::sweep(s.store.clone(), l.clone(), patience, Purpose::Final)
    }))
    .await;
    if let Some(h) = &history {
        for (i, sw) in sweeps.iter().enumerate() {
            record_reads(h, i, Purpose::Final, sw);
        }
    }
    let mut writes = Vec::new();
    let mut lost = Vec::new();
    for l in &ledgers {
        writes.push(tally(l).await);
        lost.push(outcome::tokens(l).await);
    }
    for ((s, sw), wr) in strategies.iter().zip(&sweeps).zip(&writes) {
        events.push(
            "checked",
            "",
            format!(
                "{}: {} sessions checked, {} lost, {} stale; of {} acknowledged writes, {} lost, {} stale",
                s.kind.name(),
                sw.checked,
                sw.count(check::ReadCheck::Lost),
                sw.count(check::ReadCheck::Stale),
                wr.total(),
                wr.lost,
                wr.stale
            ),
        );
    }
    let footprints = measure::after_sweep(&strategies, w.sessions, &mut bulk).await;
    let _ = phase_tx.send(Phase::Done);

    RunOutcome {
        started,
        started_unix_ms,
        load: load_end - load_start,
        load_start,
        load_end,
        strategies: strategies
            .into_iter()
            .zip(stats)
            .zip(sweeps)
            .zip(writes)
            .zip(ledgers)
            .zip(clients)
            .zip(fallbacks)
            .zip(excluded)
            .zip(lost.into_iter().zip(conflicts))
            .zip(consumed.into_iter().zip(footprints).zip(bulk))
            .map(
                |(
                    (
                        (((((((s, stats), sweep), writes), ledger), client), fallbacks), excluded),
                        ((updates_found, lost_updates), conflicts),
                    ),
                    ((consumed, footprint), bulk),
                )| StrategyOutcome {
                    kind: s.kind,
                    client,
                    stats,
                    sweep,
                    writes,
                    fallbacks,
                    lost_updates,
                    updates_found,
                    conflicts,
                    excluded,
                    ledger,
                    consumed,
                    footprint,
                    bulk,
                },
            )
            .collect(),
        events: events.all(),
        checkpoints,
        pauses,
        generator_error,
        history,
    }
}

/// A sweep's reads into the history: strategy `strategy`'s, for what
/// `purpose` says.
pub(crate) fn record_reads(h: &History, strategy: usize, purpose: Purpose, result: &SweepResult) {
    for &(session, invoked, at, version) in &result.reads {
        h.read(history::CheckRead {
            strategy,
            sweep: purpose,
            session,
            invoked,
            at,
            version,
        });
    }
}
