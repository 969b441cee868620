//! An `expect:` line judged against the report: it holds only where it
//! holds for every value the true one may take.

use indexmap::IndexMap;

use super::{ExpectationResult, StrategyReport};
use crate::scenario::{Bound, Expectation};

pub(super) fn evaluate(
    e: &Expectation,
    strategies: &IndexMap<String, StrategyReport>,
) -> ExpectationResult {
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
