//! `expect:` thresholds: `<strategy>.<metric>: "<op> <number>"`.

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
    pub bound: f64,
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
    "lost",
    "lost_share",
    "stale",
    "resurrected",
    "indeterminate",
    "unverified",
    "errors",
    "error_rate",
    "unavailable_ms",
    "latency.p50_ms",
    "latency.p99_ms",
    "latency.p999_ms",
    "latency.max_ms",
    "throughput",
];

/// Parse `"< 5"`, `"== 0"`, `">=0.9"`.
pub fn parse_condition(s: &str) -> Result<(Cmp, f64), String> {
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
            let bound: f64 = rest
                .trim()
                .parse()
                .map_err(|_| format!("expected a number after `{sym}`, got {:?}", rest.trim()))?;
            return Ok((cmp, bound));
        }
    }
    Err(format!(
        "a condition is an operator (== != < <= > >=) and a number, e.g. \"< 5\"; got {s:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse() {
        assert_eq!(parse_condition("== 0"), Ok((Cmp::Eq, 0.0)));
        assert_eq!(parse_condition("<5"), Ok((Cmp::Lt, 5.0)));
        assert_eq!(parse_condition(" >= 0.9 "), Ok((Cmp::Ge, 0.9)));
        assert!(parse_condition("about 5").is_err());
        assert!(parse_condition("< five").is_err());
        assert!(Cmp::Le.holds(5.0, 5.0) && !Cmp::Lt.holds(5.0, 5.0));
    }
}
