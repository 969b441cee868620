//! Scenarios: a topology, store strategies, a workload, a fault timeline
//! and `expect:` thresholds, validated with file:line:col errors.

pub mod captions;
mod default;
mod document;
pub mod expect;
mod model;
mod spec;
mod targets;
mod timeline;
mod topology;
mod workload;

use std::path::Path;
use std::time::Duration;

pub use default::{default_workload, for_topology, load_any};
pub use document::Document;
pub use expect::{Bound, Cmp, Expectation};
pub use model::*;
use spec::ScenarioSpec;

use crate::store::StrategyKind;
use crate::topology::Topology;
use crate::yaml::{FileError, Problem, Problems, SourceText, parse_spec};

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, FileError> {
        Self::parse(&SourceText::read(path)?)
    }

    /// Does every timeline entry fit in a load of length `load` (e.g. a
    /// `--duration` given on the command line)? A fault that would never
    /// fire tests nothing: each entry that does not fit is named.
    pub fn fits(&self, load: Duration) -> Result<(), FileError> {
        let problems: Vec<Problem> = self
            .timeline
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.misfit(load).map(|why| {
                    Problem::new(
                        e.pos,
                        format!("timeline[{i}]"),
                        format!("{why} (--duration {})", humantime::format_duration(load)),
                    )
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(FileError {
                file: self.source.clone(),
                problems,
            })
        }
    }

    pub fn parse(src: &SourceText) -> Result<Scenario, FileError> {
        let (spec, positions) = parse_spec::<ScenarioSpec>(src)?;
        let mut c = Problems::new(&positions);
        let topology = topology::topology(&mut c, src, &spec.topology)?;
        let scenario = validate(&mut c, src, spec, topology);
        c.finish(&src.path)?;
        Ok(scenario)
    }
}

fn validate(
    c: &mut Problems<'_>,
    src: &SourceText,
    spec: ScenarioSpec,
    topology: Topology,
) -> Scenario {
    if spec.name.trim().is_empty() {
        c.at("name", "name must not be empty");
    }
    let mut strategies = Vec::new();
    for (i, s) in spec.strategies.iter().enumerate() {
        match StrategyKind::parse(s) {
            Some(k) if strategies.contains(&k) => c.at(
                &format!("strategies[{i}]"),
                format!("strategy `{s}` is listed twice"),
            ),
            Some(k) => strategies.push(k),
            None => c.at(
                &format!("strategies[{i}]"),
                format!(
                    "unknown strategy `{s}`, expected one of: {}",
                    StrategyKind::ALL
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    if spec.strategies.is_empty() {
        c.at("strategies", "name at least one strategy");
    }
    let claim = spec.claim.as_ref().and_then(|cl| {
        if !SEEDS.iter().any(|(id, _, _)| *id == cl.seed) {
            let ids: Vec<&str> = SEEDS.iter().map(|(id, _, _)| *id).collect();
            c.at(
                "claim.seed",
                format!(
                    "unknown seed `{}`, expected one of: {}",
                    cl.seed,
                    ids.join(", ")
                ),
            );
            return None;
        }
        if cl.says.trim().is_empty() {
            c.at("claim.says", "say what the seed claims");
            return None;
        }
        Some(Claim {
            seed: cl.seed.clone(),
            says: cl.says.trim().to_string(),
        })
    });
    let targets = targets::targets(c, &spec, &topology, &strategies);
    let workload = workload::workload(c, &spec.workload);
    if workload.bulk.is_some() {
        for s in strategies.iter().filter(|s| s.bulk_copies() == 0) {
            c.at(
                "workload.prefill",
                format!(
                    "strategy `{}` takes no bulk prefill (it runs with redis, dynamodb, write-through, cache-aside, the dax and the update strategies)",
                    s.name()
                ),
            );
        }
    }
    let external = topology.external_nodes();
    workload::external_rate(c, &spec.workload, workload.rates.total(), &external);
    if !external.is_empty() {
        // What is known to keep within the promises on a system we do
        // not run: one strategy (the rate cap is its rate), session keys
        // that carry a TTL, no burst before the timed load.
        // Session keys and items only, each with the workload's TTL, under
        // the run's namespace (what the cleanup knows how to remove).
        let known = |k: &StrategyKind| {
            matches!(
                k,
                StrategyKind::Redis
                    | StrategyKind::Memcached
                    | StrategyKind::Dynamodb
                    | StrategyKind::WriteThrough
                    | StrategyKind::CacheAside
            )
        };
        if strategies.len() != 1 || !strategies.iter().all(known) {
            c.at(
                "strategies",
                format!(
                    "against external nodes ({}) one strategy runs, `redis`, `memcached`, `dynamodb`, `write-through` or `cache-aside`, for now (several would multiply the capped rate)",
                    external.join(", ")
                ),
            );
        }
        if workload.prefill {
            c.at(
                "workload.prefill",
                "prefill writes every session at once, unthrottled: not against external nodes",
            );
        }
    }
    let timeline = timeline::validate(c, &spec.timeline, &topology, workload.duration);
    let captions = captions::validate(c, &spec.captions, &timeline, workload.duration);
    let check = match spec.check.as_deref() {
        None => CheckMode::default(),
        Some(s) => CheckMode::parse(s).unwrap_or_else(|| {
            c.at(
                "check",
                format!("unknown check `{s}`, expected checkpoints (default) or end-only"),
            );
            CheckMode::default()
        }),
    };
    let mut expectations = Vec::new();
    for (key, cond) in &spec.expect {
        let path = format!("expect.{key}");
        let Some((strategy, metric)) = key.split_once('.') else {
            c.at(
                &path,
                format!("`{key}` must be <strategy>.<metric>, e.g. redis.lost"),
            );
            continue;
        };
        if !strategies.iter().any(|s| s.name() == strategy) {
            c.at(
                &path,
                format!("strategy `{strategy}` is not among this scenario's strategies"),
            );
            continue;
        }
        if !known_metric(metric) {
            c.at(
                &path,
                format!(
                    "unknown metric `{metric}`, expected one of: {}, errors.<class>",
                    expect::METRICS.join(", ")
                ),
            );
            continue;
        }
        // `> 0.2 and < 0.5`: a range is two expectations.
        for part in cond.split(" and ") {
            match expect::parse_condition(part) {
                Ok((
                    _,
                    Bound::Metric {
                        strategy: other,
                        metric: m,
                        ..
                    },
                )) if !strategies.iter().any(|s| s.name() == other) || !known_metric(&m) => c.at(
                    &path,
                    format!(
                        "`{other}.{m}` is not a metric of this scenario's strategies ({})",
                        strategies
                            .iter()
                            .map(|s| s.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                Ok((cmp, bound)) => expectations.push(Expectation {
                    strategy: strategy.to_string(),
                    metric: metric.to_string(),
                    cmp,
                    bound,
                }),
                Err(e) => c.at(&path, e),
            }
        }
    }
    Scenario {
        name: spec.name,
        description: spec.description,
        question: spec.question,
        exam: spec
            .exam
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty()),
        claim,
        source: src.path.clone(),
        topology,
        strategies,
        targets,
        workload,
        timeline,
        check,
        expectations,
        captions,
    }
}

fn known_metric(metric: &str) -> bool {
    expect::METRICS.contains(&metric)
        || metric
            .strip_prefix("errors.")
            .is_some_and(|class| crate::store::ErrorClass::parse(class).is_some())
}
