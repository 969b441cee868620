//! Headless `run` through the real binary: every strategy fault-free
//! reports ops > 0, lost = 0, stale = 0; the JSON report validates against
//! the committed schema; a failed expectation exits 1.

mod support;

use std::path::Path;

use support::{cli, home, topology_path};

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
    )
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("schema compiles")
}

/// Run a shipped scenario for `duration`; returns (exit code, report JSON).
fn run(scenario: &str, duration: &str) -> (i32, serde_json::Value) {
    let h = home();
    let json = h.path().join("report.json");
    let md = h.path().join("report.md");
    let out = cli(&h)
        .arg("run")
        .arg(topology_path(scenario))
        .args(["--duration", duration, "--json"])
        .arg(&json)
        .arg("--md")
        .arg(&md)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no report ({e}): {stderr}")),
    )
    .unwrap();
    let errors: Vec<String> = schema()
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match docs/report.schema.json: {errors:#?}"
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("| strategy | ops |"), "{markdown}");
    assert!(
        support::run_dirs(&h).is_empty(),
        "run directory left behind"
    );
    (out.status.code().unwrap_or(-1), report)
}

fn assert_clean(report: &serde_json::Value, strategy: &str) {
    let s = &report["strategies"][strategy];
    assert!(s["ops"].as_u64().unwrap() > 0, "{strategy}: {s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 0, "{strategy}: {s}");
    assert!(s["checked"].as_u64().unwrap() > 0, "{strategy}: {s}");
    assert_eq!(s["lost"], 0, "{strategy}: {s}");
    assert_eq!(s["stale"], 0, "{strategy}: {s}");
    assert_eq!(s["unverified"], 0, "{strategy}: {s}");
    assert!(s["latency_us"]["p50"].as_u64().unwrap() > 0);
}

#[test]
fn every_hybrid_strategy_fault_free_side_by_side() {
    let (code, report) = run("all-strategies-baseline.yaml", "1500ms");
    for s in ["redis", "dynamodb", "write-through", "cache-aside"] {
        assert_clean(&report, s);
    }
    assert_eq!(report["ok"], true);
    assert_eq!(code, 0);
}

#[test]
fn memcached_fault_free() {
    let (code, report) = run("memcached-baseline.yaml", "1500ms");
    assert_clean(&report, "memcached");
    assert_eq!(code, 0);
}

#[test]
fn single_strategy_scenarios_pass_their_expectations() {
    for s in [
        "redis-baseline.yaml",
        "dynamodb-baseline.yaml",
        "write-through-baseline.yaml",
        "cache-aside-baseline.yaml",
    ] {
        let (code, report) = run(s, "1s");
        assert_eq!(code, 0, "{s}: {}", report["expectations"]);
        // The generator's own lag is measured apart, and is part of the
        // latency (counted from the intended start).
        for (name, st) in report["strategies"].as_object().unwrap() {
            let lag = &st["scheduler_lag_us"];
            assert!(lag["max"].as_u64().unwrap() >= 1, "{s} {name}: {lag}");
            assert!(
                lag["p50"].as_u64().unwrap() <= st["latency_us"]["p50"].as_u64().unwrap(),
                "{s} {name}: {lag} vs {}",
                st["latency_us"]
            );
        }
    }
}

#[test]
fn a_failed_expectation_exits_1_and_says_which() {
    let h = home();
    let file = h.path().join("strict.yaml");
    std::fs::write(
        &file,
        format!(
            "name: strict\ntopology: {}\nstrategies: [redis]\nworkload:\n  sessions: 100\n  duration: 500ms\n  rates: {{ create: 50/s, read: 50/s }}\nexpect:\n  redis.latency.max_ms: \"< 0.001\"\n  redis.lost: \"== 0\"\n",
            topology_path("standalone-no-persistence.yaml").display()
        ),
    )
    .unwrap();
    let json = h.path().join("r.json");
    let out = cli(&h)
        .arg("run")
        .arg(&file)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let e = &report["expectations"];
    assert_eq!(e[0]["ok"], false);
    assert!(e[0]["observed"].as_f64().unwrap() > 0.001);
    assert_eq!(e[1]["ok"], true);
    assert_eq!(report["ok"], false);
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL `redis.latency.max_ms < 0.001`"));
}

#[test]
fn invalid_scenario_is_exit_2_with_position() {
    let h = home();
    let file = h.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: bad\ntopology: nope.yaml\nstrategies: [redis]\nworkload:\n  sessions: 10\n  duration: 1s\n  rates: { read: 1/s }\n",
    )
    .unwrap();
    let out = cli(&h).arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:2:1: topology file") && err.contains("does not exist (topology)"),
        "{err}"
    );

    std::fs::write(
        &file,
        format!(
            "name: bad\ntopology: {}\nstrategies: [redis, cassandra]\nworkload:\n  sessions: 10\n  duration: 1s\n  rates: {{ read: fast }}\nexpect:\n  redis.lots: \"== 0\"\n",
            topology_path("memcached.yaml").display()
        ),
    )
    .unwrap();
    let out = cli(&h).arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:3:1: a strategy here needs a redis node"),
        "{err}"
    );
    assert!(
        err.contains("bad.yaml:3:21: unknown strategy `cassandra`"),
        "{err}"
    );
    assert!(err.contains("bad.yaml:7:12: a rate is like 300/s, 100/m or 300 (per second, at most 1000000); got fast (workload.rates.read)"), "{err}");
    assert!(!err.contains("at least one rate"), "{err}");
    assert!(err.contains("bad.yaml:9:3: unknown metric `lots`"), "{err}");
}
