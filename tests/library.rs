//! The scenario library (issue 6): every scenario names the seed claim it
//! tests, every scenario is run by some test, and the library's own
//! scenarios pass their `expect:`; `compare` puts them side by side.

mod support;

use std::path::PathBuf;

use sessiondrill::faults::FaultKind;
use sessiondrill::scenario::{Document, SEEDS, Scenario};
use sessiondrill::topology::NodeKind;
use support::{cli, home, topology_path};

fn scenario_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| matches!(Document::load(p), Ok(Document::Scenario(_))))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_names_a_seed_claim_and_asks_a_question() {
    let files = scenario_files();
    assert!(files.len() >= 25, "{}", files.len());
    for f in files {
        let Ok(Document::Scenario(s)) = Document::load(&f) else {
            panic!("{} does not load", f.display());
        };
        let name = f.display();
        let claim = s
            .claim
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no claim"));
        assert!(
            SEEDS.iter().any(|(id, _, _)| *id == claim.seed),
            "{name}: seed {}",
            claim.seed
        );
        let description = s.description.as_deref().unwrap_or_default();
        assert!(
            description.contains(&format!("seed {}", claim.seed))
                || description.contains(&format!("seeds {}", claim.seed)),
            "{name}: the description must name seed {}: {description}",
            claim.seed
        );
        assert!(!claim.says.is_empty(), "{name}");
        assert!(
            s.question.as_deref().is_some_and(|q| q.ends_with('?')),
            "{name}: a question"
        );
        assert!(
            !s.expectations.is_empty(),
            "{name}: expectations encode the claim"
        );
    }
}

#[test]
fn every_scenario_is_run_by_a_test() {
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let sources: String = std::fs::read_dir(&tests)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    for f in scenario_files() {
        let file = f.file_name().unwrap().to_string_lossy();
        assert!(
            sources.contains(&format!("\"{file}\"")),
            "no test runs {file}"
        );
    }
}

/// Drills of this binary run one at a time under `cargo test` (nextest
/// runs each test in its own process; see .config/nextest.toml).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `run FILE` with its own duration; exit code and report (checked
/// against the committed schema).
fn run(file: &str) -> (i32, serde_json::Value) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let r = support::run_scenario(&topology_path(file), &[], &[]);
    (r.code, r.report)
}

#[test]
fn compare_puts_a_reboot_without_persistence_next_to_a_memcached_node_loss() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let h = home();
    let json = h.path().join("all.json");
    let out = cli(&h)
        .arg("compare")
        .arg(topology_path("redis-no-persistence-reboot.yaml"))
        .arg(topology_path("memcached-node-loss.yaml"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let row = |scenario: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {scenario} |")))
            .unwrap_or_else(|| panic!("no row for {scenario}: {stdout}"))
            .to_string()
    };
    assert!(row("redis-no-persistence-reboot").contains("met"));
    assert!(row("memcached-node-loss").contains("met"));
    let reports: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let share = |r: &serde_json::Value, s: &str| {
        let st = &r["strategies"][s];
        let judged = ["durable", "lost", "stale", "resurrected"]
            .iter()
            .map(|k| st[k].as_u64().unwrap())
            .sum::<u64>();
        st["lost"].as_u64().unwrap() as f64 / judged as f64
    };
    // Everything Redis held before the reboot; about one node in three.
    assert!(share(&reports[0], "redis") > 0.8);
    let m = share(&reports[1], "memcached");
    assert!((0.2..0.5).contains(&m), "{m}");
}

#[test]
fn compare_refuses_a_bad_file_before_running_anything() {
    let h = home();
    let bad = h.path().join("bad.yaml");
    std::fs::write(&bad, "name: [\n").unwrap();
    let out = cli(&h)
        .arg("compare")
        .arg(topology_path("redis-no-persistence-reboot.yaml"))
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:"));
    assert!(support::run_dirs(&h).is_empty());
}

#[test]
fn redis_is_faster_than_dynamodb_on_a_cloud_like_link() {
    let (code, report) = run("session-latency-cloud.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
}

#[test]
fn write_through_survives_a_redis_crash_that_redis_alone_does_not() {
    let (code, report) = run("write-through-redis-crash.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
    let lost = |s: &str| report["strategies"][s]["writes"]["lost"].as_u64().unwrap();
    assert_eq!(lost("write-through"), 0);
    assert!(lost("redis") > 100);
}

#[test]
fn cache_aside_falls_back_without_an_error_when_redis_dies() {
    let (code, report) = run("cache-aside-redis-down.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
}

#[test]
fn lost_invalidations_leave_stale_sessions_in_the_cache() {
    let (code, report) = run("cache-aside-invalidation-lost.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
    let s = &report["strategies"]["cache-aside"];
    assert!(s["stale"].as_u64().unwrap() > 0, "{s}");
    // Counted when the link healed, by the checkpoint taken then.
    let at_heal: u64 = report["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["strategies"]["cache-aside"]["writes"]["stale"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert!(at_heal > 0, "{}", report["checkpoints"]);
}

#[test]
fn redis_patterns_keep_their_promises_when_nothing_fails() {
    let (code, report) = run("redis-patterns-baseline.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
    let s = &report["strategies"];
    // The checker saw the lock and the limiter work: they refused.
    assert!(s["redis-lock"]["refused"].as_u64().unwrap() > 0);
    assert!(s["redis-rate-limit"]["refused"].as_u64().unwrap() > 0);
    assert_eq!(s["redis-lock"]["violations"], 0);
    assert_eq!(s["redis-rate-limit"]["violations"], 0);
}

#[test]
fn a_failover_with_a_held_partition_gives_a_lock_two_holders_and_breaks_the_limit() {
    let (code, report) = run("redis-patterns-split-brain.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
    let s = &report["strategies"];
    assert!(s["redis-lock"]["violations"].as_u64().unwrap() > 0);
    assert!(s["redis-rate-limit"]["violations"].as_u64().unwrap() > 0);
    assert!(s["redis-connmap"]["writes"]["lost"].as_u64().unwrap() > 0);
}

#[test]
fn noeviction_refuses_writes_instead_of_losing_sessions() {
    let (code, report) = run("cache-noeviction.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
    let s = &report["strategies"];
    assert_eq!(s["redis"]["lost"], 0);
    assert!(s["redis"]["errors"]["oom"].as_u64().unwrap() > 0);
}

#[test]
fn daxs_query_cache_serves_stale_sessions_and_the_checker_blames_the_cache() {
    let (code, report) = run("dax-query-stale.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
    let q = &report["strategies"]["dax-query"];
    let wrong = q["lost"].as_u64().unwrap() + q["stale"].as_u64().unwrap();
    assert!(wrong > 0);
    // Every one of them DynamoDB has at the acknowledged version: no
    // acknowledged write is lost, the cache hides some.
    assert_eq!(q["lost_from_cache"], q["lost"], "{q}");
    assert_eq!(q["stale_from_cache"], q["stale"], "{q}");
    assert_eq!(q["writes"]["lost"], 0, "{q}");
    assert!(q["writes"]["stale"].as_u64().unwrap() > 0, "{q}");
    let dax = &report["caches"]["dax"];
    assert!(dax["query"]["hits"].as_u64().unwrap() > 0, "{dax}");
    assert!(dax["item"]["hits"].as_u64().unwrap() > 0, "{dax}");
    assert!(dax["bypassed"].as_u64().unwrap() > 0, "{dax}");
}

#[test]
fn a_dead_dax_primary_costs_at_most_the_writes_in_flight_and_dynamodb_loses_nothing() {
    let (code, report) = run("dax-node-failure.yaml");
    assert_eq!(code, 0, "{}", report["expectations"]);
    let caches = report["caches"].as_object().unwrap();
    // The killed primary does not answer at the end; a replica took the
    // writes after it died.
    assert!(!caches.contains_key("dax-0"), "{caches:?}");
    let taken: u64 = caches
        .values()
        .map(|c| c["writes_as_primary"].as_u64().unwrap())
        .sum();
    assert!(taken > 0, "{caches:?}");
}

/// Shipped scenarios with a fault timeline whose topology `pick` accepts.
fn with_faults(pick: impl Fn(&Scenario) -> bool) -> Vec<PathBuf> {
    scenario_files()
        .into_iter()
        .filter(|f| match Document::load(f) {
            Ok(Document::Scenario(s)) => !s.timeline.is_empty() && !proves_itself(&s) && pick(&s),
            _ => false,
        })
        .collect()
}

/// A timeline that only reshapes a cluster (`reshard`, `add-master`,
/// `add-replica`): when it works, no number a client sees changes (no
/// error, nothing lost), so no expectation can tell a run without it. Each
/// proves itself and fails the run otherwise: every moved slot is the
/// destination's, the newcomer is known to every node, the new replica
/// has its master's data (tests/reshard.rs).
fn proves_itself(s: &Scenario) -> bool {
    s.timeline.iter().all(|e| {
        matches!(
            e.fault.kind(),
            FaultKind::Reshard | FaultKind::AddMaster | FaultKind::AddReplica
        )
    })
}

fn has(s: &Scenario, kind: fn(&NodeKind) -> bool) -> bool {
    s.topology.nodes.iter().any(|n| kind(&n.kind))
}

/// `redis.latency.p99_ms < 50`: a fixed latency ceiling, which a busy
/// machine can break by itself (not one relative to another strategy).
fn latency_ceiling(expr: &str) -> bool {
    let Some((metric, bound)) = expr.split_once(" <") else {
        return false;
    };
    let bound = bound.trim_start_matches('=').trim();
    metric.contains("latency") && bound.parse::<f64>().is_ok()
}

/// A control run of each file: the scenario without its faults must fail
/// an expectation other than a latency ceiling, or its expectations prove
/// nothing about the faults.
fn assert_control_runs_fail(files: &[PathBuf]) {
    assert!(!files.is_empty());
    let mut proved_nothing = Vec::new();
    for f in files {
        let r = support::run_scenario(f, &["--without-faults", "--duration", "2s"], &[]);
        assert!(r.report["faults"].as_array().unwrap().is_empty());
        let failed_for_the_fault = r.report["expectations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ok"] == false && !latency_ceiling(e["expr"].as_str().unwrap()));
        match r.code {
            1 if failed_for_the_fault => {}
            0 | 1 => proved_nothing.push(format!("{}: {}", f.display(), r.report["expectations"])),
            other => panic!("{}: exit {other}: {}", f.display(), r.stderr),
        }
    }
    assert!(
        proved_nothing.is_empty(),
        "these scenarios pass without their faults: {proved_nothing:#?}"
    );
}

#[test]
fn without_its_faults_every_standalone_redis_drill_fails() {
    assert_control_runs_fail(&with_faults(|s| {
        has(s, |k| matches!(k, NodeKind::Redis(_)))
            && !has(s, |k| matches!(k, NodeKind::Dynamodb(_)))
    }));
}

#[test]
fn without_its_faults_every_sentinel_and_cluster_drill_fails() {
    assert_control_runs_fail(&with_faults(|s| {
        has(s, |k| {
            matches!(k, NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_))
        }) && !has(s, |k| matches!(k, NodeKind::Dynamodb(_)))
    }));
}

#[test]
fn without_its_faults_every_dynamodb_dax_and_memcached_drill_fails() {
    assert_control_runs_fail(&with_faults(|s| {
        has(s, |k| {
            matches!(k, NodeKind::Dynamodb(_) | NodeKind::Memcached(_))
        })
    }));
}

/// The fault kinds no shipped scenario uses fire too, and their reports
/// validate; with the shipped scenarios, every kind is covered.
#[test]
fn every_fault_kind_fires_and_its_report_validates() {
    let (_d, file) = support::scenario_file(&format!(
        "name: the-other-faults
topology: {}
strategies: [redis]
workload:
  sessions: 300
  duration: 4s
  rates: {{ create: 200/s, read: 200/s, update: 100/s }}
  op_timeout: 500ms
timeline:
  - {{ at: 500ms, fault: pause, target: redis }}
  - {{ at: 1s, fault: resume, target: redis }}
  - {{ at: 1500ms, fault: bandwidth, target: redis, bandwidth: 20kb/s, duration: 500ms }}
  - {{ at: 2500ms, fault: reset, target: redis }}
  - {{ at: 3s, fault: flush, target: redis }}
expect:
  redis.lost_writes: \"> 0\"
",
        topology_path("standalone-no-persistence.yaml").display()
    ));
    let r = support::run_scenario(&file, &[], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.report["faults"]);
    let faults = r.report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 5, "{faults:?}");
    assert!(faults.iter().all(|f| f["fired"] == true), "{faults:?}");
    let mut kinds: Vec<String> = faults
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect();
    for f in scenario_files() {
        if let Ok(Document::Scenario(s)) = Document::load(&f) {
            kinds.extend(s.timeline.iter().map(|e| e.fault.kind().name().to_string()));
        }
    }
    // The clouds' kinds act on AWS: tests/cloud.rs fires them against
    // moto's FIS and ElastiCache's recorded answers.
    for k in FaultKind::ALL.iter().filter(|k| !k.is_cloud()) {
        assert!(
            kinds.iter().any(|n| n == k.name()),
            "no test fires {}",
            k.name()
        );
    }
}

#[test]
fn a_latency_ceiling_is_a_fixed_upper_bound_on_latency() {
    assert!(latency_ceiling("redis.latency.p99_ms < 50"));
    assert!(latency_ceiling("redis.latency.p99_ms <= 5"));
    assert!(!latency_ceiling(
        "redis.latency.p50_ms < 0.5 * dynamodb.latency.p50_ms"
    ));
    assert!(!latency_ceiling("redis.latency.p99_ms > 50"));
    assert!(!latency_ceiling("redis.lost < 5"));
}
