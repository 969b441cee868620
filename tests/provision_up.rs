//! Every shipped topology comes up as real processes and answers as it
//! should: roles, Sentinel's view, cluster slots, DynamoDB tables with TTL,
//! memcached set/get.

mod support;

use std::collections::HashMap;

use redis::AsyncCommands;
use sessiondrill::dynamo::{self, ClientPolicy};
use sessiondrill::provision::{self, Deployment, ProcessInfo, Role};
use sessiondrill::topology::KindName;
use support::{home, topology, up_options};

async fn up(name: &str, h: &tempfile::TempDir) -> Deployment {
    provision::up(&topology(name), &up_options(h))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn con(n: &ProcessInfo) -> redis::aio::MultiplexedConnection {
    redis::Client::open(n.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", n.name))
}

fn field(info: &str, key: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn info(n: &ProcessInfo, section: &str) -> String {
    redis::cmd("INFO")
        .arg(section)
        .query_async(&mut con(n).await)
        .await
        .unwrap()
}

async fn config(n: &ProcessInfo, key: &str) -> String {
    let kv: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(key)
        .query_async(&mut con(n).await)
        .await
        .unwrap();
    kv.get(1).cloned().unwrap_or_default()
}

async fn standalone(name: &str, appendonly: &str, appendfsync: Option<&str>, save: &str) {
    let h = home();
    let d = up(name, &h).await;
    assert_eq!(d.nodes.len(), 1);
    let n = &d.nodes[0].info;
    assert_eq!((n.host.as_str(), n.role.name()), ("127.0.0.1", "primary"));
    assert_eq!(field(&info(n, "replication").await, "role"), "master");
    assert_eq!(config(n, "appendonly").await, appendonly);
    if let Some(f) = appendfsync {
        assert_eq!(config(n, "appendfsync").await, f);
    }
    assert_eq!(config(n, "save").await, save);
    assert_eq!(config(n, "bind").await, "127.0.0.1");
    let mut c = con(n).await;
    let _: () = c.set("k", "v").await.unwrap();
    assert_eq!(c.get::<_, String>("k").await.unwrap(), "v");
    // The password is required.
    let open = format!("redis://127.0.0.1:{}", n.port);
    let mut anon = redis::Client::open(open)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let denied: redis::RedisResult<String> = anon.get("k").await;
    assert!(denied.is_err(), "unauthenticated GET must fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_aof_everysec() {
    standalone("standalone-aof-everysec.yaml", "yes", Some("everysec"), "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_aof_always() {
    standalone("standalone-aof-always.yaml", "yes", Some("always"), "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_rdb() {
    standalone("standalone-rdb.yaml", "no", None, "60 1000 300 10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_no_persistence() {
    standalone("standalone-no-persistence.yaml", "no", None, "").await;
}

/// Roles from INFO replication, Sentinel's primary, replication working.
async fn check_replicated(d: &Deployment, group: &str) {
    let servers: Vec<&ProcessInfo> = d
        .nodes
        .iter()
        .map(|n| &n.info)
        .filter(|n| n.node == group && !n.role.is_sentinel())
        .collect();
    let sentinels: Vec<&ProcessInfo> = d
        .nodes
        .iter()
        .map(|n| &n.info)
        .filter(|n| n.node == group && n.role.is_sentinel())
        .collect();
    assert_eq!((servers.len(), sentinels.len()), (3, 3));
    let primary = servers[0];
    assert_eq!(primary.role, Role::Primary);
    let pinfo = info(primary, "replication").await;
    assert_eq!(field(&pinfo, "role"), "master");
    assert_eq!(field(&pinfo, "connected_slaves"), "2");
    for r in &servers[1..] {
        let rinfo = info(r, "replication").await;
        assert_eq!(field(&rinfo, "role"), "slave", "{}", r.name);
        assert_eq!(field(&rinfo, "master_port"), primary.port.to_string());
        assert_eq!(field(&rinfo, "master_link_status"), "up");
    }
    for s in &sentinels {
        let addr: Vec<String> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(group)
            .query_async(&mut con(s).await)
            .await
            .unwrap();
        assert_eq!(addr, ["127.0.0.1".to_string(), primary.port.to_string()]);
    }
    // A write on the primary reaches a replica.
    let _: () = con(primary).await.set("repl-check", "1").await.unwrap();
    let mut replica = con(servers[1]).await;
    let mut seen = None;
    for _ in 0..100 {
        seen = replica
            .get::<_, Option<String>>("repl-check")
            .await
            .unwrap();
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(seen.as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_sentinel() {
    let h = home();
    let d = up("replicated-sentinel.yaml", &h).await;
    check_replicated(&d, "cache").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_3x1() {
    let h = home();
    let d = up("cluster-3x1.yaml", &h).await;
    assert_eq!(d.nodes.len(), 6);
    let mut masters = 0;
    for n in d.nodes.iter().map(|n| &n.info) {
        let ci: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut con(n).await)
            .await
            .unwrap();
        assert_eq!(field(&ci, "cluster_state"), "ok", "{}", n.name);
        assert_eq!(field(&ci, "cluster_slots_assigned"), "16384");
        assert_eq!(field(&ci, "cluster_slots_ok"), "16384");
        assert_eq!(field(&ci, "cluster_known_nodes"), "6");
        let role = field(&info(n, "replication").await, "role");
        if n.role == Role::Master {
            masters += 1;
            assert_eq!(role, "master");
        } else {
            assert_eq!(role, "slave", "{}", n.name);
        }
    }
    assert_eq!(masters, 3);
    // Keys spread over every shard through a cluster-aware client.
    let urls: Vec<String> = d.nodes.iter().map(|n| n.info.url.clone()).collect();
    let client = redis::cluster::ClusterClient::new(urls).unwrap();
    let mut c = client.get_async_connection().await.unwrap();
    for i in 0..50 {
        let _: () = c.set(format!("session:{i}"), i).await.unwrap();
    }
    for i in 0..50 {
        assert_eq!(c.get::<_, i32>(format!("session:{i}")).await.unwrap(), i);
    }
    let mut per_master = HashMap::new();
    for n in d.nodes.iter().filter(|n| n.info.role == Role::Master) {
        let size: i64 = redis::cmd("DBSIZE")
            .query_async(&mut con(&n.info).await)
            .await
            .unwrap();
        per_master.insert(n.info.name.clone(), size);
    }
    assert!(per_master.values().all(|&s| s > 0), "{per_master:?}");
}

async fn check_dynamodb(n: &ProcessInfo) {
    use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
    let c = dynamo::client(&n.url, "us-east-1", ClientPolicy::default()).await;
    let t = c
        .describe_table()
        .table_name("sessions")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = t
        .table()
        .unwrap()
        .key_schema()
        .iter()
        .map(|k| k.attribute_name().to_string())
        .collect();
    assert_eq!(keys, ["PK", "SK"]);
    let ttl = c
        .describe_time_to_live()
        .table_name("sessions")
        .send()
        .await
        .unwrap();
    let d = ttl.time_to_live_description().unwrap();
    assert_eq!(d.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(d.attribute_name(), Some("expires_at"));
    c.put_item()
        .table_name("sessions")
        .item("PK", AttributeValue::S("SESSION#1".into()))
        .item("SK", AttributeValue::S("META".into()))
        .item("user", AttributeValue::S("ada".into()))
        .send()
        .await
        .unwrap();
    let got = c
        .get_item()
        .table_name("sessions")
        .key("PK", AttributeValue::S("SESSION#1".into()))
        .key("SK", AttributeValue::S("META".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.item().and_then(|i| i.get("user")),
        Some(&AttributeValue::S("ada".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_embedded() {
    let h = home();
    let d = up("dynamodb.yaml", &h).await;
    let n = &d.nodes[0].info;
    assert!(n.pid.is_some() && n.url.starts_with("http://127.0.0.1:"));
    check_dynamodb(n).await;
    // File-backed in the run directory.
    assert!(
        d.nodes[0]
            .dir
            .as_ref()
            .unwrap()
            .join("data/dynamo.db")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid() {
    let h = home();
    let d = up("hybrid.yaml", &h).await;
    assert_eq!(d.nodes.len(), 7);
    check_replicated(&d, "cache").await;
    let dynamo = d
        .nodes
        .iter()
        .find(|n| n.info.kind == KindName::Dynamodb)
        .unwrap();
    check_dynamodb(&dynamo.info).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memcached_set_get() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let h = home();
    let d = up("memcached.yaml", &h).await;
    assert_eq!(d.nodes.len(), 3);
    for n in d.nodes.iter().map(|n| &n.info) {
        let s = tokio::net::TcpStream::connect(("127.0.0.1", n.port))
            .await
            .unwrap();
        let mut s = BufReader::new(s);
        s.get_mut()
            .write_all(b"set sess 0 60 5\r\nhello\r\n")
            .await
            .unwrap();
        let mut line = String::new();
        s.read_line(&mut line).await.unwrap();
        assert_eq!(line, "STORED\r\n");
        s.get_mut().write_all(b"get sess\r\n").await.unwrap();
        let mut reply = Vec::new();
        for _ in 0..3 {
            let mut l = String::new();
            s.read_line(&mut l).await.unwrap();
            reply.push(l);
        }
        assert_eq!(reply, ["VALUE sess 0 5\r\n", "hello\r\n", "END\r\n"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_deployment_kills_every_process_and_removes_the_run_dir() {
    let h = home();
    let d = up("hybrid.yaml", &h).await;
    let pids: Vec<u32> = d.nodes.iter().filter_map(|n| n.info.pid).collect();
    let dir = d.run.path.clone();
    assert_eq!(pids.len(), 7);
    assert!(pids.iter().all(|&p| support::alive(p)));
    drop(d);
    assert_eq!(
        support::wait_gone(&pids, std::time::Duration::from_secs(3)),
        Vec::<u32>::new()
    );
    assert!(!dir.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asked_for_port_is_honoured_and_a_busy_one_refused() {
    let h = home();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = listener.local_addr().unwrap().port();
    let free = sessiondrill::fabric::ports::free_port().unwrap();
    let file = h.path().join("t.yaml");
    std::fs::write(
        &file,
        format!(
            "name: t\nnodes:\n  r:\n    kind: redis\n    port: {free}\n    password: secret1\n"
        ),
    )
    .unwrap();
    let t = sessiondrill::topology::Topology::load(&file).unwrap();
    let d = provision::up(&t, &up_options(&h)).await.unwrap();
    assert_eq!(d.nodes[0].info.port, free);
    assert_eq!(
        d.nodes[0].info.url,
        format!("redis://default:secret1@127.0.0.1:{free}")
    );
    drop(d);

    std::fs::write(
        &file,
        format!("name: t\nnodes:\n  r:\n    kind: redis\n    port: {busy}\n"),
    )
    .unwrap();
    let t = sessiondrill::topology::Topology::load(&file).unwrap();
    let err = provision::up(&t, &up_options(&h))
        .await
        .err()
        .expect("busy port must be refused");
    assert!(err.is_user_error());
    assert!(
        err.to_string()
            .contains(&format!("port {busy} asked for by node `r` is busy")),
        "{err}"
    );
    drop(listener);
}
