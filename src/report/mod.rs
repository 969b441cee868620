//! The report: final statistics, checker verdicts, events and expectations.
//! One JSON shape (schema in docs/report.schema.json) and a Markdown table.

mod compare;
mod faults;
mod markdown;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use compare::compare_markdown;
pub use markdown::markdown;

use crate::check::checkpoint::Checkpoint;
use crate::check::{ReadCheck, WriteTally};
use crate::events::Event;
use crate::faults::FaultRecord;
use crate::metrics::{OpKind, Percentiles, StrategyStats};
use crate::scenario::{Bound, Expectation, Scenario};
use crate::workload::{RunOutcome, StrategyOutcome};
pub use faults::{FaultReport, FaultWindow};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    /// The run: its tag (the part after the last `-`) is in every key,
    /// `sd:<tag>:<strategy>:session:<id>` (DynamoDB: `SESSION#<tag>:<strategy>:<id>`).
    #[serde(default)]
    pub run_id: String,
    pub description: Option<String>,
    pub topology: String,
    /// Where the nodes ran: local processes or containers.
    #[serde(default = "default_provider")]
    pub provider: crate::topology::Provider,
    pub started_unix_ms: u64,
    /// Length of the timed load.
    pub duration_ms: u64,
    pub workload: WorkloadReport,
    pub strategies: IndexMap<String, StrategyReport>,
    pub events: Vec<Event>,
    /// Every fault asked for (injected or not), with its window's numbers.
    #[serde(default)]
    pub faults: Vec<FaultReport>,
    /// The checkpoints taken after faults: the load held, every session of
    /// the strategies on the fault's nodes read.
    #[serde(default)]
    pub checkpoints: Vec<Checkpoint>,
    /// When the load was paused or held, [from, to] ms since the start:
    /// left out of unavailability and recovery times.
    #[serde(default)]
    pub paused_ms: Vec<[u64; 2]>,
    pub expectations: Vec<ExpectationResult>,
    /// Every expectation holds and every fault fired.
    pub ok: bool,
    /// DAX nodes' cache counters at the end of the run, per node.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub caches: IndexMap<String, crate::nodes::dax::DaxStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadReport {
    pub sessions: u64,
    pub rates_per_s: BTreeMap<String, f64>,
    pub ttl_s: u64,
    pub value_bytes: usize,
    pub op_timeout_ms: u64,
    pub prefill: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencyUs {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl From<Percentiles> for LatencyUs {
    fn from(p: Percentiles) -> Self {
        Self {
            p50: p.p50,
            p99: p.p99,
            p999: p.p999,
            max: p.max,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpReport {
    pub ops: u64,
    pub errors: u64,
    pub latency_us: LatencyUs,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondReport {
    pub t_s: u64,
    pub ops: u64,
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorWindow {
    /// [from, to) ms since the run start: consecutive seconds with errors.
    pub from_ms: u64,
    pub to_ms: u64,
    pub ops: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StrategyReport {
    /// Client configuration: timeouts and retry policy.
    pub client: String,
    pub ops: u64,
    /// Writes acknowledged during the timed load.
    pub acked_writes: u64,
    /// Every acknowledged write (prefill included), by what the checker
    /// made of it: judged once, by the checkpoint after the fault that
    /// destroyed it or by the final sweep.
    pub writes: WriteTally,
    /// Sessions read back in the final sweep.
    pub checked: u64,
    pub durable: u64,
    /// Acknowledged, not expired, not deleted, and missing in the final
    /// sweep: sessions a user would find gone at the end.
    pub lost: u64,
    pub stale: u64,
    pub resurrected: u64,
    /// Writes or deletes that failed or timed out but did land.
    pub indeterminate: u64,
    /// Sessions the final sweep could not read.
    pub unverified: u64,
    /// Of the lost / stale sessions, those the store of record (DynamoDB
    /// behind a cache) holds at the acknowledged version: the cache's doing.
    #[serde(default)]
    pub lost_from_cache: u64,
    #[serde(default)]
    pub stale_from_cache: u64,
    /// Acknowledged versions a live read during the load proved lost /
    /// stale, each once (what the dashboard shows).
    #[serde(default)]
    pub proven_lost: u64,
    #[serde(default)]
    pub proven_stale: u64,
    /// Operations a cache in front failed (an error, not a miss) and the
    /// store of record answered: the cache strategies' proof of a fallback.
    #[serde(default)]
    pub fallbacks: u64,
    /// Pattern strategies: answered but not done (a lock already held, a
    /// request over the limit).
    #[serde(default)]
    pub refused: u64,
    /// Pattern strategies: a lock granted while an acknowledged lease was
    /// live (two holders), an admit beyond the limit.
    #[serde(default)]
    pub violations: u64,
    /// Ids of the lost sessions (the first [`ID_SAMPLE`]), for drill-down:
    /// the store key is `sd:<run>:<strategy>:session:<id>`.
    #[serde(default)]
    pub lost_ids: Vec<u64>,
    #[serde(default)]
    pub stale_ids: Vec<u64>,
    pub errors: BTreeMap<String, u64>,
    pub error_rate: f64,
    /// Time writes were failing: from a failed write to the first write
    /// that succeeded after it, pauses left out.
    pub unavailable_ms: u64,
    pub unavailable_windows: Vec<[u64; 2]>,
    /// Runs of seconds with any failed operation (reads too), with their
    /// error counts: scattered failures that are not unavailability.
    #[serde(default)]
    pub error_windows: Vec<ErrorWindow>,
    pub throughput: f64,
    pub latency_us: LatencyUs,
    /// How late the load generator started operations (part of
    /// `latency_us`: latency counts from the intended start). A large lag
    /// means the machine, not the store, set the latency.
    #[serde(default)]
    pub scheduler_lag_us: LatencyUs,
    pub ops_by_kind: BTreeMap<String, OpReport>,
    /// Reads during the load that disagreed with the ledger (reads, not
    /// versions: one lost session read ten times counts ten).
    pub live: BTreeMap<String, u64>,
    pub per_second: Vec<SecondReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub expr: String,
    pub ok: bool,
    pub observed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How many lost (and stale) session ids the report lists.
pub const ID_SAMPLE: usize = 1000;

impl StrategyReport {
    /// `load_ms`: how long the load ran (pauses left out).
    fn build(o: &StrategyOutcome, load_ms: u64) -> Self {
        let s: &StrategyStats = &o.stats;
        let sw = &o.sweep;
        let errors_total = s.error_total();
        let per_second = (0..s.latency.seconds().max(s.throughput.len()))
            .map(|t| {
                let w = s.latency.window(t);
                SecondReport {
                    t_s: t as u64,
                    ops: s.throughput.get(t).copied().unwrap_or(0),
                    errors: s.errors_per_second.get(t).copied().unwrap_or(0),
                    p50_us: w.p50,
                    p99_us: w.p99,
                }
            })
            .collect();
        Self {
            client: o.client.clone(),
            ops: s.ops,
            acked_writes: s.acked_writes,
            writes: o.writes,
            checked: sw.checked,
            durable: sw.count(ReadCheck::Durable),
            lost: sw.count(ReadCheck::Missing),
            stale: sw.count(ReadCheck::Stale),
            resurrected: sw.count(ReadCheck::Resurrected),
            indeterminate: sw.count(ReadCheck::Indeterminate)
                + s.live.get(&ReadCheck::Indeterminate).copied().unwrap_or(0),
            unverified: sw.unverified,
            lost_from_cache: sw.lost_from_cache,
            stale_from_cache: sw.stale_from_cache,
            proven_lost: s.proven_lost,
            proven_stale: s.proven_stale,
            fallbacks: o.fallbacks,
            refused: s.refused,
            violations: s.violations,
            lost_ids: sw.lost_ids.iter().take(ID_SAMPLE).copied().collect(),
            stale_ids: sw.stale_ids.iter().take(ID_SAMPLE).copied().collect(),
            errors: s
                .errors
                .iter()
                .map(|(c, n)| (c.name().to_string(), *n))
                .collect(),
            error_rate: if s.ops == 0 {
                0.0
            } else {
                errors_total as f64 / s.ops as f64
            },
            unavailable_ms: s.availability.total().as_millis() as u64,
            unavailable_windows: s
                .availability
                .windows()
                .iter()
                .map(|(a, b)| [a.as_millis() as u64, b.as_millis() as u64])
                .collect(),
            error_windows: error_windows(s),
            throughput: if load_ms == 0 {
                0.0
            } else {
                s.ops as f64 * 1000.0 / load_ms as f64
            },
            latency_us: s.latency.total().into(),
            scheduler_lag_us: s.lag.total().into(),
            ops_by_kind: OpKind::ALL
                .iter()
                .filter(|k| s.per_op[k.index()].ops > 0)
                .map(|k| {
                    let p = &s.per_op[k.index()];
                    (
                        k.name().to_string(),
                        OpReport {
                            ops: p.ops,
                            errors: p.errors,
                            latency_us: p.latency.total().into(),
                        },
                    )
                })
                .collect(),
            live: s
                .live
                .iter()
                .filter(|(c, _)| !matches!(c, ReadCheck::Durable | ReadCheck::Nothing))
                .map(|(c, n)| (c.name().to_string(), *n))
                .collect(),
            per_second,
        }
    }

    /// What a violation and a refusal mean for strategy `name`, if it is a
    /// pattern strategy that has them.
    pub fn pattern_terms(name: &str) -> Option<(&'static str, &'static str)> {
        use crate::store::{Semantics, StrategyKind};
        match StrategyKind::parse(name)?.semantics() {
            Semantics::Session => None,
            Semantics::Lock => Some((
                "locks granted while an acknowledged lease was live (two holders)",
                "acquires refused (held)",
            )),
            Semantics::RateLimit => Some((
                "admits beyond the limit within the window",
                "requests denied",
            )),
        }
    }

    /// The value an expectation names, e.g. `lost`, `latency.p99_ms`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metric_range(name).map(|(lo, _)| lo)
    }

    /// The value an expectation names, as the range it may truly have:
    /// counts from a sweep that could not read every session are lower
    /// bounds (each unread session may be one more), and `lost_share` may
    /// lie anywhere between all unread sessions durable and all lost.
    pub fn metric_range(&self, name: &str) -> Option<(f64, f64)> {
        let ms = |us: u64| us as f64 / 1000.0;
        let exact = |v: f64| Some((v, v));
        let sessions = |v: u64| Some((v as f64, (v + self.unverified) as f64));
        let writes = |v: u64| Some((v as f64, (v + self.writes.unverified) as f64));
        match name {
            "ops" => exact(self.ops as f64),
            "acked_writes" => exact(self.acked_writes as f64),
            "durable" => sessions(self.durable),
            "lost" => sessions(self.lost),
            "stale" => sessions(self.stale),
            "resurrected" => sessions(self.resurrected),
            "lost_from_cache" => sessions(self.lost_from_cache),
            "stale_from_cache" => sessions(self.stale_from_cache),
            "lost_writes" => writes(self.writes.lost),
            "stale_writes" => writes(self.writes.stale),
            "durable_writes" => writes(self.writes.durable),
            "indeterminate_writes" => writes(self.writes.indeterminate),
            "unverified_writes" => exact(self.writes.unverified as f64),
            "indeterminate" => exact(self.indeterminate as f64),
            "unverified" => exact(self.unverified as f64),
            "proven_lost" => exact(self.proven_lost as f64),
            "proven_stale" => exact(self.proven_stale as f64),
            "refused" => exact(self.refused as f64),
            "fallbacks" => exact(self.fallbacks as f64),
            "violations" => exact(self.violations as f64),
            "errors" => exact(self.errors.values().sum::<u64>() as f64),
            "error_rate" => exact(self.error_rate),
            "unavailable_ms" => exact(self.unavailable_ms as f64),
            "throughput" => exact(self.throughput),
            "lost_share" => {
                let judged = (self.durable + self.lost + self.stale + self.resurrected) as f64;
                let all = judged + self.unverified as f64;
                if all == 0.0 {
                    return exact(0.0);
                }
                Some((
                    self.lost as f64 / all,
                    (self.lost + self.unverified) as f64 / all,
                ))
            }
            "latency.p50_ms" => exact(ms(self.latency_us.p50)),
            "latency.p99_ms" => exact(ms(self.latency_us.p99)),
            "latency.p999_ms" => exact(ms(self.latency_us.p999)),
            "latency.max_ms" => exact(ms(self.latency_us.max)),
            "scheduler_lag.p50_ms" => exact(ms(self.scheduler_lag_us.p50)),
            "scheduler_lag.p99_ms" => exact(ms(self.scheduler_lag_us.p99)),
            other => {
                let class = other.strip_prefix("errors.")?;
                exact(self.errors.get(class).copied().unwrap_or(0) as f64)
            }
        }
    }
}

/// How long the load was paused or held, in ms.
fn paused_ms(outcome: &RunOutcome) -> u64 {
    let load_start = outcome
        .load_start
        .saturating_duration_since(outcome.started);
    let load_end = outcome.load_end.saturating_duration_since(outcome.started);
    outcome.paused_within(load_start, load_end).as_millis() as u64
}

/// Runs of consecutive seconds with errors.
fn error_windows(s: &StrategyStats) -> Vec<ErrorWindow> {
    let mut out: Vec<ErrorWindow> = Vec::new();
    for (t, &errors) in s.errors_per_second.iter().enumerate() {
        if errors == 0 {
            continue;
        }
        let ops = s.throughput.get(t).copied().unwrap_or(0);
        let (from, to) = (t as u64 * 1000, (t as u64 + 1) * 1000);
        match out.last_mut() {
            Some(w) if w.to_ms == from => {
                w.to_ms = to;
                w.ops += ops;
                w.errors += errors;
            }
            _ => out.push(ErrorWindow {
                from_ms: from,
                to_ms: to,
                ops,
                errors,
            }),
        }
    }
    out
}

fn default_provider() -> crate::topology::Provider {
    crate::topology::Provider::Process
}

pub fn build(
    scenario: &Scenario,
    run_id: &str,
    outcome: &RunOutcome,
    faults: &[FaultRecord],
    caches: IndexMap<String, crate::nodes::dax::DaxStats>,
) -> Report {
    let load_ms = outcome.load.as_millis() as u64;
    let strategies: IndexMap<String, StrategyReport> = outcome
        .strategies
        .iter()
        .map(|o| {
            let ran_ms = load_ms.saturating_sub(paused_ms(outcome));
            (o.kind.name().to_string(), StrategyReport::build(o, ran_ms))
        })
        .collect();
    let expectations: Vec<ExpectationResult> = scenario
        .expectations
        .iter()
        .map(|e| evaluate(e, &strategies))
        .collect();
    let faults = faults::build(scenario, outcome, faults);
    let w = &scenario.workload;
    Report {
        scenario: scenario.name.clone(),
        run_id: run_id.to_string(),
        description: scenario.description.clone(),
        topology: scenario.topology.name.clone(),
        provider: scenario.topology.provider,
        started_unix_ms: outcome.started_unix_ms as u64,
        duration_ms: load_ms,
        workload: WorkloadReport {
            sessions: w.sessions,
            rates_per_s: [
                ("create", w.rates.create),
                ("read", w.rates.read),
                ("update", w.rates.update),
                ("delete", w.rates.delete),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            ttl_s: w.ttl.as_secs(),
            value_bytes: w.value_bytes,
            op_timeout_ms: w.op_timeout.as_millis() as u64,
            prefill: w.prefill,
        },
        ok: expectations.iter().all(|e| e.ok) && !faults.iter().any(FaultReport::failed),
        caches,
        strategies,
        events: outcome.events.clone(),
        faults,
        checkpoints: outcome.checkpoints.clone(),
        paused_ms: outcome
            .pauses
            .iter()
            .map(|(a, b)| [a.as_millis() as u64, b.as_millis() as u64])
            .collect(),
        expectations,
    }
}

fn evaluate(e: &Expectation, strategies: &IndexMap<String, StrategyReport>) -> ExpectationResult {
    let strategy = strategies.get(&e.strategy);
    let range = strategy.and_then(|s| s.metric_range(&e.metric));
    let bound = match &e.bound {
        Bound::Value(v) => Some(*v),
        Bound::Metric {
            factor,
            strategy,
            metric,
        } => strategies
            .get(strategy)
            .and_then(|s| s.metric(metric))
            .map(|m| factor * m),
    };
    // Holds only if it holds wherever the true value may lie: "lost == 0"
    // is not proven when the sweep could not read every session.
    let ok = range
        .zip(bound)
        .is_some_and(|((lo, hi), b)| e.cmp.holds(lo, b) && e.cmp.holds(hi, b));
    let mut note = None;
    if let (Some(s), Some((lo, hi))) = (strategy, range)
        && lo != hi
    {
        note = Some(format!(
            "{} sessions ({} acknowledged writes) could not be read; {} lies between {lo} and {hi}",
            s.unverified, s.writes.unverified, e.metric
        ));
    }
    if let (Bound::Metric { .. }, Some(b)) = (&e.bound, bound)
        && note.is_none()
    {
        note = Some(format!("bound {b}"));
    }
    ExpectationResult {
        expr: e.to_string(),
        ok,
        observed: range.map(|(lo, _)| lo),
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy(lost: u64, durable: u64, unverified: u64) -> StrategyReport {
        let json = serde_json::json!({
            "client": "c", "ops": 10, "acked_writes": 10,
            "writes": {"durable": durable, "lost": lost, "stale": 0, "indeterminate": 0,
                       "expired": 0, "unverified": unverified},
            "checked": 10, "durable": durable, "lost": lost, "stale": 0, "resurrected": 0,
            "indeterminate": 0, "unverified": unverified, "errors": {}, "error_rate": 0.0,
            "unavailable_ms": 0, "unavailable_windows": [], "throughput": 1.0,
            "latency_us": {"p50": 1, "p99": 1, "p999": 1, "max": 1},
            "ops_by_kind": {}, "live": {}, "per_second": []
        });
        serde_json::from_value(json).unwrap()
    }

    fn check(s: StrategyReport, expr: (&str, &str)) -> bool {
        let (cmp, bound) = crate::scenario::expect::parse_condition(expr.1).unwrap();
        let e = Expectation {
            strategy: "redis".into(),
            metric: expr.0.into(),
            cmp,
            bound,
        };
        evaluate(&e, &[("redis".to_string(), s)].into_iter().collect()).ok
    }

    #[test]
    fn every_metric_an_expectation_may_name_has_a_value() {
        let s = strategy(1, 9, 0);
        for m in crate::scenario::expect::METRICS {
            assert!(s.metric_range(m).is_some(), "{m}");
        }
        assert_eq!(s.metric("errors.timeout"), Some(0.0));
    }

    /// Issue 15: the guard that fails "lost == 0" when reads went
    /// unverified did not cover `lost_share` (nor, now, the write counts).
    #[test]
    fn every_metric_a_sweep_counts_fails_an_upper_bound_when_reads_went_unverified() {
        for metric in ["lost", "lost_share", "lost_writes", "stale", "stale_writes"] {
            assert!(check(strategy(0, 90, 0), (metric, "< 0.1")), "{metric}");
            assert!(!check(strategy(0, 90, 10), (metric, "< 0.1")), "{metric}");
        }
        // A lower bound still holds: every unread session can only add.
        assert!(check(strategy(5, 90, 10), ("lost", "> 2")));
        // A share can also fall: 10 unread sessions all durable.
        assert!(!check(strategy(5, 85, 10), ("lost_share", "> 0.055")));
        assert!(check(strategy(5, 85, 0), ("lost_share", "> 0.055")));
    }
}
