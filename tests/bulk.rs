//! Bulk prefill (issue 24): data written in pipelines and batches before
//! the load, what is left of it sampled at the end; refused where it
//! cannot run or cannot fit.

mod support;

use support::{cli, home, run_scenario, scenario_file, topology_path};

fn scenario(
    topology: &str,
    strategies: &str,
    prefill: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    scenario_file(&format!(
        "name: bulk\ntopology: {}\nstrategies: {strategies}\nworkload:\n  sessions: 100\n  prefill: {prefill}\n  duration: 1s\n  rates: {{ read: 20/s, update: 10/s }}\n  ttl: 30m\ntimeline: []\n",
        topology_path(topology).display()
    ))
}

#[test]
fn bulk_data_is_written_to_every_store_and_found_at_the_end() {
    let (_d, file) = scenario(
        "hybrid.yaml",
        "[redis, dynamodb, write-through]",
        "{ sessions: 5k, value_bytes: 256 }",
    );
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let r = &ran.report;
    for (name, copies) in [("redis", 1), ("dynamodb", 1), ("write-through", 2)] {
        let b = &r["strategies"][name]["bulk"];
        assert_eq!(b["sessions"], 5000, "{name}: {b}");
        assert_eq!(b["value_bytes"], 256, "{name}: {b}");
        assert_eq!(b["copies"], copies, "{name}: {b}");
        assert!(b.get("error").is_none(), "{name}: {b}");
        assert!(b["per_second"].as_f64().unwrap() > 0.0, "{name}: {b}");
        // What is left of it, looked for key by key: all of it.
        assert_eq!(b["sampled"], 200, "{name}: {b}");
        assert_eq!(b["kept"], 200, "{name}: {b}");
    }
    let events: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        events
            .iter()
            .any(|m| m.starts_with("write-through: 10000 bulk writes in")),
        "{events:?}"
    );
    // The checked sessions were written once too, and the bulk data is
    // not among them: 100 sessions checked.
    assert_eq!(r["strategies"]["redis"]["checked"], 100);
}

#[test]
fn a_cluster_takes_the_bulk_data_in_pipelines_one_hash_slot_each() {
    let (_d, file) = scenario(
        "cluster-3x1.yaml",
        "[redis]",
        "{ sessions: 3k, value_bytes: 128 }",
    );
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let b = &ran.report["strategies"]["redis"]["bulk"];
    assert!(b.get("error").is_none(), "{b}");
    assert_eq!(b["sampled"], 200, "{b}");
    assert_eq!(b["kept"], 200, "{b}");
    let written = ran.report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str())
        .any(|m| m.starts_with("redis: 3000 bulk writes in"));
    assert!(written, "{}", ran.report["events"]);
}

#[test]
fn a_prefill_that_cannot_run_or_cannot_fit_is_refused_before_anything_starts() {
    let h = home();
    let refused = |topology: &str, strategies: &str, prefill: &str, says: &str| {
        let (_d, file) = scenario(topology, strategies, prefill);
        let out = cli(&h).arg("run").arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{prefill}: {stderr}");
        assert!(stderr.contains(says), "{prefill}: {stderr}");
        assert!(!stderr.contains("ready in"), "{prefill}: {stderr}");
    };
    // Validation, at the entry's line.
    refused(
        "memcached.yaml",
        "[memcached]",
        "{ sessions: 1k }",
        "strategy `memcached` takes no bulk prefill",
    );
    refused(
        "standalone-no-persistence.yaml",
        "[redis]",
        "{ sessions: lots }",
        "scenario.yaml:6:",
    );
    refused(
        "standalone-no-persistence.yaml",
        "[redis]",
        "{ sessions: 1k, size: 1 }",
        "unknown field `size` in prefill",
    );
    // The machine: 100M sessions of 400 kB would need ~37 TiB.
    refused(
        "standalone-no-persistence.yaml",
        "[redis]",
        "{ sessions: 100M, value_bytes: 400000 }",
        "need about",
    );
}
