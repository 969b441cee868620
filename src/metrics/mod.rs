//! Samples, HDR latency windows, availability, and the aggregator that
//! turns samples into snapshots (published a few times a second on a
//! `watch` channel) and final per-strategy statistics.

mod availability;
mod latency;
mod sample;
mod stall;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

pub use availability::{Availability, subtract};
pub use latency::{LatencyTotal, LatencyWindows, Percentiles};
pub use sample::{OpKind, Sample};
pub use stall::Stalls;

use crate::check::ReadCheck;
use crate::store::ErrorClass;

/// How often snapshots are published.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    #[default]
    Starting,
    Prefill,
    Load,
    Draining,
    Sweep,
    Done,
}

#[derive(Debug, Clone, Default)]
pub struct OpStats {
    pub ops: u64,
    pub errors: u64,
    pub latency: LatencyTotal,
}

/// Everything measured for one strategy.
#[derive(Debug, Clone)]
pub struct StrategyStats {
    pub name: String,
    pub ops: u64,
    pub per_op: [OpStats; 4],
    pub errors: BTreeMap<ErrorClass, u64>,
    pub latency: LatencyWindows,
    /// The load generator's lag: actual start minus intended start.
    pub lag: LatencyWindows,
    /// The longest any session waited for a successful operation.
    pub stalls: Stalls,
    pub acked_writes: u64,
    /// Reads checked live against the ledger.
    pub live: BTreeMap<ReadCheck, u64>,
    /// Acknowledged writes a live read proved lost / stale, each once.
    pub proven_lost: u64,
    pub proven_stale: u64,
    /// Pattern strategies: refused (lock held, over the limit) and
    /// violations (two holders, admits beyond the limit).
    pub refused: u64,
    pub violations: u64,
    /// Operations that started while another on the same session was in
    /// flight.
    pub overlapped: u64,
    /// Read-modify-write updates live reads proved lost (each once).
    pub lost_updates: u64,
    pub availability: Availability,
    /// Completed operations per second of the run.
    pub throughput: Vec<u64>,
    /// Errors per second of the run.
    pub errors_per_second: Vec<u64>,
    /// Per [`WRITE_SLOT`] of intended start: the earliest completion (ms
    /// since the run start) of a successful write; `u32::MAX` when none.
    /// Gives "time from a fault to the first successful write after it".
    pub write_ok: Vec<u32>,
    /// The same for successful reads: "time from a fault to the first
    /// read answered after it" (a restarted Redis answers `LOADING` until
    /// its data set is read back).
    pub read_ok: Vec<u32>,
    /// Acknowledged writes per [`WRITE_SLOT`] of completion: the write rate
    /// at any moment (e.g. just before a fault).
    pub acked_per_slot: Vec<u32>,
    /// Operations answered `LOADING` per [`WRITE_SLOT`] of completion, and
    /// operations served (answered without an error): what the clients
    /// got while a node read its data back.
    pub loading_per_slot: Vec<u32>,
    pub served_per_slot: Vec<u32>,
}

/// Time intervals (relative to the run start) when the load was paused.
pub type Pauses = std::sync::Arc<dyn Fn() -> Vec<(Duration, Duration)> + Send + Sync>;

/// Resolution of [`StrategyStats::write_ok`].
pub const WRITE_SLOT: Duration = Duration::from_millis(10);

/// In `ok` (earliest completion per slot of intended start), the first
/// completion of an operation meant to start at or after `at`, as time
/// from `at`.
fn first_after(ok: &[u32], at: Duration) -> Option<Duration> {
    let slot = at.as_millis().div_ceil(WRITE_SLOT.as_millis()) as usize;
    let end = ok.get(slot..)?.iter().copied().min()?;
    (end != u32::MAX).then(|| Duration::from_millis(end as u64).saturating_sub(at))
}

/// Keep `end_ms` as the earliest completion of slot `slot` of `ok`.
fn mark(ok: &mut Vec<u32>, slot: usize, end_ms: u128) {
    if ok.len() <= slot {
        ok.resize(slot + 1, u32::MAX);
    }
    ok[slot] = ok[slot].min(end_ms.min(u32::MAX as u128 - 1) as u32);
}

impl StrategyStats {
    pub fn new(name: &str, start: Instant) -> Self {
        Self {
            name: name.to_string(),
            ops: 0,
            per_op: Default::default(),
            errors: BTreeMap::new(),
            latency: LatencyWindows::default(),
            lag: LatencyWindows::default(),
            stalls: Stalls::new(start),
            acked_writes: 0,
            live: BTreeMap::new(),
            proven_lost: 0,
            proven_stale: 0,
            refused: 0,
            violations: 0,
            overlapped: 0,
            lost_updates: 0,
            availability: Availability::new(start),
            throughput: Vec::new(),
            errors_per_second: Vec::new(),
            write_ok: Vec::new(),
            read_ok: Vec::new(),
            acked_per_slot: Vec::new(),
            loading_per_slot: Vec::new(),
            served_per_slot: Vec::new(),
        }
    }

    /// Acknowledged writes per second over `[from, to)` (since the run
    /// start), by completion time.
    pub fn write_rate(&self, from: Duration, to: Duration) -> f64 {
        let slot = |d: Duration| (d.as_millis() / WRITE_SLOT.as_millis()) as usize;
        let (a, b) = (slot(from), slot(to));
        if b <= a {
            return 0.0;
        }
        let n: u64 = self
            .acked_per_slot
            .get(a..b.min(self.acked_per_slot.len()))
            .unwrap_or_default()
            .iter()
            .map(|&c| c as u64)
            .sum();
        n as f64 / ((b - a) as f64 * WRITE_SLOT.as_secs_f64())
    }

    /// Time from `at` (since the run start) until the first successful
    /// write that was meant to start after it completed.
    pub fn first_write_after(&self, at: Duration) -> Option<Duration> {
        first_after(&self.write_ok, at)
    }

    /// The same for reads.
    pub fn first_read_after(&self, at: Duration) -> Option<Duration> {
        first_after(&self.read_ok, at)
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    fn record(&mut self, s: &Sample, start: Instant) {
        let second = s.intended.saturating_duration_since(start).as_secs() as usize;
        let us = s.latency_us();
        self.ops += 1;
        self.latency.record(second, us);
        self.lag.record(second, s.lag_us());
        self.stalls
            .record(s.session, s.intended, s.end, s.error.is_none());
        let per = &mut self.per_op[s.op.index()];
        per.ops += 1;
        per.latency.record(us);
        let done = s.end.saturating_duration_since(start).as_secs() as usize;
        bump(&mut self.throughput, done);
        // Availability is about writes: a failed read does not make the
        // store unwritable, and a read that succeeds does not prove it
        // writable again.
        let write = s.op.is_write();
        let done_slot =
            (s.end.saturating_duration_since(start).as_millis() / WRITE_SLOT.as_millis()) as usize;
        self.overlapped += s.overlapped as u64;
        self.lost_updates += s.lost_updates as u64;
        match s.error {
            Some(class) => {
                per.errors += 1;
                *self.errors.entry(class).or_default() += 1;
                bump(&mut self.errors_per_second, done);
                if class == ErrorClass::Loading {
                    bump(&mut self.loading_per_slot, done_slot);
                }
                if write {
                    self.availability.failure(s.intended);
                }
            }
            None => {
                bump(&mut self.served_per_slot, done_slot);
                self.refused += s.refused as u64;
                self.violations += s.violation as u64;
                let slot = (s.intended.saturating_duration_since(start).as_millis()
                    / WRITE_SLOT.as_millis()) as usize;
                let end_ms = s.end.saturating_duration_since(start).as_millis();
                if s.op == OpKind::Read {
                    mark(&mut self.read_ok, slot, end_ms);
                }
                if write && !s.refused {
                    self.acked_writes += 1;
                    mark(&mut self.write_ok, slot, end_ms);
                    bump(&mut self.acked_per_slot, done_slot);
                }
                if write {
                    self.availability.success(s.intended, s.end);
                }
            }
        }
        if let Some(c) = s.check {
            *self.live.entry(c).or_default() += 1;
            match c {
                ReadCheck::Lost if s.first_proof => self.proven_lost += 1,
                ReadCheck::Stale if s.first_proof => self.proven_stale += 1,
                _ => {}
            }
        }
    }
}

/// One more at `i` of a series of counts (per second, per slot).
fn bump<T: Copy + Default + From<u8> + std::ops::AddAssign>(series: &mut Vec<T>, i: usize) {
    if series.len() <= i {
        series.resize(i + 1, T::default());
    }
    series[i] += T::from(1);
}

/// What the UI and the progress line show; small and cheap to clone.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Snapshot {
    pub elapsed_ms: u64,
    pub phase: Phase,
    pub strategies: Vec<StrategySnapshot>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StrategySnapshot {
    pub name: String,
    pub ops: u64,
    pub acked_writes: u64,
    pub errors: u64,
    pub errors_by_class: BTreeMap<String, u64>,
    /// Whole run so far.
    pub latency_us: Percentiles,
    /// The last complete second.
    pub latency_last_us: Percentiles,
    /// Operations completed in the last complete second.
    pub throughput_last: u64,
    /// The load generator's lag (actual − intended start) in the last
    /// complete second.
    pub lag_last_us: Percentiles,
    /// Reads that found a session missing or older than acknowledged.
    pub live_missing: u64,
    pub live_stale: u64,
    /// Acknowledged writes a live read proved lost / stale (each once).
    pub proven_lost: u64,
    pub proven_stale: u64,
    /// Reads that found a failed write had landed after all.
    pub live_indeterminate: u64,
    /// Pattern strategies: a lock's second holders, admits over the limit.
    pub violations: u64,
    /// Operations that overlapped another on the same session.
    pub overlapped: u64,
    /// Read-modify-write updates live reads proved lost.
    pub lost_updates: u64,
    pub unavailable_ms: u64,
    pub down: bool,
}

fn snapshot(stats: &[StrategyStats], start: Instant, phase: Phase, pauses: &Pauses) -> Snapshot {
    let elapsed = start.elapsed();
    let paused = pauses();
    let last = (elapsed.as_secs() as usize).saturating_sub(1);
    Snapshot {
        elapsed_ms: elapsed.as_millis() as u64,
        phase,
        strategies: stats
            .iter()
            .map(|s| StrategySnapshot {
                name: s.name.clone(),
                ops: s.ops,
                acked_writes: s.acked_writes,
                errors: s.error_total(),
                errors_by_class: s
                    .errors
                    .iter()
                    .map(|(c, n)| (c.name().to_string(), *n))
                    .collect(),
                latency_us: s.latency.total(),
                latency_last_us: s.latency.window(last),
                throughput_last: s.throughput.get(last).copied().unwrap_or(0),
                lag_last_us: s.lag.window(last),
                live_missing: s.live.get(&ReadCheck::Lost).copied().unwrap_or(0),
                live_stale: s.live.get(&ReadCheck::Stale).copied().unwrap_or(0),
                proven_lost: s.proven_lost,
                proven_stale: s.proven_stale,
                live_indeterminate: s.live.get(&ReadCheck::Indeterminate).copied().unwrap_or(0),
                violations: s.violations,
                overlapped: s.overlapped,
                lost_updates: s.lost_updates,
                unavailable_ms: s.availability.total_excluding(&paused).as_millis() as u64,
                down: s.availability.is_down(),
            })
            .collect(),
    }
}

/// Drain samples in batches until every sender is gone; publish snapshots
/// every [`SNAPSHOT_EVERY`]. Returns the final statistics.
pub async fn aggregate(
    start: Instant,
    names: Vec<String>,
    mut samples: mpsc::UnboundedReceiver<Sample>,
    mut phase: watch::Receiver<Phase>,
    out: watch::Sender<Snapshot>,
    pauses: Pauses,
) -> Vec<StrategyStats> {
    let mut stats: Vec<StrategyStats> =
        names.iter().map(|n| StrategyStats::new(n, start)).collect();
    let mut tick = tokio::time::interval(SNAPSHOT_EVERY);
    let mut buf = Vec::with_capacity(1024);
    loop {
        tokio::select! {
            n = samples.recv_many(&mut buf, 1024) => {
                if n == 0 {
                    break;
                }
                for s in buf.drain(..) {
                    if let Some(st) = stats.get_mut(s.strategy) {
                        st.record(&s, start);
                    }
                }
            }
            _ = tick.tick() => {
                let _ = out.send(snapshot(&stats, start, *phase.borrow(), &pauses));
            }
            // Once the engine sweeps, operations still running past the
            // drain limit are not waited for.
            changed = phase.changed() => {
                if changed.is_err() || matches!(*phase.borrow(), Phase::Sweep | Phase::Done) {
                    while let Ok(s) = samples.try_recv() {
                        if let Some(st) = stats.get_mut(s.strategy) {
                            st.record(&s, start);
                        }
                    }
                    break;
                }
            }
        }
    }
    let _ = out.send(snapshot(&stats, start, *phase.borrow(), &pauses));
    stats
}
