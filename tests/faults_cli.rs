//! Faults on real nodes through the real binary: a process crash of Redis
//! with AOF everysec loses nothing; a Sentinel failover promotes a replica
//! and clients write again within down-after + 3 s.

mod support;

use support::topology_path;

/// Run a shipped scenario; returns (exit code, report JSON, stderr). The
/// report is checked against the committed schema.
fn run(scenario: &str, duration: &str) -> (i32, serde_json::Value, String) {
    let r = support::run_scenario(&topology_path(scenario), &["--duration", duration], &[]);
    (r.code, r.report, r.stderr)
}

fn events_of<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[test]
fn aof_everysec_kill_loses_nothing() {
    let (code, r, err) = run("aof-everysec-kill.yaml", "4s");
    let s = &r["strategies"]["redis"];
    assert_eq!(code, 0, "{err}\n{s}");
    assert_eq!(s["lost"], 0, "{s}");
    assert_eq!(s["stale"], 0, "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 1000, "{s}");
    // The kill really happened: clients saw errors, the node went down and
    // came back, and the fault is in the report with its budget.
    assert!(
        s["errors"]
            .as_object()
            .unwrap()
            .values()
            .any(|v| v.as_u64() > Some(0)),
        "{s}"
    );
    let f = &r["faults"][0];
    assert_eq!(f["kind"], "kill", "{f}");
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
    assert_eq!(f["strategies"]["redis"]["lost"], 0);
    assert_eq!(f["strategies"]["redis"]["budget_writes"], 0.0);
    assert!(!events_of(&r, "node-down").is_empty(), "{}", r["events"]);
    assert!(!events_of(&r, "node-up").is_empty(), "{}", r["events"]);
}

#[test]
fn sentinel_promotes_a_replica_after_the_primary_is_killed() {
    let (code, r, err) = run("sentinel-kill-primary.yaml", "7s");
    assert_eq!(code, 0, "{err}");
    let f = &r["faults"][0];
    assert_eq!(f["kind"], "kill");
    assert_eq!(f["processes"][0], "cache-0", "{f}");
    let failovers = events_of(&r, "failover");
    assert_eq!(failovers.len(), 1, "{}", r["events"]);
    let msg = failovers[0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Failover from primary node cache-0 to replica node cache-"),
        "{msg}"
    );
    // Clients write again within down-after (1 s) + 3 s of the kill.
    let recovery = f["strategies"]["redis"]["recovery_ms"].as_u64().unwrap();
    assert!(recovery <= 4000, "recovery {recovery} ms");
    assert!(
        recovery >= 1000,
        "recovery {recovery} ms is faster than down-after"
    );
}

#[test]
fn latency_on_the_link_raises_the_median_by_at_least_the_latency() {
    let (code, r, err) = run("redis-latency.yaml", "5s");
    assert_eq!(code, 0, "{err}");
    let seconds = r["strategies"]["redis"]["per_second"].as_array().unwrap();
    let p50 = |t: usize| seconds[t]["p50_us"].as_u64().unwrap();
    // The fault holds from 2 s to 4 s of the load.
    let before = p50(1);
    for t in [2, 3] {
        assert!(
            p50(t) >= before + 50_000,
            "second {t}: p50 {} us vs {before} us before",
            p50(t)
        );
    }
    assert!(p50(4) < before + 25_000, "healed: p50 {} us", p50(4));
    // The generator's own lag is measured apart from the latency it is part
    // of: 50 ms on the link is latency, not lag.
    let s = &r["strategies"]["redis"];
    let (lag, latency) = (&s["scheduler_lag_us"], &s["latency_us"]);
    assert!(latency["p99"].as_u64().unwrap() >= 50_000, "{latency}");
    assert!(
        lag["p99"].as_u64().unwrap() < 20_000,
        "lag {lag}, latency {latency}"
    );
    // …and measured: a value never recorded would read 1 µs, the floor of
    // the histogram.
    assert!(lag["max"].as_u64().unwrap() > 1, "lag {lag}");
}

#[test]
fn partition_times_clients_out_and_heal_restores_them_within_a_second() {
    let (code, r, err) = run("redis-partition.yaml", "5s");
    assert_eq!(code, 0, "{err}");
    let s = &r["strategies"]["redis"];
    assert!(s["errors"]["timeout"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    let f = &r["faults"][0];
    let (at, healed) = (
        f["at_ms"].as_u64().unwrap(),
        f["healed_ms"].as_u64().unwrap(),
    );
    let windows = s["unavailable_windows"].as_array().unwrap();
    let during: Vec<_> = windows
        .iter()
        .filter(|w| w[1].as_u64().unwrap() > at)
        .collect();
    assert!(!during.is_empty(), "no outage: {windows:?}");
    for w in during {
        let end = w[1].as_u64().unwrap();
        assert!(
            end <= healed + 1000,
            "outage ends {end} ms, healed {healed} ms"
        );
    }
}

#[test]
fn throttling_30_percent_shows_as_30_percent_throttled() {
    let (code, r, err) = run("dynamodb-throttle.yaml", "4s");
    assert_eq!(code, 0, "{err}");
    let s = &r["strategies"]["dynamodb"];
    let ops = s["ops"].as_u64().unwrap() as f64;
    let throttled = s["errors"]["throttled"].as_u64().unwrap() as f64;
    let share = throttled / ops;
    assert!(
        (0.25..=0.35).contains(&share),
        "throttled {share:.3} of {ops} ops"
    );
    assert_eq!(s["lost"], 0, "{s}");
    // Scattered failures are errors, not unavailability: writes never
    // failed for long, while errors ran through the whole load.
    assert!(s["unavailable_ms"].as_u64().unwrap() < 500, "{s}");
    let windows = s["error_windows"].as_array().unwrap();
    let errored: u64 = windows
        .iter()
        .map(|w| w["to_ms"].as_u64().unwrap() - w["from_ms"].as_u64().unwrap())
        .sum();
    assert!(errored >= 3000, "{windows:?}");
}

#[test]
fn split_brain_loses_the_writes_the_cut_off_primary_accepted() {
    let (code, r, err) = run("sentinel-split-brain.yaml", "9s");
    assert_eq!(code, 0, "{err}");
    assert_eq!(events_of(&r, "failover").len(), 1, "{}", r["events"]);
    let f = &r["faults"][0];
    let w = &f["strategies"]["redis"];
    assert!(w["lost_writes"].as_u64().unwrap() > 0, "{w}");
    // Every lost write was accepted by the old primary while it was cut
    // off: after the fault, before the heal.
    let [first, last] = [0, 1].map(|i| w["lost_acked_ms"][i].as_i64().unwrap());
    let held = (f["healed_ms"].as_u64().unwrap() - f["at_ms"].as_u64().unwrap()) as i64;
    assert!(
        first >= 0 && last <= held,
        "lost acked {first}..{last} ms, held {held} ms"
    );
    // Clients never saw an error: the loss is silent.
    assert_eq!(r["strategies"]["redis"]["unavailable_ms"], 0);
    // Every write until the clients followed the new primary (down-after
    // 5 s + the election): more than min-replicas-max-lag 1 lets through
    // (the bound of `sentinel-split-brain-min-replicas`).
    assert!(w["lost_writes"].as_u64().unwrap() >= 3500, "{w}");
}

#[test]
fn min_replicas_max_lag_bounds_the_split_brain_loss() {
    let (code, r, err) = run("sentinel-split-brain-min-replicas.yaml", "9s");
    assert_eq!(code, 0, "{err}");
    let s = &r["strategies"]["redis"];
    // The cut-off primary refused writes once its replicas lagged > 1 s.
    assert!(s["errors"]["noreplicas"].as_u64().unwrap() > 0, "{s}");
    let w = &r["faults"][0]["strategies"]["redis"];
    let destroyed = w["lost_writes"].as_u64().unwrap();
    let budget = w["budget_writes"].as_f64().unwrap();
    assert!(
        destroyed > 0 && (destroyed as f64) <= budget,
        "{destroyed} writes destroyed, budget {budget}"
    );
    assert!(destroyed < 3500, "the scenario's bound: {w}");
    // Nothing acknowledged later than the lag (1 s) + 2 s after the cut was
    // lost: the primary counts the replicas' lag in whole seconds, on a
    // once-a-second cron (2.9 s was measured, so 2.5 s — lag + the cron —
    // was too tight).
    let last = w["lost_acked_ms"][1].as_i64().unwrap();
    assert!(
        last <= 3000,
        "a write acked {last} ms after the cut was lost"
    );
}

#[test]
fn cluster_recovers_after_a_master_is_killed() {
    let (code, r, err) = run("cluster-kill-master.yaml", "6s");
    assert_eq!(code, 0, "{err}");
    let at = r["faults"][0]["at_ms"].as_u64().unwrap();
    let ok: Vec<u64> = events_of(&r, "cluster-state")
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains(" is now ok"))
        .map(|e| e["t_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(ok.len(), 1, "{}", r["events"]);
    assert!(
        ok[0] > at && ok[0] - at < 4000,
        "ok again {} ms after the kill",
        ok[0] - at
    );
    let promoted = events_of(&r, "failover");
    assert_eq!(promoted.len(), 1, "{}", r["events"]);
    assert!(
        promoted[0]["message"]
            .as_str()
            .unwrap()
            .contains("replica node cache-3"),
        "{}",
        promoted[0]
    );
    assert_eq!(r["strategies"]["redis"]["lost"], 0);
}

#[test]
fn eviction_loses_redis_only_sessions_but_not_those_backed_by_dynamodb() {
    let (code, r, err) = run("cache-evict.yaml", "4s");
    assert_eq!(code, 0, "{err}");
    let lost = |s: &str| r["strategies"][s]["writes"]["lost"].as_u64().unwrap();
    assert!(lost("redis") > 0);
    assert_eq!(lost("write-through"), 0);
    assert_eq!(lost("cache-aside"), 0);
    let f = &r["faults"][0];
    assert_eq!(f["kind"], "evict");
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
}

/// (acknowledged writes lost, [earliest, latest] ack of a lost write
/// relative to the fault).
fn power_loss(r: &serde_json::Value, strategy: &str) -> (u64, Option<[i64; 2]>) {
    let f = &r["faults"][0];
    assert_eq!(f["kind"], "power-loss", "{f}");
    assert!(f["healed_ms"].as_u64().is_some(), "not restarted: {f}");
    let w = &f["strategies"][strategy];
    let acked = w["lost_acked_ms"]
        .as_array()
        .map(|a| [a[0].as_i64().unwrap(), a[1].as_i64().unwrap()]);
    (w["lost_writes"].as_u64().unwrap(), acked)
}

#[test]
fn aof_everysec_power_loss_loses_the_last_unsynced_second() {
    let (code, r, err) = run("aof-everysec-power-loss.yaml", "5s");
    assert_eq!(code, 0, "{err}");
    let (lost, acked) = power_loss(&r, "redis");
    assert!(lost > 0, "{}", r["faults"]);
    // Every lost write was acknowledged shortly before the power went. The
    // client sees an acknowledgement when it reads the reply: one Redis
    // sent just before the kill can be read a few ms after it on a busy
    // machine (+4 ms in a CI run), so the bound allows 50 ms of that.
    let [first, last] = acked.unwrap();
    assert!(
        first >= -2500 && last <= 50,
        "lost writes acked {first}..{last} ms"
    );
    // The cut waited for 700 ms without an fsync (`unsynced: 700ms`): the
    // lost writes reach back most of that.
    assert!(first <= -500, "lost writes acked {first}..{last} ms");
    let said = r["faults"][0]["message"].as_str().unwrap_or_default();
    let after: u64 = said
        .split(" ms after the last fsync")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no time since the last fsync in {said:?}"));
    assert!((700..2700).contains(&after), "{said}");
    assert!(
        r["faults"][0]["discarded"]["bytes_discarded"]
            .as_u64()
            .unwrap()
            > 0,
        "{}",
        r["faults"][0]
    );
    assert_lost_writes_match_the_unsynced_time(&r);
}

/// The fault's lost writes are the writes of the time the node went
/// without an fsync: within 0.5–1.6 × the write rate × `unsynced_ms`, and
/// the checkpoint after the restart judged them.
fn assert_lost_writes_match_the_unsynced_time(r: &serde_json::Value) {
    let f = &r["faults"][0];
    let unsynced = f["unsynced_ms"].as_f64().unwrap_or_else(|| panic!("{f}"));
    let w = &f["strategies"]["redis"];
    let rate = w["write_rate"].as_f64().unwrap();
    let lost = w["lost_writes"].as_f64().unwrap();
    let expected = rate * unsynced / 1000.0;
    assert!(
        (0.5..=1.6).contains(&(lost / expected)),
        "{lost} writes lost; {rate:.0} writes/s × {unsynced} ms unsynced = {expected:.0}: {w}"
    );
    let at_checkpoint: u64 = r["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["fault"] == 0)
        .map(|c| c["strategies"]["redis"]["writes"]["lost"].as_u64().unwrap())
        .sum();
    assert_eq!(at_checkpoint as f64, lost, "{}", r["checkpoints"]);
}

/// A power loss on AOF everysec, then five seconds of load over only 300
/// sessions (each rewritten about 20 times): the checkpoint after the
/// restart counts the lost writes before the load can write over them. The
/// same drill counted only at the end sees (almost) nothing — which is
/// what the report said before checkpoints.
#[test]
fn a_power_loss_is_counted_write_by_write_however_much_is_written_after_it() {
    let scenario = |check: &str| {
        format!(
            "name: everysec-rewritten
topology: {}
strategies: [redis]
check: {check}
workload:
  sessions: 300
  duration: 7s
  rates: {{ create: 400/s, read: 200/s, update: 800/s }}
timeline:
  - {{ at: 2s, fault: power-loss, target: redis, duration: 300ms, unsynced: 700ms }}
",
            topology_path("standalone-aof-everysec.yaml").display()
        )
    };
    let (_d, file) = support::scenario_file(&scenario("checkpoints"));
    let r = support::run_scenario(&file, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_lost_writes_match_the_unsynced_time(&r.report);
    let counted = r.report["strategies"]["redis"]["writes"]["lost"]
        .as_u64()
        .unwrap();
    let (_d, file) = support::scenario_file(&scenario("end-only"));
    let end_only = support::run_scenario(&file, &[], &[]);
    assert_eq!(end_only.code, 0, "{}", end_only.stderr);
    assert!(
        end_only.report["checkpoints"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let washed = end_only.report["strategies"]["redis"]["writes"]["lost"]
        .as_u64()
        .unwrap();
    assert!(
        washed * 5 < counted,
        "counted only at the end: {washed} lost writes; with the checkpoint: {counted}"
    );
}

#[test]
fn aof_always_power_loss_loses_nothing() {
    let (code, r, err) = run("aof-always-power-loss.yaml", "5s");
    assert_eq!(code, 0, "{err}");
    assert_eq!(power_loss(&r, "redis").0, 0);
    assert_eq!(r["strategies"]["redis"]["stale"], 0);
    assert_nothing_lost_by_a_cut_that_bit(&r, "redis");
}

/// No acknowledged write lost, by a power loss that happened: the node
/// went down, writes failed meanwhile, and the checkpoint after the restart
/// read every session.
fn assert_nothing_lost_by_a_cut_that_bit(r: &serde_json::Value, strategy: &str) {
    let f = &r["faults"][0];
    assert_eq!(f["fired"], true, "{f}");
    assert!(!events_of(r, "node-down").is_empty(), "{}", r["events"]);
    let s = &r["strategies"][strategy];
    assert!(
        s["errors"]
            .as_object()
            .unwrap()
            .values()
            .any(|n| n.as_u64() > Some(0)),
        "{s}"
    );
    assert_eq!(s["writes"]["lost"], 0, "{s}");
    assert_eq!(f["strategies"][strategy]["lost_writes"], 0, "{f}");
    let checkpoint = r["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["fault"] == 0)
        .unwrap_or_else(|| panic!("no checkpoint: {}", r["events"]));
    let t = &checkpoint["strategies"][strategy];
    assert!(t["checked"].as_u64().unwrap() > 100, "{t}");
    assert_eq!(t["unverified"], 0, "{t}");
}

#[test]
fn rdb_power_loss_loses_what_came_after_the_last_save() {
    let (code, r, err) = run("rdb-power-loss.yaml", "5s");
    assert_eq!(code, 0, "{err}");
    let (lost, acked) = power_loss(&r, "redis");
    assert!(lost > 0, "{}", r["faults"]);
    // Saves run every second: nothing older than a save interval (plus
    // the fork and write of the snapshot) before the fault is lost.
    let [first, _] = acked.unwrap();
    assert!(
        first >= -2500,
        "a write acked {first} ms before the fault was lost"
    );
}

#[test]
fn dynamodb_power_loss_loses_nothing() {
    let (code, r, err) = run("dynamodb-power-loss.yaml", "5s");
    assert_eq!(code, 0, "{err}");
    assert_eq!(power_loss(&r, "dynamodb").0, 0);
    let s = &r["strategies"]["dynamodb"];
    assert_eq!(s["stale"], 0, "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 300, "{s}");
    assert_nothing_lost_by_a_cut_that_bit(&r, "dynamodb");
}

/// A failover no Sentinel can perform (all three frozen) is a fault that
/// did not happen: the run fails, and the report says why.
#[test]
fn a_failover_no_sentinel_can_perform_fails_the_run() {
    let (_d, file) = support::scenario_file(&format!(
        "name: failover-nobody-performs
topology: {}
strategies: [redis]
workload:
  sessions: 200
  duration: 4s
  rates: {{ create: 100/s, read: 100/s }}
  op_timeout: 500ms
timeline:
  - {{ at: 500ms, fault: pause, target: cache-sentinel-0 }}
  - {{ at: 500ms, fault: pause, target: cache-sentinel-1 }}
  - {{ at: 500ms, fault: pause, target: cache-sentinel-2 }}
  - {{ at: 1s, fault: failover, target: cache }}
expect:
  redis.lost: \"== 0\"
",
        topology_path("replicated-sentinel.yaml").display()
    ));
    let r = support::run_scenario(&file, &[], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let failover = r.report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "failover")
        .unwrap_or_else(|| panic!("{}", r.report["faults"]));
    assert_eq!(failover["fired"], false, "{failover}");
    assert!(failover["error"].as_str().is_some(), "{failover}");
    assert_eq!(r.report["ok"], false);
    // The expectations are still evaluated and shown.
    assert_eq!(r.report["expectations"][0]["ok"], true);
}

#[test]
fn sentinel_failover_promotes_and_its_losses_are_charged_to_it() {
    let (code, r, err) = run("sentinel-manual-failover.yaml", "5s");
    assert_eq!(code, 0, "{err}");
    let promoted = events_of(&r, "failover");
    assert_eq!(promoted.len(), 1, "{}", r["events"]);
    let f = &r["faults"][0];
    assert_eq!(f["kind"], "failover");
    // Whatever was lost was acknowledged by the old primary after the
    // request, and the report charges it to the failover.
    let s = &r["strategies"]["redis"];
    let w = &f["strategies"]["redis"];
    assert_eq!(w["lost"], s["lost"], "{w} vs {s}");
    assert_eq!(w["stale"], s["stale"], "{w} vs {s}");
    assert_eq!(w["lost_writes"], s["writes"]["lost"], "{w} vs {s}");
    // A planned failover loses writes, silently.
    assert!(w["lost_writes"].as_u64().unwrap() > 0, "{w}");
    assert!(s["errors"].as_object().unwrap().is_empty(), "{s}");
    let first = w["lost_acked_ms"][0].as_i64().unwrap();
    assert!(
        first >= 0,
        "a write acked {first} ms before the failover was lost"
    );
}

#[test]
fn a_frozen_primary_is_failed_over_and_rejoins_when_it_thaws() {
    let (code, r, err) = run("sentinel-frozen-primary.yaml", "9s");
    assert_eq!(code, 0, "{err}\n{}", r["expectations"]);
    let said = |kind: &str, text: &str| {
        events_of(&r, kind)
            .iter()
            .any(|e| e["message"].as_str().is_some_and(|m| m.contains(text)))
    };
    assert!(said("fault", "SIGSTOP cache-0"), "{}", r["events"]);
    // Sentinel cannot tell frozen from dead: a replica is promoted while
    // the old primary is still stopped, which then resumes and answers.
    assert_eq!(events_of(&r, "failover").len(), 1, "{}", r["events"]);
    assert!(said("healed", "cache-0 resumed"), "{}", r["events"]);
    assert!(said("node-up", "cache-0"), "{}", r["events"]);
    let at = |kind: &str| events_of(&r, kind)[0]["t_ms"].as_u64().unwrap();
    assert!(at("failover") < at("healed"), "{}", r["events"]);
    // Writes wait for down-after (2 s) and the election: the Sentinels
    // count down-after from their oldest unanswered PING, so the promotion
    // comes at least 2 s after the freeze. Unavailability is counted by
    // intended start, and a write sent less than the op timeout (500 ms)
    // before the promotion can still succeed within it (the client follows
    // the Sentinels after an error): at least 2 000 - 500 ms (the CI run
    // of 29586bd, `issues ci`, measured 1 978 ms). A session that kept
    // retrying within a second from the freeze to the promotion stalled at
    // least down-after; with 2 000 sessions at 1 100 ops/s many do (a
    // session's next operation comes within 1 s with p ~ 0.4): that run's
    // longest stall was 3 221 ms. Without the pause both are ~0.
    let s = &r["strategies"]["redis"];
    assert!(s["max_stall_ms"].as_u64().unwrap() > 2000, "{s}");
    assert!(s["unavailable_ms"].as_u64().unwrap() > 1500, "{s}");
}

/// Redis Cluster's key slot: CRC16/XMODEM of the key, modulo 16384.
fn slot(key: &str) -> u16 {
    let mut crc: u16 = 0;
    for &b in key.as_bytes() {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

#[test]
fn cluster_split_brain_loses_writes_only_on_the_cut_off_shard() {
    assert_eq!(slot("123456789"), 0x31C3); // the CRC16/XMODEM check value
    split_brain_loses_writes_only_on_shard_0("cluster-split-brain.yaml");
}

/// The same cut with the bus, replication and clients encrypted: the bus
/// proxy cannot read a TLS bus, so it knows each connection by the
/// loopback address its node connects from.
#[test]
fn cluster_split_brain_over_tls_loses_writes_only_on_the_cut_off_shard() {
    split_brain_loses_writes_only_on_shard_0("tls-cluster-split-brain.yaml");
}

fn split_brain_loses_writes_only_on_shard_0(file: &str) {
    let (code, r, err) = run(file, "7s");
    assert_eq!(code, 0, "{file}: {err}");
    let s = &r["strategies"]["redis"];
    let lost: Vec<u64> = s["lost_ids"]
        .as_array()
        .unwrap()
        .iter()
        .chain(s["stale_ids"].as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(!lost.is_empty(), "{s}");
    // Shard 0 (cache-0) serves slots 0..=5460 of three shards.
    let run = r["run_id"].as_str().unwrap();
    let tag = run.rsplit('-').next().unwrap();
    for id in &lost {
        let k = format!("sd:{tag}:redis:session:{id}");
        assert!(
            slot(&k) <= 5460,
            "{k} (slot {}) lost outside shard 0",
            slot(&k)
        );
    }
    // What was lost was accepted by the cut-off master before node-timeout
    // (1 s) told it it was in the minority (plus the cron's granularity) —
    // or just before the cut, not yet replicated (replication is
    // asynchronous): one acknowledged 1 ms before the cut was lost in a
    // suite run, so the bound allows 50 ms of replication lag.
    let w = &r["faults"][0]["strategies"]["redis"];
    let [first, last] = [0, 1].map(|i| w["lost_acked_ms"][i].as_i64().unwrap());
    assert!(
        first >= -50 && last <= 2500,
        "lost writes acked {first}..{last} ms"
    );
}

#[test]
fn timeout_drops_bytes_instead_of_holding_them() {
    let (_d, file) = support::scenario_file(
        "name: redis-timeout
topology: { name: t, nodes: { redis: { kind: redis, persistence: aof } } }
strategies: [redis]
workload:
  sessions: 500
  duration: 4s
  rates: { create: 100/s, read: 200/s, update: 200/s }
  op_timeout: 300ms
timeline:
  - { at: 1s, fault: timeout, target: redis, close_after: 500ms, duration: 1500ms }
",
    );
    let ran = support::run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let r = ran.report;
    let s = &r["strategies"]["redis"];
    assert!(s["errors"]["timeout"].as_u64().unwrap() > 0, "{s}");
    // Dropped, not held: writes sent during the fault never land. (A write
    // sent just before it can still time out on a loaded machine and land:
    // a few, where a held partition would deliver nearly all of them.)
    let write_timeouts = s["ops_by_kind"]["create"]["errors"].as_u64().unwrap()
        + s["ops_by_kind"]["update"]["errors"].as_u64().unwrap();
    let landed = s["indeterminate"].as_u64().unwrap();
    assert!(
        landed * 10 < write_timeouts,
        "{landed} of {write_timeouts} timed-out writes landed"
    );
    assert_eq!(s["lost"], 0, "{s}");
    let windows = s["unavailable_windows"].as_array().unwrap();
    let healed = r["faults"][0]["healed_ms"].as_u64().unwrap();
    assert!(
        windows
            .iter()
            .all(|w| w[1].as_u64().unwrap() <= healed + 1000),
        "{windows:?} healed {healed}"
    );
}

/// A freeze longer than the operation timeout: every request on a session
/// fails after 500 ms, one after another, until the store thaws. The
/// longest stall shows the freeze's real length; without the freeze there
/// is none.
#[test]
fn a_three_second_freeze_is_a_three_second_stall() {
    let (_d, file) = support::scenario_file(&format!(
        "name: freeze-stall
topology: {}
strategies: [redis]
workload:
  sessions: 50
  duration: 6s
  rates: {{ create: 100/s, read: 300/s, update: 100/s }}
  op_timeout: 500ms
timeline:
  - {{ at: 1s, fault: pause, target: redis, duration: 3s }}
",
        topology_path("standalone-no-persistence.yaml").display()
    ));
    let frozen = support::run_scenario(&file, &[], &[]);
    assert_eq!(frozen.code, 0, "{}", frozen.stderr);
    let s = &frozen.report["strategies"]["redis"];
    let stall = s["max_stall_ms"].as_u64().unwrap();
    assert!((2500..4000).contains(&stall), "{s}");
    // It began when the freeze did: with the first operation the freeze
    // caught, which may have been sent a moment before the fault's time
    // was taken (seen: 2 ms before, with a generator on time to the µs),
    // but not an operation's timeout before it.
    let began = s["max_stall_from_ms"].as_u64().unwrap();
    let fault = frozen.report["faults"][0]["at_ms"].as_u64().unwrap();
    assert!(
        began + 50 >= fault && began < fault + 500,
        "{began} vs {fault}"
    );
    // Timed-out operations are in the latencies, at the timeout or later.
    assert!(s["errors"]["timeout"].as_u64().unwrap() > 0, "{s}");
    assert!(s["latency_us"]["max"].as_u64().unwrap() >= 500_000, "{s}");
    // While it held, the median operation waited out its timeout: the
    // fault's own latency shows the freeze, where the run's is diluted
    // by the calm seconds around it.
    let during = &frozen.report["faults"][0]["strategies"]["redis"]["latency_us"];
    assert!(during["p50"].as_u64().unwrap() >= 400_000, "{during}");
    assert!(
        during["p50"].as_u64() > s["latency_us"]["p50"].as_u64(),
        "{during} {s}"
    );

    let calm = support::run_scenario(&file, &["--without-faults"], &[]);
    assert_eq!(calm.code, 0, "{}", calm.stderr);
    let s = &calm.report["strategies"]["redis"];
    assert!(s["max_stall_ms"].as_u64().unwrap() < 500, "{s}");
    assert_eq!(s["errors"].as_object().unwrap().len(), 0, "{s}");
}
