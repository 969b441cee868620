//! The checker against real servers, with damage done behind the engine's
//! back: each test knows exactly what must be reported.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use sessiondrill::metrics::Phase;
use sessiondrill::metrics::ledger::Acked;
use sessiondrill::provision::{self, Deployment};
use sessiondrill::scenario::Scenario;
use sessiondrill::store::{self, value};
use sessiondrill::workload::{self, RunHandle, RunOutcome, StrategyRun};
use sessiondrill::yaml::SourceText;
use support::{home, topology_path, up_options};

fn scenario(topology: &str, strategy: &str, sessions: u64, rates: &str, prefill: bool) -> Scenario {
    let text = format!(
        "name: checker\ntopology: {}\nstrategies: [{strategy}]\nworkload:\n  sessions: {sessions}\n  duration: 1500ms\n  rates: {{ {rates} }}\n  prefill: {prefill}\n  value_bytes: 64\n",
        topology_path(topology).display()
    );
    Scenario::parse(&SourceText::inline("checker.yaml", text)).expect("valid scenario")
}

async fn start(s: &Scenario, h: &tempfile::TempDir) -> (Deployment, RunHandle) {
    let d = provision::up(&s.topology, &up_options(h))
        .await
        .expect("up");
    let mut runs = Vec::new();
    for &kind in &s.strategies {
        runs.push(StrategyRun {
            kind,
            store: store::build(kind, s, &d).await.expect("store"),
        });
    }
    let events = sessiondrill::events::EventLog::new(std::time::Instant::now());
    let handle = workload::start(&s.workload, s.workload.duration, runs, events, None);
    (d, handle)
}

/// Wait until the timed load is running (prefill done), plus `extra`.
async fn into_load(h: &RunHandle, extra: Duration) {
    let mut rx = h.snapshots.clone();
    while rx.borrow().phase != Phase::Load {
        rx.changed().await.expect("engine alive");
    }
    tokio::time::sleep(extra).await;
}

async fn redis_con(d: &Deployment) -> redis::aio::MultiplexedConnection {
    redis::Client::open(d.nodes[0].info.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn key(id: u64) -> String {
    format!("sd:redis:session:{id}")
}

fn finish_counts(o: &RunOutcome) -> (u64, u64, Vec<u64>, Vec<u64>) {
    let sw = &o.strategies[0].sweep;
    (
        sw.lost_ids.len() as u64,
        sw.stale_ids.len() as u64,
        sw.lost_ids.clone(),
        sw.stale_ids.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_n_acknowledged_sessions_on_the_server_reports_exactly_n_lost() {
    let h = home();
    let s = scenario(
        "standalone-no-persistence.yaml",
        "redis",
        300,
        "read: 200/s",
        true,
    );
    let (d, run) = start(&s, &h).await;
    into_load(&run, Duration::from_millis(200)).await;
    let mut con = redis_con(&d).await;
    for id in 0..25 {
        let n: i64 = con.del(key(id)).await.unwrap();
        assert_eq!(n, 1, "session {id} should exist after prefill");
    }
    let o = run.finish().await;
    let (lost, stale, lost_ids, _) = finish_counts(&o);
    assert_eq!(lost, 25);
    assert_eq!(lost_ids, (0..25).collect::<Vec<_>>());
    assert_eq!(stale, 0);
    let stats = &o.strategies[0].stats;
    assert!(
        stats.ops > 0 && stats.acked_writes == 0,
        "reads only during the load"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_version_written_behind_the_engines_back_is_stale() {
    let h = home();
    let s = scenario(
        "standalone-no-persistence.yaml",
        "redis",
        300,
        "read: 200/s",
        true,
    );
    let (d, run) = start(&s, &h).await;
    into_load(&run, Duration::from_millis(200)).await;
    let mut con = redis_con(&d).await;
    for id in 30..40 {
        // Prefill acknowledged version 1; put version 0 back.
        let _: () = con.set(key(id), value::encode(id, 0, 64)).await.unwrap();
    }
    let o = run.finish().await;
    let (lost, stale, _, stale_ids) = finish_counts(&o);
    assert_eq!(stale, 10);
    assert_eq!(stale_ids, (30..40).collect::<Vec<_>>());
    assert_eq!(lost, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_mid_run_loses_exactly_what_was_acknowledged_before_it_and_not_rewritten() {
    let h = home();
    let s = scenario(
        "standalone-no-persistence.yaml",
        "redis",
        400,
        "create: 100/s, update: 100/s, read: 200/s",
        true,
    );
    let (d, run) = start(&s, &h).await;
    into_load(&run, Duration::from_millis(500)).await;
    let mut con = redis_con(&d).await;
    let before = Instant::now();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
    let after = Instant::now();
    let o = run.finish().await;
    let ledger = &o.strategies[0].ledger;
    let mut certainly = BTreeSet::new();
    let mut possibly = BTreeSet::new();
    for (id, state) in ledger.iter().enumerate() {
        if let Some(Acked::Write { at, .. }) = state.lock().await.acked {
            if at < before {
                certainly.insert(id as u64);
            }
            if at <= after {
                possibly.insert(id as u64);
            }
        }
    }
    let lost: BTreeSet<u64> = o.strategies[0].sweep.lost_ids.iter().copied().collect();
    assert!(!lost.is_empty());
    assert!(
        certainly.len() > 100,
        "most sessions were acknowledged before the flush"
    );
    assert!(
        lost.is_superset(&certainly),
        "missing from lost: {:?}",
        certainly.difference(&lost).collect::<Vec<_>>()
    );
    assert!(
        lost.is_subset(&possibly),
        "lost but rewritten after the flush: {:?}",
        lost.difference(&possibly).collect::<Vec<_>>()
    );
    assert_eq!(
        o.strategies[0]
            .sweep
            .count(sessiondrill::check::ReadCheck::Stale),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_items_deleted_through_the_sdk_are_lost() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let h = home();
    let s = scenario("dynamodb.yaml", "dynamodb", 100, "read: 100/s", true);
    let (d, run) = start(&s, &h).await;
    into_load(&run, Duration::from_millis(200)).await;
    let client =
        sessiondrill::dynamo::client(&d.nodes[0].info.url, "us-east-1", Default::default()).await;
    for id in 10..17 {
        client
            .delete_item()
            .table_name("sessions")
            .key("PK", AttributeValue::S(format!("SESSION#dynamodb:{id}")))
            .key("SK", AttributeValue::S("META".into()))
            .send()
            .await
            .unwrap();
    }
    let o = run.finish().await;
    let (lost, stale, lost_ids, _) = finish_counts(&o);
    assert_eq!(lost_ids, (10..17).collect::<Vec<_>>());
    assert_eq!((lost, stale), (7, 0));
}
