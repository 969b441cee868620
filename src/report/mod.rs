//! The report: final statistics, checker verdicts, events and expectations.
//! One JSON shape (schema in docs/report.schema.json) and a Markdown table.

mod compare;
pub mod cost;
pub mod diff;
mod expectations;
mod faults;
pub mod html;
mod loading;
mod markdown;
mod strategy;
mod svg;
pub mod sweep;
pub mod words;

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use compare::compare_markdown;
pub use markdown::{GENERATOR_ON_TIME_P99_US, markdown};

use crate::check::checkpoint::Checkpoint;
use crate::check::{ReadCheck, WriteTally};
use crate::events::Event;
use crate::faults::FaultRecord;
use crate::metrics::{OpKind, Percentiles, StrategyStats};
use crate::scenario::Scenario;
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
    /// Every expectation holds, every fault fired and the load generator
    /// ran the whole load.
    pub ok: bool,
    /// Why the load generator stopped before the load was over: the run
    /// is not the drill it asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_error: Option<String>,
    /// DAX nodes' cache counters at the end of the run, per node.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub caches: IndexMap<String, crate::nodes::dax::DaxStats>,
    /// What each strategy's design would cost per month on AWS, at the
    /// scale asked for (docs/COST.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::CostReport>,
    /// External nodes: the run's keys removed from each at the end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_cleanup: Vec<ExternalCleanup>,
}

/// What the end of a run removed from an external node: every key under
/// its prefix (`sd:<tag>:*`). A drill that leaves keys behind (or could not
/// look) is not ok.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExternalCleanup {
    pub node: String,
    pub removed: u64,
    /// Keys of the run still found afterwards (0 when all went).
    pub left: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    /// The fastest operation: what every one of them waited at least
    /// (a link delay's floor). 0 in reports written before it was kept.
    #[serde(default)]
    pub min: u64,
}

impl From<Percentiles> for LatencyUs {
    fn from(p: Percentiles) -> Self {
        Self {
            p50: p.p50,
            p99: p.p99,
            p999: p.p999,
            max: p.max,
            min: p.min,
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
    /// The slowest operation of the second (0 in reports written before
    /// it was kept).
    #[serde(default)]
    pub max_us: u64,
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
    /// Operations that started while another on the same session was in
    /// flight (`workload.concurrency_per_session` above 1).
    #[serde(default)]
    pub overlapped: u64,
    /// Read-modify-write strategies: acknowledged updates whose token a
    /// later legal value lacked although no delete or expiry may have
    /// removed the session since and the value held an update sent
    /// before they were acknowledged — overwritten by an update that never saw them.
    #[serde(default)]
    pub lost_updates: u64,
    /// Read-modify-write strategies: acknowledged updates whose token a
    /// read sent after them found (and no later read missed) — the proof
    /// that `lost_updates` was looked for.
    #[serde(default)]
    pub updates_found: u64,
    /// Optimistic updates: conditional writes refused because the session
    /// changed since it was read (each retried, up to 10 attempts).
    /// `write-through-versioned`: writes a copy refused because it held a
    /// newer one (overlapping writes that reached it out of order).
    #[serde(default)]
    pub conflicts: u64,
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
    /// The longest any session waited for a successful operation: from
    /// its first failed operation to the end of the one that succeeded
    /// (idle time between its operations left out). Unlike a latency, not
    /// capped by `op_timeout`: a freeze shows its real length here.
    #[serde(default)]
    pub max_stall_ms: u64,
    /// When that stall began (ms since the run start).
    #[serde(default)]
    pub max_stall_from_ms: Option<u64>,
    pub ops_by_kind: BTreeMap<String, OpReport>,
    /// Reads during the load that disagreed with the ledger (reads, not
    /// versions: one lost session read ten times counts ten).
    pub live: BTreeMap<String, u64>,
    pub per_second: Vec<SecondReport>,
    /// What its DynamoDB requests of the timed load consumed, by
    /// DynamoDB's own count (`ConsumedCapacity`): the cost model's request
    /// mix.
    #[serde(default, skip_serializing_if = "consumed_nothing")]
    pub consumed: crate::store::billing::Consumed,
    /// What its sessions occupy on its stores, sampled at the end: the
    /// cost model's memory and storage.
    #[serde(default, skip_serializing_if = "footprint_empty")]
    pub footprint: crate::store::Footprint,
    /// Its bulk prefill (`workload.prefill: { sessions, value_bytes }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk: Option<crate::store::bulk::BulkReport>,
}

fn consumed_nothing(c: &crate::store::billing::Consumed) -> bool {
    c.requests() == 0
}

fn footprint_empty(f: &crate::store::Footprint) -> bool {
    *f == crate::store::Footprint::default()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub expr: String,
    pub ok: bool,
    pub observed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A run passes when every expectation holds, every fault fired and the
/// load generator ran the whole load.
fn verdict(
    expectations: &[ExpectationResult],
    faults: &[FaultReport],
    generator_error: Option<&str>,
) -> bool {
    expectations.iter().all(|e| e.ok)
        && !faults.iter().any(FaultReport::failed)
        && generator_error.is_none()
}

/// How many lost (and stale) session ids the report lists.
pub const ID_SAMPLE: usize = 1000;

fn paused_ms(outcome: &RunOutcome) -> u64 {
    let load_start = outcome
        .load_start
        .saturating_duration_since(outcome.started);
    let load_end = outcome.load_end.saturating_duration_since(outcome.started);
    outcome.paused_within(load_start, load_end).as_millis() as u64
}

/// Runs of consecutive seconds with errors.
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
        .map(|e| expectations::evaluate(e, &strategies))
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
        // A bulk prefill that failed: not the drill asked for.
        ok: verdict(&expectations, &faults, outcome.generator_error.as_deref())
            && !strategies
                .values()
                .any(|s| s.bulk.as_ref().is_some_and(|b| b.error.is_some())),
        generator_error: outcome.generator_error.clone(),
        caches,
        cost: None,
        external_cleanup: Vec::new(),
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

#[cfg(test)]
mod verdict_tests {
    use super::*;

    #[test]
    fn a_generator_that_died_fails_the_run_whatever_the_expectations_say() {
        let held = ExpectationResult {
            expr: "redis.lost == 0".into(),
            ok: true,
            observed: Some(0.0),
            note: None,
        };
        assert!(verdict(std::slice::from_ref(&held), &[], None));
        assert!(!verdict(
            &[held],
            &[],
            Some("the load generator died: boom")
        ));
    }
}
