//! Concurrency per session (issue 17): operations on one session in flight
//! at once, judged by real-time order, against real Redis and DynamoDB.

mod support;

use support::{run_scenario, scenario_file, topology_path};

fn strategy<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    &r["strategies"][name]
}

/// A shipped scenario (on the hybrid topology) with one request per
/// session at a time instead of four, as YAML.
fn one_at_a_time(file: &std::path::Path) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .replace("concurrency_per_session: 4", "concurrency_per_session: 1")
        .replace(
            "topology: hybrid.yaml",
            &format!("topology: {}", topology_path("hybrid.yaml").display()),
        )
}

/// Did expectation `expr` (as the report writes it) fail?
fn failed(report: &serde_json::Value, expr: &str) -> bool {
    report["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["expr"] == expr && e["ok"] == false)
}

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Four requests per session in flight, nearly all of them on one session
/// of a hundred, on stores that nothing breaks: many operations overlap,
/// and the checker calls none of them lost or stale (a serial judgement of
/// the same history would: an older write landing last, a read overtaken
/// by a write). (Until the generator started operations on time, the hot
/// traffic went to 3 sessions of 300: tokio's 1 ms timer released the
/// operations of each millisecond together, which made them overlap far
/// more often than their rate and latency do — 119 of 4 441 on Redis once
/// they were issued on time, below this test's 5 %.)
#[test]
fn overlapping_requests_on_healthy_stores_lose_nothing() {
    let topology = topology_path("hybrid.yaml");
    let (_dir, file) = scenario_file(&format!(
        "name: overlap
topology: {}
strategies: [redis, dynamodb]
workload:
  sessions: 100
  duration: 6s
  rates: {{ create: 30/s, read: 400/s, update: 300/s, delete: 10/s }}
  value_bytes: 256
  concurrency_per_session: 4
  hot_sessions: 1%
  hot_traffic: 95%
expect:
  redis.overlapped: \"> 0\"
  redis.lost_writes: \"== 0\"
  redis.stale: \"== 0\"
  dynamodb.overlapped: \"> 0\"
  dynamodb.lost_writes: \"== 0\"
  dynamodb.stale: \"== 0\"
",
        topology.display()
    ));
    let r = run_scenario(&file, &[], &[]);
    for name in ["redis", "dynamodb"] {
        let s = strategy(&r.report, name);
        let ops = n(s, "ops");
        let overlapped = n(s, "overlapped");
        assert!(
            overlapped * 20 > ops,
            "{name}: {overlapped} of {ops} overlapped"
        );
        assert_eq!(n(s, "lost"), 0, "{name}: {s}");
        assert_eq!(n(s, "resurrected"), 0, "{name}: {s}");
        assert_eq!(n(s, "proven_lost") + n(s, "proven_stale"), 0, "{name}: {s}");
        assert_eq!(s["writes"]["lost"], 0, "{name}: {s}");
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `cache-aside-race`: with overlapping requests the cache serves stale
/// copies (the read that missed puts an old value back after an update
/// deleted it), and `cache-aside-versioned` beside it on the same load
/// serves none; with one request per session at a time, on the same load
/// and the same link, neither can.
#[test]
fn cache_aside_serves_stale_copies_only_when_requests_overlap() {
    let file = topology_path("cache-aside-race.yaml");
    let raced = run_scenario(&file, &["--duration", "10s"], &[]);
    let s = strategy(&raced.report, "cache-aside");
    assert!(n(s, "overlapped") > 0, "{s}");
    assert!(n(s, "proven_stale") > 10, "few stale copies proven: {s}");
    assert_eq!(n(s, "lost"), 0, "{s}");
    // The fix, side by side on the same load: no stale copy at all.
    let fixed = strategy(&raced.report, "cache-aside-versioned");
    assert!(n(fixed, "overlapped") > 0, "{fixed}");
    assert_eq!(
        (n(fixed, "proven_stale"), n(fixed, "stale")),
        (0, 0),
        "{fixed}"
    );
    assert_eq!(raced.code, 0, "{}", raced.stderr);

    let serial_text = one_at_a_time(&file)
        .replace(
            "cache-aside.overlapped: \"> 0\"",
            "cache-aside.overlapped: \"== 0\"",
        )
        .replace(
            "cache-aside.proven_stale: \"> 20\"",
            "cache-aside.proven_stale: \"== 0\"",
        )
        .replace(
            "cache-aside-versioned.overlapped: \"> 0\"",
            "cache-aside-versioned.overlapped: \"== 0\"",
        );
    let (_dir, serial) = scenario_file(&serial_text);
    let r = run_scenario(&serial, &["--duration", "10s"], &[]);
    let s = strategy(&r.report, "cache-aside");
    assert_eq!((n(s, "overlapped"), n(s, "proven_stale")), (0, 0), "{s}");
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Overlap is no amnesty: a FLUSHALL in the middle of the same kind of
/// load is still counted, write by write. No deletes: every write
/// acknowledged before the flush (about 800 at 400 writes/s for 2 s) is
/// then one it destroyed (801 and 802 lost in four runs). (With deletes on the three hot sessions every
/// 0.3 s, only the writes since each session's last delete were destroyed:
/// 90 in the suite run where a fixed bound of 100 failed.)
///
/// Once the generator started operations on time this failed in 2 runs of
/// 7 with 528 lost: a write sent between the flush and the moment its
/// checkpoint held the load landed on an emptied hot session, and the
/// checkpoint called that session's earlier writes (a third of the count)
/// durable. The load is now held before a flush acts (`Plan::hold_ahead`).
#[test]
fn a_real_loss_is_still_counted_when_requests_overlap() {
    let topology = topology_path("standalone-no-persistence.yaml");
    let (_dir, file) = scenario_file(&format!(
        "name: overlap-flush
topology: {}
strategies: [redis]
workload:
  sessions: 300
  duration: 5s
  rates: {{ create: 100/s, read: 400/s, update: 300/s }}
  value_bytes: 256
  concurrency_per_session: 4
  hot_sessions: 1%
  hot_traffic: 95%
timeline:
  - {{ at: 2s, fault: flush, target: redis }}
expect:
  redis.overlapped: \"> 0\"
  redis.lost_writes: \"> 600\"
",
        topology.display()
    ));
    let r = run_scenario(&file, &[], &[]);
    let s = strategy(&r.report, "redis");
    assert!(n(s, "overlapped") > 0, "{s}");
    assert!(s["writes"]["lost"].as_u64().unwrap() > 600, "{s}");
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `session-lost-updates`: read-modify-write updates of one session with
/// overlapping requests. Blind updates lose changes on Redis and on
/// DynamoDB; optimistic updates lose none and show the conflicts they
/// retried; atomic updates lose none; every update not lost is found by a
/// later read (the zeros were looked for). One request per session at a
/// time, on the same load: nothing to lose, nothing to retry.
#[test]
fn blind_updates_lose_changes_only_when_requests_overlap() {
    let file = topology_path("session-lost-updates.yaml");
    let raced = run_scenario(&file, &["--duration", "8s"], &[]);
    for store in ["redis", "dynamodb"] {
        let blind = strategy(&raced.report, &format!("{store}-blind-update"));
        let optimistic = strategy(&raced.report, &format!("{store}-optimistic-update"));
        let atomic = strategy(&raced.report, &format!("{store}-atomic-update"));
        assert!(n(blind, "lost_updates") > 0, "{store}: {blind}");
        // Every acknowledged update is found or lost (the rare one may be
        // neither: missing from a value that holds nothing sent before it
        // was acknowledged).
        let judged = n(blind, "lost_updates") + n(blind, "updates_found");
        let acked = n(blind, "acked_writes");
        assert!(
            judged <= acked && judged * 50 >= acked * 49,
            "{store}: {judged} of {acked} judged: {blind}"
        );
        assert!(n(optimistic, "conflicts") > 0, "{store}: {optimistic}");
        for s in [optimistic, atomic] {
            assert!(n(s, "overlapped") > 0, "{store}: {s}");
            assert_eq!(n(s, "lost_updates"), 0, "{store}: {s}");
            assert!(
                n(s, "updates_found") * 10 > n(s, "acked_writes") * 9,
                "{store}: the tokens were not found: {s}"
            );
        }
    }
    assert_eq!(raced.code, 0, "{}", raced.stderr);

    let serial_text = one_at_a_time(&file);
    let (_dir, serial) = scenario_file(&serial_text);
    let r = run_scenario(&serial, &["--duration", "5s"], &[]);
    for name in [
        "redis-blind-update",
        "redis-optimistic-update",
        "dynamodb-blind-update",
        "dynamodb-optimistic-update",
    ] {
        let s = strategy(&r.report, name);
        assert_eq!(
            (n(s, "overlapped"), n(s, "lost_updates"), n(s, "conflicts")),
            (0, 0, 0),
            "{name}: {s}"
        );
        assert_eq!(n(s, "updates_found"), n(s, "acked_writes"), "{name}: {s}");
    }
    // The scenario's expectations need the overlap: without it the blind
    // flavours' losses are gone too.
    for expr in [
        "redis-blind-update.lost_updates > 0",
        "dynamodb-blind-update.lost_updates > 0",
    ] {
        assert!(failed(&r.report, expr), "{expr} held: {}", r.stderr);
    }
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// `write-through-race`: overlapping writes reach Redis and DynamoDB in
/// different orders (the requests to DynamoDB jitter), so the two copies
/// disagree until the next write; each time the cache is flushed, readers
/// fall back to DynamoDB's older copy, and writes they had already seen are
/// gone (lost: the checker saw them after the version that came back).
/// `write-through-versioned` keeps the newest in both: nothing lost, nothing
/// stale. One request per session at a time, same load: nothing to reorder.
///
/// Every session is read just before each flush (the load held), so the
/// count is what the flushes took back, judged at their checkpoints — not
/// what the load's own reads happened to see first. Without that read it
/// was 7–9 in 20 s here (debug build, the suite's), 5–11 in a release
/// build, and 1 on a CI run whose load was five times slower (p50 98 ms;
/// 0 and 4 in two runs here beside two busy loops); with it 22–33 (three
/// runs), 153–163 beside the busy loops (two), 25–32 in a release build
/// (eight), 2026-12-02.
#[test]
fn write_through_copies_disagree_only_when_requests_overlap() {
    let file = topology_path("write-through-race.yaml");
    let raced = run_scenario(&file, &[], &[]);
    let s = strategy(&raced.report, "write-through");
    assert!(n(s, "overlapped") > 0, "{s}");
    let lost = s["writes"]["lost"].as_u64().unwrap();
    assert!(lost > 12, "{s}");
    // Each judged at a flush's checkpoint (the read before it judges
    // nothing).
    let faults = raced.report["faults"].as_array().unwrap();
    let at_flushes: u64 = raced.report["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| faults[c["fault"].as_u64().unwrap() as usize]["kind"] == "flush")
        .map(|c| {
            c["strategies"]["write-through"]["writes"]["lost"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(at_flushes, lost, "{}", raced.report["checkpoints"]);
    // Read before every flush that fired (one event for both strategies).
    let fired = raced.report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "flush" && f["fired"] == true)
        .count();
    assert_eq!(fired, 17, "{}", raced.report["faults"]);
    assert_eq!(
        read_first(&raced.report),
        fired,
        "{}",
        raced.report["events"]
    );
    let fixed = strategy(&raced.report, "write-through-versioned");
    assert!(n(fixed, "overlapped") > 0, "{fixed}");
    // The reordering reached it too: its copies refused older writes.
    assert!(n(fixed, "conflicts") > 0, "{fixed}");
    assert!(
        fixed["writes"]["durable"].as_u64().unwrap() > 1000,
        "{fixed}"
    );
    assert_eq!(fixed["writes"]["lost"], 0, "{fixed}");
    assert_eq!(fixed["writes"]["stale"], 0, "{fixed}");
    assert_eq!(
        (
            n(fixed, "proven_lost"),
            n(fixed, "proven_stale"),
            n(fixed, "stale")
        ),
        (0, 0, 0),
        "{fixed}"
    );
    assert_eq!(raced.code, 0, "{}", raced.stderr);

    let serial_text = one_at_a_time(&file);
    let (_dir, serial) = scenario_file(&serial_text);
    let r = run_scenario(&serial, &[], &[]);
    let s = strategy(&r.report, "write-through");
    assert_eq!(n(s, "overlapped"), 0, "{s}");
    assert!(s["writes"]["durable"].as_u64().unwrap() > 1000, "{s}");
    assert_eq!(s["writes"]["lost"], 0, "{s}");
    assert_eq!(n(s, "proven_stale"), 0, "{s}");
    assert!(
        failed(&r.report, "write-through.lost_writes > 12"),
        "{}",
        r.stderr
    );
    // Nothing overlaps: nothing to read before the flushes.
    assert_eq!(read_first(&r.report), 0, "{}", r.report["events"]);
    assert!(
        failed(&r.report, "write-through-versioned.conflicts > 0"),
        "one at a time, nothing arrives out of order: {}",
        r.stderr
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// How many times every session was read before a fault acted.
fn read_first(report: &serde_json::Value) -> usize {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == "checkpoint"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("read before the fault acts"))
        })
        .count()
}
