//! A strategy's connections are opened before the load starts
//! (`SessionStore::warm`), so its first operations do not count our
//! connection set-up as the store's latency: counted on the real servers.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sessiondrill::metrics::Phase;
use sessiondrill::provision::{self, Deployment};
use sessiondrill::scenario::Scenario;
use sessiondrill::store::{self, SessionStore, StrategyKind, Warmed};
use sessiondrill::workload::{RunHandle, StrategyRun};
use sessiondrill::yaml::SourceText;
use support::{TestHome, home, topology_path, up_options};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn scenario(topology: &str, strategy: &str, connections: usize) -> Scenario {
    let text = format!(
        "name: warm\ntopology: {}\nstrategies: [{strategy}]\nworkload:\n  sessions: 10\n  duration: 3s\n  rates: {{ read: 1/s }}\n  prefill: false\n  connections: {connections}\n",
        topology_path(topology).display()
    );
    Scenario::parse(&SourceText::inline("warm.yaml", text)).expect("valid scenario")
}

/// `connected_clients` of a Redis (this probe's own connection included).
async fn redis_clients(url: &str) -> u64 {
    let mut c = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let info: String = redis::cmd("INFO")
        .arg("clients")
        .query_async(&mut c)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no connected_clients in {info}"))
}

/// `curr_connections` of a memcached (this probe's own included).
async fn memcached_connections(port: u16) -> u64 {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut c = BufReader::new(tcp);
    c.get_mut().write_all(b"stats\r\n").await.unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(c.read_line(&mut line).await.unwrap() > 0, "stats cut short");
        if let Some(n) = line.strip_prefix("STAT curr_connections ") {
            return n.trim().parse().unwrap();
        }
        assert_ne!(line.trim(), "END", "no curr_connections");
    }
}

/// `strategy` on a fresh `topology`, its store built (connections not
/// opened yet: they open on first use).
async fn deployed(
    topology: &str,
    strategy: StrategyKind,
    connections: usize,
) -> (TestHome, Scenario, Deployment, Arc<dyn SessionStore>) {
    let h = home();
    let s = scenario(topology, strategy.name(), connections);
    let d = provision::up(&s.topology, &up_options(&h))
        .await
        .expect("up");
    let store = store::build(strategy, &s.wiring(), &d)
        .await
        .expect("store");
    (h, s, d, store)
}

/// A count once two readings 50 ms apart agree: a connection just closed
/// (a readiness check's, a probe's) is counted gone by the server a moment
/// later.
async fn steady<F: AsyncFn() -> u64>(probe: F) -> u64 {
    let mut last = probe().await;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = probe().await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the count never settled (last {last})");
}

/// The engine started on `store` (a Redis strategy), once its timed load
/// has begun.
async fn into_load(s: &Scenario, store: Arc<dyn SessionStore>) -> RunHandle {
    let runs = vec![StrategyRun {
        kind: StrategyKind::Redis,
        store,
        groups: s.groups_of(StrategyKind::Redis),
    }];
    let handle = support::start_engine(s, runs, None);
    let mut rx = handle.snapshots.clone();
    while rx.borrow().phase != Phase::Load {
        rx.changed().await.expect("engine alive");
    }
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_strategy_opens_each_of_its_connections_before_the_load() {
    let (_h, _s, d, store) =
        deployed("standalone-no-persistence.yaml", StrategyKind::Redis, 3).await;
    let url = d.nodes[0].info.url.clone();
    let count = async || redis_clients(&url).await;
    let before = steady(count).await;
    let three = Warmed { open: 3, wanted: 3 };
    assert_eq!(store.warm().await, three);
    let after = steady(count).await;
    assert_eq!(after, before + 3, "before {before}, after {after}");
    // Warm again: nothing more is opened.
    assert_eq!(store.warm().await, three);
    assert_eq!(steady(count).await, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memcached_strategy_opens_its_connections_to_every_node_before_the_load() {
    let (_h, _s, d, store) = deployed("memcached.yaml", StrategyKind::Memcached, 2).await;
    let ports: Vec<u16> = d.nodes.iter().map(|n| n.info.port).collect();
    assert_eq!(ports.len(), 3);
    let mut before = Vec::new();
    for &p in &ports {
        before.push(steady(async || memcached_connections(p).await).await);
    }
    assert_eq!(store.warm().await, Warmed { open: 6, wanted: 6 });
    for (&p, b) in ports.iter().zip(before) {
        let after = steady(async || memcached_connections(p).await).await;
        assert_eq!(after, b + 2, "port {p}: before {b}, after {after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_opens_them_before_its_first_operation() {
    // One read a second for 3 s, no prefill: without the warm-up, the load
    // opens one connection a read, at most three of the eight.
    let (_h, s, d, store) =
        deployed("standalone-no-persistence.yaml", StrategyKind::Redis, 8).await;
    let url = d.nodes[0].info.url.clone();
    let before = steady(async || redis_clients(&url).await).await;
    let handle = into_load(&s, store).await;
    let at_start = steady(async || redis_clients(&url).await).await;
    assert_eq!(
        at_start,
        before + 8,
        "before {before}, at the start {at_start}"
    );
    assert!(
        !handle.events.all().iter().any(|e| e.kind == "warm-up"),
        "{:?}",
        handle.events.all()
    );
    handle.control.stop();
    let _ = handle.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_cannot_be_opened_are_said_and_the_load_still_runs() {
    let (_h, s, mut d, store) =
        deployed("standalone-no-persistence.yaml", StrategyKind::Redis, 4).await;
    let node = d.nodes[0].process.as_mut().expect("a process");
    node.signal(nix::sys::signal::Signal::SIGKILL)
        .expect("killed");
    // Refused from now on.
    let port = d.nodes[0].info.port;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let handle = into_load(&s, store).await;
    let said: Vec<String> = handle
        .events
        .all()
        .into_iter()
        .filter(|e| e.kind == "warm-up")
        .map(|e| e.message)
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("4 of 4 connections could not be opened before the load"),
        "{said:?}"
    );
    // The load ran, and its reads failed.
    let out = handle.finish().await;
    assert!(
        out.strategies[0].stats.ops >= 2,
        "{}",
        out.strategies[0].stats.ops
    );
    assert!(out.strategies[0].stats.error_total() >= 2);
}
