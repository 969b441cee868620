//! The checker against real servers, with damage done behind the engine's
//! back: each test knows exactly what must be reported.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use sessiondrill::check::ReadCheck;
use sessiondrill::check::checkpoint;
use sessiondrill::check::ledger::{Acked, Fate};
use sessiondrill::metrics::Phase;
use sessiondrill::provision::{self, Deployment};
use sessiondrill::scenario::Scenario;
use sessiondrill::store::StrategyKind;
use sessiondrill::store::{self, value};
use sessiondrill::workload::{RunHandle, RunOutcome, StrategyRun};
use sessiondrill::yaml::SourceText;
use support::{home, topology_path, up_options};

fn scenario(topology: &str, strategy: &str, sessions: u64, rates: &str, prefill: bool) -> Scenario {
    scenario_for(topology, strategy, sessions, rates, prefill, "1500ms")
}

fn scenario_for(
    topology: &str,
    strategy: &str,
    sessions: u64,
    rates: &str,
    prefill: bool,
    duration: &str,
) -> Scenario {
    let text = format!(
        "name: checker\ntopology: {}\nstrategies: [{strategy}]\nworkload:\n  sessions: {sessions}\n  duration: {duration}\n  rates: {{ {rates} }}\n  prefill: {prefill}\n  value_bytes: 64\n",
        topology_path(topology).display()
    );
    Scenario::parse(&SourceText::inline("checker.yaml", text)).expect("valid scenario")
}

async fn start(s: &Scenario, h: &tempfile::TempDir) -> (Deployment, RunHandle) {
    start_with(s, h, None).await
}

/// Start the engine, answering checkpoint `requests` if given.
async fn start_with(
    s: &Scenario,
    h: &tempfile::TempDir,
    requests: Option<checkpoint::Requests>,
) -> (Deployment, RunHandle) {
    let d = provision::up(&s.topology, &up_options(h))
        .await
        .expect("up");
    let mut runs = Vec::new();
    for &kind in &s.strategies {
        runs.push(StrategyRun {
            kind,
            store: store::build(kind, &s.wiring(), &d).await.expect("store"),
            groups: s.groups_of(kind),
        });
    }
    (d, support::start_engine(s, runs, requests))
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

fn key(d: &Deployment, id: u64) -> String {
    let ns = store::namespace(d.run_id(), sessiondrill::store::StrategyKind::Redis);
    format!("sd:{ns}:session:{id}")
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
        let n: i64 = con.del(key(&d, id)).await.unwrap();
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
        let _: () = con
            .set(key(&d, id), value::encode(id, 0, 64))
            .await
            .unwrap();
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
        let state = state.lock().await;
        if let Some(Acked::Write { version, at, .. }) = state.acked {
            if at < before {
                certainly.insert(id as u64);
            }
            // A write sent before the flush ended may have been executed
            // before it even if its answer came after (another connection
            // answered the flush first): possibly flushed.
            let sent = state
                .writes
                .iter()
                .find(|w| w.version == version)
                .map_or(at, |w| w.issued);
            if sent <= after {
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
            .key(
                "PK",
                AttributeValue::S(format!(
                    "SESSION#{}:{id}",
                    store::namespace(d.run_id(), sessiondrill::store::StrategyKind::Dynamodb)
                )),
            )
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

/// A FLUSHALL with the load paused, a checkpoint right after, then three
/// seconds of load that rewrite each of the 100 sessions about ten times:
/// every write acknowledged before the flush stays counted lost, though
/// the final sweep finds every session back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_counts_every_write_a_flush_destroyed_however_much_is_written_after() {
    let h = home();
    let s = scenario_for(
        "standalone-no-persistence.yaml",
        "redis",
        100,
        "create: 100/s, update: 200/s, read: 100/s",
        true,
        "4s",
    );
    let (checkpoints, requests) = checkpoint::channel();
    let (d, run) = start_with(&s, &h, Some(requests)).await;
    into_load(&run, Duration::from_millis(500)).await;
    // Hold the load so that nothing lands between the flush and the
    // checkpoint's reads (operations in flight finish first).
    run.control.set_paused(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = Instant::now();
    let mut con = redis_con(&d).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
    let cp = checkpoints
        .take(
            0,
            s.groups_of(StrategyKind::Redis),
            "flushed by the test",
            Duration::ZERO,
            None,
        )
        .await
        .expect("a checkpoint while the load runs");
    run.control.set_paused(false);
    let o = run.finish().await;
    let mut acked_before = 0;
    let mut lost = 0;
    for state in o.strategies[0].ledger.iter() {
        for w in &state.lock().await.writes {
            if w.at < before {
                acked_before += 1;
                assert_eq!(w.fate, Fate::Lost, "acknowledged before the flush");
            } else {
                assert_ne!(w.fate, Fate::Lost, "acknowledged after the flush");
            }
            lost += (w.fate == Fate::Lost) as u64;
        }
    }
    assert!(acked_before > 150, "{acked_before} writes before the flush");
    assert_eq!(lost, acked_before);
    assert_eq!(cp.strategies["redis"].writes.lost, lost);
    assert_eq!(o.strategies[0].writes.lost, lost);
    // The final sweep alone finds (almost) nothing missing: the load wrote
    // over the flushed sessions.
    assert!(
        o.strategies[0].sweep.count(ReadCheck::Lost) <= 1,
        "{:?}",
        o.strategies[0].sweep.verdicts
    );
}

/// Before a flush, when a strategy's requests overlap, every session is
/// read first (`Checkpoints::read_first`): that read only remembers what
/// it saw. Sessions deleted behind the engine's back before it are not
/// judged by it — they are the checkpoint's after the fault to judge and
/// charge to that fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_first_judges_nothing_and_the_checkpoint_after_it_does() {
    let h = home();
    let text = format!(
        "name: checker\ntopology: {}\nstrategies: [redis]\nworkload:\n  sessions: 100\n  duration: 3s\n  rates: {{ read: 200/s }}\n  prefill: true\n  value_bytes: 64\n  concurrency_per_session: 2\n",
        topology_path("standalone-no-persistence.yaml").display()
    );
    let s = Scenario::parse(&SourceText::inline("checker.yaml", text)).expect("valid scenario");
    let (checkpoints, requests) = checkpoint::channel();
    let (d, run) = start_with(&s, &h, Some(requests)).await;
    into_load(&run, Duration::from_millis(300)).await;
    run.control.set_paused(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut con = redis_con(&d).await;
    for id in 0..25 {
        let n: i64 = con.del(key(&d, id)).await.unwrap();
        assert_eq!(n, 1, "session {id} should exist after prefill");
    }
    let groups = s.groups_of(StrategyKind::Redis);
    let asked = Instant::now();
    checkpoints.read_first(groups.clone()).await;
    // What it legally saw is remembered: every session still there.
    let mut seen = 0;
    for state in run.ledgers[0].iter() {
        seen += state
            .lock()
            .await
            .observed
            .iter()
            .any(|o| o.invoked >= asked) as u64;
    }
    assert_eq!(seen, 75, "sessions whose read first was remembered");
    let fates = |ledger: &sessiondrill::workload::Ledger| {
        let ledger = ledger.clone();
        async move {
            let mut lost = 0;
            let mut unjudged = 0;
            for state in ledger.iter() {
                for w in &state.lock().await.writes {
                    lost += (w.fate == Fate::Lost) as u64;
                    unjudged += (w.fate == Fate::Unjudged) as u64;
                }
            }
            (lost, unjudged)
        }
    };
    assert_eq!(
        fates(&run.ledgers[0]).await,
        (0, 100),
        "the read first judged a write"
    );
    let read = run
        .events
        .all()
        .iter()
        .filter(|e| e.message.starts_with("read before the fault acts"))
        .count();
    assert_eq!(read, 1, "it did read");
    let cp = checkpoints
        .take(0, groups, "deleted by the test", Duration::ZERO, None)
        .await
        .expect("a checkpoint while the load runs");
    assert_eq!(cp.strategies["redis"].writes.lost, 25);
    assert_eq!(fates(&run.ledgers[0]).await.0, 25);
    run.control.set_paused(false);
    let o = run.finish().await;
    assert_eq!(o.strategies[0].writes.lost, 25);
}

/// Issue 15: `redis-lock` ignored what its compare-and-delete release
/// answered. A release that finds its token gone while its lease certainly
/// still runs proves the store forgot the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_finds_its_lock_forgotten_is_a_proven_loss() {
    let h = home();
    let s = scenario(
        "standalone-no-persistence.yaml",
        "redis-lock",
        200,
        "create: 100/s, delete: 100/s",
        true,
    );
    let (d, run) = start(&s, &h).await;
    into_load(&run, Duration::from_millis(200)).await;
    let mut con = redis_con(&d).await;
    let ns = store::namespace(d.run_id(), StrategyKind::RedisLock);
    for id in 0..80 {
        let _: i64 = con
            .del(format!("sd:{ns}:lock:session:{{{id}}}"))
            .await
            .unwrap();
    }
    let o = run.finish().await;
    let stats = &o.strategies[0].stats;
    assert!(
        stats.proven_lost > 5,
        "{} locks found forgotten",
        stats.proven_lost
    );
    // Acquiring a forgotten lock while its lease runs is the other face of
    // the same loss: a second holder.
    assert!(stats.violations > 0, "{} violations", stats.violations);
    // The releases themselves judged the forgotten acquires lost, during
    // the load (the final sweep comes after it).
    let mut by_release = 0;
    for state in o.strategies[0].ledger.iter() {
        for w in &state.lock().await.writes {
            let during_load = w.judged.is_some_and(|j| j.at < o.load_end);
            by_release += (w.fate == Fate::Lost && during_load) as u64;
        }
    }
    assert!(
        by_release > 5,
        "{by_release} acquires found lost by a release"
    );
}
