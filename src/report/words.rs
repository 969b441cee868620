//! What a fault did, in one plain sentence: for the dashboard's events
//! panel once a checkpoint has read its effect, and for the summary and
//! the picker once the run is over. Every number comes from the report's
//! own data (a checkpoint's tally, a fault's window), never from an
//! estimate of its own.

use crate::check::checkpoint::Checkpoint;
use crate::faults::FaultKind;

use super::{FaultReport, Report};

/// Who was hit and how: "cache-0 lost power 303 ms after its last fsync".
pub fn head(kind: &str, processes: &[String], target: &str, unsynced_ms: Option<u64>) -> String {
    let who = if processes.is_empty() {
        target.to_string()
    } else {
        processes.join(", ")
    };
    let said = FaultKind::parse(kind).map_or_else(|| format!("had a {kind}"), |k| k.said().into());
    match unsynced_ms {
        Some(ms) => format!("{who} {said} {ms} ms after its last fsync"),
        None => format!("{who} {said}"),
    }
}

/// Plural in words: "1 acknowledged write", "45 acknowledged writes".
fn writes(n: u64) -> String {
    if n == 1 {
        "1 acknowledged write".into()
    } else {
        format!("{n} acknowledged writes")
    }
}

/// The sentence said once checkpoint `cp` has read what the fault `head`
/// names did: "cache-0 lost power 303 ms after its last fsync: redis lost
/// 45 acknowledged writes (read back by 3.4 s); budget: AOF everysec: …".
/// `failed`: per strategy, how long its writes failed from the fault to
/// the checkpoint (said when not zero: how long a failover refused them).
pub fn after_checkpoint(
    head: &str,
    cp: &Checkpoint,
    budget: &str,
    failed: &[(String, u64)],
) -> String {
    let per: Vec<String> = cp
        .strategies
        .iter()
        .map(|(name, t)| {
            let mut s = if t.writes.lost == 0 {
                format!("{name} lost none of its acknowledged writes")
            } else {
                format!("{name} lost {}", writes(t.writes.lost))
            };
            if t.writes.stale > 0 {
                s.push_str(&format!(", {} now stale", t.writes.stale));
            }
            if t.writes.unverified > 0 {
                s.push_str(&format!(", {} could not be read", t.writes.unverified));
            }
            if let Some((_, ms)) = failed.iter().find(|(n, ms)| n == name && *ms > 0) {
                s.push_str(&format!(
                    ", its writes failed for {:.1} s",
                    *ms as f64 / 1000.0
                ));
            }
            s
        })
        .collect();
    format!(
        "{head}: {} (read back by {:.1} s); budget: {budget}",
        per.join("; "),
        cp.resumed_ms as f64 / 1000.0
    )
}

/// How a fault's loss stands against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It did not happen: the drill tested nothing.
    DidNotFire,
    Within,
    Over,
    /// The budget sets no bound (everything since the last save, say).
    Unbounded,
}

impl Verdict {
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::DidNotFire | Verdict::Over => "✗",
            Verdict::Within => "✓",
            Verdict::Unbounded => "·",
        }
    }
}

/// The fault's verdict: over its budget if any strategy it hit lost more
/// than the budget allows at that strategy's write rate.
pub fn verdict(f: &FaultReport) -> Verdict {
    if f.failed() {
        return Verdict::DidNotFire;
    }
    let mut bounded = false;
    for w in f.strategies.values() {
        if let Some(b) = w.budget_writes {
            bounded = true;
            if w.lost_writes as f64 > b {
                return Verdict::Over;
            }
        }
    }
    if bounded {
        Verdict::Within
    } else {
        Verdict::Unbounded
    }
}

/// One line per fault after the run: what it destroyed and how long
/// writes failed, per strategy, against its budget.
pub fn fault_line(f: &FaultReport) -> String {
    let head = head(&f.kind, &f.processes, &f.target, f.unsynced_ms);
    let at = f.at_ms as f64 / 1000.0;
    if !f.fired {
        return format!(
            "{} {} {} at {at:.1} s did not fire: {} — nothing was tested",
            Verdict::DidNotFire.mark(),
            f.kind,
            f.target,
            f.error.as_deref().unwrap_or("it never came")
        );
    }
    let per: Vec<String> = f
        .strategies
        .iter()
        .map(|(name, w)| {
            let mut s = format!("{name} lost {}", writes(w.lost_writes));
            if let (Some(secs), true) = (w.lost_writes_s, w.lost_writes > 0) {
                s.push_str(&format!(" ({secs:.2} s at {:.0} writes/s)", w.write_rate));
            }
            if w.stale_writes > 0 {
                s.push_str(&format!(", {} stale", w.stale_writes));
            }
            if w.unavailable_ms > 0 {
                s.push_str(&format!(
                    ", writes failed for {:.1} s",
                    w.unavailable_ms as f64 / 1000.0
                ));
            }
            if let (Some(r), true) = (w.recovery_ms, w.unavailable_ms > 0) {
                s.push_str(&format!(
                    ", first write {:.1} s after it",
                    r as f64 / 1000.0
                ));
            }
            s
        })
        .collect();
    let v = verdict(f);
    let judged = match (v, &f.error) {
        // It fired but did not do what was asked (a failover nobody
        // performed, a heal that failed): what it did is still shown.
        (Verdict::DidNotFire, e) => format!(
            "did not work as asked: {}",
            e.as_deref().unwrap_or("unknown")
        ),
        (_, _) if per.is_empty() => "nothing to judge".into(),
        (Verdict::Within, _) => "within budget".into(),
        (Verdict::Over, _) => "OVER budget".into(),
        (Verdict::Unbounded, _) => "no bound".into(),
    };
    let what = if per.is_empty() {
        "no strategy uses it".to_string()
    } else {
        per.join("; ")
    };
    format!(
        "{} {head} at {at:.1} s: {what} — {judged} ({})",
        v.mark(),
        f.budget
    )
}

/// What the run measured, in a few lines: each fault's line, or without
/// faults each strategy's latency and losses. For the picker's "last
/// measured answer".
pub fn answer(r: &Report) -> Vec<String> {
    let mut lines: Vec<String> = r.faults.iter().map(fault_line).collect();
    if lines.is_empty() {
        lines = r
            .strategies
            .iter()
            .map(|(name, s)| {
                format!(
                    "{name}: p50 {:.2} ms, p99 {:.2} ms; lost {} of {} acknowledged writes",
                    s.latency_us.p50 as f64 / 1000.0,
                    s.latency_us.p99 as f64 / 1000.0,
                    s.writes.lost,
                    s.acked_writes
                )
            })
            .collect();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(lost: u64, budget_writes: Option<f64>) -> FaultReport {
        serde_json::from_value(serde_json::json!({
            "kind": "power-loss", "target": "cache", "processes": ["cache-0"],
            "at_ms": 3000, "healed_ms": null, "message": "", "unsynced_ms": 303,
            "budget": "AOF everysec: at most 2 s",
            "strategies": { "redis": {
                "lost_writes": lost, "lost": 0, "stale": 0, "lost_acked_ms": null,
                "write_rate": 20.0, "lost_writes_s": lost as f64 / 20.0,
                "budget_writes": budget_writes, "unavailable_ms": 1200,
                "recovery_ms": 1300
            }}
        }))
        .unwrap()
    }

    #[test]
    fn a_power_loss_says_when_the_last_fsync_was() {
        let h = head("power-loss", &["cache-0".into()], "cache", Some(303));
        assert_eq!(h, "cache-0 lost power 303 ms after its last fsync");
        let h = head("kill", &[], "cache", None);
        assert_eq!(h, "cache was killed (SIGKILL)");
        // A kind this build does not know (an older or newer report).
        assert_eq!(head("melt", &[], "x", None), "x had a melt");
    }

    #[test]
    fn a_fault_over_its_budget_says_so_and_one_that_did_not_fire_fails() {
        let line = fault_line(&fault(10, Some(5.0)));
        assert_eq!(
            line,
            "✗ cache-0 lost power 303 ms after its last fsync at 3.0 s: redis lost 10 \
             acknowledged writes (0.50 s at 20 writes/s), writes failed for 1.2 s, first \
             write 1.3 s after it — OVER budget (AOF everysec: at most 2 s)"
        );
        assert_eq!(verdict(&fault(10, Some(10.0))), Verdict::Within);
        assert_eq!(verdict(&fault(10, None)), Verdict::Unbounded);
        let mut f = fault(0, Some(0.0));
        assert_eq!(verdict(&f), Verdict::Within);
        // Fired, but did not do what was asked: what it did still shows.
        f.error = Some("no replica was promoted".into());
        assert_eq!(verdict(&f), Verdict::DidNotFire);
        let line = fault_line(&f);
        assert!(line.contains("redis lost 0 acknowledged writes"), "{line}");
        assert!(line.contains("did not work as asked: no replica was promoted"));
        f.fired = false;
        assert!(fault_line(&f).contains("did not fire: no replica was promoted"));
        assert!(fault_line(&f).contains("nothing was tested"));
        // Nobody's nodes: nothing measured, no pass mark.
        let mut f = fault(0, Some(0.0));
        f.strategies.clear();
        assert_eq!(verdict(&f), Verdict::Unbounded);
        assert!(fault_line(&f).starts_with("· "));
        assert!(fault_line(&f).contains("nothing to judge"));
    }

    #[test]
    fn the_live_sentence_has_the_checkpoint_s_numbers() {
        let cp: Checkpoint = serde_json::from_value(serde_json::json!({
            "fault": 0, "why": "healed", "at_ms": 3000, "resumed_ms": 3420,
            "strategies": {
                "redis": {"checked": 10, "missing": 3, "stale": 0, "unverified": 0,
                    "writes": {"durable": 7, "lost": 45, "stale": 2, "indeterminate": 0,
                               "expired": 0, "unverified": 1}},
                "dynamodb": {"checked": 10, "missing": 0, "stale": 0, "unverified": 0,
                    "writes": {"durable": 9, "lost": 0, "stale": 0, "indeterminate": 0,
                               "expired": 0, "unverified": 0}}
            }
        }))
        .unwrap();
        let failed = [("redis".to_string(), 3140), ("dynamodb".to_string(), 0)];
        let s = after_checkpoint(
            "cache-0 lost power",
            &cp,
            "AOF everysec: at most 2 s",
            &failed,
        );
        assert_eq!(
            s,
            "cache-0 lost power: dynamodb lost none of its acknowledged writes; redis lost \
             45 acknowledged writes, 2 now stale, 1 could not be read, its writes failed for \
             3.1 s (read back by 3.4 s); budget: AOF everysec: at most 2 s"
        );
    }
}
