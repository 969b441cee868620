//! One strategy's part of the report, from its outcome: latency and
//! throughput per second and per operation, errors and their windows,
//! what the checker judged, and the metrics `expect:` can name.

use super::*;

impl StrategyReport {
    /// `load_ms`: how long the load ran (pauses left out).
    pub(super) fn build(o: &StrategyOutcome, load_ms: u64) -> Self {
        let s: &StrategyStats = &o.stats;
        let sw = &o.sweep;
        let errors_total = s.error_total();
        let stall = s.stalls.longest();
        let per_second = (0..s.latency.seconds().max(s.throughput.len()))
            .map(|t| {
                let w = s.latency.window(t);
                SecondReport {
                    t_s: t as u64,
                    ops: s.throughput.get(t).copied().unwrap_or(0),
                    errors: s.errors_per_second.get(t).copied().unwrap_or(0),
                    p50_us: w.p50,
                    p99_us: w.p99,
                    max_us: w.max,
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
            lost: sw.count(ReadCheck::Lost),
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
            overlapped: s.overlapped,
            lost_updates: o.lost_updates,
            updates_found: o.updates_found,
            conflicts: o.conflicts,
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
            max_stall_ms: stall.map_or(0, |(_, d)| d.as_millis() as u64),
            max_stall_from_ms: stall.map(|(at, _)| at.as_millis() as u64),
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
            consumed: o.consumed,
            footprint: o.footprint.clone(),
            bulk: o.bulk.clone(),
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
            "overlapped" => exact(self.overlapped as f64),
            "lost_updates" => exact(self.lost_updates as f64),
            "updates_found" => exact(self.updates_found as f64),
            "conflicts" => exact(self.conflicts as f64),
            "errors" => exact(self.errors.values().sum::<u64>() as f64),
            "error_rate" => exact(self.error_rate),
            "unavailable_ms" => exact(self.unavailable_ms as f64),
            "max_stall_ms" => exact(self.max_stall_ms as f64),
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
            "latency.min_ms" => exact(ms(self.latency_us.min)),
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
