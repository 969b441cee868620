//! `run --history FILE.jsonl` (issue 22): every operation as an
//! invocation and a completion, the checker's reads and the faults on the
//! same clock — and a re-check of it by a script that does not use
//! sessiondrill's checker (`scripts/recheck-history.py`).

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use support::{cli, home, topology_path};

/// `run FILE --history` with `extra`: the report, the history's lines and
/// what the run said.
fn run(file: &Path, extra: &[&str]) -> (serde_json::Value, Vec<serde_json::Value>, String) {
    let h = home();
    let json = h.path().join("report.json");
    let history = h.path().join("history.jsonl");
    let out = cli(&h)
        .arg("run")
        .arg(file)
        .arg("--json")
        .arg(&json)
        .arg("--history")
        .arg(&history)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{stderr}");
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let lines = std::fs::read_to_string(&history)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (report, lines, stderr)
}

/// What the re-check script says of `lines` (and its exit code).
fn recheck(lines: &[serde_json::Value]) -> (serde_json::Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/recheck-history.py"
        ))
        .arg(&path)
        .output()
        .unwrap();
    let said = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (said, out.status.code().unwrap_or(-1))
}

#[test]
fn every_operation_is_one_invocation_and_one_completion() {
    // Fault-free, every kind of operation (deletes too), two strategies.
    let (_d, file) = support::scenario_file(
        "name: history
topology:
  name: t
  nodes:
    cache: { kind: redis }
    mc: { kind: memcached }
strategies: [redis, memcached]
workload:
  # Few sessions: their operations often fall due while another on the
  # same session is still running, and must not overlap in the history.
  sessions: 4
  duration: 2s
  rates: { create: 100/s, read: 200/s, update: 100/s, delete: 20/s }
  ttl: 30m
",
    );
    let (report, lines, stderr) = run(&file, &[]);
    assert!(stderr.contains("history: "), "{stderr}");
    let mut open: HashMap<(String, u64), u64> = HashMap::new();
    let mut per_strategy: HashMap<String, (u64, u64)> = HashMap::new();
    let mut last = 0;
    for l in &lines {
        let t = l["time"].as_u64().unwrap();
        assert!(t >= last, "not in time order: {l}");
        last = t;
        if !l["process"].is_u64() {
            continue;
        }
        // Operations the drain abandoned are not in the report's counts.
        let abandoned = l["phase"] == "abandoned";
        let key = (
            l["strategy"].as_str().unwrap().to_string(),
            l["key"].as_u64().unwrap(),
        );
        let counts = per_strategy.entry(key.0.clone()).or_default();
        if l["type"] == "invoke" {
            // One operation at a time per session: never two open at once.
            assert!(
                open.insert(key, t).is_none(),
                "two invocations at once: {l}"
            );
            counts.0 += u64::from(!abandoned);
        } else {
            let sent = open
                .remove(&key)
                .unwrap_or_else(|| panic!("no invocation: {l}"));
            assert!(t >= sent);
            if abandoned {
                continue;
            }
            assert_eq!(l["type"], "ok", "a fault-free run: {l}");
            counts.1 += 1;
        }
    }
    assert!(open.is_empty(), "invocations without completion: {open:?}");
    for (name, s) in report["strategies"].as_object().unwrap() {
        let ops = s["ops"].as_u64().unwrap();
        assert!(ops > 500, "{name}: {ops}");
        assert_eq!(per_strategy[name], (ops, ops), "{name}");
    }
    // Every kind, and the final sweep read every session written.
    for f in ["write", "read", "delete"] {
        assert!(lines.iter().any(|l| l["f"] == f), "no {f}");
    }
    assert!(lines.iter().any(|l| {
        l["process"]
            .as_str()
            .is_some_and(|p| p.starts_with("checker-"))
            && l["phase"] == "final"
    }));
}

#[test]
fn a_script_of_its_own_finds_the_reports_losses_in_the_history_of_a_power_loss() {
    let (report, lines, _) = run(&topology_path("aof-everysec-power-loss.yaml"), &[]);
    let s = &report["strategies"]["redis"];
    let (said, code) = recheck(&lines);
    assert_eq!(code, 0, "{said}");
    let r = &said["redis"];
    // The fault bit: writes were lost (the scenario expects > 400).
    assert!(s["writes"]["lost"].as_u64().unwrap() > 400, "{s}");
    assert_eq!(r["lost_writes"], s["writes"]["lost"], "{said} vs {s}");
    assert_eq!(r["lost"], s["lost"], "{said} vs {s}");
    assert_eq!(r["stale"], s["stale"], "{said} vs {s}");
    assert_eq!(r["ops"], s["ops"], "{said} vs {s}");
    assert_eq!(r["acked_writes"], s["acked_writes"], "{said} vs {s}");
    assert_eq!(r["unjudged_writes"], 0, "{said}");
    // The fault and the operations are on one clock, timed apart (the
    // injector's instants, the operations' own): the first operation that
    // may not have happened came after the power went.
    let start = lines
        .iter()
        .find(|l| l["process"] == "nemesis" && l["f"] == "start")
        .unwrap();
    assert!(
        start["value"]
            .as_str()
            .unwrap()
            .starts_with("power-loss redis")
    );
    let first_failure = lines
        .iter()
        .find(|l| l["type"] == "info" && l["process"].is_u64())
        .unwrap();
    assert!(
        first_failure["time"].as_u64() >= start["time"].as_u64(),
        "{first_failure} before {start}"
    );
}

/// A history that cannot be written stops the run before it starts.
#[test]
fn an_unwritable_history_is_refused_before_any_load() {
    let h = home();
    let out = cli(&h)
        .arg("run")
        .arg(topology_path("redis-latency.yaml"))
        .args(["--history", "/nonexistent/dir/h.jsonl"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/dir/h.jsonl"), "{stderr}");
    assert!(!stderr.contains("ready in"), "{stderr}");
}

#[test]
fn a_history_past_its_limit_says_it_was_cut() {
    let (report, lines, _) = run(
        &topology_path("redis-latency.yaml"),
        &[
            "--duration",
            "3s",
            "--without-faults",
            "--history-limit",
            "100",
        ],
    );
    assert!(report["strategies"]["redis"]["ops"].as_u64().unwrap() > 100);
    // 100 lines of the load, the checker's reads on a budget of their own
    // (100 lines), and the note.
    let load = lines.iter().filter(|l| l["process"].is_u64()).count();
    let checker = lines
        .iter()
        .filter(|l| {
            l["process"]
                .as_str()
                .is_some_and(|p| p.starts_with("checker"))
        })
        .count();
    assert_eq!((load, checker, lines.len()), (100, 100, 201));
    let last = lines.last().unwrap();
    assert_eq!(last["f"], "history-cut", "{last}");
    let (_, code) = recheck(&lines);
    assert_eq!(code, 1, "the script must say its numbers are partial");
}
