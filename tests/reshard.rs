//! Online resharding under load (issue 24): the shipped drill with its
//! data and slot count scaled down so the suite stays short.

mod support;

use support::{cli, home, run_scenario, scenario_file, topology_path};

#[test]
fn slots_move_between_masters_under_load_and_nothing_is_lost() {
    let text = std::fs::read_to_string(topology_path("cluster-reshard.yaml")).unwrap();
    for needle in [
        "topology: cluster-3x1.yaml",
        "sessions: 100k",
        "duration: 20s",
        "slots: 1000",
        "at: 3s",
    ] {
        assert!(
            text.contains(needle),
            "cluster-reshard.yaml no longer has {needle}"
        );
    }
    let (_d, file) = scenario_file(
        &text
            .replace(
                "topology: cluster-3x1.yaml",
                &format!("topology: {}", topology_path("cluster-3x1.yaml").display()),
            )
            .replace("sessions: 100k", "sessions: 20k")
            .replace("duration: 20s", "duration: 6s")
            .replace("slots: 1000", "slots: 200")
            .replace("at: 3s", "at: 1s"),
    );
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let f = &ran.report["faults"][0];
    assert_eq!(f["fired"], true, "{f}");
    // The load ran through the move: the fault's window, [at, healed],
    // is not among the times the load was held.
    let (at, healed) = (
        f["at_ms"].as_u64().unwrap(),
        f["healed_ms"].as_u64().unwrap(),
    );
    assert!(healed > at, "{f}");
    // (1 ms of slack: the checkpoint's hold is taken just before the
    // heal's time is written.)
    for p in ran.report["paused_ms"].as_array().unwrap() {
        let (from, to) = (p[0].as_u64().unwrap(), p[1].as_u64().unwrap());
        assert!(
            from + 1 >= healed || to <= at,
            "held during the move: {p} in {f}"
        );
    }
    // The keys that moved are the moved slots' share of all of them:
    // 25 000 keys (20 000 bulk, 5 000 sessions) × 200 / 16 384 ≈ 305.
    let ended = ran.report["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "fault-ended")
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("{}", ran.report["events"]));
    let keys: u64 = ended
        .strip_prefix("moved 200 slots (")
        .and_then(|m| m.split(' ').next())
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| panic!("{ended}"));
    assert!((200..=420).contains(&keys), "{ended}");
    // The clients were redirected, as the servers counted it: at least one
    // MOVED (their slot map went stale with the first slot moved).
    let moved: u64 = ended
        .split("the cluster sent ")
        .nth(1)
        .and_then(|m| m.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no redirections counted: {ended}"));
    assert!(moved > 0, "{ended}");
    let w = &f["strategies"]["redis"];
    assert_eq!(w["lost_writes"], 0, "{w}");
    let s = &ran.report["strategies"]["redis"];
    assert_eq!(s["lost"], 0, "{s}");
    assert_eq!(s["writes"]["lost"], 0, "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 1000, "{s}");
    // No client saw an error while slots moved (ASK, then MOVED, followed).
    assert_eq!(s["errors"], serde_json::json!({}), "{s}");
    // The bulk data is all still there, moved slots included.
    let b = &s["bulk"];
    assert_eq!(
        (b["sampled"].as_u64(), b["kept"].as_u64()),
        (Some(200), Some(200)),
        "{b}"
    );
}

#[test]
fn reshard_is_refused_where_there_are_no_slots_to_move() {
    let h = home();
    let (_d, file) = scenario_file(&format!(
        "name: r\ntopology: {}\nstrategies: [redis]\nworkload: {{ sessions: 10, duration: 2s, rates: {{ read: 1/s }} }}\ntimeline:\n  - {{ at: 1s, fault: reshard, target: redis, slots: 10 }}\nexpect:\n  redis.lost: \"== 0\"\n",
        topology_path("standalone-no-persistence.yaml").display()
    ));
    let out = cli(&h).arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("reshard moves a cluster's slots"),
        "{stderr}"
    );
    // A duration would stop it halfway; more slots than a source can give.
    let (_d, file) = scenario_file(&format!(
        "name: r\ntopology: {}\nstrategies: [redis]\nworkload: {{ sessions: 10, duration: 2s, rates: {{ read: 1/s }} }}\ntimeline:\n  - {{ at: 1s, fault: reshard, target: cache, slots: 16384, duration: 1s }}\nexpect:\n  redis.lost: \"== 0\"\n",
        topology_path("cluster-3x1.yaml").display()
    ));
    let out = cli(&h).arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("takes no duration"), "{stderr}");
    assert!(stderr.contains("between 1 and 16383"), "{stderr}");
}

/// A 3-master cluster with a spare, loaded, as a test scenario: `timeline`
/// is its fault list.
fn growing_cluster(replicas: u32, timeline: &str) -> String {
    format!(
        "name: grow
topology:
  name: grow
  nodes:
    cache: {{ kind: redis-cluster, shards: 3, replicas_per_shard: {replicas}, spares: 1, persistence: none }}
strategies: [redis]
workload:
  sessions: 2000
  prefill: {{ sessions: 10k, value_bytes: 256 }}
  duration: 7s
  rates: {{ create: 100/s, read: 300/s, update: 200/s }}
  ttl: 30m
  value_bytes: 256
  op_timeout: 1s
timeline:
{timeline}expect:
  redis.lost: \"== 0\"
  redis.lost_writes: \"== 0\"
"
    )
}

/// The `fault-ended` messages of a report, in order.
fn ended(report: &serde_json::Value) -> Vec<String> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "fault-ended")
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_new_shard_joins_under_load_and_a_reshard_then_gives_it_slots() {
    let text = std::fs::read_to_string(topology_path("cluster-scale-out.yaml")).unwrap();
    for needle in [
        "topology: cluster-3x1-spares.yaml",
        "sessions: 100k",
        "duration: 20s",
        "slots: 1000",
        "at: 2s, fault: add-master",
        "at: 4s, fault: add-replica, target: cache-6",
        "at: 6s, fault: reshard",
    ] {
        assert!(
            text.contains(needle),
            "cluster-scale-out.yaml no longer has {needle}"
        );
    }
    let (_d, file) = scenario_file(
        &text
            .replace(
                "topology: cluster-3x1-spares.yaml",
                &format!(
                    "topology: {}",
                    topology_path("cluster-3x1-spares.yaml").display()
                ),
            )
            .replace("sessions: 100k", "sessions: 10k")
            .replace("duration: 20s", "duration: 9s")
            .replace("slots: 1000", "slots: 200")
            .replace("at: 2s", "at: 1s")
            .replace("at: 4s", "at: 3s")
            .replace("at: 6s", "at: 5s"),
    );
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let faults = ran.report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 3, "{faults:?}");
    assert!(faults.iter().all(|f| f["fired"] == true), "{faults:?}");
    let said = ended(&ran.report);
    // cache-6 and cache-7 are the spares (three masters, three replicas).
    let joined = said
        .iter()
        .find(|m| m.contains("joined as a master"))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(joined.starts_with("cache-6 (127.0.0.1:"), "{joined}");
    assert!(
        joined.contains("the 6 other nodes that answered knew it"),
        "{joined}"
    );
    let address = joined
        .split(['(', ')'])
        .nth(1)
        .unwrap_or_else(|| panic!("{joined}"));
    let replica = said
        .iter()
        .find(|m| m.starts_with("cache-7 joined in "))
        .unwrap_or_else(|| panic!("{said:?}"));
    // Its master had no slots yet: nothing to copy.
    assert!(
        replica
            .contains("a replica of cache-6 with its data (0 keys; its master had 0 when asked)"),
        "{replica}"
    );
    // The reshard's destination is the new master (the one with the fewest
    // slots: none), and it checked every slot is its own after.
    let moved = said
        .iter()
        .find(|m| m.starts_with("moved 200 slots"))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(
        moved.contains(&format!("to {address} in")),
        "{moved} / {joined}"
    );
    let s = &ran.report["strategies"]["redis"];
    assert_eq!(s["lost"], 0, "{s}");
    assert_eq!(s["writes"]["lost"], 0, "{s}");
    assert_eq!(s["errors"], serde_json::json!({}), "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 1000, "{s}");
}

#[test]
fn a_spare_joins_as_a_replica_under_load_and_copies_its_masters_data() {
    let (_d, file) = scenario_file(&growing_cluster(
        1,
        "  - { at: 1s, fault: add-replica, target: cache-1 }\n",
    ));
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let f = &ran.report["faults"][0];
    assert_eq!(f["fired"], true, "{f}");
    let said = ended(&ran.report);
    // cache-6 is the spare (three masters, three replicas).
    let synced = said
        .iter()
        .find(|m| m.starts_with("cache-6 joined in "))
        .unwrap_or_else(|| panic!("{said:?}"));
    assert!(
        synced.contains("a replica of cache-1 with its data ("),
        "{synced}"
    );
    // Its master's share of 12 000 keys (10 000 bulk, 2 000 sessions),
    // about a third, read on the new replica once in sync.
    let count = |after: &str| -> u64 {
        synced
            .split(after)
            .nth(1)
            .and_then(|k| k.split(' ').next())
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("{synced}"))
    };
    let (copied, had) = (count("with its data ("), count("its master had "));
    assert!((3_000..=5_000).contains(&had), "{synced}");
    assert!(copied >= had, "{synced}");
    let s = &ran.report["strategies"]["redis"];
    assert_eq!(s["lost"], 0, "{s}");
    assert_eq!(s["errors"], serde_json::json!({}), "{s}");
}

#[test]
fn adding_a_node_is_refused_where_there_is_no_spare_or_with_a_duration() {
    let h = home();
    let (_d, file) = scenario_file(&format!(
        "name: r\ntopology: {}\nstrategies: [redis]\nworkload: {{ sessions: 10, duration: 2s, rates: {{ read: 1/s }} }}\ntimeline:\n  - {{ at: 1s, fault: add-master, target: cache }}\n  - {{ at: 1s, fault: add-replica, target: cache, duration: 1s }}\nexpect:\n  redis.lost: \"== 0\"\n",
        topology_path("cluster-3x1.yaml").display()
    ));
    let out = cli(&h).arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "add-master brings a spare server into the cluster; `cache` has none (add `spares: 1`)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("add-replica ends when the spare has joined: it takes no duration"),
        "{stderr}"
    );
    // More spares than the cluster allows, at the line of the field.
    let (_d, file) = scenario_file(&growing_cluster(0, "  []\n").replace("spares: 1", "spares: 9"));
    let out = cli(&h).arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("spares must be between 0 and 4; got 9"),
        "{stderr}"
    );
    // A cluster sessiondrill does not run has no spares of ours.
    let (_d, file) = scenario_file(&growing_cluster(0, "  []\n").replace(
        "spares: 1, persistence: none",
        "spares: 1, external: { addresses: [\"127.0.0.1:7000\"] }",
    ));
    let out = cli(&h).arg("validate").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("an external cluster has none"), "{stderr}");
}
