//! `expect:` thresholds: `<strategy>.<metric>: "<op> <bound>"`, where the
//! bound is a number or another strategy's metric, optionally scaled:
//! `"< 5"`, `"< dynamodb.latency.p50_ms"`, `"< 0.5 * dynamodb.latency.p50_ms"`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    pub fn holds(self, observed: f64, bound: f64) -> bool {
        match self {
            Cmp::Eq => observed == bound,
            Cmp::Ne => observed != bound,
            Cmp::Lt => observed < bound,
            Cmp::Le => observed <= bound,
            Cmp::Gt => observed > bound,
            Cmp::Ge => observed >= bound,
        }
    }
}

/// One threshold, e.g. `redis.latency.p99_ms < 5`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub strategy: String,
    /// Metric path within the strategy, e.g. `lost`, `latency.p99_ms`, `errors.timeout`.
    pub metric: String,
    pub cmp: Cmp,
    pub bound: Bound,
}

/// What an observed value is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Value(f64),
    /// `factor` × another strategy's metric in the same run.
    Metric {
        factor: f64,
        strategy: String,
        metric: String,
    },
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Value(v) => write!(f, "{v}"),
            Bound::Metric {
                factor,
                strategy,
                metric,
            } if *factor == 1.0 => write!(f, "{strategy}.{metric}"),
            Bound::Metric {
                factor,
                strategy,
                metric,
            } => write!(f, "{factor} * {strategy}.{metric}"),
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} {} {}",
            self.strategy,
            self.metric,
            self.cmp.symbol(),
            self.bound
        )
    }
}

/// Metrics an expectation may name (besides `errors.<class>`).
pub const METRICS: &[&str] = &[
    "ops",
    "acked_writes",
    "lost_writes",
    "stale_writes",
    "durable_writes",
    "indeterminate_writes",
    "unverified_writes",
    "durable",
    "lost",
    "lost_share",
    "stale",
    "resurrected",
    "indeterminate",
    "unverified",
    "lost_from_cache",
    "stale_from_cache",
    "proven_lost",
    "proven_stale",
    "fallbacks",
    "refused",
    "violations",
    "overlapped",
    "lost_updates",
    "updates_found",
    "conflicts",
    "errors",
    "error_rate",
    "unavailable_ms",
    "max_stall_ms",
    "latency.p50_ms",
    "latency.p99_ms",
    "latency.p999_ms",
    "latency.max_ms",
    "latency.min_ms",
    "scheduler_lag.p50_ms",
    "scheduler_lag.p99_ms",
    "throughput",
];

/// Parse `"< 5"`, `"== 0"`, `">=0.9"`, `"< 0.5 * dynamodb.latency.p50_ms"`.
pub fn parse_condition(s: &str) -> Result<(Cmp, Bound), String> {
    let s = s.trim();
    let ops = [
        ("==", Cmp::Eq),
        ("!=", Cmp::Ne),
        ("<=", Cmp::Le),
        (">=", Cmp::Ge),
        ("<", Cmp::Lt),
        (">", Cmp::Gt),
    ];
    for (sym, cmp) in ops {
        if let Some(rest) = s.strip_prefix(sym) {
            return parse_bound(rest.trim())
                .map(|b| (cmp, b))
                .ok_or_else(|| {
                    format!(
                        "expected a number or <strategy>.<metric> (optionally `F * `) after `{sym}`, got {:?}",
                        rest.trim()
                    )
                });
        }
    }
    Err(format!(
        "a condition is an operator (== != < <= > >=) and a number, e.g. \"< 5\"; got {s:?}"
    ))
}

fn parse_bound(s: &str) -> Option<Bound> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(Bound::Value(v));
    }
    let (factor, path) = match s.split_once('*') {
        Some((f, p)) => (f.trim().parse::<f64>().ok()?, p.trim()),
        None => (1.0, s),
    };
    let (strategy, metric) = path.split_once('.')?;
    let named = |x: &str| {
        !x.is_empty()
            && x.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (named(strategy) && named(metric)).then(|| Bound::Metric {
        factor,
        strategy: strategy.to_string(),
        metric: metric.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse() {
        let v = Bound::Value;
        assert_eq!(parse_condition("== 0"), Ok((Cmp::Eq, v(0.0))));
        assert_eq!(parse_condition("<5"), Ok((Cmp::Lt, v(5.0))));
        assert_eq!(parse_condition(" >= 0.9 "), Ok((Cmp::Ge, v(0.9))));
        assert_eq!(
            parse_condition("< 0.5 * dynamodb.latency.p50_ms"),
            Ok((
                Cmp::Lt,
                Bound::Metric {
                    factor: 0.5,
                    strategy: "dynamodb".into(),
                    metric: "latency.p50_ms".into()
                }
            ))
        );
        assert!(matches!(
            parse_condition("<= write-through.lost"),
            Ok((Cmp::Le, Bound::Metric { factor: 1.0, .. }))
        ));
        assert!(parse_condition("about 5").is_err());
        assert!(parse_condition("< five").is_err());
        assert!(parse_condition("< x * redis.lost").is_err());
        assert!(Cmp::Le.holds(5.0, 5.0) && !Cmp::Lt.holds(5.0, 5.0));
    }
}
