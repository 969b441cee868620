//! The report as Markdown: a per-strategy table a student can paste.

use std::fmt::Write;

use super::Report;

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", r.scenario);
    if let Some(d) = &r.description {
        let _ = writeln!(s, "{d}\n");
    }
    let _ = writeln!(
        s,
        "Topology `{}`{}, {} s of load, {} sessions, {:.0} ops/s per strategy.\n",
        r.topology,
        match r.provider {
            crate::topology::Provider::Docker => " (in containers)",
            _ => "",
        },
        r.duration_ms as f64 / 1000.0,
        r.workload.sessions,
        r.workload.rates_per_s.values().sum::<f64>()
    );
    if let Some(e) = &r.generator_error {
        let _ = writeln!(
            s,
            "**FAILED: {e}; the load ended after {:.1} s and every number below is of that shorter load.**\n",
            r.duration_ms as f64 / 1000.0
        );
    }
    let _ = writeln!(
        s,
        "| strategy | ops | acked writes | lost writes | stale writes | lost sessions | stale sessions | unverified | indeterminate | errors | unavailable | longest stall | p50 | p99 | p99.9 | max |"
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let ms = |us: u64| format!("{:.2} ms", us as f64 / 1000.0);
    for (name, st) in &r.strategies {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ms | {} ms | {} | {} | {} | {} |",
            st.ops,
            st.writes.total(),
            st.writes.lost,
            st.writes.stale,
            st.lost,
            st.stale,
            unverified(st),
            st.indeterminate,
            st.errors.values().sum::<u64>(),
            st.unavailable_ms,
            st.max_stall_ms,
            ms(st.latency_us.p50),
            ms(st.latency_us.p99),
            ms(st.latency_us.p999),
            ms(st.latency_us.max)
        );
    }
    let _ = writeln!(
        s,
        "\n*Acked writes*: every acknowledged write, prefill included. *Lost writes*: acknowledged writes the store no longer held (neither them nor anything newer) when the checkpoint after a fault, or the final sweep, read their session — each counted once, and still lost whatever the load wrote afterwards; *stale writes*: held only by the store of record behind a cache that served an older copy. *Lost / stale sessions*: sessions missing / older than acknowledged at the end, what a user would find. *Unverified*: sessions the final sweep could not read (and their acknowledged writes not judged for good) — every count above may be that much higher. *Unavailable*: time writes were failing, from a failed write to the first write that succeeded after it (runs of at least 100 ms; time the load was paused left out). *Longest stall*: the longest any session waited for a successful operation, from its first failed operation to the end of the one that succeeded (idle time between its operations left out) — not capped by the operation timeout as latencies are, so a freeze shows its real length here. Latencies count from the intended start, timeouts included."
    );
    if let Some(lag) = r
        .strategies
        .values()
        .map(|st| st.scheduler_lag_us)
        .max_by_key(|l| l.p99)
        .filter(|l| l.max > 0)
    {
        let _ = writeln!(s, "\n{}", generator_health(lag));
    }
    let patterns: Vec<_> = r
        .strategies
        .iter()
        .filter_map(|(name, st)| {
            super::StrategyReport::pattern_terms(name).map(|terms| (name, st, terms))
        })
        .collect();
    if !patterns.is_empty() {
        let _ = writeln!(s, "\n## Patterns\n");
        for (name, st, (violation, refusal)) in patterns {
            let _ = writeln!(
                s,
                "- {name}: **{}** {violation}; {} {refusal}",
                st.violations, st.refused
            );
        }
    }
    let updates: Vec<_> = r
        .strategies
        .iter()
        .filter(|(name, _)| {
            crate::store::StrategyKind::parse(name).is_some_and(|k| k.update_flavour().is_some())
        })
        .collect();
    if !updates.is_empty() {
        let _ = writeln!(s, "\n## Read-modify-write updates\n");
        for (name, st) in updates {
            let _ = writeln!(
                s,
                "- {name}: **{}** acknowledged updates lost (overwritten by an update that never saw them), {} found by later reads; {} conflicts retried; {} operations overlapped another on their session",
                st.lost_updates, st.updates_found, st.conflicts, st.overlapped
            );
        }
    }
    let cached: Vec<_> = r
        .strategies
        .iter()
        .filter(|(_, st)| st.lost_from_cache + st.stale_from_cache + st.writes.stale > 0)
        .collect();
    if !cached.is_empty() || !r.caches.is_empty() {
        let _ = writeln!(s, "\n## Caches\n");
        for (name, st) in cached {
            let _ = writeln!(
                s,
                "- {name}: of {} lost and {} stale sessions, {} and {} were served by the cache — the store of record has the acknowledged version; {} acknowledged writes were hidden behind an older cached copy",
                st.lost, st.stale, st.lost_from_cache, st.stale_from_cache, st.writes.stale
            );
        }
        let ratio = |c: &crate::nodes::dax::CacheStats| {
            c.hit_ratio()
                .map_or("—".to_string(), |x| format!("{:.1} %", x * 100.0))
        };
        for (node, c) in &r.caches {
            let _ = writeln!(
                s,
                "- DAX {node} ({}): item cache {} hits / {} misses ({}), {} evictions; query cache {} hits / {} misses ({}); {} ConsistentRead bypasses",
                c.role,
                c.item.hits,
                c.item.misses,
                ratio(&c.item),
                c.item.evictions,
                c.query.hits,
                c.query.misses,
                ratio(&c.query),
                c.bypassed
            );
        }
    }
    let bulk: Vec<_> = r
        .strategies
        .iter()
        .filter_map(|(n, st)| Some((n, st.bulk.as_ref()?)))
        .collect();
    if !bulk.is_empty() {
        let _ = writeln!(s, "\n## Bulk prefill\n");
        for (name, b) in bulk {
            let _ = match &b.error {
                Some(e) => writeln!(s, "- FAIL {name}: the bulk prefill failed: {e}"),
                None => writeln!(
                    s,
                    "- {name}: {} sessions of {} B into {} store(s) in {:.1} s ({:.0} writes/s); at the end {} of {} sampled were still there",
                    b.sessions,
                    b.value_bytes,
                    b.copies,
                    b.ms as f64 / 1000.0,
                    b.per_second,
                    b.kept,
                    b.sampled
                ),
            };
        }
    }
    if let Some(c) = &r.cost {
        s.push_str(&c.markdown(r));
    }
    if !r.expectations.is_empty() {
        let _ = writeln!(s, "\n## Expectations\n");
        for e in &r.expectations {
            let observed = e
                .observed
                .map(|v| format!("{v}"))
                .unwrap_or_else(|| "n/a".into());
            let note = e
                .note
                .as_ref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "- {} `{}` (observed {observed}){note}",
                if e.ok { "PASS" } else { "FAIL" },
                e.expr
            );
        }
    }
    if !r.external_cleanup.is_empty() {
        let _ = writeln!(s, "\n## External nodes: the run's keys removed\n");
        for c in &r.external_cleanup {
            let _ = match &c.error {
                Some(e) => writeln!(
                    s,
                    "- FAIL {}: the cleanup failed ({e}); this run's keys may still be there",
                    c.node
                ),
                None if c.left > 0 => writeln!(
                    s,
                    "- FAIL {}: {} removed, {} still there",
                    c.node, c.removed, c.left
                ),
                None => writeln!(s, "- PASS {}: {} removed, none left", c.node, c.removed),
            };
        }
    }
    let _ = writeln!(s, "\n## Clients\n");
    for (name, st) in &r.strategies {
        let _ = writeln!(s, "- {name}: {}", st.client);
    }
    if !r.faults.is_empty() {
        let _ = writeln!(s, "\n## Faults\n");
        let _ = writeln!(
            s,
            "| at | fault | strategy | lost writes | as time at the write rate | budget (writes) | lost writes acked (vs fault) | stale writes | sessions lost / stale at the end | unavailable | first write after | first read after | p50 / p99 while it held |"
        );
        let _ = writeln!(
            s,
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let opt =
            |v: Option<u64>, unit: &str| v.map_or("—".to_string(), |v| format!("{v} {unit}"));
        for f in &r.faults {
            let what = format!("{} {}", f.kind, f.processes.join(","));
            if f.failed() {
                let _ = writeln!(
                    s,
                    "| {:.3} s | {what} | **did not {}**: {} | | | | | | | | | | |",
                    f.at_ms as f64 / 1000.0,
                    if f.fired { "work" } else { "fire" },
                    f.error.as_deref().unwrap_or("")
                );
            }
            for (name, w) in &f.strategies {
                let _ = writeln!(
                    s,
                    "| {:.3} s | {what} | {name} | {} | {} | {} | {} | {} | {} / {} | {} ms | {} | {} | {} |",
                    f.at_ms as f64 / 1000.0,
                    w.lost_writes,
                    w.lost_writes_s.map_or("—".to_string(), |t| format!(
                        "{t:.2} s at {:.0}/s",
                        w.write_rate
                    )),
                    w.budget_writes
                        .map_or("unbounded".to_string(), |b| format!("≤ {b:.0}")),
                    w.lost_acked_ms
                        .map_or("—".to_string(), |[a, b]| format!("{a:+} … {b:+} ms")),
                    w.stale_writes,
                    w.lost,
                    w.stale,
                    w.unavailable_ms,
                    opt(w.recovery_ms, "ms"),
                    opt(w.read_recovery_ms, "ms"),
                    w.latency_us.as_ref().map_or("—".to_string(), |l| format!(
                        "{:.2} / {:.2} ms",
                        l.p50 as f64 / 1000.0,
                        l.p99 as f64 / 1000.0
                    )),
                );
            }
        }
        for f in &r.faults {
            let unsynced = f
                .unsynced_ms
                .map(|u| format!(" The node had gone {u} ms without an fsync when the power went."))
                .unwrap_or_default();
            let loading = f
                .loading_ms
                .map(|l| format!(" It answered LOADING for {l} ms while it read its data back."))
                .unwrap_or_default();
            let answered: String = f
                .strategies
                .iter()
                .filter_map(|(name, w)| Some((name, w.loading_answers?)))
                .map(|(name, l)| {
                    format!(
                        " {name}'s operations were answered LOADING {} times, from {} to {} ms after the fault, and {} served in between.",
                        l.count, l.first_ms, l.last_ms, l.served
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "\n- {} {}: {}.{unsynced}{loading}{answered}",
                f.kind, f.target, f.budget
            );
        }
        let _ = writeln!(s, "\nIn words (as the dashboard's summary says it):\n");
        for f in &r.faults {
            let _ = writeln!(s, "- {}", super::words::fault_line(f));
        }
    }
    if !r.checkpoints.is_empty() {
        let _ = writeln!(s, "\n## Checkpoints\n");
        for c in &r.checkpoints {
            let per: Vec<String> = c
                .strategies
                .iter()
                .map(|(name, t)| {
                    format!(
                        "{name}: {} lost, {} stale writes ({} sessions read, {} unverified)",
                        t.writes.lost, t.writes.stale, t.checked, t.unverified
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "- {:.3} s, writes held {} ms ({}): {}",
                c.at_ms as f64 / 1000.0,
                c.resumed_ms.saturating_sub(c.at_ms),
                c.why,
                per.join("; ")
            );
        }
    }
    if !r.events.is_empty() {
        let _ = writeln!(s, "\n## Events\n");
        for e in &r.events {
            let _ = writeln!(
                s,
                "- {:>7.3} s  {}  {}",
                e.t_ms as f64 / 1000.0,
                e.kind,
                e.message
            );
        }
    }
    s
}

/// Unverified sessions, with their acknowledged writes when any.
pub(super) fn unverified(st: &super::StrategyReport) -> String {
    if st.writes.unverified > 0 {
        format!("{} ({} writes)", st.unverified, st.writes.unverified)
    } else {
        st.unverified.to_string()
    }
}

/// Load generator lag p99 above which the report says the generator fell
/// behind (issue 18: on time means well under a quarter of a millisecond).
pub const GENERATOR_ON_TIME_P99_US: u64 = 200;

/// The generator's own delay (actual − intended start, part of every
/// latency), and plainly whether it was on time.
pub fn generator_health(lag: super::LatencyUs) -> String {
    let ms = |us: u64| format!("{:.2} ms", us as f64 / 1000.0);
    let figures = format!(
        "p50 {}, p99 {}, max {}",
        ms(lag.p50),
        ms(lag.p99),
        ms(lag.max)
    );
    if lag.p99 > GENERATOR_ON_TIME_P99_US {
        format!(
            "**The load generator fell behind: the latencies above include up to {} of our own delay** (its lag, actual − intended start: {figures}; on time is a p99 of {} or less).",
            ms(lag.p99),
            ms(GENERATOR_ON_TIME_P99_US)
        )
    } else {
        format!(
            "Load generator on time (lag, actual − intended start, part of every latency above: {figures})."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_generator_is_said_plainly() {
        let lag = |p50, p99| crate::report::LatencyUs {
            p50,
            p99,
            p999: p99,
            max: p99,
            min: p50,
        };
        let late = generator_health(lag(1100, 2300));
        assert!(late.contains("fell behind"), "{late}");
        assert!(late.contains("up to 2.30 ms of our own delay"), "{late}");
        let on_time = generator_health(lag(20, 150));
        assert!(on_time.starts_with("Load generator on time"), "{on_time}");
        assert!(!on_time.contains("fell behind"), "{on_time}");
    }

    #[test]
    fn a_generator_that_died_fails_the_report_in_words() {
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "scenario": "s", "topology": "t", "started_unix_ms": 0, "duration_ms": 1200,
            "workload": {"sessions": 1, "rates_per_s": {}, "ttl_s": 1, "value_bytes": 1,
                         "op_timeout_ms": 1, "prefill": false},
            "strategies": {}, "events": [], "expectations": [], "ok": true
        }))
        .unwrap();
        assert!(!markdown(&r).contains("FAILED"));
        r.generator_error = Some("the load generator died: boom".into());
        let md = markdown(&r);
        assert!(
            md.contains("FAILED: the load generator died: boom; the load ended after 1.2 s"),
            "{md}"
        );
    }
}
