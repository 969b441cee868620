//! `sweep` (issue 24): one scenario per value of a field, the numbers
//! against the value, and a fit's prediction kept apart from what was
//! measured.

mod support;

use support::{cli, home, scenario_file, topology_path};

fn scenario() -> (tempfile::TempDir, std::path::PathBuf) {
    scenario_file(&format!(
        "name: sweep-restart\ntopology: {}\nstrategies: [redis]\nworkload:\n  sessions: 200\n  prefill: {{ sessions: 2k, value_bytes: 1024 }}\n  duration: 3s\n  rates: {{ read: 100/s, update: 50/s }}\n  ttl: 30m\ntimeline:\n  - {{ at: 1s, fault: kill, target: redis, duration: 200ms }}\nexpect:\n  redis.lost: \"== 0\"\n",
        topology_path("standalone-aof-everysec.yaml").display()
    ))
}

#[test]
fn a_three_point_sweep_prints_its_rows_and_a_labelled_prediction() {
    let (dir, file) = scenario();
    let h = home();
    let (json, html) = (dir.path().join("s.json"), dir.path().join("s.html"));
    let out = cli(&h)
        .arg("sweep")
        .arg(&file)
        .args([
            "--vary",
            "workload.prefill.sessions=2k,10k,30k",
            "--metrics",
            "recovery_s,bulk_s,lost_writes",
            "--predict",
            "sessions=1M",
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = s["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{s}");
    let xs: Vec<f64> = rows.iter().map(|r| r["x"].as_f64().unwrap()).collect();
    assert_eq!(xs, [2e3, 1e4, 3e4]);
    // Each run wrote its own size: the bulk prefill grows with it.
    let bulk = |i: usize| rows[i]["metrics"][1][1].as_f64().unwrap();
    assert!(bulk(2) > bulk(0), "{s}");
    // Every run's fault bit and nothing was lost.
    for r in rows {
        assert!(r["metrics"][0][1].as_f64().is_some_and(|v| v > 0.0), "{r}");
        assert_eq!(r["metrics"][2][1], 0.0, "{r}");
    }
    // The prediction: labelled, apart, and not a measured row.
    let p = &s["predictions"][0];
    assert_eq!(p["value"], "1M", "{s}");
    assert_eq!(p["extrapolated"], true, "{s}");
    let (measured, rest) = stdout.split_once("Fitted").unwrap();
    assert!(!measured.contains("| 1M |"), "{stdout}");
    assert!(rest.contains("**Predicted, not measured**"), "{stdout}");
    assert!(
        stdout.contains("recovery_s:\n"),
        "no terminal chart: {stdout}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>Predicted, not measured</h2>"));
    assert_eq!(page.matches("<svg class=\"bars\"").count(), 3);
    assert!(support::run_dirs(&h).is_empty());
}

#[test]
fn a_sweep_with_a_bad_field_or_value_is_refused_before_anything_runs() {
    let (_dir, file) = scenario();
    let h = home();
    for (vary, says) in [
        ("workload.prefill.sessions=2k", "at least two values"),
        ("workload.prefill.sessions=2k,lots", "not a number"),
        ("nope.sessions=1,2", "nope: no such field"),
        ("workload.sessions=0,10", "sessions must be between 1"),
    ] {
        let out = cli(&h)
            .arg("sweep")
            .arg(&file)
            .args(["--vary", vary])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{vary}: {stderr}");
        assert!(stderr.contains(says), "{vary}: {stderr}");
        assert!(!stderr.contains("running"), "{vary}: {stderr}");
    }
    let out = cli(&h)
        .arg("sweep")
        .arg(&file)
        .args(["--vary", "workload.sessions=10,20", "--metrics", "speed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
