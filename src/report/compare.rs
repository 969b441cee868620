//! `compare`: several reports side by side, one row per scenario and
//! strategy — the exam answer, measured.

use std::fmt::Write;

use super::Report;

/// One Markdown table over every report.
pub fn compare_markdown(reports: &[Report]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scenario | strategy | acked writes | lost writes | lost sessions | lost share | stale | unverified | violations | unavailable | longest stall | p50 ms | p99 ms | cost / month | expectations |"
    );
    let _ = writeln!(
        s,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for r in reports {
        for (name, st) in &r.strategies {
            let mine: Vec<_> = r
                .expectations
                .iter()
                .filter(|e| e.expr.starts_with(&format!("{name}.")))
                .collect();
            let faults_failed = r.faults.iter().filter(|f| f.failed()).count();
            let verdict = if faults_failed > 0 {
                format!("**{faults_failed} fault(s) did not fire or work**")
            } else if mine.is_empty() {
                "—".to_string()
            } else {
                let failed = mine.iter().filter(|e| !e.ok).count();
                if failed == 0 {
                    format!("{} met", mine.len())
                } else {
                    format!("**{failed} of {} failed**", mine.len())
                }
            };
            let share = match st.metric("lost_share") {
                Some(x) if st.checked > 0 => format!("{:.2} %", x * 100.0),
                _ => "—".into(),
            };
            let violations = match super::StrategyReport::pattern_terms(name) {
                Some(_) => st.violations.to_string(),
                None => "—".into(),
            };
            let _ = writeln!(
                s,
                "| {}{} | {name} | {} | {} | {} | {share} | {} | {} | {violations} | {:.1} s | {:.1} s | {:.2} | {:.2} | {} | {verdict} |",
                r.scenario,
                match r.provider {
                    crate::topology::Provider::Docker => " (docker)",
                    _ => "",
                },
                st.writes.total(),
                st.writes.lost,
                st.lost,
                st.stale,
                super::markdown::unverified(st),
                st.unavailable_ms as f64 / 1000.0,
                st.max_stall_ms as f64 / 1000.0,
                st.latency_us.p50 as f64 / 1000.0,
                st.latency_us.p99 as f64 / 1000.0,
                r.cost.as_ref().map_or("—".into(), |c| c.cell(name)),
            );
        }
    }
    // The basis of the cost column, once per distinct basis.
    let mut bases: Vec<String> = Vec::new();
    for b in reports
        .iter()
        .filter_map(|r| r.cost.as_ref().map(|c| c.basis()))
    {
        if !bases.contains(&b) {
            bases.push(b);
        }
    }
    for b in bases {
        let _ = writeln!(s, "\nCost per month at {b}.");
    }
    s
}
