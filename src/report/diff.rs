//! What changed between two reports of the same scenario: the verdicts
//! (the run's, each expectation's, each fault's firing), and the numbers
//! a drill is about — lost and stale writes, unavailability, latency —
//! per strategy, with thresholds (`--fail-on "lost_writes > +10%"`) that
//! make a change a regression. For CI gates of teams that drill every
//! change of their client configuration.

use std::fmt::Write as _;

use super::Report;
use crate::scenario::expect::METRICS;

/// The numbers every diff shows, per strategy (expectation metric names).
pub const SHOWN: &[&str] = &[
    "acked_writes",
    "lost_writes",
    "stale_writes",
    "lost",
    "stale",
    "errors",
    "unavailable_ms",
    "max_stall_ms",
    "latency.p50_ms",
    "latency.p99_ms",
    // A sweep that could not read every session counts less than there
    // is: these say how much less.
    "unverified",
    "unverified_writes",
];

/// `[STRATEGY.]METRIC > +N[%]` (a rise beyond N) or `< -N[%]` (a fall).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub text: String,
    /// `None`: every strategy of both reports.
    pub strategy: Option<String>,
    pub metric: String,
    /// Rise (`>`) or fall (`<`).
    pub rise: bool,
    pub amount: f64,
    pub percent: bool,
}

impl Rule {
    /// `strategies`: the names a rule's prefix may be (else it is part of
    /// the metric, as in `latency.p99_ms`).
    pub fn parse(text: &str, strategies: &[&str]) -> Result<Rule, String> {
        let bad = |why: &str| {
            format!(
                "--fail-on {text:?}: {why} (e.g. \"lost_writes > +10%\", \"redis.latency.p99_ms > +2\", \"throughput < -20%\")"
            )
        };
        let (left, rise, right) = if let Some((l, r)) = text.split_once('>') {
            (l, true, r)
        } else if let Some((l, r)) = text.split_once('<') {
            (l, false, r)
        } else {
            return Err(bad("no > or <"));
        };
        let left = left.trim();
        let (strategy, metric) = match left.split_once('.') {
            Some((s, m)) if strategies.contains(&s) => (Some(s.to_string()), m),
            _ => (None, left),
        };
        let error_class = metric
            .strip_prefix("errors.")
            .is_some_and(|c| crate::store::ErrorClass::parse(c).is_some());
        if !METRICS.contains(&metric) && !error_class {
            return Err(bad(&format!("unknown metric `{metric}`")));
        }
        let right = right.trim();
        let sign = if rise { '+' } else { '-' };
        let Some(n) = right.strip_prefix(sign) else {
            return Err(bad(&format!(
                "the change must be signed: `{sign}N` or `{sign}N%` after `{}`",
                if rise { '>' } else { '<' }
            )));
        };
        let (n, percent) = match n.strip_suffix('%') {
            Some(p) => (p, true),
            None => (n, false),
        };
        let amount: f64 = n
            .trim()
            .parse()
            .ok()
            .filter(|a: &f64| a.is_finite() && *a >= 0.0)
            .ok_or_else(|| bad(&format!("`{n}` is not a number")))?;
        Ok(Rule {
            text: text.to_string(),
            strategy,
            metric: metric.to_string(),
            rise,
            amount,
            percent,
        })
    }

    /// Does going from `a` to `b` break it, each the range the value may
    /// truly have (a count from a sweep that could not read everything is
    /// a lower bound)? Judged at the worst end of both.
    pub fn broken_range(&self, a: (f64, f64), b: (f64, f64)) -> bool {
        if self.rise {
            self.broken(a.0, b.1)
        } else {
            self.broken(a.1, b.0)
        }
    }

    /// Does going from `a` to `b` break it?
    pub fn broken(&self, a: f64, b: f64) -> bool {
        let change = if self.rise { b - a } else { a - b };
        if change <= 0.0 {
            return false;
        }
        if !self.percent {
            return change > self.amount;
        }
        // From nothing, any change is beyond every percentage.
        a == 0.0 || change / a.abs() * 100.0 > self.amount
    }
}

/// One difference that makes B worse than A.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Regression {
    pub what: String,
}

/// One number of one strategy in both reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub strategy: String,
    pub metric: String,
    pub a: Option<f64>,
    pub b: Option<f64>,
}

/// Two reports side by side.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diff {
    pub scenario: String,
    pub a_run: String,
    pub b_run: String,
    pub a_ok: bool,
    pub b_ok: bool,
    pub changes: Vec<Change>,
    /// Verdict changes for the better, in words.
    pub fixed: Vec<String>,
    /// What could not be compared (a strategy only B has).
    pub notes: Vec<String>,
    pub regressions: Vec<Regression>,
}

/// The names of a report's strategies.
pub fn strategies(r: &Report) -> Vec<&str> {
    r.strategies.keys().map(String::as_str).collect()
}

/// Why `a` and `b` are not two runs of one drill, if they are not: another
/// scenario, another load (sessions, rates, TTL, sizes, timeout, prefill),
/// a load of another length, or another provider.
pub fn incomparable(a: &Report, b: &Report) -> Option<String> {
    if a.scenario != b.scenario {
        return Some(format!(
            "not two runs of one scenario: `{}` and `{}`",
            a.scenario, b.scenario
        ));
    }
    let load = |r: &Report| serde_json::to_value(&r.workload).unwrap_or_default();
    if load(a) != load(b) {
        return Some(format!(
            "two different loads of `{}` (workload {} and {})",
            a.scenario,
            load(a),
            load(b)
        ));
    }
    let within = |x: u64, y: u64| x.abs_diff(y) * 10 <= x.max(y);
    if !within(a.duration_ms, b.duration_ms) {
        return Some(format!(
            "loads of different lengths: {} ms and {} ms",
            a.duration_ms, b.duration_ms
        ));
    }
    (a.provider != b.provider)
        .then(|| format!("different providers: {:?} and {:?}", a.provider, b.provider))
}

/// `b` against `a` under `rules`. With `any_load`, two runs of one
/// scenario are compared even when [`incomparable`] says why not.
pub fn diff(a: &Report, b: &Report, rules: &[Rule], any_load: bool) -> Result<Diff, String> {
    if let Some(why) = incomparable(a, b) {
        if a.scenario != b.scenario {
            return Err(why);
        }
        if !any_load {
            return Err(format!("{why}; --any-load compares them anyway"));
        }
    }
    let mut regressions = Vec::new();
    let mut fixed = Vec::new();
    let mut said = |better: bool, what: String| {
        if better {
            fixed.push(what)
        } else {
            regressions.push(Regression { what })
        }
    };
    if a.ok != b.ok {
        said(
            b.ok,
            format!(
                "the run {}",
                if b.ok {
                    "passes now"
                } else {
                    "no longer passes"
                }
            ),
        );
    }
    for eb in &b.expectations {
        match a.expectations.iter().find(|e| e.expr == eb.expr) {
            Some(ea) if ea.ok != eb.ok => said(
                eb.ok,
                format!(
                    "`{}` {} (observed {} → {})",
                    eb.expr,
                    if eb.ok {
                        "holds now"
                    } else {
                        "held, fails now"
                    },
                    shown(ea.observed),
                    shown(eb.observed)
                ),
            ),
            Some(_) => {}
            None if !eb.ok => said(false, format!("`{}` (new) fails", eb.expr)),
            None => {}
        }
    }
    for ea in &a.expectations {
        if !b.expectations.iter().any(|e| e.expr == ea.expr) {
            said(false, format!("`{}` is no longer checked", ea.expr));
        }
    }
    // Faults paired by kind and target, in order (an added fault does not
    // shift the others).
    let nth = |faults: &[super::FaultReport], i: usize| {
        let f = &faults[i];
        faults[..i]
            .iter()
            .filter(|g| g.kind == f.kind && g.target == f.target)
            .count()
    };
    for (i, fb) in b.faults.iter().enumerate() {
        let name = format!("{} {} at {} ms", fb.kind, fb.target, fb.at_ms);
        let k = nth(&b.faults, i);
        let pair = (0..a.faults.len())
            .find(|&j| {
                a.faults[j].kind == fb.kind
                    && a.faults[j].target == fb.target
                    && nth(&a.faults, j) == k
            })
            .map(|j| &a.faults[j]);
        match pair {
            Some(fa) if fa.failed() && !fb.failed() => {
                said(true, format!("fault {name} works now"))
            }
            Some(fa) if !fa.failed() && fb.failed() => said(
                false,
                format!(
                    "fault {name} did not work: {}",
                    fb.error.as_deref().unwrap_or("did not fire")
                ),
            ),
            Some(_) => {}
            None if fb.failed() => said(false, format!("fault {name} (new) did not work")),
            None => {}
        }
    }
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for (name, sb) in &b.strategies {
        let sa = a.strategies.get(name);
        if sa.is_none() {
            notes.push(format!(
                "strategy {name} is new in B: nothing to compare it with"
            ));
        }
        let mut metrics: Vec<&str> = SHOWN.to_vec();
        for r in rules {
            if !metrics.contains(&r.metric.as_str()) {
                metrics.push(&r.metric);
            }
        }
        for m in metrics {
            let (va, vb) = (sa.and_then(|s| s.metric(m)), sb.metric(m));
            let (ra, rb) = (sa.and_then(|s| s.metric_range(m)), sb.metric_range(m));
            for r in rules
                .iter()
                .filter(|r| r.metric == m && r.strategy.as_ref().is_none_or(|s| s == name))
            {
                if let (Some(x), Some(y), Some(rx), Some(ry)) = (va, vb, ra, rb)
                    && r.broken_range(rx, ry)
                {
                    said(
                        false,
                        format!("{name}.{m}: {} → {} breaks `{}`", num(x), num(y), r.text),
                    );
                }
            }
            changes.push(Change {
                strategy: name.clone(),
                metric: m.to_string(),
                a: va,
                b: vb,
            });
        }
    }
    for name in a.strategies.keys() {
        if !b.strategies.contains_key(name) {
            said(false, format!("strategy {name} is gone"));
        }
    }
    for r in rules {
        if let Some(s) = &r.strategy
            && !b.strategies.contains_key(s)
        {
            said(
                false,
                format!("`{}` names strategy {s}, which B has not", r.text),
            );
        }
    }
    Ok(Diff {
        scenario: b.scenario.clone(),
        a_run: a.run_id.clone(),
        b_run: b.run_id.clone(),
        a_ok: a.ok,
        b_ok: b.ok,
        changes,
        fixed,
        notes,
        regressions,
    })
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

fn shown(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), num)
}

/// The diff as Markdown: verdicts first, then the numbers.
pub fn markdown(d: &Diff) -> String {
    let mut out = String::new();
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "# {}: {} → {}\n\nA: run `{}` · B: run `{}`\n",
        d.scenario,
        verdict(d.a_ok),
        verdict(d.b_ok),
        d.a_run,
        d.b_run,
    );
    if d.regressions.is_empty() {
        let _ = writeln!(out, "No regression.\n");
    } else {
        let _ = writeln!(out, "## Regressions\n");
        for r in &d.regressions {
            let _ = writeln!(out, "- {}", r.what);
        }
        out.push('\n');
    }
    for n in &d.notes {
        let _ = writeln!(out, "Note: {n}\n");
    }
    if !d.fixed.is_empty() {
        let _ = writeln!(out, "## Better\n");
        for f in &d.fixed {
            let _ = writeln!(out, "- {f}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "| strategy | metric | A | B | change |\n|---|---|---:|---:|---:|"
    );
    for c in &d.changes {
        let change = match (c.a, c.b) {
            (Some(a), Some(b)) if a == b => "=".to_string(),
            (Some(a), Some(b)) if a != 0.0 => {
                format!("{} ({:+.0}%)", signed(b - a), (b - a) / a.abs() * 100.0)
            }
            (Some(a), Some(b)) => signed(b - a),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {change} |",
            c.strategy,
            c.metric,
            shown(c.a),
            shown(c.b)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(t: &str) -> Result<Rule, String> {
        Rule::parse(t, &["redis", "dynamodb"])
    }

    #[test]
    fn rules_read_a_metric_a_direction_and_an_amount() {
        let r = rule("lost_writes > +10%").unwrap();
        assert_eq!(
            (r.strategy, r.metric.as_str(), r.rise, r.amount, r.percent),
            (None, "lost_writes", true, 10.0, true)
        );
        let r = rule("redis.latency.p99_ms > +2").unwrap();
        assert_eq!(
            (r.strategy.as_deref(), r.metric.as_str(), r.percent),
            (Some("redis"), "latency.p99_ms", false)
        );
        let r = rule("latency.p99_ms > +2").unwrap();
        assert_eq!((r.strategy, r.metric.as_str()), (None, "latency.p99_ms"));
        assert!(!rule("throughput < -20%").unwrap().rise);
        assert_eq!(
            rule("errors.timeout > +5").unwrap().metric,
            "errors.timeout"
        );
        for bad in [
            "errors.nosuch > +1",
            "lost_writes > 10%",
            "lost_writes",
            "nosuch > +1",
            "lost > +x",
            "lost < +1",
            "lost > +-1",
            "lost > +inf",
        ] {
            assert!(rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rule_breaks_only_beyond_its_amount_in_its_direction() {
        let pct = rule("lost_writes > +10%").unwrap();
        assert!(!pct.broken(100.0, 110.0));
        assert!(pct.broken(100.0, 111.0));
        assert!(!pct.broken(100.0, 50.0));
        assert!(pct.broken(0.0, 1.0));
        assert!(!pct.broken(0.0, 0.0));
        let abs = rule("unavailable_ms > +500").unwrap();
        assert!(!abs.broken(1000.0, 1500.0));
        assert!(abs.broken(1000.0, 1501.0));
        let fall = rule("throughput < -20%").unwrap();
        assert!(fall.broken(100.0, 79.0));
        assert!(!fall.broken(100.0, 81.0));
        assert!(!fall.broken(100.0, 200.0));
    }
}
