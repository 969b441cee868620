//! What it costs (issue 23): bytes per session measured on a real Redis
//! and a real DynamoDB node, DynamoDB's own consumed units per operation,
//! and the bill at the user's scale in the report, its Markdown and
//! `compare`.

mod support;

use std::path::PathBuf;

use support::{cli, home, run_scenario, scenario_file, topology_path};

fn scenario(strategies: &str) -> (tempfile::TempDir, PathBuf) {
    scenario_file(
        &SCENARIO
            .replace(
                "TOPOLOGY",
                &topology_path("hybrid.yaml").display().to_string(),
            )
            .replace("[redis, dynamodb]", strategies)
            .replace(
                "  dynamodb.lost: \"== 0\"\n",
                if strategies.contains("dynamodb") {
                    "  dynamodb.lost: \"== 0\"\n"
                } else {
                    ""
                },
            ),
    )
}

const VALUE: u64 = 512;

/// The seeds' hybrid topology (Redis, 1 primary + 2 replicas behind
/// Sentinels; an embedded DynamoDB node), every session written once
/// before the load (so the sample finds them), a short load.
const SCENARIO: &str = r#"
name: cost-footprint
topology: TOPOLOGY
strategies: [redis, dynamodb]
workload:
  sessions: 400
  prefill: true
  duration: 3s
  rates: { read: 60/s, update: 20/s }
  ttl: 30m
  value_bytes: 512
timeline: []
expect:
  redis.lost: "== 0"
  dynamodb.lost: "== 0"
"#;

/// jemalloc's size class for an allocation of `n` bytes (x86-64: 8, 16,
/// then four classes per doubling, at least 16 apart).
fn jemalloc(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 16 {
        return 16;
    }
    let lg = 63 - (n - 1).leading_zeros() as u64; // floor(log2(n - 1))
    let step = (1u64 << lg.saturating_sub(2)).max(16);
    n.div_ceil(step) * step
}

fn within(measured: f64, direct: f64, share: f64) -> bool {
    (measured - direct).abs() <= direct * share
}

#[test]
fn bytes_per_session_on_real_nodes_match_a_direct_calculation_and_the_bill_is_priced() {
    let (dir, file) = scenario("[redis, dynamodb]");
    let (md, html) = (dir.path().join("r.md"), dir.path().join("r.html"));
    let ran = run_scenario(
        &file,
        &[
            "--sessions",
            "1M",
            "--requests",
            "1000/s",
            "--md",
            md.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // Where the answer is read: the Markdown's trade-off table and the
    // HTML page's bill, line by line.
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("\n## Cost\n"), "{md}");
    assert!(
        md.contains("| strategy | lost writes | unavailable | p50 ms | p99 ms | cost / month |"),
        "{md}"
    );
    assert!(md.contains("| redis | 0 | 0.0 s |"), "{md}");
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("<h2>Cost</h2>"), "no Cost section");
    assert!(html.contains("3 × cache.t2.small"), "no Redis bill line");
    let r = &ran.report;
    let tag = r["run_id"]
        .as_str()
        .unwrap()
        .rsplit('-')
        .next()
        .unwrap()
        .to_string();

    // Redis: a key of `sd:<tag>:redis:session:<id>` (3-digit ids, mostly)
    // and a 512-byte value, laid out as Redis 7 lays them: the key an
    // sds (3-byte header, NUL), the value a raw sds (5-byte header, NUL)
    // behind a 16-byte object, the dict entry 24 bytes; jemalloc rounds
    // each allocation up to its size class.
    let key = format!("sd:{tag}:redis:session:123").len() as u64;
    let direct_redis = (jemalloc(key + 4) + jemalloc(VALUE + 6) + 16 + 24) as f64;
    let redis = &r["strategies"]["redis"]["footprint"]["redis"];
    let measured = redis["bytes_per_session"].as_f64().unwrap();
    assert!(redis["sampled"].as_u64().unwrap() >= 150, "{redis}");
    assert!(
        within(measured, direct_redis, 0.20),
        "Redis: measured {measured} B/session, direct {direct_redis} B"
    );
    // What the application stored is less: Redis's own overhead per key.
    let payload = (key + VALUE) as f64;
    assert!(measured > payload, "{measured} vs payload {payload}");

    // DynamoDB: PK `SESSION#<tag>:dynamodb:<id>`, SK `META`, `data` (the
    // value), `expires_at` (a 10-digit epoch: at most 5 + 1 bytes), each
    // attribute's name counted too.
    let pk = format!("SESSION#{tag}:dynamodb:123").len() as u64;
    let direct_item = (2 + pk + 2 + 4 + 4 + VALUE + 10 + 6) as f64;
    let item = &r["strategies"]["dynamodb"]["footprint"]["dynamodb"];
    let measured = item["item_bytes"].as_f64().unwrap();
    assert!(item["sampled"].as_u64().unwrap() >= 150, "{item}");
    assert!(
        within(measured, direct_item, 0.20),
        "DynamoDB: measured {measured} B/item, direct {direct_item} B"
    );

    // DynamoDB's own count of the load's requests: an item under 1 KB
    // costs one write unit, a strongly consistent read of one under 4 KB
    // one read unit — and only the timed load's operations are billed,
    // not the prefill's writes nor the checker's reads.
    let s = &r["strategies"]["dynamodb"];
    let c = &s["consumed"];
    // Units are per operation of the timed load: every one metered.
    assert_eq!(c["ops"], s["ops"], "{c}");
    let ops = |k: &str| s["ops_by_kind"][k]["ops"].as_u64().unwrap_or(0);
    let errors: u64 = ["create", "read", "update", "delete"]
        .iter()
        .map(|k| s["ops_by_kind"][k]["errors"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(errors, 0, "{s}");
    assert_eq!(c["read_requests"].as_u64(), Some(ops("read")), "{c}");
    assert_eq!(
        c["write_requests"].as_u64(),
        Some(ops("create") + ops("update") + ops("delete")),
        "{c}"
    );
    assert_eq!(c["read_units"].as_f64(), c["read_requests"].as_f64(), "{c}");
    assert_eq!(
        c["write_units"].as_f64(),
        c["write_requests"].as_f64(),
        "{c}"
    );
    assert_eq!(c["unreported"].as_u64(), Some(0), "{c}");
    // The Redis strategy sent DynamoDB nothing.
    assert!(r["strategies"]["redis"].get("consumed").is_none());

    // The bill at the scale asked for: Redis every node of the
    // replication group (the primary and its 2 replicas; Sentinels are
    // ElastiCache's own), DynamoDB its requests and storage.
    let cost = &r["cost"];
    assert_eq!(cost["scale"]["sessions"], 1_000_000, "{cost}");
    assert_eq!(cost["scale"]["requests_per_s"], 1000.0, "{cost}");
    assert_eq!(cost["scale_from"], "command line");
    let line = |strategy: &str, i: usize| cost["strategies"][strategy]["lines"][i].clone();
    let redis_line = line("redis", 0);
    assert!(
        redis_line["what"]
            .as_str()
            .unwrap()
            .starts_with("3 × cache.t2.small (1 shard(s) × 3 node(s))"),
        "{redis_line}"
    );
    // The data sized is the measurement times the sessions.
    let what = redis_line["what"].as_str().unwrap();
    let gib: f64 = what
        .split(" for ")
        .nth(1)
        .and_then(|w| w.split(" GiB").next())
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("{what}"));
    let bps = redis["bytes_per_session"].as_f64().unwrap();
    assert!(
        (gib - 1e6 * bps / (1u64 << 30) as f64).abs() < 0.01,
        "{what}"
    );
    // 1M sessions of ~730 B fit a cache.t2.small: 3 × 730 h × $0.034.
    assert!(
        within(redis_line["monthly_usd"].as_f64().unwrap(), 74.46, 0.01),
        "{redis_line}"
    );
    // DynamoDB: a quarter of the operations write one unit, three
    // quarters read one: 2 628 M ops/month → 657 M write units ($410.63)
    // and 1 971 M read units ($246.38), give or take the load's own mix.
    let writes = line("dynamodb", 0)["monthly_usd"].as_f64().unwrap();
    let reads = line("dynamodb", 1)["monthly_usd"].as_f64().unwrap();
    let per_op = |k: &str| c[k].as_f64().unwrap() / c["ops"].as_f64().unwrap();
    // The scenario's mix: 20 updates and 60 reads a second.
    assert!(within(per_op("write_units"), 0.25, 0.2), "{c}");
    assert!(within(per_op("read_units"), 0.75, 0.2), "{c}");
    let ops_month = 1000.0 * 3600.0 * 730.0;
    let hand = |units: f64, price: f64| units * ops_month / 1e6 * price;
    assert!(
        within(writes, hand(per_op("write_units"), 0.625), 0.01),
        "{writes}"
    );
    assert!(
        within(reads, hand(per_op("read_units"), 0.125), 0.01),
        "{reads}"
    );
    // Near the hand-computed bill of a 25/75 mix ($410.63 + $246.38).
    assert!(within(writes + reads, 657.0, 0.2), "{writes} + {reads}");
}

#[test]
fn compare_prints_a_cost_column_and_a_bad_price_table_is_refused_before_anything_runs() {
    let (_dir, file) = scenario("[redis]");
    let h = home();
    let out = cli(&h)
        .args([
            "compare",
            file.to_str().unwrap(),
            "--sessions",
            "2M",
            "--requests",
            "500/s",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| cost / month |"), "{stdout}");
    assert!(
        stdout.contains("2,000,000 sessions, 500 ops/s (command line)"),
        "{stdout}"
    );
    // 2M sessions of ~730 B need 1.46 GB + 20 %: cache.t3.medium, three
    // of them (3 × 730 h × $0.068).
    assert!(stdout.contains("| $149 |"), "{stdout}");

    let bad = h.path().join("prices.yaml");
    std::fs::write(
        &bad,
        include_str!("../data/prices/aws-us-east-1.yaml").replace("hourly: 0.068", "hourly: 0"),
    )
    .unwrap();
    let out = cli(&h)
        .args([
            "run",
            file.to_str().unwrap(),
            "--prices",
            bad.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("prices.yaml:"), "{stderr}");
    assert!(stderr.contains("must be a positive price"), "{stderr}");
    assert!(!stderr.contains("bringing up"), "{stderr}");
    let out = cli(&h)
        .args(["run", file.to_str().unwrap(), "--sessions", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expected a count"), "{stderr}");
}

/// DAX (its hits bill no DynamoDB units) and memcached (3 nodes, their
/// slab memory), fault-free, on the shipped topologies.
#[test]
fn dax_hits_bill_no_units_and_memcached_is_priced_per_node() {
    let (_d, file) = scenario_file(&format!(
        "name: cost-dax\ntopology: {}\nstrategies: [dax]\nworkload:\n  sessions: 200\n  prefill: true\n  duration: 3s\n  rates: {{ read: 100/s, update: 10/s }}\n  ttl: 30m\n  value_bytes: 512\ntimeline: []\n",
        topology_path("dax.yaml").display()
    ));
    let ran = run_scenario(&file, &[], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let s = &ran.report["strategies"]["dax"];
    let c = &s["consumed"];
    let reads = s["ops_by_kind"]["read"]["ops"].as_f64().unwrap();
    // Every read was metered (a hit is answered too, with 0 units)...
    assert_eq!(c["read_requests"].as_f64(), Some(reads), "{c}");
    // ...and every session was written through DAX before the load: reads
    // hit the item cache, and a hit consumes nothing — far fewer read
    // units than reads (an eventually consistent miss would be 0.5 each).
    assert!(
        c["read_units"].as_f64().unwrap() < 0.2 * reads,
        "{c} for {reads} reads"
    );
    assert!(c["write_units"].as_f64().unwrap() > 0.0, "{c}");
    let bill = &ran.report["cost"]["strategies"]["dax"];
    let services: Vec<&str> = bill["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["service"].as_str().unwrap())
        .collect();
    assert!(
        services.contains(&"DAX") && services.contains(&"DynamoDB writes"),
        "{bill}"
    );
    assert!(bill.get("unpriced").is_none(), "{bill}");
    assert_eq!(ran.report["cost"]["scale_from"], "scenario");
    assert_eq!(ran.report["cost"]["scale"]["sessions"], 200);

    let (_d, file) = scenario_file(&format!(
        "name: cost-memcached\ntopology: {}\nstrategies: [memcached]\nworkload:\n  sessions: 300\n  prefill: true\n  duration: 2s\n  rates: {{ read: 50/s, update: 10/s }}\n  ttl: 30m\n  value_bytes: 512\ntimeline: []\n",
        topology_path("memcached.yaml").display()
    ));
    let ran = run_scenario(&file, &["--sessions", "1M"], &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let m = &ran.report["strategies"]["memcached"]["footprint"]["memcached"];
    assert_eq!(m["items"], 300, "{m}");
    // An item is its header, key and value, rounded up to its slab's
    // chunk: more than the value, less than twice it.
    let per = m["bytes_per_item"].as_f64().unwrap();
    assert!(per > VALUE as f64 && per < 2.0 * VALUE as f64, "{m}");
    let line = &ran.report["cost"]["strategies"]["memcached"]["lines"][0];
    let what = line["what"].as_str().unwrap();
    assert!(what.contains("(3 shard(s) × 1 node(s))"), "{line}");
    // ElastiCache's reserved memory is Redis's: not taken off memcached.
    assert!(what.ends_with(", 0 % reserved"), "{line}");
}
