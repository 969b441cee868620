//! The report as one self-contained HTML file (`--html`): no network, no
//! script, no font to fetch — readable offline, attachable to a ticket,
//! printable. Charts are inline SVG ([`super::svg`]); every number is the
//! JSON report's.

use std::fmt::Write as _;

use super::svg::{self, Band, Chart, DASHES, PALETTE, Series, esc};
use super::{FaultReport, Report};
use crate::provision::ProcessInfo;

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 940px; color: #111; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #bbb; }
h3 { font-size: 1.05em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; margin: .5em 0; font-size: .9em; }
th, td { border: 1px solid #bbb; padding: .2em .5em; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #005a8c; font-weight: bold; } .fail { color: #a33a00; font-weight: bold; }
.meta { color: #444; }
svg { display: block; margin: .6em 0; }
svg .title { font-size: 13px; font-weight: bold; fill: #111; }
svg .tick, svg .legend { font-size: 11px; fill: #222; }
svg .axis-label { font-size: 11px; fill: #444; }
svg .axis { stroke: #444; stroke-width: 1; } svg .grid { stroke: #ddd; stroke-width: 1; }
svg rect.fault { fill: #999; fill-opacity: .22; stroke: #666; stroke-dasharray: 3 2; }
svg rect.pause { fill: none; stroke: #888; stroke-width: 1; stroke-dasharray: 1 2; }
svg { max-width: 100%; height: auto; }
svg .fault-label { font-size: 10px; fill: #333; }
@media print { body { max-width: none; } h2 { break-after: avoid; } svg { break-inside: avoid; } }
";

fn verdict(ok: bool) -> &'static str {
    if ok {
        r#"<span class="pass">✓ PASS</span>"#
    } else {
        r#"<span class="fail">✗ FAIL</span>"#
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

/// The windows of the faults that touched strategy `name`, as chart bands.
fn bands(report: &Report, name: &str) -> Vec<Band> {
    report
        .faults
        .iter()
        .filter(|f| f.fired && f.strategies.contains_key(name))
        .map(|f| Band {
            label: format!("{} {}", f.kind, f.target),
            at_ms: f.at_ms,
            healed_ms: f.healed_ms,
        })
        .collect()
}

/// One run's report; `nodes`: the topology as it was provisioned, when
/// known (never its URLs, which hold passwords).
pub fn run(report: &Report, nodes: &[ProcessInfo]) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{} {}</h1><p class=\"meta\">{}<br>run <code>{}</code> · topology <code>{}</code> ({}) · {} s of load · {} operations/s asked</p>",
        esc(&report.scenario),
        verdict(report.ok),
        esc(report.description.as_deref().unwrap_or("")),
        esc(&report.run_id),
        esc(&report.topology),
        esc(&format!("{:?}", report.provider).to_lowercase()),
        report.duration_ms as f64 / 1000.0,
        report.workload.rates_per_s.values().sum::<f64>()
    );
    if let Some(e) = &report.generator_error {
        let _ = write!(
            b,
            "<p class=\"fail\">The load generator stopped: {}</p>",
            esc(e)
        );
    }
    // Verdicts first.
    b.push_str("<h2>Expectations</h2>");
    if report.expectations.is_empty() {
        b.push_str("<p>None.</p>");
    } else {
        b.push_str("<table><tr><th>expectation</th><th>observed</th><th>verdict</th></tr>");
        for e in &report.expectations {
            let _ = write!(
                b,
                "<tr><td><code>{}</code>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&e.expr),
                e.note
                    .as_deref()
                    .map_or(String::new(), |n| format!("<br><small>{}</small>", esc(n))),
                e.observed.map_or("—".to_string(), |v| format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()),
                verdict(e.ok)
            );
        }
        b.push_str("</table>");
    }
    let x_max = report
        .strategies
        .values()
        .map(|s| s.per_second.len() as f64)
        .fold(report.duration_ms as f64 / 1000.0, f64::max);
    b.push_str("<h2>Latency and throughput over time</h2><p class=\"meta\">Latency is measured from each operation's intended start (open loop), by the second it was meant to start; shaded: the windows of the faults that reached the strategy (a thin mark: a fault without a heal); dotted outline: the load held or paused (checkpoints).</p>");
    for (name, s) in &report.strategies {
        let _ = write!(b, "<h3>{}</h3>", esc(name));
        let line =
            |label: &str, i: usize, f: &dyn Fn(&super::SecondReport) -> Option<f64>| Series {
                label: label.into(),
                color: PALETTE[i],
                dash: DASHES[i],
                points: s
                    .per_second
                    .iter()
                    .map(|p| (p.t_s as f64 + 0.5, f(p)))
                    .collect(),
            };
        // Latency by the second operations were meant to start (a stall
        // in which nothing finishes still has its points).
        let has = |p: &super::SecondReport| p.max_us > 0;
        b.push_str(&svg::chart(&Chart {
            title: format!("{name}: latency per second (ms, log scale)"),
            y_label: "ms".into(),
            x_max_s: x_max,
            log_y: true,
            series: vec![
                line("p50", 0, &|p| has(p).then(|| p.p50_us as f64 / 1000.0)),
                line("p99", 1, &|p| has(p).then(|| p.p99_us as f64 / 1000.0)),
                line("max", 2, &|p| has(p).then(|| p.max_us as f64 / 1000.0)),
            ],
            bands: bands(report, name),
            pauses: report.paused_ms.clone(),
            strategy: name.clone(),
        }));
        b.push_str(&svg::chart(&Chart {
            title: format!("{name}: operations and errors per second (counted when they end)"),
            y_label: "per second".into(),
            x_max_s: x_max,
            log_y: false,
            series: vec![
                line("ops/s", 0, &|p| Some(p.ops as f64)),
                line("errors/s", 1, &|p| Some(p.errors as f64)),
            ],
            bands: bands(report, name),
            pauses: report.paused_ms.clone(),
            strategy: name.clone(),
        }));
    }
    b.push_str("<h2>Faults</h2>");
    if report.faults.is_empty() {
        b.push_str("<p>None: a baseline.</p>");
    }
    for f in &report.faults {
        fault(&mut b, f);
    }
    b.push_str("<h2>Strategies</h2><table><tr><th>strategy</th><th>acked writes</th><th>lost writes</th><th>stale writes</th><th>lost sessions</th><th>stale sessions</th><th>errors</th><th>unavailable ms</th><th>p50 ms</th><th>p99 ms</th><th>client</th></tr>");
    for (name, s) in &report.strategies {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td><td><small>{}</small></td></tr>",
            esc(name),
            s.writes.total(),
            s.writes.lost,
            s.writes.stale,
            s.lost,
            s.stale,
            s.errors.values().sum::<u64>(),
            s.unavailable_ms,
            s.latency_us.p50 as f64 / 1000.0,
            s.latency_us.p99 as f64 / 1000.0,
            esc(&s.client)
        );
    }
    b.push_str("</table>");
    if let Some(c) = &report.cost {
        cost(&mut b, c);
    }
    if !nodes.is_empty() {
        b.push_str("<h2>Topology</h2><table><tr><th>process</th><th>node</th><th>kind</th><th>role</th><th>address</th></tr>");
        for n in nodes {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}:{}{}</td></tr>",
                esc(&n.name),
                esc(&n.node),
                n.kind.name(),
                n.role.name(),
                esc(&n.host),
                n.port,
                n.proxy_port.map_or(String::new(), |p| format!(
                    " (clients through the proxy on {p})"
                ))
            );
        }
        b.push_str("</table>");
    }
    b.push_str("<h2>Events</h2><table><tr><th>s</th><th>event</th><th>node</th><th>what</th></tr>");
    for e in &report.events {
        let _ = write!(
            b,
            "<tr><td class=\"n\">{:.3}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.t_ms as f64 / 1000.0,
            esc(&e.kind),
            esc(&e.node),
            esc(&e.message)
        );
    }
    b.push_str("</table>");
    page(&format!("{} — sessiondrill", report.scenario), &b)
}

/// The "Cost" section: each strategy's bill, line by line, and its basis.
fn cost(b: &mut String, c: &super::cost::CostReport) {
    let _ = write!(
        b,
        "<h2>Cost</h2><p class=\"meta\">Per month at {}.</p><table><tr><th>strategy</th><th>service</th><th>how</th><th>per month</th></tr>",
        esc(&c.basis())
    );
    for (name, bill) in &c.strategies {
        for l in &bill.lines {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td><small>{}</small></td><td class=\"n\">{}</td></tr>",
                esc(name),
                esc(&l.service),
                esc(&l.what),
                esc(&super::cost::usd(l.monthly_usd))
            );
        }
        let _ = write!(
            b,
            "<tr><td>{}</td><td><b>total</b></td><td><small>{}</small></td><td class=\"n\"><b>{}</b></td></tr>",
            esc(name),
            esc(&bill
                .unpriced
                .iter()
                .map(|u| format!("not priced: {u}"))
                .chain(bill.notes.iter().cloned())
                .collect::<Vec<_>>()
                .join("; ")),
            esc(&c.cell(name))
        );
    }
    b.push_str("</table>");
    if !c.prices.unverified.is_empty() {
        b.push_str("<p class=\"meta\">Not in a stored source (check before quoting): ");
        b.push_str(&esc(&c.prices.unverified.join("; ")));
        b.push_str("</p>");
    }
}

fn fault(b: &mut String, f: &FaultReport) {
    let _ = write!(
        b,
        "<h3>{} {} at {:.3} s{} {}</h3><p>{}</p><p class=\"meta\">Budget: {}</p>",
        esc(&f.kind),
        esc(&f.target),
        f.at_ms as f64 / 1000.0,
        f.healed_ms.map_or(String::new(), |h| format!(
            ", healed at {:.3} s",
            h as f64 / 1000.0
        )),
        if f.failed() { verdict(false) } else { "" },
        esc(&f.message),
        esc(&f.budget)
    );
    if let Some(e) = &f.error {
        let _ = write!(b, "<p class=\"fail\">{}</p>", esc(e));
    }
    b.push_str("<table><tr><th>strategy</th><th>lost writes</th><th>budget (writes)</th><th>stale writes</th><th>lost / stale sessions</th><th>unavailable ms</th><th>recovery ms</th><th>lost writes acknowledged (ms from the fault)</th></tr>");
    for (name, w) in &f.strategies {
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(name),
            w.lost_writes,
            w.budget_writes
                .map_or("unbounded".to_string(), |v| format!("{v:.0}")),
            w.stale_writes,
            w.lost,
            w.stale,
            w.unavailable_ms,
            w.recovery_ms.map_or("—".to_string(), |v| v.to_string()),
            w.lost_acked_ms
                .map_or("—".to_string(), |[a, z]| format!("{a} … {z}"))
        );
    }
    b.push_str("</table>");
    for (name, w) in &f.strategies {
        if w.lost_acked_hist.is_empty() {
            continue;
        }
        let values = histogram(&w.lost_acked_hist);
        b.push_str(&svg::bars(
            &format!("{name}: lost writes by when they were acknowledged, from the fault"),
            "writes",
            &values,
        ));
    }
}

/// The lost writes' acknowledgement times as bars on a time axis: every
/// bucket from the first to the last (empty ones too, so that gaps show),
/// merged so that there are at most 30.
fn histogram(hist: &[[i64; 2]]) -> Vec<(String, f64)> {
    let (Some(first), Some(last)) = (hist.first(), hist.last()) else {
        return Vec::new();
    };
    let bucket = super::faults::HIST_BUCKET_MS;
    let span = last[0] - first[0] + bucket;
    let width = (span / bucket).div_euclid(30).saturating_add(1) * bucket;
    let mut bars = Vec::new();
    let mut from = first[0];
    while from <= last[0] {
        let n: i64 = hist
            .iter()
            .filter(|[b, _]| (from..from + width).contains(b))
            .map(|[_, n]| n)
            .sum();
        bars.push((format!("{from} … {} ms", from + width), n as f64));
        from += width;
    }
    bars
}

/// One number of a strategy's report.
type Number = fn(&super::StrategyReport) -> f64;

/// `compare`'s reports side by side: the table, then a bar chart per
/// number across scenarios.
pub fn compare(reports: &[Report]) -> String {
    let mut b = String::from("<h1>sessiondrill compare</h1>");
    b.push_str("<table><tr><th>scenario</th><th>provider</th><th>strategy</th><th>acked writes</th><th>lost writes</th><th>lost sessions</th><th>stale</th><th>unavailable ms</th><th>p50 ms</th><th>p99 ms</th><th>cost / month</th><th>run's verdict</th></tr>");
    let mut rows: Vec<(String, &super::StrategyReport)> = Vec::new();
    let mut costs: Vec<(String, f64)> = Vec::new();
    for r in reports {
        for (name, s) in &r.strategies {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{:.3}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&r.scenario),
                esc(&format!("{:?}", r.provider).to_lowercase()),
                esc(name),
                s.writes.total(),
                s.writes.lost,
                s.lost,
                s.stale,
                s.unavailable_ms,
                s.latency_us.p50 as f64 / 1000.0,
                s.latency_us.p99 as f64 / 1000.0,
                esc(&r.cost.as_ref().map_or("—".into(), |c| c.cell(name))),
                verdict(r.ok)
            );
            rows.push((
                format!("{} · {name} ({:?})", r.scenario, r.provider).to_lowercase(),
                s,
            ));
            if let Some(c) = &r.cost
                && let Some(m) = c.monthly(name)
            {
                // A bill with something unpriced is a lower bound: said.
                let partial = c.cell(name).starts_with('≥');
                let label = format!(
                    "{} · {name}{}",
                    r.scenario,
                    if partial { " (≥)" } else { "" }
                );
                costs.push((label, m));
            }
        }
    }
    b.push_str("</table>");
    let charts: [(&str, &str, Number); 4] = [
        ("lost writes", "writes", |s| s.writes.lost as f64),
        ("unavailable", "ms", |s| s.unavailable_ms as f64),
        ("p99 latency", "ms", |s| s.latency_us.p99 as f64 / 1000.0),
        ("stale sessions", "sessions", |s| s.stale as f64),
    ];
    for (title, unit, f) in charts {
        let values: Vec<(String, f64)> = rows.iter().map(|(l, s)| (l.clone(), f(s))).collect();
        b.push_str(&svg::bars(title, unit, &values));
    }
    if !costs.is_empty() {
        b.push_str(&svg::bars("cost per month", "USD", &costs));
    }
    page("sessiondrill compare", &b)
}

/// A sweep ([`super::sweep`]): the measured table, a chart per number
/// against the varied value, then the fit's predictions, apart.
pub fn sweep(s: &super::sweep::Sweep) -> String {
    let mut b = format!(
        "<h1>sessiondrill sweep</h1><p class=\"meta\">{} over {}</p>",
        esc(&s.scenario),
        esc(&s.field)
    );
    let metrics: Vec<&str> = s
        .rows
        .first()
        .map(|r| r.metrics.iter().map(|(m, _)| m.as_str()).collect())
        .unwrap_or_default();
    let _ = write!(
        b,
        "<h2>Measured</h2><table><tr><th>{}</th><th>strategy</th>",
        esc(&s.field)
    );
    for m in &metrics {
        let _ = write!(b, "<th>{}</th>", esc(m));
    }
    b.push_str("<th>run</th></tr>");
    for r in &s.rows {
        let _ = write!(
            b,
            "<tr><td class=\"n\">{}</td><td>{}</td>",
            esc(&r.value),
            esc(&r.strategy)
        );
        for (_, v) in &r.metrics {
            let _ = write!(
                b,
                "<td class=\"n\">{}</td>",
                v.map_or("—".into(), |v| format!("{v:.3}"))
            );
        }
        let _ = write!(b, "<td>{}</td></tr>", verdict(r.ok));
    }
    b.push_str("</table>");
    for m in &metrics {
        let values: Vec<(String, f64)> = s
            .rows
            .iter()
            .filter_map(|r| {
                let v = r.metrics.iter().find(|(k, _)| k == m)?.1?;
                Some((format!("{} · {}", r.value, r.strategy), v))
            })
            .collect();
        if !values.is_empty() {
            b.push_str(&svg::bars(m, "", &values));
        }
    }
    if !s.predictions.is_empty() {
        b.push_str("<h2>Predicted, not measured</h2><p class=\"meta\">From a straight line through the measured points.</p><table><tr><th>value</th><th>strategy</th><th>metric</th><th>predicted</th><th>± residual σ</th><th></th></tr>");
        for p in &s.predictions {
            let _ = write!(
                b,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&p.value),
                esc(&p.strategy),
                esc(&p.metric),
                p.predicted,
                p.error.map_or("—".into(), |e| format!("{e:.3}")),
                if p.extrapolated {
                    "extrapolated"
                } else {
                    "within the measured values"
                }
            );
        }
        b.push_str("</table>");
    }
    page("sessiondrill sweep", &b)
}

/// What changed between two reports ([`super::diff`]): the verdicts, then
/// each number side by side, with a chart of A against B for the numbers
/// that changed.
pub fn diff(d: &super::diff::Diff) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}: {} → {}</h1><p class=\"meta\">A: run <code>{}</code> · B: run <code>{}</code></p>",
        esc(&d.scenario),
        verdict(d.a_ok),
        verdict(d.b_ok),
        esc(&d.a_run),
        esc(&d.b_run)
    );
    if d.regressions.is_empty() {
        b.push_str("<p class=\"pass\">No regression.</p>");
    } else {
        b.push_str("<h2>Regressions</h2><ul>");
        for r in &d.regressions {
            let _ = write!(b, "<li class=\"fail\">{}</li>", esc(&r.what));
        }
        b.push_str("</ul>");
    }
    if !d.fixed.is_empty() {
        b.push_str("<h2>Better</h2><ul>");
        for f in &d.fixed {
            let _ = write!(b, "<li>{}</li>", esc(f));
        }
        b.push_str("</ul>");
    }
    for n in &d.notes {
        let _ = write!(b, "<p class=\"meta\">Note: {}</p>", esc(n));
    }
    b.push_str(
        "<h2>Numbers</h2><table><tr><th>strategy</th><th>number</th><th>A</th><th>B</th></tr>",
    );
    let shown = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v}"));
    for c in &d.changes {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.strategy),
            esc(&c.metric),
            shown(c.a),
            shown(c.b)
        );
    }
    b.push_str("</table>");
    for c in d.changes.iter().filter(|c| c.a != c.b) {
        if let (Some(a), Some(b2)) = (c.a, c.b) {
            b.push_str(&svg::bars(
                &format!("{} · {}", c.strategy, c.metric),
                "",
                &[("A".to_string(), a), ("B".to_string(), b2)],
            ));
        }
    }
    page(&format!("{} diff — sessiondrill", d.scenario), &b)
}
