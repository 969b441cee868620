//! A scenario's `workload:` — sessions, rates, duration, TTL, timeouts and
//! the seeds' Redis patterns, checked.

use std::time::Duration;

use super::spec;
use super::{Hot, Rates, Workload};
use crate::store::Patterns;
use crate::yaml::Problems;

/// What a drill may offer a system sessiondrill does not run, unless
/// `workload.max_rate` raises it: low, as a shared staging system is not
/// ours to load (issue 20).
pub const EXTERNAL_MAX_RATE: f64 = 200.0;

/// Against external nodes, the rates must add up to at most `max_rate`.
pub(super) fn external_rate(
    c: &mut Problems<'_>,
    w: &spec::WorkloadSpec,
    total: f64,
    external: &[&str],
) {
    let cap = match &w.max_rate {
        Some(_) => rate(c, "workload.max_rate", &w.max_rate),
        None => EXTERNAL_MAX_RATE,
    };
    if external.is_empty() || cap.is_nan() || total.is_nan() || total <= cap {
        return;
    }
    c.at(
        "workload.rates",
        format!(
            "the rates add up to {total:.0}/s, more than the {cap:.0}/s a drill may offer external nodes ({}); raise workload.max_rate if the system is yours to load",
            external.join(", ")
        ),
    );
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

pub(super) fn workload(c: &mut Problems<'_>, w: &spec::WorkloadSpec) -> Workload {
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
    let bulk = prefill(c, w.prefill.as_ref(), value_bytes);
    let connections = w.connections.unwrap_or(8);
    if !(1..=512).contains(&connections) {
        c.at(
            "workload.connections",
            "connections must be between 1 and 512",
        );
    }
    let op_timeout = w
        .op_timeout
        .as_deref()
        .map(|s| c.duration("workload.op_timeout", s))
        .unwrap_or(Duration::from_secs(1));
    let update_work = w
        .update_work
        .as_deref()
        .map(|s| c.duration("workload.update_work", s))
        .unwrap_or(Duration::ZERO);
    if update_work >= op_timeout {
        c.at(
            "workload.update_work",
            "update_work must be shorter than op_timeout (every update would time out)",
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
        op_timeout,
        prefill: bulk.is_some() || matches!(w.prefill, Some(serde_yaml::Value::Bool(true))),
        bulk,
        connections,
        seed: w.seed.unwrap_or(1),
        patterns: patterns(c, w.patterns.as_ref()),
        concurrency_per_session: concurrency(c, w.concurrency_per_session),
        hot: hot(c, w),
        update_work,
    }
}

fn concurrency(c: &mut Problems<'_>, n: Option<u32>) -> u32 {
    let n = n.unwrap_or(1);
    if !(1..=64).contains(&n) {
        c.at(
            "workload.concurrency_per_session",
            "concurrency_per_session must be between 1 and 64",
        );
    }
    n.clamp(1, 64)
}

fn hot(c: &mut Problems<'_>, w: &spec::WorkloadSpec) -> Option<Hot> {
    let share =
        |c: &mut Problems<'_>, path: &str, v: &serde_yaml::Value| match crate::yaml::share(v) {
            Ok(x) => x,
            Err(e) => {
                c.at(path, e);
                0.5
            }
        };
    let traffic = w
        .hot_traffic
        .as_ref()
        .map(|v| share(c, "workload.hot_traffic", v));
    let Some(v) = &w.hot_sessions else {
        if traffic.is_some() {
            c.at(
                "workload.hot_traffic",
                "`hot_traffic` needs `hot_sessions` (which share of the sessions is hot)",
            );
        }
        return None;
    };
    let sessions = share(c, "workload.hot_sessions", v);
    if sessions <= 0.0 || sessions >= 1.0 {
        c.at(
            "workload.hot_sessions",
            "hot_sessions must be above 0 % and below 100 %",
        );
    }
    Some(Hot {
        sessions,
        traffic: traffic.unwrap_or(0.5),
    })
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
            let window = crate::yaml::parse_duration(window)
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

/// Most bulk sessions a prefill writes per strategy.
pub const MAX_BULK: u64 = 100_000_000;

/// `workload.prefill`: `true`/`false`, or `{ sessions, value_bytes }` —
/// the bulk data (`value_bytes` defaults to the workload's).
fn prefill(
    c: &mut Problems<'_>,
    v: Option<&serde_yaml::Value>,
    value_bytes: usize,
) -> Option<crate::store::bulk::Bulk> {
    use serde_yaml::Value;
    let m = match v {
        None | Some(Value::Bool(_)) => return None,
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            c.at(
                "workload.prefill",
                "prefill is true, false, or { sessions: 2M, value_bytes: 1024 }",
            );
            return None;
        }
    };
    for k in m.keys() {
        if !matches!(k.as_str(), Some("sessions" | "value_bytes")) {
            c.at(
                "workload.prefill",
                format!(
                    "unknown field `{}` in prefill: expected sessions, value_bytes",
                    k.as_str().unwrap_or("?")
                ),
            );
            return None;
        }
    }
    let sessions = match m.get("sessions").map(count) {
        Some(Some(n)) if (1..=MAX_BULK).contains(&n) => n,
        Some(_) => {
            c.at(
                "workload.prefill.sessions",
                format!("sessions is a count from 1 to {MAX_BULK}, like 2M, 250k or 100000"),
            );
            return None;
        }
        None => {
            c.at(
                "workload.prefill",
                "prefill needs sessions: how many bulk sessions to write",
            );
            return None;
        }
    };
    let value_bytes = match m.get("value_bytes") {
        None => value_bytes,
        Some(v) => match count(v) {
            Some(n) if (16..=400_000).contains(&n) => n as usize,
            _ => {
                c.at(
                    "workload.prefill.value_bytes",
                    "value_bytes must be between 16 and 400000 (DynamoDB's item limit)",
                );
                return None;
            }
        },
    };
    Some(crate::store::bulk::Bulk {
        sessions,
        value_bytes,
    })
}

/// A count: a whole number, or a string like `2M`, `250k`.
fn count(v: &serde_yaml::Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let n = crate::yaml::scaled(v.as_str()?)?;
    (n >= 1.0 && n <= MAX_BULK as f64).then(|| n.round() as u64)
}
