//! A strategy's connections are opened before the load starts
//! (`SessionStore::warm`), so its first operations do not count our
//! connection set-up as the store's latency: counted on the real servers.

mod support;

use std::time::Duration;

use sessiondrill::metrics::Phase;
use sessiondrill::provision;
use sessiondrill::scenario::Scenario;
use sessiondrill::store::{self, StrategyKind};
use sessiondrill::workload::{self, StrategyRun};
use sessiondrill::yaml::SourceText;
use support::{home, topology_path, up_options};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_strategy_opens_each_of_its_connections_before_the_load() {
    let h = home();
    let s = scenario("standalone-no-persistence.yaml", "redis", 3);
    let d = provision::up(&s.topology, &up_options(&h))
        .await
        .expect("up");
    let url = d.nodes[0].info.url.clone();
    let store = store::build(StrategyKind::Redis, &s.wiring(), &d)
        .await
        .expect("store");
    let before = redis_clients(&url).await;
    store.warm().await;
    // Each probe closes its connection when it returns; the server may
    // take a moment to count it gone.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = redis_clients(&url).await;
    assert_eq!(after - before, 3, "before {before}, after {after}");
    // Warm again: nothing more is opened.
    store.warm().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(redis_clients(&url).await, after);
    drop(store);
    drop(d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memcached_strategy_opens_its_connections_to_every_node_before_the_load() {
    let h = home();
    let s = scenario("memcached.yaml", "memcached", 2);
    let d = provision::up(&s.topology, &up_options(&h))
        .await
        .expect("up");
    let ports: Vec<u16> = d.nodes.iter().map(|n| n.info.port).collect();
    assert_eq!(ports.len(), 3);
    let store = store::build(StrategyKind::Memcached, &s.wiring(), &d)
        .await
        .expect("store");
    let mut before = Vec::new();
    for &p in &ports {
        before.push(memcached_connections(p).await);
    }
    store.warm().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for (&p, b) in ports.iter().zip(before) {
        let after = memcached_connections(p).await;
        assert_eq!(after - b, 2, "port {p}: before {b}, after {after}");
    }
    drop(store);
    drop(d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_opens_them_before_its_first_operation() {
    // One read a second, no prefill: without the warm-up, the load would
    // have opened one connection of the three when it starts (its first
    // read's), not all of them.
    let h = home();
    let s = scenario("standalone-no-persistence.yaml", "redis", 3);
    let d = provision::up(&s.topology, &up_options(&h))
        .await
        .expect("up");
    let url = d.nodes[0].info.url.clone();
    let runs = vec![StrategyRun {
        kind: StrategyKind::Redis,
        store: store::build(StrategyKind::Redis, &s.wiring(), &d)
            .await
            .expect("store"),
        groups: s.groups_of(StrategyKind::Redis),
    }];
    let before = redis_clients(&url).await;
    let events = sessiondrill::events::EventLog::new(std::time::Instant::now());
    let handle = workload::start(
        &s.workload,
        s.workload.duration,
        runs,
        events,
        None,
        None,
        None,
    );
    let mut rx = handle.snapshots.clone();
    while rx.borrow().phase != Phase::Load {
        rx.changed().await.expect("engine alive");
    }
    let ops = rx.borrow().strategies[0].ops;
    assert!(ops <= 1, "{ops} operations done when the load started");
    let at_start = redis_clients(&url).await;
    assert_eq!(
        at_start - before,
        3,
        "before {before}, at the start {at_start}"
    );
    handle.control.stop();
    let _ = handle.finish().await;
    drop(d);
}
