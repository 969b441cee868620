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
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    let ran = run_scenario(&file, &["--history", history.to_str().unwrap()], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let f = &ran.report["faults"][0];
    // 150k sessions of 1 KB: ~160 MB of AOF read back, seen every 100 ms.
    let loading = f["loading_ms"].as_u64().unwrap_or_else(|| panic!("{f}"));
    assert!(loading >= 100, "{f}");
    let w = &f["strategies"]["redis"];
    // From the heal (the writes held) to the end of the checkpoint after
    // it, the load sent reads and no write or delete: so the reads met
    // LOADING, and nothing landed on what the crash left before it was
    // read. A write that passed the check just before the hold may be sent
    // a moment after it (its session's previous operation ending against
    // the dead node), and the heal waits for it before starting the node:
    // 50 ms of margin at the start, well inside the loading (≥ 100 ms).
    let cp = ran.report["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["fault"] == 0)
        .unwrap_or_else(|| panic!("no checkpoint: {}", ran.report["checkpoints"]));
    let held = (cp["at_ms"].as_u64().unwrap() + 50) * 1000;
    let resumed = cp["resumed_ms"].as_u64().unwrap() * 1000;
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&history)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let load = |l: &&serde_json::Value| l["process"].is_u64() && l["phase"].is_null();
    let sent_while_held = |f: &str| {
        lines
            .iter()
            .filter(load)
            .filter(|l| l["type"] == "invoke" && l["f"] == f)
            .filter(|l| (held..resumed).contains(&l["time"].as_u64().unwrap()))
            .count()
    };
    // (The scenario sends no deletes: they are held with the writes.)
    assert_eq!(sent_while_held("write"), 0, "held {held}..{resumed} µs");
    assert!(sent_while_held("read") > 0, "held {held}..{resumed} µs");
    let answered_loading = |f: &str| {
        lines
            .iter()
            .filter(load)
            .filter(|l| l["f"] == f && l["error"] == "loading")
            .count()
    };
    // What the report says they were answered: LOADING, and nothing
    // served in between (a lone Redis that is loading serves nothing).
    let l = &w["loading_answers"];
    let answered = l["count"].as_u64().unwrap_or_else(|| panic!("{w}"));
    assert_eq!(answered as usize, answered_loading("read"), "{w}");
    assert_eq!(answered_loading("write"), 0);
    assert_eq!(
        ran.report["strategies"]["redis"]["errors"]["loading"].as_u64(),
        Some(answered),
        "{}",
        ran.report["strategies"]["redis"]["errors"]
    );
    assert_eq!(l["served"], 0, "{w}");
    let last = l["last_ms"].as_u64().unwrap();
    let read = w["read_recovery_ms"].as_u64().unwrap();
    assert!(
        read + 10 >= last,
        "a read served before the last LOADING: {w}"
    );
    // Nothing was served while it loaded: the first write and the first
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
