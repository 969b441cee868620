//! The report: final statistics, checker verdicts, events and expectations.
//! One JSON shape (schema in docs/report.schema.json) and a Markdown table.

mod compare;
mod faults;
mod markdown;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use compare::{compare_markdown, lost_share};
pub use markdown::markdown;

use crate::check::ReadCheck;
use crate::events::Event;
use crate::faults::FaultRecord;
use crate::metrics::{OpKind, Percentiles, StrategyStats};
use crate::scenario::{Bound, Cmp, Expectation, Scenario};
use crate::workload::{RunOutcome, StrategyOutcome};
pub use faults::{FaultReport, FaultWindow};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
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
    /// Every fault injected, with its window's numbers.
    #[serde(default)]
    pub faults: Vec<FaultReport>,
    pub expectations: Vec<ExpectationResult>,
    /// Every expectation holds.
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
pub struct StrategyReport {
    /// Client configuration: timeouts and retry policy.
    pub client: String,
    pub ops: u64,
    pub acked_writes: u64,
    /// Sessions read back in the final sweep.
    pub checked: u64,
    pub durable: u64,
    /// Acknowledged, not expired, not deleted, and missing in the final sweep.
    pub lost: u64,
    pub stale: u64,
    pub resurrected: u64,
    /// Writes or deletes that failed or timed out but did land.
    pub indeterminate: u64,
    /// Sessions the final sweep could not read.
    pub unverified: u64,
    /// Of the lost and stale sessions, those the store of record (DynamoDB
    /// behind a cache) holds at the acknowledged version: the cache's doing.
    #[serde(default)]
    pub from_cache: u64,
    /// Pattern strategies: answered but not done (a lock already held, a
    /// request over the limit).
    #[serde(default)]
    pub refused: u64,
    /// Pattern strategies: a lock granted while an acknowledged lease was
    /// live (two holders), an admit beyond the limit.
    #[serde(default)]
    pub violations: u64,
    /// Ids of the lost sessions (the first [`ID_SAMPLE`]), for drill-down:
    /// the store key is `sd:<strategy>:session:<id>`.
    #[serde(default)]
    pub lost_ids: Vec<u64>,
    #[serde(default)]
    pub stale_ids: Vec<u64>,
    pub errors: BTreeMap<String, u64>,
    pub error_rate: f64,
    pub unavailable_ms: u64,
    pub unavailable_windows: Vec<[u64; 2]>,
    pub throughput: f64,
    pub latency_us: LatencyUs,
    /// How late the load generator started operations (part of
    /// `latency_us`: latency counts from the intended start). A large lag
    /// means the machine, not the store, set the latency.
    #[serde(default)]
    pub scheduler_lag_us: LatencyUs,
    pub ops_by_kind: BTreeMap<String, OpReport>,
    /// Reads during the load that disagreed with the ledger.
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

/// Metrics counted by the final sweep: with sessions it could not read,
/// they are lower bounds.
const SWEPT: [&str; 3] = ["lost", "stale", "resurrected"];

impl StrategyReport {
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
            checked: sw.checked,
            durable: sw.count(ReadCheck::Durable),
            lost: sw.count(ReadCheck::Missing),
            stale: sw.count(ReadCheck::Stale),
            resurrected: sw.count(ReadCheck::Resurrected),
            indeterminate: sw.count(ReadCheck::Indeterminate)
                + s.live.get(&ReadCheck::Indeterminate).copied().unwrap_or(0),
            unverified: sw.unverified,
            from_cache: sw.from_cache,
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
                .map(|(c, n)| {
                    (
                        serde_json::to_value(c)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        *n,
                    )
                })
                .collect(),
            per_second,
        }
    }

    /// What a violation and a refusal mean for strategy `name`, if it is a
    /// pattern strategy that has them.
    pub fn pattern_terms(name: &str) -> Option<(&'static str, &'static str)> {
        use crate::scenario::{Semantics, StrategyKind};
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
        let ms = |us: u64| us as f64 / 1000.0;
        Some(match name {
            "ops" => self.ops as f64,
            "acked_writes" => self.acked_writes as f64,
            "lost" => self.lost as f64,
            "stale" => self.stale as f64,
            "resurrected" => self.resurrected as f64,
            "indeterminate" => self.indeterminate as f64,
            "unverified" => self.unverified as f64,
            "from_cache" => self.from_cache as f64,
            "refused" => self.refused as f64,
            "violations" => self.violations as f64,
            "errors" => self.errors.values().sum::<u64>() as f64,
            "error_rate" => self.error_rate,
            "unavailable_ms" => self.unavailable_ms as f64,
            "throughput" => self.throughput,
            "lost_share" => lost_share(self).unwrap_or(0.0),
            "latency.p50_ms" => ms(self.latency_us.p50),
            "latency.p99_ms" => ms(self.latency_us.p99),
            "latency.p999_ms" => ms(self.latency_us.p999),
            "latency.max_ms" => ms(self.latency_us.max),
            other => {
                let class = other.strip_prefix("errors.")?;
                self.errors.get(class).copied().unwrap_or(0) as f64
            }
        })
    }
}

fn default_provider() -> crate::topology::Provider {
    crate::topology::Provider::Process
}

pub fn build(
    scenario: &Scenario,
    outcome: &RunOutcome,
    faults: &[FaultRecord],
    caches: IndexMap<String, crate::nodes::dax::DaxStats>,
) -> Report {
    let load_ms = outcome.load.as_millis() as u64;
    let strategies: IndexMap<String, StrategyReport> = outcome
        .strategies
        .iter()
        .map(|o| (o.kind.name().to_string(), StrategyReport::build(o, load_ms)))
        .collect();
    let expectations: Vec<ExpectationResult> = scenario
        .expectations
        .iter()
        .map(|e| evaluate(e, &strategies))
        .collect();
    let w = &scenario.workload;
    Report {
        scenario: scenario.name.clone(),
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
        ok: expectations.iter().all(|e| e.ok),
        caches,
        strategies,
        events: outcome.events.clone(),
        faults: faults::build(scenario, outcome, faults),
        expectations,
    }
}

fn evaluate(e: &Expectation, strategies: &IndexMap<String, StrategyReport>) -> ExpectationResult {
    let strategy = strategies.get(&e.strategy);
    let observed = strategy.and_then(|s| s.metric(&e.metric));
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
    let mut ok = observed.zip(bound).is_some_and(|(v, b)| e.cmp.holds(v, b));
    let mut note = None;
    // "lost == 0" is not proven if the sweep could not read every session:
    // an upper bound on a lower-bound count fails.
    if let Some(s) = strategy
        && s.unverified > 0
        && SWEPT.contains(&e.metric.as_str())
        && matches!(e.cmp, Cmp::Eq | Cmp::Lt | Cmp::Le)
    {
        ok = false;
        note = Some(format!(
            "{} sessions could not be read in the final sweep; {} is a lower bound",
            s.unverified, e.metric
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
        observed,
        note,
    }
}
