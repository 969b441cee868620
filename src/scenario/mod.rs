//! Scenarios: a topology, store strategies, a workload, a fault timeline
//! and `expect:` thresholds, validated with file:line:col errors.

mod default;
pub mod expect;
mod model;
mod spec;
mod timeline;

use std::path::Path;
use std::time::Duration;

pub use default::{default_workload, for_topology, load_any};
pub use expect::{Bound, Cmp, Expectation};
pub use model::*;
use spec::ScenarioSpec;

use crate::store::{Backend, Patterns, StrategyKind, Targets};
use crate::topology::{Topology, TopologySpec, validate_at};
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
        let topology = topology(&mut c, src, &spec.topology)?;
        let scenario = validate(&mut c, src, spec, topology);
        c.finish(&src.path)?;
        Ok(scenario)
    }
}

/// A file in `topologies/`: a topology or a scenario (which has a workload).
pub enum Document {
    Topology(Topology),
    Scenario(Box<Scenario>),
}

impl Document {
    pub fn load(path: &Path) -> Result<Document, FileError> {
        let src = SourceText::read(path)?;
        let is_scenario = serde_yaml::from_str::<serde_yaml::Value>(&src.text)
            .ok()
            .and_then(|v| {
                v.as_mapping()
                    .map(|m| m.contains_key("workload") || m.contains_key("strategies"))
            })
            .unwrap_or(false);
        if is_scenario {
            Scenario::parse(&src).map(|s| Document::Scenario(Box::new(s)))
        } else {
            Topology::parse(&src).map(Document::Topology)
        }
    }

    /// The topology to provision.
    pub fn topology(&self) -> &Topology {
        match self {
            Document::Topology(t) => t,
            Document::Scenario(s) => &s.topology,
        }
    }
}

/// The scenario's topology: a file next to the scenario, or inline.
fn topology(
    c: &mut Problems<'_>,
    src: &SourceText,
    v: &serde_yaml::Value,
) -> Result<Topology, FileError> {
    match v {
        serde_yaml::Value::String(rel) => {
            let path = src.path.parent().unwrap_or(Path::new(".")).join(rel);
            if !path.is_file() {
                return Err(FileError::single(
                    &src.path,
                    Problem::new(
                        c.pos("topology"),
                        "topology",
                        format!("topology file {} does not exist", path.display()),
                    ),
                ));
            }
            Topology::load(&path)
        }
        serde_yaml::Value::Mapping(_) => {
            let spec: TopologySpec = serde_yaml::from_value(v.clone()).map_err(|e| {
                FileError::single(
                    &src.path,
                    Problem::new(
                        c.pos("topology"),
                        "topology",
                        format!("inline topology: {e}"),
                    ),
                )
            })?;
            validate_at(spec, c.positions(), src, "topology")
        }
        _ => Err(FileError::single(
            &src.path,
            Problem::new(
                c.pos("topology"),
                "topology",
                "topology must be a file name (relative to this file) or an inline topology mapping",
            ),
        )),
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
                    StrategyKind::ALL.map(StrategyKind::name).join(", ")
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
    let targets = targets(c, &spec, &topology, &strategies);
    let workload = workload(c, &spec.workload);
    let timeline = timeline::validate(c, &spec.timeline, &topology, workload.duration);
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
        claim,
        source: src.path.clone(),
        topology,
        strategies,
        targets,
        workload,
        timeline,
        check,
        expectations,
    }
}

fn targets(
    c: &mut Problems<'_>,
    spec: &ScenarioSpec,
    t: &Topology,
    strategies: &[StrategyKind],
) -> Targets {
    for key in spec.targets.keys() {
        if Backend::parse(key).is_none() {
            c.at(
                &format!("targets.{key}"),
                format!(
                    "unknown target `{key}`, expected {}",
                    Backend::ALL.map(Backend::name).join(", ")
                ),
            );
        }
    }
    let mut out = Targets::default();
    for backend in Backend::ALL {
        let name = backend.name();
        let needed = strategies.iter().any(|s| s.uses(backend));
        let path = format!("targets.{name}");
        let found = match spec.targets.get(name) {
            Some(node) => match t.nodes.iter().find(|n| &n.name == node) {
                Some(n) if backend.served_by(n.kind.kind_name()) => Some(node.clone()),
                Some(n) => {
                    c.at(
                        &path,
                        format!(
                            "node `{node}` is a {} node, not a {name} node",
                            n.kind.name()
                        ),
                    );
                    None
                }
                None => {
                    c.at(&path, format!("the topology has no node `{node}`"));
                    None
                }
            },
            None => {
                let found = t
                    .nodes
                    .iter()
                    .find(|n| backend.served_by(n.kind.kind_name()))
                    .map(|n| n.name.clone());
                if needed && found.is_none() {
                    c.at(
                        "strategies",
                        format!(
                            "a strategy here needs a {name} node, and topology `{}` has none",
                            t.name
                        ),
                    );
                }
                found
            }
        };
        out.set(backend, found);
    }
    out
}

fn known_metric(metric: &str) -> bool {
    expect::METRICS.contains(&metric)
        || metric
            .strip_prefix("errors.")
            .is_some_and(|class| crate::store::ErrorClass::parse(class).is_some())
}

/// `300/s`, `18000/m`, `300` (per second).
fn rate(c: &mut Problems<'_>, path: &str, v: &Option<serde_yaml::Value>) -> f64 {
    let Some(v) = v else { return 0.0 };
    let parsed = match v {
        serde_yaml::Value::Number(n) => n.as_f64(),
        serde_yaml::Value::String(s) => {
            let (num, per) = s.split_once('/').unwrap_or((s, "s"));
            let per = match per.trim() {
                "s" => Some(1.0),
                "m" => Some(60.0),
                "h" => Some(3600.0),
                _ => None,
            };
            num.trim().parse::<f64>().ok().zip(per).map(|(n, p)| n / p)
        }
        _ => None,
    };
    match parsed {
        Some(r) if r >= 0.0 && r.is_finite() && r <= 1_000_000.0 => r,
        _ => {
            let shown = serde_yaml::to_string(v).unwrap_or_default();
            c.at(
                path,
                format!(
                    "a rate is like 300/s, 100/m or 300 (per second, at most 1000000); got {}",
                    shown.trim()
                ),
            );
            // NaN marks a rate already reported as invalid.
            f64::NAN
        }
    }
}

fn workload(c: &mut Problems<'_>, w: &spec::WorkloadSpec) -> Workload {
    if w.sessions == 0 || w.sessions > 10_000_000 {
        c.at(
            "workload.sessions",
            "sessions must be between 1 and 10000000",
        );
    }
    let rates = Rates {
        create: rate(c, "workload.rates.create", &w.rates.create),
        read: rate(c, "workload.rates.read", &w.rates.read),
        update: rate(c, "workload.rates.update", &w.rates.update),
        delete: rate(c, "workload.rates.delete", &w.rates.delete),
    };
    // NaN marks a rate already reported as invalid.
    if !rates.total().is_nan() && rates.total() <= 0.0 {
        c.at("workload.rates", "at least one rate must be above zero");
    }
    let value_bytes = w.value_bytes.unwrap_or(512);
    if !(32..=400_000).contains(&value_bytes) {
        c.at(
            "workload.value_bytes",
            "value_bytes must be between 32 and 400000 (DynamoDB's item limit)",
        );
    }
    let connections = w.connections.unwrap_or(8);
    if !(1..=512).contains(&connections) {
        c.at(
            "workload.connections",
            "connections must be between 1 and 512",
        );
    }
    Workload {
        sessions: w.sessions,
        duration: c.duration("workload.duration", &w.duration),
        rates,
        ttl: w
            .ttl
            .as_deref()
            .map(|s| c.duration("workload.ttl", s))
            .unwrap_or(Duration::from_secs(1800)),
        value_bytes,
        op_timeout: w
            .op_timeout
            .as_deref()
            .map(|s| c.duration("workload.op_timeout", s))
            .unwrap_or(Duration::from_secs(1)),
        prefill: w.prefill.unwrap_or(false),
        connections,
        seed: w.seed.unwrap_or(1),
        patterns: patterns(c, w.patterns.as_ref()),
    }
}

fn patterns(c: &mut Problems<'_>, p: Option<&spec::PatternsSpec>) -> Patterns {
    let mut out = Patterns::default();
    let Some(p) = p else { return out };
    if let Some(s) = &p.lock_lease {
        out.lock_lease = c.duration("workload.patterns.lock_lease", s);
    }
    if let Some(s) = &p.rate_limit {
        let parsed = s.split_once('/').and_then(|(max, window)| {
            let max = max.trim().parse::<u64>().ok().filter(|m| *m > 0)?;
            let window = humantime::parse_duration(window.trim())
                .ok()
                .filter(|w| !w.is_zero())?;
            Some((max, window))
        });
        match parsed {
            Some((max, window)) => {
                out.limit_max = max;
                out.limit_window = window;
            }
            None => c.at(
                "workload.patterns.rate_limit",
                format!("expected requests per window like 30/60s; got {s:?}"),
            ),
        }
    }
    out
}
