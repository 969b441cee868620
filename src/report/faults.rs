//! Per fault: whether it fired, and per strategy on its nodes what it
//! destroyed — acknowledged writes (judged write by write, mostly by the
//! checkpoint taken once the fault had done its work) and sessions still
//! lost at the end — how long writes were unavailable, how long until the
//! first successful write, and the budget the configuration promises next
//! to it.
//!
//! A lost (or stale) write is charged to the fault that destroyed it, among
//! the faults on the nodes its strategy uses that came before the read that
//! found it gone: the fault in force when it was acknowledged, if that kind
//! of fault destroys writes accepted meanwhile (a primary cut off from its
//! peers, an eviction); else the first fault after it (a crash, a power
//! loss); else the last fault before it (what a failover left behind). A
//! fault's window runs from its injection to the next fault on those nodes
//! (or the load's end).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::check::ledger::{AckedWrite, Fate};
use crate::fabric::powerfs::LossSummary;
use crate::faults::FaultRecord;
use crate::faults::budget::Budget;
use crate::scenario::Scenario;
use crate::workload::{RunOutcome, StrategyOutcome};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultReport {
    pub kind: String,
    pub target: String,
    pub processes: Vec<String>,
    pub at_ms: u64,
    pub healed_ms: Option<u64>,
    pub message: String,
    /// Did it happen? A drill whose fault did not fire tested nothing: the
    /// run fails.
    #[serde(default = "yes")]
    pub fired: bool,
    /// Why it did not happen, did not have its effect, or did not heal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded: Option<LossSummary>,
    /// Power loss: how long the node had gone without an fsync when the
    /// power went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsynced_ms: Option<u64>,
    /// Bytes the furthest-behind replica lagged the primary at the fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repl_lag_bytes: Option<u64>,
    /// How long a process it hit answered `LOADING` after it (reading its
    /// AOF or RDB back), as the observer saw it every 100 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loading_ms: Option<u64>,
    /// What the configuration promises for this fault.
    pub budget: String,
    /// The strategies whose nodes it hit.
    pub strategies: IndexMap<String, FaultWindow>,
}

fn yes() -> bool {
    true
}

impl FaultReport {
    pub fn failed(&self) -> bool {
        !self.fired || self.error.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultWindow {
    /// Acknowledged writes this fault destroyed: gone from the store (or
    /// only in the store of record behind a stale cache, `stale_writes`).
    #[serde(default)]
    pub lost_writes: u64,
    #[serde(default)]
    pub stale_writes: u64,
    /// Sessions this fault left lost / stale at the end of the run (the
    /// final sweep): what a user would find.
    pub lost: u64,
    pub stale: u64,
    /// When the lost writes were acknowledged, relative to the fault
    /// (negative: before it): [earliest, latest].
    pub lost_acked_ms: Option<[i64; 2]>,
    /// The lost writes by when they were acknowledged, relative to the
    /// fault, in buckets of [`HIST_BUCKET_MS`]: [bucket start ms, writes].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost_acked_hist: Vec<[i64; 2]>,
    /// The strategy's acknowledged writes per second (all its nodes) over
    /// the two seconds before the fault, pauses left out.
    #[serde(default)]
    pub write_rate: f64,
    /// `lost_writes` as seconds of writes at `write_rate`; `null` when some
    /// were written before the load (the prefill), at another rate.
    #[serde(default)]
    pub lost_writes_s: Option<f64>,
    /// Writes the budget allows at `write_rate`; `null` when unbounded.
    pub budget_writes: Option<f64>,
    /// Time writes were failing within the window (pauses left out).
    pub unavailable_ms: u64,
    /// From the fault to the first successful write meant to start after it
    /// (for a failover: the failover time as clients see it), pauses left
    /// out.
    pub recovery_ms: Option<u64>,
    /// The same for reads: from the fault to the first read meant to start
    /// after it that was answered (whatever it found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_recovery_ms: Option<u64>,
    /// Latency of the operations meant to start while it held: the whole
    /// seconds of the run from the one it hit in to the one it healed in
    /// (or its window's end); `null` when none started then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<super::LatencyUs>,
    /// What the clients were answered while a node read its data back:
    /// `null` when no operation was answered `LOADING` in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loading_answers: Option<super::loading::LoadingAnswers>,
}

/// The width of a bucket of `lost_acked_hist`.
pub const HIST_BUCKET_MS: i64 = 100;

/// What a strategy's ledger says the faults destroyed.
#[derive(Debug, Default, Clone)]
struct Charged {
    lost_writes: u64,
    stale_writes: u64,
    lost_sessions: u64,
    stale_sessions: u64,
    offsets: Option<[i64; 2]>,
    /// Lost writes by bucket of acknowledgement time (ms from the fault).
    hist: std::collections::BTreeMap<i64, i64>,
}

pub fn build(
    scenario: &Scenario,
    outcome: &RunOutcome,
    records: &[FaultRecord],
) -> Vec<FaultReport> {
    let origin = outcome.started;
    let ms_of = |t: Instant| t.saturating_duration_since(origin).as_millis() as u64;
    let load_end_ms = ms_of(outcome.load_end);
    let load_start_ms = ms_of(outcome.load_start);
    // Per strategy: its groups, and what each fault (by id) destroyed.
    let charged: Vec<(Vec<String>, HashMap<usize, Charged>)> = outcome
        .strategies
        .iter()
        .map(|o| {
            let groups = scenario.groups_of(o.kind);
            let mut mine: Vec<&FaultRecord> = records
                .iter()
                .filter(|f| f.fired && groups.contains(&f.group))
                .collect();
            mine.sort_by_key(|f| f.at);
            let c = charge(o, &mine, Instant::now());
            (groups, c)
        })
        .collect();
    records
        .iter()
        .map(|r| {
            let budget = scenario
                .topology
                .nodes
                .iter()
                .find(|n| n.name == r.group)
                .map(|n| r.budget(n))
                .unwrap_or_else(|| Budget {
                    rule: "the fault did not happen".into(),
                    window_s: None,
                });
            let strategies = outcome
                .strategies
                .iter()
                .zip(&charged)
                .filter(|(_, (groups, _))| r.fired && groups.contains(&r.group))
                .map(|(o, (groups, charges))| {
                    // Its window ends at the next fault on these nodes.
                    let window_end = records
                        .iter()
                        .filter(|f| f.fired && f.at > r.at && groups.contains(&f.group))
                        .map(|f| f.at_ms)
                        .min()
                        .unwrap_or(load_end_ms)
                        .max(r.at_ms);
                    let c = charges.get(&r.id).cloned().unwrap_or_default();
                    let mut w =
                        window(o, c, (r.at_ms, window_end), load_start_ms, &budget, outcome);
                    let held = r.healed_ms.unwrap_or(window_end).clamp(r.at_ms, window_end);
                    let during = o.stats.latency.span(
                        (r.at_ms / 1000) as usize,
                        (held.saturating_sub(1).max(r.at_ms) / 1000) as usize,
                    );
                    w.latency_us = (during.count > 0).then(|| during.into());
                    (o.kind.name().to_string(), w)
                })
                .collect();
            FaultReport {
                kind: r.kind.name().to_string(),
                target: r.target.clone(),
                processes: r.processes.clone(),
                at_ms: r.at_ms,
                healed_ms: r.healed_ms,
                message: r.message.clone(),
                fired: r.fired,
                error: r.error.clone(),
                discarded: r.discarded.clone(),
                unsynced_ms: r.unsynced_ms,
                repl_lag_bytes: r.repl_lag_bytes,
                loading_ms: super::loading::loading_ms(&outcome.events, &r.processes, r.at_ms),
                budget: budget.rule,
                strategies,
            }
        })
        .collect()
}

/// Charge every lost or stale write, and every session the final sweep
/// found lost or stale, to the fault that destroyed it.
/// `end`: after the final sweep.
fn charge(o: &StrategyOutcome, faults: &[&FaultRecord], end: Instant) -> HashMap<usize, Charged> {
    let mut out: HashMap<usize, Charged> = HashMap::new();
    if faults.is_empty() {
        return out;
    }
    let offset = |acked: Instant, fault: Instant| -> i64 {
        if acked >= fault {
            acked.duration_since(fault).as_millis() as i64
        } else {
            -(fault.duration_since(acked).as_millis() as i64)
        }
    };
    for session in o.ledger.iter() {
        let Ok(s) = session.try_lock() else { continue };
        for w in &s.writes {
            if !matches!(w.fate, Fate::Lost | Fate::Stale) {
                continue;
            }
            let Some(i) = charged_to(faults, w, end) else {
                continue;
            };
            let c = out.entry(faults[i].id).or_default();
            if w.fate == Fate::Lost {
                c.lost_writes += 1;
                let off = offset(w.at, faults[i].at);
                c.offsets = Some(match c.offsets {
                    None => [off, off],
                    Some([lo, hi]) => [lo.min(off), hi.max(off)],
                });
                *c.hist
                    .entry(off.div_euclid(HIST_BUCKET_MS) * HIST_BUCKET_MS)
                    .or_default() += 1;
            } else {
                c.stale_writes += 1;
            }
        }
    }
    for (ids, lost) in [(&o.sweep.lost_ids, true), (&o.sweep.stale_ids, false)] {
        for &id in ids {
            let acked = o.ledger[id as usize]
                .try_lock()
                .ok()
                .and_then(|s| s.acked_at());
            let Some(i) = acked.and_then(|a| culprit(faults, a, end)) else {
                continue;
            };
            let c = out.entry(faults[i].id).or_default();
            if lost {
                c.lost_sessions += 1;
            } else {
                c.stale_sessions += 1;
            }
        }
    }
    out
}

/// The fault (index into `faults`) a lost or stale write is charged to. A
/// checkpoint was taken for one fault: what it found stale is that fault's
/// doing, and what it found gone too if that fault can destroy writes (a
/// client-link fault cannot). Otherwise (the final sweep, a lock's release,
/// at `end` when unjudged) the fault that explains it, among those before
/// the read.
fn charged_to(faults: &[&FaultRecord], w: &AckedWrite, end: Instant) -> Option<usize> {
    let (by, at) = w.judged.map_or((None, end), |j| (j.fault, j.at));
    by.and_then(|f| faults.iter().position(|r| r.id == f))
        .filter(|&i| w.fate == Fate::Stale || can_destroy(faults[i]))
        .or_else(|| culprit(faults, w.at, at))
}

/// Can writes acknowledged while this fault holds be destroyed by it? A
/// primary cut off from its peers keeps accepting them; an eviction
/// removes them.
fn destroys_while_in_force(r: &FaultRecord) -> bool {
    r.kind.destroys_while_in_force(r.peers)
}

/// Can the fault destroy writes acknowledged before it? A fault on the
/// client link (latency, bandwidth, reset, timeout, throttle, a client-side
/// partition) delays or fails requests but cannot take back what the
/// server has acknowledged.
fn can_destroy(r: &FaultRecord) -> bool {
    r.kind.can_destroy(r.peers)
}

/// The index of the fault that destroyed a write acknowledged at `acked`
/// and found gone by a read at `judged`, among the faults on the
/// strategy's nodes (in time order).
fn culprit(all: &[&FaultRecord], acked: Instant, judged: Instant) -> Option<usize> {
    // Only a fault that came before the read can have destroyed the write.
    let n = all.iter().take_while(|r| r.at <= judged).count();
    let records = &all[..n];
    let acked_ms =
        |r: &FaultRecord| r.at_ms + acked.saturating_duration_since(r.at).as_millis() as u64;
    records
        .iter()
        .rposition(|r| {
            destroys_while_in_force(r)
                && r.at <= acked
                && r.healed_ms.is_none_or(|h| h >= acked_ms(r))
        })
        .or_else(|| records.iter().position(|r| r.at >= acked && can_destroy(r)))
        // After the last fault that could destroy it: its consequences (an
        // old primary restarted as a primary, accepting writes until the
        // Sentinels turn it into a replica of the new one).
        .or_else(|| {
            records
                .iter()
                .rposition(|r| r.at <= acked && can_destroy(r))
        })
        .or_else(|| records.iter().position(|r| r.at >= acked))
        .or_else(|| records.iter().rposition(|r| r.at <= acked))
}

/// `d` from `from`, less the time the strategy's load was left out
/// (paused, held) within it, in ms.
fn without_pauses(o: &StrategyOutcome, from: Duration, d: Duration) -> u64 {
    let left_out: Duration = o
        .excluded
        .iter()
        .map(|&(a, b)| b.min(from + d).saturating_sub(a.max(from)))
        .sum();
    d.saturating_sub(left_out).as_millis() as u64
}

fn window(
    o: &StrategyOutcome,
    c: Charged,
    (from_ms, to_ms): (u64, u64),
    load_start_ms: u64,
    budget: &Budget,
    outcome: &RunOutcome,
) -> FaultWindow {
    let from = Duration::from_millis(from_ms);
    let to = Duration::from_millis(to_ms);
    let unavailable: Duration = o
        .stats
        .availability
        .windows()
        .iter()
        .map(|&(a, b)| b.min(to).saturating_sub(a.max(from)))
        .sum();
    // The write rate just before the fault: two seconds, within the load,
    // time the load was paused left out.
    let rate_from = from
        .saturating_sub(Duration::from_secs(2))
        .max(Duration::from_millis(load_start_ms));
    let span = from.saturating_sub(rate_from);
    let running = span.saturating_sub(outcome.paused_within(rate_from, from));
    let lost_since_load_start = c
        .offsets
        .is_none_or(|[earliest, _]| from_ms as i64 + earliest >= load_start_ms as i64);
    let write_rate = if running.is_zero() {
        0.0
    } else {
        o.stats.write_rate(rate_from, from) * span.as_secs_f64() / running.as_secs_f64()
    };
    FaultWindow {
        lost_writes: c.lost_writes,
        stale_writes: c.stale_writes,
        lost: c.lost_sessions,
        stale: c.stale_sessions,
        lost_acked_ms: c.offsets,
        lost_acked_hist: c.hist.iter().map(|(&b, &n)| [b, n]).collect(),
        write_rate,
        // As time only when every lost write came at that rate: not when
        // the fault also took writes of the prefill.
        lost_writes_s: (write_rate > 0.0 && lost_since_load_start)
            .then(|| c.lost_writes as f64 / write_rate),
        budget_writes: budget.max_writes(write_rate),
        unavailable_ms: unavailable.as_millis() as u64,
        recovery_ms: o
            .stats
            .first_write_after(from)
            .map(|d| without_pauses(o, from, d)),
        read_recovery_ms: o
            .stats
            .first_read_after(from)
            .map(|d| without_pauses(o, from, d)),
        latency_us: None,
        loading_answers: super::loading::answers(
            &o.stats.loading_per_slot,
            &o.stats.served_per_slot,
            from_ms,
            to_ms,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::ledger::Judged;
    use crate::faults::FaultKind;
    use std::time::Duration;

    fn record(id: usize, kind: FaultKind, at: Instant, origin: Instant) -> FaultRecord {
        FaultRecord {
            id,
            kind,
            target: "cache".into(),
            group: "cache".into(),
            processes: vec!["cache-0".into()],
            at_ms: at.duration_since(origin).as_millis() as u64,
            healed_ms: None,
            message: String::new(),
            peers: false,
            repl_lag_bytes: None,
            discarded: None,
            unsynced_ms: None,
            fired: true,
            error: None,
            at,
            sentinels_only: false,
        }
    }

    #[test]
    fn a_client_link_fault_is_never_blamed_for_a_loss() {
        let origin = Instant::now();
        let s = |n| origin + Duration::from_secs(n);
        let end = s(100);
        let power = record(0, FaultKind::PowerLoss, s(8), origin);
        let latency = record(1, FaultKind::Latency, s(15), origin);
        let records = [&power, &latency];
        // Acknowledged before the power loss: the power loss.
        assert_eq!(culprit(&records, s(7), end), Some(0));
        // Acknowledged after it (the old primary back as a primary), before
        // the latency fault: still the power loss's consequence.
        assert_eq!(culprit(&records, s(12), end), Some(0));
        // A kill after the latency fault takes the blame for what it destroys.
        let kill = record(2, FaultKind::Kill, s(20), origin);
        let records = [&power, &latency, &kill];
        assert_eq!(culprit(&records, s(16), end), Some(2));
        // With only client-link faults, the nearest one is named rather
        // than none.
        let records = [&latency];
        assert_eq!(culprit(&records, s(12), end), Some(0));
    }

    /// Review of issue 15: a checkpoint's own fault took the blame for
    /// every loss it found, even a client-link fault that cannot destroy
    /// writes.
    #[test]
    fn a_loss_found_at_a_link_faults_checkpoint_is_charged_to_the_fault_that_caused_it() {
        let origin = Instant::now();
        let s = |n| origin + Duration::from_secs(n);
        let mut evict = record(0, FaultKind::Evict, s(2), origin);
        evict.healed_ms = None;
        let latency = record(1, FaultKind::Latency, s(4), origin);
        let records = [&evict, &latency];
        let found = |fate| AckedWrite {
            version: 1,
            issued: s(3),
            at: s(3),
            fate,
            judged: Some(Judged {
                at: s(5),
                fault: Some(1),
            }),
            expires_at: s(600),
            token: crate::check::ledger::Token::Unchecked,
        };
        assert_eq!(charged_to(&records, &found(Fate::Lost), s(9)), Some(0));
        assert_eq!(charged_to(&records, &found(Fate::Stale), s(9)), Some(1));
        let kill = record(2, FaultKind::Kill, s(4), origin);
        let records = [&evict, &kill];
        let found_at_kill = AckedWrite {
            judged: Some(Judged {
                at: s(5),
                fault: Some(2),
            }),
            ..found(Fate::Lost)
        };
        assert_eq!(charged_to(&records, &found_at_kill, s(9)), Some(1));
    }

    #[test]
    fn a_write_found_gone_before_a_later_fault_is_not_charged_to_it() {
        let origin = Instant::now();
        let s = |n| origin + Duration::from_secs(n);
        let first = record(0, FaultKind::PowerLoss, s(8), origin);
        let second = record(1, FaultKind::PowerLoss, s(20), origin);
        let records = [&first, &second];
        // Acknowledged at 9 s (after the first cut), found gone by the
        // checkpoint at 10 s: the first power loss's doing, not the second's.
        assert_eq!(culprit(&records, s(9), s(10)), Some(0));
        // The same write found gone only at the end: the second cut.
        assert_eq!(culprit(&records, s(9), s(100)), Some(1));
        // Found gone before any fault (a lock's release at 3 s): no fault's.
        assert_eq!(culprit(&records, s(2), s(3)), None);
    }
}
