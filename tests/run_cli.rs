//! Headless `run` through the real binary: every strategy fault-free
//! reports ops > 0, lost = 0, stale = 0; the JSON report validates against
//! the committed schema; a failed expectation exits 1.

mod support;

use support::{cli, home, topology_path};

/// Run a shipped scenario for `duration` (also as Markdown); returns (exit
/// code, report JSON checked against the committed schema).
fn run(scenario: &str, duration: &str) -> (i32, serde_json::Value) {
    let h = home();
    let md = h.path().join("report.md");
    let md_arg = md.display().to_string();
    let r = support::run_scenario(
        &topology_path(scenario),
        &["--duration", duration, "--md", &md_arg],
        &[],
    );
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("| strategy | ops |"), "{markdown}");
    (r.code, r.report)
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
    }
}

/// Issue 15: `run FILE --duration D` with a fault timed after D ran a drill
/// without its fault and passed. Now nothing starts, and the error names the
/// timeline entry where it is written.
#[test]
fn a_fault_that_would_never_fire_is_refused_before_anything_starts() {
    let h = home();
    let out = cli(&h)
        .arg("run")
        .arg(topology_path("aof-always-power-loss.yaml"))
        .args(["--duration", "2s"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("aof-always-power-loss.yaml:20:7: `power-loss redis for 300ms` at 3s does not fit in the 2s load: it would never fire (--duration 2s) (timeline[0])"),
        "{err}"
    );
    assert!(!err.contains("bringing up"), "{err}");
    assert!(support::run_dirs(&h).is_empty());
    // The same in the file itself: `validate` names it.
    let file = h.path().join("short.yaml");
    let text = std::fs::read_to_string(topology_path("aof-always-power-loss.yaml"))
        .unwrap()
        .replace("duration: 6s", "duration: 3s")
        .replace(
            "topology: standalone-aof-always.yaml",
            &format!(
                "topology: {}",
                topology_path("standalone-aof-always.yaml").display()
            ),
        );
    std::fs::write(&file, text).unwrap();
    let out = cli(&h).arg("validate").arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("short.yaml:20:7: `power-loss redis for 300ms` at 3s does not fit in the 3s load: it would never fire (timeline[0].at)"),
        "{err}"
    );
}

/// The schema is kept with the code: every strategy, fault kind, error
/// class, operation kind and live verdict the code has is in it, and
/// nothing else.
#[test]
fn the_schema_names_exactly_what_the_code_has() {
    use sessiondrill::check::ReadCheck;
    use sessiondrill::faults::FaultKind;
    use sessiondrill::metrics::OpKind;
    use sessiondrill::store::ErrorClass;
    use sessiondrill::store::StrategyKind;
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
    )
    .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let names = |pointer: &str| -> Vec<String> {
        let mut v: Vec<String> = schema
            .pointer(pointer)
            .and_then(|e| e.as_array())
            .unwrap_or_else(|| panic!("no {pointer} in the schema"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let sorted = |it: &mut dyn Iterator<Item = &str>| {
        let mut v: Vec<String> = it.map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(
        names("/properties/strategies/propertyNames/enum"),
        sorted(&mut StrategyKind::ALL.iter().map(|k| k.name()))
    );
    assert_eq!(
        names("/$defs/fault/properties/kind/enum"),
        sorted(&mut FaultKind::ALL.iter().map(|k| k.name()))
    );
    assert_eq!(
        names("/$defs/strategy/properties/errors/propertyNames/enum"),
        sorted(&mut ErrorClass::ALL.iter().map(|c| c.name()))
    );
    assert_eq!(
        names("/$defs/strategy/properties/ops_by_kind/propertyNames/enum"),
        sorted(&mut OpKind::ALL.iter().map(|k| k.name()))
    );
    assert_eq!(
        names("/$defs/strategy/properties/live/propertyNames/enum"),
        sorted(
            &mut ReadCheck::ALL
                .iter()
                .filter(|c| !matches!(c, ReadCheck::Durable | ReadCheck::Nothing))
                .map(|c| c.name())
        )
    );
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

/// `bench redis` end to end on a tiny load: both sides ran every round and
/// the table carries the median ratio (docs/PERFORMANCE.md's numbers come
/// from this command at full length).
#[test]
fn bench_redis_alternates_with_redis_benchmark_and_reports_the_median_ratio() {
    let h = support::home();
    let out = support::cli(&h)
        .args(["bench", "redis", "--requests", "2000", "--clients", "4"])
        .args(["--rounds", "3"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rounds: Vec<&str> = text.lines().filter(|l| l.starts_with("round ")).collect();
    assert_eq!(rounds.len(), 3, "{text}");
    assert!(rounds.iter().all(|l| l.contains("(errors 0)")), "{text}");
    for op in ["SET", "GET"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| {op} |")))
            .unwrap_or_else(|| panic!("no {op} row in {text}"));
        // Three ratios per round, then their median.
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let mut ratios: Vec<f64> = cells[4]
            .split(" / ")
            .map(|r| r.parse().unwrap_or_else(|_| panic!("{row}")))
            .collect();
        assert_eq!(ratios.len(), 3, "{row}");
        assert!(ratios.iter().all(|&r| r > 0.0), "{row}");
        // The median of three is the middle one.
        ratios.sort_by(f64::total_cmp);
        assert_eq!(cells[5], format!("{:.2}", ratios[1]), "{row}");
    }
}

/// `bench redis --tls`: both redis-benchmark and the driver reach a
/// TLS-only server, verified against the run's authority (neither could
/// speak plaintext to it), and say so.
#[test]
fn bench_redis_over_tls_runs_both_clients_over_tls() {
    let h = support::home();
    let out = support::cli(&h)
        .args([
            "bench",
            "redis",
            "--tls",
            "--requests",
            "2000",
            "--clients",
            "4",
        ])
        .args(["--rounds", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let round = text.lines().find(|l| l.starts_with("round 1:")).unwrap();
    assert!(round.contains("(errors 0)"), "{text}");
    assert!(text.contains(", over TLS)"), "{text}");
    assert!(support::run_dirs(&h).is_empty());
}
