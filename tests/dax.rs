//! The DAX node, through aws-sdk-dynamodb, in front of a real Dynoxide
//! node: the stale query after a write (seed 003 scenario 4), item-cache
//! freshness after write-through, ConsistentRead bypass, TTL expiry of
//! both caches, LRU eviction at the size limit, replicas that converge.

mod support;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use sessiondrill::dynamo::{self, ClientPolicy};
use sessiondrill::nodes::dax::{DaxStats, probe};
use sessiondrill::provision::{self, Deployment};
use sessiondrill::topology::Topology;
use support::{home, up_options};

async fn up(h: &tempfile::TempDir, dax: &str) -> Deployment {
    let file = h.path().join("dax.yaml");
    std::fs::write(
        &file,
        format!(
            "name: dax-test\nnodes:\n  db: {{ kind: dynamodb }}\n  dax: {{ kind: dax, {dax} }}\n"
        ),
    )
    .unwrap();
    let t = Topology::load(&file).unwrap_or_else(|e| panic!("{e}"));
    provision::up(&t, &up_options(h))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn node<'a>(d: &'a Deployment, name: &str) -> &'a provision::ProcessHandle {
    d.nodes.iter().find(|n| n.info.name == name).unwrap()
}

async fn client(d: &Deployment, name: &str) -> Client {
    dynamo::client(
        &node(d, name).info.url,
        "us-east-1",
        ClientPolicy::default(),
    )
    .await
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A chat turn of `session`.
async fn put_turn(c: &Client, session: &str, turn: &str, text: &str) {
    c.put_item()
        .table_name("sessions")
        .item("PK", s(session))
        .item("SK", s(turn))
        .item("text", s(text))
        .send()
        .await
        .unwrap();
}

/// The texts of a session's turns, by Query.
async fn turns(c: &Client, session: &str, consistent: bool) -> Vec<String> {
    let out = c
        .query()
        .table_name("sessions")
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", s(session))
        .consistent_read(consistent)
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .filter_map(|i| i.get("text").and_then(|t| t.as_s().ok()).cloned())
        .collect()
}

async fn get_text(c: &Client, session: &str, turn: &str, consistent: bool) -> Option<String> {
    let out = c
        .get_item()
        .table_name("sessions")
        .key("PK", s(session))
        .key("SK", s(turn))
        .consistent_read(consistent)
        .send()
        .await
        .unwrap();
    out.item()
        .and_then(|i| i.get("text"))
        .and_then(|t| t.as_s().ok())
        .cloned()
}

async fn stats(d: &Deployment, name: &str) -> DaxStats {
    probe::stats(node(d, name).info.port, Duration::from_secs(1))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_written_turn_is_missing_from_the_cached_query_but_fresh_in_the_item_cache() {
    let h = home();
    let d = up(&h, "item_ttl: 5m, query_ttl: 5m").await;
    let dax = client(&d, "dax").await;
    let direct = client(&d, "db").await;
    put_turn(&dax, "S1", "T1", "hello").await;
    // The context is loaded (and cached by the query cache).
    assert_eq!(turns(&dax, "S1", false).await, ["hello"]);
    // The user writes a turn; DAX writes it through to DynamoDB...
    put_turn(&dax, "S1", "T2", "second").await;
    assert_eq!(turns(&direct, "S1", true).await, ["hello", "second"]);
    // ...but the cached query does not show it (seed 003 scenario 4).
    assert_eq!(turns(&dax, "S1", false).await, ["hello"]);
    // ConsistentRead bypasses the query cache and sees it at once.
    assert_eq!(turns(&dax, "S1", true).await, ["hello", "second"]);
    // The item cache was written through: GetItem is fresh.
    assert_eq!(
        get_text(&dax, "S1", "T2", false).await.as_deref(),
        Some("second")
    );
    put_turn(&dax, "S1", "T2", "edited").await;
    assert_eq!(
        get_text(&dax, "S1", "T2", false).await.as_deref(),
        Some("edited")
    );
    // An UpdateItem too: DAX asks for the new item and caches it.
    dax.update_item()
        .table_name("sessions")
        .key("PK", s("S1"))
        .key("SK", s("T2"))
        .update_expression("SET #t = :t")
        .expression_attribute_names("#t", "text")
        .expression_attribute_values(":t", s("updated"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_text(&dax, "S1", "T2", false).await.as_deref(),
        Some("updated")
    );
    // A delete is cached as absent.
    dax.delete_item()
        .table_name("sessions")
        .key("PK", s("S1"))
        .key("SK", s("T2"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_text(&dax, "S1", "T2", false).await, None);

    let st = stats(&d, "dax").await;
    assert_eq!(st.query.hits, 1, "{st:?}");
    assert_eq!(st.query.misses, 1, "{st:?}");
    assert!(st.bypassed >= 1, "{st:?}");
    // Every GetItem above was answered by the item cache.
    assert_eq!((st.item.hits, st.item.misses), (4, 0), "{st:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_behind_daxs_back_stays_invisible_until_the_ttls_expire() {
    let h = home();
    let d = up(&h, "item_ttl: 700ms, query_ttl: 1500ms").await;
    let dax = client(&d, "dax").await;
    let direct = client(&d, "db").await;
    put_turn(&direct, "S2", "T1", "v1").await;
    assert_eq!(
        get_text(&dax, "S2", "T1", false).await.as_deref(),
        Some("v1")
    );
    assert_eq!(turns(&dax, "S2", false).await, ["v1"]);
    // Written straight to DynamoDB: DAX cannot know.
    put_turn(&direct, "S2", "T1", "v2").await;
    assert_eq!(
        get_text(&dax, "S2", "T1", false).await.as_deref(),
        Some("v1")
    );
    assert_eq!(turns(&dax, "S2", false).await, ["v1"]);
    tokio::time::sleep(Duration::from_millis(900)).await;
    // The item cache has expired, the query cache not yet.
    assert_eq!(
        get_text(&dax, "S2", "T1", false).await.as_deref(),
        Some("v2")
    );
    assert_eq!(turns(&dax, "S2", false).await, ["v1"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(turns(&dax, "S2", false).await, ["v2"]);
    let st = stats(&d, "dax").await;
    assert_eq!(st.item.expirations, 1, "{st:?}");
    assert_eq!(st.query.expirations, 1, "{st:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_least_recently_used_item_is_evicted_at_the_size_limit() {
    let h = home();
    let d = up(&h, "max_items: 3").await;
    let dax = client(&d, "dax").await;
    let direct = client(&d, "db").await;
    for k in ["A", "B", "C"] {
        put_turn(&direct, "S3", k, k).await;
        get_text(&dax, "S3", k, false).await; // fill: miss
    }
    get_text(&dax, "S3", "A", false).await; // hit: B is now least recent
    put_turn(&direct, "S3", "D", "D").await;
    get_text(&dax, "S3", "D", false).await; // miss, evicts B
    let before = stats(&d, "dax").await.item;
    assert_eq!(before.evictions, 1, "{before:?}");
    assert_eq!(before.entries, 3, "{before:?}");
    get_text(&dax, "S3", "A", false).await;
    get_text(&dax, "S3", "C", false).await;
    let mid = stats(&d, "dax").await.item;
    assert_eq!(mid.hits - before.hits, 2, "A and C stayed: {mid:?}");
    get_text(&dax, "S3", "B", false).await;
    let after = stats(&d, "dax").await.item;
    assert_eq!(after.misses - mid.misses, 1, "B was evicted: {after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_answer_reads_and_converge_after_the_replica_delay() {
    let h = home();
    let d = up(&h, "nodes: 3, replica_delay: 300ms").await;
    let primary = client(&d, "dax-0").await;
    let replica = client(&d, "dax-1").await;
    put_turn(&primary, "S4", "T1", "v1").await;
    // The replica fills its own item cache from DynamoDB.
    assert_eq!(
        get_text(&replica, "S4", "T1", false).await.as_deref(),
        Some("v1")
    );
    // A write through the replica goes to the primary...
    put_turn(&replica, "S4", "T1", "v2").await;
    assert_eq!(stats(&d, "dax-1").await.writes, 1);
    assert_eq!(
        get_text(&primary, "S4", "T1", false).await.as_deref(),
        Some("v2")
    );
    // ...the replica's cache learns of it only after the delay.
    assert_eq!(
        get_text(&replica, "S4", "T1", false).await.as_deref(),
        Some("v1")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        get_text(&replica, "S4", "T1", false).await.as_deref(),
        Some("v2")
    );
    assert_eq!(stats(&d, "dax-1").await.role, "replica");
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_get_mixes_cache_hits_with_dynamodb_reads() {
    use aws_sdk_dynamodb::types::KeysAndAttributes;
    let h = home();
    let d = up(&h, "item_ttl: 5m").await;
    let dax = client(&d, "dax").await;
    for k in ["A", "B"] {
        put_turn(&dax, "S5", k, k).await;
    }
    let key = |k: &str| {
        std::collections::HashMap::from([("PK".to_string(), s("S5")), ("SK".to_string(), s(k))])
    };
    let keys = KeysAndAttributes::builder()
        .keys(key("A"))
        .keys(key("B"))
        .keys(key("missing"))
        .build()
        .unwrap();
    for _ in 0..2 {
        let out = dax
            .batch_get_item()
            .request_items("sessions", keys.clone())
            .send()
            .await
            .unwrap();
        let mut got: Vec<String> = out.responses().unwrap()["sessions"]
            .iter()
            .filter_map(|i| i.get("text").and_then(|t| t.as_s().ok()).cloned())
            .collect();
        got.sort();
        assert_eq!(got, ["A", "B"]);
    }
    let st = stats(&d, "dax").await.item;
    // A and B were written through; "missing" missed once, then was
    // cached as absent.
    assert_eq!((st.hits, st.misses), (5, 1), "{st:?}");
}

/// What the DAX node must not answer from its cache (issue 19, found with
/// boto3 and the DynamoDB conformance suite): a BatchGetItem DynamoDB
/// refuses, PartiQL (DAX does not take it), a deleted table's items, a
/// re-created table's old key schema, and unsigned requests.
#[tokio::test(flavor = "multi_thread")]
async fn the_cache_answers_only_what_dynamodb_would() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
        ScalarAttributeType,
    };
    let h = home();
    let d = up(&h, "item_ttl: 5m, query_ttl: 5m").await;
    let dax = client(&d, "dax").await;
    put_turn(&dax, "S9", "A", "a").await;
    let key = || {
        std::collections::HashMap::from([("PK".to_string(), s("S9")), ("SK".to_string(), s("A"))])
    };
    assert_eq!(get_text(&dax, "S9", "A", false).await.as_deref(), Some("a"));

    // The same key twice: DynamoDB's ValidationException, not the item twice.
    let twice = KeysAndAttributes::builder()
        .keys(key())
        .keys(key())
        .build()
        .unwrap();
    let err = dax
        .batch_get_item()
        .request_items("sessions", twice)
        .send()
        .await
        .expect_err("duplicate keys must be refused");
    let said = format!("{:?}", err.into_service_error());
    assert!(said.contains("ValidationException"), "{said}");

    // PartiQL: refused, the item cache left as it is.
    let err = dax
        .execute_statement()
        .statement("UPDATE \"sessions\" SET text='partiql' WHERE PK='S9' AND SK='A'")
        .send()
        .await
        .expect_err("DAX does not take PartiQL");
    let said = format!("{err:?}");
    assert!(said.contains("PartiQL"), "{said}");
    // It never reached DynamoDB (passed through, it would have written
    // there and left the cache's "a" stale).
    let direct = client(&d, "db").await;
    assert_eq!(
        get_text(&direct, "S9", "A", true).await.as_deref(),
        Some("a")
    );
    assert_eq!(get_text(&dax, "S9", "A", false).await.as_deref(), Some("a"));

    // A deleted table's items are gone from the cache too; re-created with
    // another key, writes through DAX reach the new schema's cache.
    dax.delete_table()
        .table_name("sessions")
        .send()
        .await
        .unwrap();
    let gone = dax
        .get_item()
        .table_name("sessions")
        .set_key(Some(key()))
        .send()
        .await;
    assert!(
        gone.is_err(),
        "the cache served an item of a deleted table: {gone:?}"
    );
    dax.create_table()
        .table_name("sessions")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    dax.put_item()
        .table_name("sessions")
        .item("id", s("x"))
        .item("text", s("new"))
        .send()
        .await
        .unwrap();
    let before = stats(&d, "dax").await.item.hits;
    let got = dax
        .get_item()
        .table_name("sessions")
        .key("id", s("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["text"].as_s().unwrap(), "new");
    assert_eq!(
        stats(&d, "dax").await.item.hits,
        before + 1,
        "the write went through to the new schema's cache"
    );

    // An unsigned request: DynamoDB's refusal, not a cache hit.
    let port = node(&d, "dax").info.port;
    let resp = reqwest_free_post(
        port,
        "GetItem",
        r#"{"TableName":"sessions","Key":{"id":{"S":"x"}}}"#,
    )
    .await;
    assert!(resp.contains("MissingAuthenticationToken"), "{resp}");
}

/// POST a DynamoDB request without any signature; the answer's text.
async fn reqwest_free_post(port: u16, op: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// Our HTTP nodes' own limits (issue 19): a connection that sends nothing
/// is closed after the header timeout, and past the connection cap a new
/// connection is closed at once — 1 100 idle connections used to stop the
/// DAX node until they were released (the DynamoDB node had the same
/// server). Once the idle ones are gone the node answers.
#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_and_capped() {
    let h = home();
    let db = h.path().join("limits.db");
    let dax = ["--dynamodb", "http://127.0.0.1:9"];
    let dynamodb = ["--db", db.to_str().unwrap()];
    let stats = "GET /__dax/stats HTTP/1.1";
    limits_hold("dax", &dax, stats, Cap::Told(4)).await;
    limits_hold("dynamodb", &dynamodb, "GET / HTTP/1.1", Cap::Told(4)).await;
    // Not told: what the open files allow — (files - 64 reserved - what
    // the pool keeps) / a connection's descriptors. The DAX node: 2 each,
    // 4 x 64 pooled; the DynamoDB node: 3 each (its own socket and both
    // ends of one to Dynoxide), 2 x 64 pooled. A fixed 512 was too few for
    // the conformance suite's clients (546 at once) and too many here.
    limits_hold("dax", &dax, stats, Cap::Files(500, 90)).await;
    limits_hold(
        "dynamodb",
        &dynamodb,
        "GET / HTTP/1.1",
        Cap::Files(500, 102),
    )
    .await;
}

/// The connection cap a node is given.
#[derive(Clone, Copy)]
enum Cap {
    /// `--max-connections N`.
    Told(usize),
    /// None given, run with this open-file limit: this many are served.
    Files(u64, usize),
}

/// Send `ask` (a request line) on `s`, keeping the connection; the status
/// line of the answer, read whole (within 10 s: a stalled node fails the
/// test, it does not hang it).
async fn ask_on(s: &mut tokio::net::TcpStream, ask: &str) -> String {
    tokio::time::timeout(Duration::from_secs(10), ask_on_unbounded(s, ask))
        .await
        .unwrap_or_else(|_| panic!("no answer to {ask} within 10 s"))
}

async fn ask_on_unbounded(s: &mut tokio::net::TcpStream, ask: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(format!("{ask}\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed before answering: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while got.len() < head_end + len {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed in the body");
        got.extend_from_slice(&buf[..n]);
    }
    head.lines().next().unwrap_or_default().to_string()
}

/// `__node NODE ARGS` with a 3 s header timeout and `cap`; `ask` is a
/// request line it answers with 200. A connection past the cap must be
/// closed within 1.5 s — well before the header timeout would close it.
async fn limits_hold(node: &str, args: &[&str], ask: &str, cap: Cap) {
    use std::os::unix::process::CommandExt;
    use tokio::io::AsyncReadExt;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = std::process::Command::new(support::BIN);
    cmd.args(["__node", node, "--port", &port.to_string()])
        .args(args)
        .args(["--header-timeout-ms", "3000"])
        .stderr(std::process::Stdio::null());
    let served = match cap {
        Cap::Told(n) => {
            cmd.args(["--max-connections", &n.to_string()]);
            n
        }
        Cap::Files(files, n) => {
            use nix::sys::resource::{Resource, setrlimit};
            // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    setrlimit(Resource::RLIMIT_NOFILE, files, files).map_err(std::io::Error::from)
                });
            }
            n
        }
    };
    let mut child = support::KillOnDrop(cmd.spawn().unwrap());
    let connect = || tokio::net::TcpStream::connect(("127.0.0.1", port));
    let started = std::time::Instant::now();
    let mut first = loop {
        match connect().await {
            Ok(s) => break s,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{node}: the node did not listen: {e}"),
        }
    };
    assert!(ask_on(&mut first, ask).await.starts_with("http/1.1 200"));
    let mut kept = vec![first];
    while kept.len() < served {
        kept.push(connect().await.unwrap());
    }
    // Every connection within the cap is served — all at once, so that
    // the node holds what each costs upstream — and kept open.
    let answers = futures::future::join_all(kept.iter_mut().map(|s| ask_on(s, ask))).await;
    for a in &answers {
        assert!(a.starts_with("http/1.1 200"), "{node}: within the cap: {a}");
    }
    // The next is closed at once (EOF, not an answer, not a hang).
    let mut buf = [0u8; 64];
    let mut next = connect().await.unwrap();
    let n = tokio::time::timeout(Duration::from_millis(1500), next.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(0)) | Ok(Err(_))),
        "{node}: connection {} past a cap of {served} was kept: {n:?}",
        served + 1
    );
    // The idle ones are closed by the header timeout, not kept for ever.
    for s in &mut kept {
        let n = tokio::time::timeout(Duration::from_secs(6), s.read(&mut buf)).await;
        assert!(
            matches!(n, Ok(Ok(0)) | Ok(Err(_))),
            "{node}: an idle connection outlived the header timeout: {n:?}"
        );
    }
    // And the node answers again.
    let mut s = connect().await.unwrap();
    assert!(ask_on(&mut s, ask).await.starts_with("http/1.1 200"));
    let _ = child.kill();
}

/// The DAX node's edge cases through boto3 (issue 19: found with boto3 and
/// the DynamoDB conformance suite), so that the SDK that found them keeps
/// checking them: a BatchGetItem DynamoDB refuses (a key twice, no
/// tables), PartiQL refused with the item cache left true, a deleted and
/// re-created table, unsigned requests, and ConsumedCapacity on cache hits.
/// `tests/boto3/dax_cases.py` runs every case and prints each; boto3 is
/// installed by `scripts/deps.sh`.
#[tokio::test(flavor = "multi_thread")]
async fn boto3_finds_the_dax_node_answering_as_dynamodb_would() {
    let h = home();
    let d = up(&h, "item_ttl: 5m, query_ttl: 5m").await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/boto3/dax_cases.py");
    let out = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(&node(&d, "dax").info.url)
        .arg(&node(&d, "db").info.url)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("PYTHONOPTIMIZE")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .await
        .unwrap_or_else(|e| panic!("python3: {e} (scripts/deps.sh installs it)"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !said.contains("No module named 'boto3'"),
        "boto3 is missing: run scripts/deps.sh\n{said}"
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("5 of 5 cases passed"), "{said}");
}
