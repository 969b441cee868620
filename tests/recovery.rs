//! Recovery time with data (issue 24): the shipped restart drills, their
//! bulk prefill scaled down so the suite stays short (the full sizes are
//! benchmark runs: docs/scenarios.md, "Recovery time as the data grows").

mod support;

use std::path::PathBuf;

use support::{run_scenario, scenario_file, topology_path};

/// Shipped scenario `file` with its bulk prefill of `from` sessions made
/// `to`, its topology named by its full path.
fn scaled(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(topology_path(file)).unwrap();
    let needle = format!("prefill: {{ sessions: {from},");
    assert!(text.contains(&needle), "{file} no longer has {needle}");
    let topology = text
        .lines()
        .find_map(|l| l.strip_prefix("topology: "))
        .unwrap()
        .to_string();
    scenario_file(
        &text
            .replace(&needle, &format!("prefill: {{ sessions: {to},"))
            .replace(
                &format!("topology: {topology}"),
                &format!("topology: {}", topology_path(&topology).display()),
            ),
    )
}

#[test]
fn a_redis_node_with_data_answers_loading_after_a_crash_and_loses_nothing() {
    let (_d, file) = scaled("redis-restart-1gb.yaml", "1M", "150k");
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let f = &ran.report["faults"][0];
    // 150k sessions of 1 KB: ~160 MB of AOF read back, seen every 100 ms.
    let loading = f["loading_ms"].as_u64().unwrap_or_else(|| panic!("{f}"));
    assert!(loading >= 100, "{f}");
    let w = &f["strategies"]["redis"];
    // The reads went on while it loaded (only the writes were held for the
    // checkpoint): the clients were answered LOADING, and served nothing
    // in between.
    let l = &w["loading_answers"];
    let answered = l["count"].as_u64().unwrap_or_else(|| panic!("{w}"));
    assert!(answered > 0, "{w}");
    assert_eq!(l["served"], 0, "{w}");
    let last = l["last_ms"].as_u64().unwrap();
    let read = w["read_recovery_ms"].as_u64().unwrap();
    assert!(
        read + 10 >= last,
        "a read served before the last LOADING: {w}"
    );
    assert!(
        ran.report["strategies"]["redis"]["errors"]["loading"].as_u64() >= Some(answered),
        "{}",
        ran.report["strategies"]["redis"]["errors"]
    );
    // Nothing was answered while it loaded: the first write and the first
    // read after the kill were answered after the observer saw it loaded
    // (give or take one of its looks, 100 ms apart).
    let at = f["at_ms"].as_u64().unwrap();
    let loaded = ran.report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "loaded" && e["t_ms"].as_u64().unwrap() >= at)
        .and_then(|e| e["t_ms"].as_u64())
        .unwrap();
    for key in ["recovery_ms", "read_recovery_ms"] {
        let first = at + w[key].as_u64().unwrap_or_else(|| panic!("{w}"));
        assert!(first + 100 >= loaded, "{key}: {w}, loaded at {loaded} ms");
    }
    // The AOF kept the bulk data too, looked for key by key.
    let b = &ran.report["strategies"]["redis"]["bulk"];
    assert_eq!(b["sampled"], 200, "{b}");
    assert_eq!(b["kept"], 200, "{b}");
    let events: Vec<&str> = ran.report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        events.contains(&"loading") && events.contains(&"loaded"),
        "{events:?}"
    );
}

#[test]
fn the_dynamodb_node_with_data_has_nothing_to_load_after_a_crash() {
    let (_d, file) = scaled("dynamodb-restart-100k.yaml", "100k", "5k");
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let f = &ran.report["faults"][0];
    assert!(f.get("loading_ms").is_none(), "{f}");
    // Back within a few seconds of the 300 ms kill: nothing to read back.
    let w = &f["strategies"]["dynamodb"];
    for key in ["recovery_ms", "read_recovery_ms"] {
        let ms = w[key].as_u64().unwrap_or_else(|| panic!("{w}"));
        assert!((300..5000).contains(&ms), "{key}: {w}");
    }
    let b = &ran.report["strategies"]["dynamodb"]["bulk"];
    assert_eq!(b["sampled"], 200, "{b}");
    assert_eq!(b["kept"], 200, "{b}");
}
