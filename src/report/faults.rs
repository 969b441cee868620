//! Per fault window: what each strategy lost, how long it was unavailable,
//! how long until the first successful write, and the budget the
//! configuration promises next to it.
//!
//! A lost (or stale) session is charged to the fault that destroyed it,
//! among the faults on the nodes its strategy uses: the fault in force when
//! its last write was acknowledged, if that kind of fault destroys writes
//! accepted meanwhile (a primary cut off from its peers, an eviction); else
//! the first fault after that write (a crash, a power loss); else the last
//! fault before it (what a failover left behind). A fault's window runs
//! from its injection to the next fault on those nodes (or the load's end).

use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::faults::budget::{self, Budget};
use crate::faults::powerfs::LossSummary;
use crate::faults::{FaultKind, FaultRecord};
use crate::scenario::{Scenario, StrategyKind};
use crate::workload::{RunOutcome, StrategyOutcome};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultReport {
    pub kind: String,
    pub target: String,
    pub processes: Vec<String>,
    pub at_ms: u64,
    pub healed_ms: Option<u64>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded: Option<LossSummary>,
    /// Bytes the furthest-behind replica lagged the primary at the fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repl_lag_bytes: Option<u64>,
    /// What the configuration promises for this fault.
    pub budget: String,
    pub strategies: IndexMap<String, FaultWindow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultWindow {
    /// Acknowledged sessions this fault destroyed (proved by the sweep).
    pub lost: u64,
    pub stale: u64,
    /// When the lost writes were acknowledged, relative to the fault
    /// (negative: before it): [earliest, latest].
    pub lost_acked_ms: Option<[i64; 2]>,
    /// Writes the budget allows at this strategy's acknowledged write rate;
    /// `null` when the budget is unbounded.
    pub budget_writes: Option<f64>,
    pub unavailable_ms: u64,
    /// From the fault to the first successful write meant to start after it
    /// (for a failover: the failover time as clients see it).
    pub recovery_ms: Option<u64>,
}

pub fn build(
    scenario: &Scenario,
    outcome: &RunOutcome,
    records: &[FaultRecord],
) -> Vec<FaultReport> {
    let origin = outcome.started;
    let load_end_ms = outcome
        .load_end
        .saturating_duration_since(origin)
        .as_millis() as u64;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let budget = scenario
                .topology
                .nodes
                .iter()
                .find(|n| n.name == r.group)
                .map(|n| budget::of(r.kind, n, r.peers))
                .unwrap_or_else(|| Budget {
                    rule: "unknown node".into(),
                    window_s: None,
                });
            let strategies = outcome
                .strategies
                .iter()
                .map(|o| {
                    // Only faults on the nodes this strategy uses can
                    // destroy its writes; its windows end at the next one.
                    let used = groups(scenario, o.kind);
                    let mine: Vec<&FaultRecord> =
                        records.iter().filter(|f| used.contains(&f.group)).collect();
                    let window_end = records[i + 1..]
                        .iter()
                        .find(|f| used.contains(&f.group))
                        .map_or(load_end_ms, |n| n.at_ms)
                        .max(r.at_ms);
                    let me = mine.iter().position(|f| f.id == r.id);
                    (
                        o.kind.name().to_string(),
                        window(o, &mine, me, (r.at_ms, window_end), &budget, outcome),
                    )
                })
                .collect();
            FaultReport {
                kind: r.kind.name().to_string(),
                target: r.target.clone(),
                processes: r.processes.clone(),
                at_ms: r.at_ms,
                healed_ms: r.healed_ms,
                message: r.message.clone(),
                discarded: r.discarded.clone(),
                repl_lag_bytes: r.repl_lag_bytes,
                budget: budget.rule,
                strategies,
            }
        })
        .collect()
}

/// The topology nodes a strategy's operations reach.
fn groups(scenario: &Scenario, kind: StrategyKind) -> Vec<String> {
    let t = &scenario.targets;
    [
        (kind.needs_redis(), &t.redis),
        (kind.needs_dynamodb(), &t.dynamodb),
        (kind == StrategyKind::Memcached, &t.memcached),
    ]
    .into_iter()
    .filter_map(|(needed, g)| if needed { g.clone() } else { None })
    .collect()
}

/// Can writes acknowledged while this fault holds be destroyed by it? A
/// primary cut off from its peers keeps accepting them; an eviction
/// removes them.
fn destroys_while_in_force(r: &FaultRecord) -> bool {
    (r.kind == FaultKind::Partition && r.peers) || r.kind == FaultKind::Evict
}

/// Can the fault destroy writes acknowledged before it? A fault on the
/// client link (latency, bandwidth, reset, timeout, throttle, a client-side
/// partition) delays or fails requests but cannot take back what the
/// server has acknowledged.
fn can_destroy(r: &FaultRecord) -> bool {
    !r.kind.is_link() || r.peers
}

/// The index of the fault that destroyed a write acknowledged at `acked`,
/// among the faults on the strategy's nodes.
fn culprit(records: &[&FaultRecord], acked: Instant, origin: Instant) -> Option<usize> {
    let acked_ms = acked.saturating_duration_since(origin).as_millis() as u64;
    records
        .iter()
        .rposition(|r| {
            destroys_while_in_force(r) && r.at <= acked && r.healed_ms.is_none_or(|h| h >= acked_ms)
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

fn window(
    o: &StrategyOutcome,
    records: &[&FaultRecord],
    me: Option<usize>,
    (from_ms, to_ms): (u64, u64),
    budget: &Budget,
    outcome: &RunOutcome,
) -> FaultWindow {
    let fault_at = match me {
        Some(m) => records[m].at,
        None => Instant::now(),
    };
    let mut lost = 0;
    let mut offsets: Option<[i64; 2]> = None;
    for &id in &o.sweep.lost_ids {
        let Some(acked) = o.ledger[id as usize]
            .try_lock()
            .ok()
            .and_then(|s| s.acked_at())
        else {
            continue;
        };
        if me.is_some() && culprit(records, acked, outcome.started) == me {
            lost += 1;
            let off = if acked >= fault_at {
                acked.duration_since(fault_at).as_millis() as i64
            } else {
                -(fault_at.duration_since(acked).as_millis() as i64)
            };
            offsets = Some(match offsets {
                None => [off, off],
                Some([lo, hi]) => [lo.min(off), hi.max(off)],
            });
        }
    }
    let stale = o
        .sweep
        .stale_ids
        .iter()
        .filter(|&&id| {
            o.ledger[id as usize]
                .try_lock()
                .ok()
                .and_then(|s| s.acked_at())
                .is_some_and(|a| me.is_some() && culprit(records, a, outcome.started) == me)
        })
        .count() as u64;
    let from = Duration::from_millis(from_ms);
    let to = Duration::from_millis(to_ms);
    let unavailable: Duration = o
        .stats
        .availability
        .windows()
        .iter()
        .map(|&(a, b)| b.min(to).saturating_sub(a.max(from)))
        .sum();
    let load_s = outcome.load.as_secs_f64().max(0.001);
    FaultWindow {
        lost,
        stale,
        lost_acked_ms: offsets,
        budget_writes: budget.max_writes(o.stats.acked_writes as f64 / load_s),
        unavailable_ms: unavailable.as_millis() as u64,
        recovery_ms: o
            .stats
            .first_write_after(from)
            .map(|d| d.as_millis() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            at,
        }
    }

    #[test]
    fn a_client_link_fault_is_never_blamed_for_a_loss() {
        let origin = Instant::now();
        let s = |n| origin + Duration::from_secs(n);
        let power = record(0, FaultKind::PowerLoss, s(8), origin);
        let latency = record(1, FaultKind::Latency, s(15), origin);
        let records = [&power, &latency];
        // Acknowledged before the power loss: the power loss.
        assert_eq!(culprit(&records, s(7), origin), Some(0));
        // Acknowledged after it (the old primary back as a primary), before
        // the latency fault: still the power loss's consequence.
        assert_eq!(culprit(&records, s(12), origin), Some(0));
        // A kill after the latency fault takes the blame for what it destroys.
        let kill = record(2, FaultKind::Kill, s(20), origin);
        let records = [&power, &latency, &kill];
        assert_eq!(culprit(&records, s(16), origin), Some(2));
        // With only client-link faults, the nearest one is named rather
        // than none.
        let records = [&latency];
        assert_eq!(culprit(&records, s(12), origin), Some(0));
    }
}
