//! `--html` (issue 22): the report as one self-contained page, rendered by
//! headless Chromium (Debian's `chromium`, installed by scripts/deps.sh):
//! it loads without a console error, has its charts, draws each fault's
//! window where the report puts the fault, and a screenshot is taken.

mod support;

use std::path::Path;
use std::process::Command;

use support::{cli, home, topology_path};

/// The value of attribute `name` in the tag starting at `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let end = tag.find('>').unwrap_or(tag.len());
    let tag = &tag[..end];
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[at..at + tag[at..].find('"')?])
}

fn num(tag: &str, name: &str) -> f64 {
    attr(tag, name)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        .parse()
        .unwrap()
}

/// Every tag of `html` that starts with `start` (e.g. `<rect class="fault"`).
fn tags<'a>(html: &'a str, start: &str) -> Vec<&'a str> {
    html.match_indices(start).map(|(i, _)| &html[i..]).collect()
}

/// Chromium, headless, on `page`: what it said on stderr; a screenshot at
/// `png`.
fn chromium(page: &Path, png: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    // Bounded: a Chromium that hangs fails the test instead of the suite.
    let out = Command::new("timeout")
        .args([
            "60",
            "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .args(["--no-first-run", "--disable-dev-shm-usage"])
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1000,2600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (scripts/deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn console_errors(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Self-contained: nothing fetched, nothing run.
fn self_contained(html: &str) {
    for bad in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(bad), "{bad} in the page");
    }
}

#[test]
fn a_power_loss_report_renders_with_its_fault_window_where_the_fault_was() {
    let h = home();
    let dir = tempfile::tempdir().unwrap();
    let (json, page) = (dir.path().join("r.json"), dir.path().join("r.html"));
    let out = cli(&h)
        .arg("run")
        .arg(topology_path("aof-everysec-power-loss.yaml"))
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);
    // No secret of the run's nodes: their URLs hold passwords.
    for url in ["redis://", "rediss://", "default:"] {
        assert!(!html.contains(url), "a node URL in the page");
    }

    // A latency chart and a throughput chart for each strategy.
    let charts = tags(&html, "<svg class=\"chart\"");
    for name in report["strategies"].as_object().unwrap().keys() {
        let mine = charts
            .iter()
            .filter(|c| attr(c, "data-strategy") == Some(name.as_str()))
            .count();
        assert_eq!(mine, 2, "{name}");
    }
    // Each chart's fault window is where the report puts the fault, on the
    // chart's own time axis.
    let fault = &report["faults"][0];
    let (at, healed) = (
        fault["at_ms"].as_f64().unwrap(),
        fault["healed_ms"].as_f64().unwrap(),
    );
    for chart in &charts {
        let chart = &chart[..chart.find("</svg>").unwrap()];
        let (x0, pxs) = (num(chart, "data-x0"), num(chart, "data-px-per-s"));
        let rects = tags(chart, "<rect class=\"fault\"");
        assert_eq!(rects.len(), 1, "{chart}");
        let r = rects[0];
        assert_eq!(num(r, "data-at-ms"), at);
        assert_eq!(num(r, "data-healed-ms"), healed);
        assert!((num(r, "x") - (x0 + at / 1000.0 * pxs)).abs() < 0.01, "{r}");
        assert!(
            (num(r, "width") - (healed - at) / 1000.0 * pxs).abs() < 0.01,
            "{r}"
        );
        assert!(r.contains("power-loss redis"), "{r}");
        // The lines are on the same axis: the first second's point is at
        // its middle.
        let d = attr(tags(chart, "<path class=\"series\"")[0], "d").unwrap();
        let first_x: f64 = d[1..].split(' ').next().unwrap().parse().unwrap();
        assert!((first_x - (x0 + 0.5 * pxs)).abs() < 0.01, "{d}");
    }
    // The fault's losses and the lost writes' acknowledgement times.
    let lost = fault["strategies"]["redis"]["lost_writes"]
        .as_u64()
        .unwrap();
    assert!(
        html.contains(&format!("<tr><td>redis</td><td class=\"n\">{lost}</td>")),
        "the fault's {lost} lost writes not in its table"
    );
    assert!(html.contains("lost writes by when they were acknowledged"));

    // In Chromium: no console error (the check sees one when there is),
    // and a screenshot.
    let png = dir.path().join("r.png");
    let said = chromium(&page, &png);
    assert_eq!(console_errors(&said), Vec::<&str>::new(), "{said}");
    assert!(
        std::fs::metadata(&png).unwrap().len() > 20_000,
        "a blank screenshot?"
    );
    let broken = dir.path().join("broken.html");
    std::fs::write(
        &broken,
        // An SVG attribute a browser cannot read: what could go wrong here.
        html.replacen(
            "<svg class=\"chart\"",
            "<svg><rect width=\"NaN\" height=\"2\"/></svg><svg class=\"chart\"",
            1,
        ),
    )
    .unwrap();
    let said = chromium(&broken, &dir.path().join("broken.png"));
    assert_eq!(
        console_errors(&said).len(),
        1,
        "the console check sees nothing: {said}"
    );
}

#[test]
fn a_comparison_renders_its_table_and_a_chart_per_number() {
    let h = home();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("c.html");
    let out = cli(&h)
        .arg("compare")
        .arg(topology_path("redis-latency.yaml"))
        .arg(topology_path("redis-partition.yaml"))
        .args(["--duration", "3s", "--html"])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);
    for scenario in ["redis-latency", "redis-partition"] {
        assert!(html.contains(&format!("<td>{scenario}</td>")), "{scenario}");
    }
    // Lost writes, unavailable, p99, stale — and the cost per month
    // (issue 23).
    let charts = tags(&html, "<svg class=\"bars\"");
    assert_eq!(charts.len(), 5);
    assert!(html.contains("cost per month"), "no cost chart");
    for c in charts {
        // One bar per scenario and strategy.
        assert_eq!(tags(&c[..c.find("</svg>").unwrap()], "<rect").len(), 2);
    }
    let png = dir.path().join("c.png");
    let said = chromium(&page, &png);
    assert_eq!(console_errors(&said), Vec::<&str>::new(), "{said}");
    assert!(png.exists());
}
