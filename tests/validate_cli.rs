//! Bad input: every malformed topology gets FILE:LINE:COL: message (path)
//! and exit 2, never a panic.

mod support;

use std::path::Path;

use support::{cli, home};

/// Write `text` to a file and run `validate` on it: (exit code, stderr).
fn validate(name: &str, text: &str) -> (i32, String) {
    let h = home();
    let file = h.path().join(name);
    std::fs::write(&file, text).unwrap();
    run_validate(&h, &file)
}

fn run_validate(h: &tempfile::TempDir, file: &Path) -> (i32, String) {
    let out = cli(h).arg("validate").arg(file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

/// Assert exit 2 and one message starting `FILE:LINE:COL:` that contains
/// every fragment.
fn assert_problem(name: &str, text: &str, line: usize, col: usize, fragments: &[&str]) {
    let (code, err) = validate(name, text);
    assert_eq!(code, 2, "exit code for {name}: {err}");
    let expected = format!("{name}:{line}:{col}: ");
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.contains(&expected),
        "{name}: expected position {expected:?} in {first:?}"
    );
    for f in fragments {
        assert!(err.contains(f), "{name}: expected {f:?} in {err:?}");
    }
}

#[test]
fn shipped_topologies_are_valid() {
    let h = home();
    let files: Vec<_> = std::fs::read_dir(support::topology_path(""))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(files.len() >= 9);
    let out = cli(&h).arg("validate").args(&files).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shipped_localstack_files_are_valid() {
    let h = home();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("localstack");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    let out = cli(&h).arg("validate").args(&files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every DynamoDB node there is LocalStack's edge port, on loopback.
    let topo = std::fs::read_to_string(dir.join("hybrid.yaml")).unwrap();
    assert!(topo.contains("endpoint: http://127.0.0.1:4566"), "{topo}");
    assert!(stdout.contains("on topology hybrid-localstack"), "{stdout}");
}

#[test]
fn bad_indentation() {
    assert_problem(
        "indent.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis\n   persistence: aof\n",
        5,
        4,
        &["invalid YAML"],
    );
}

#[test]
fn unknown_kind() {
    assert_problem(
        "kind.yaml",
        "name: x\nnodes:\n  a:\n    kind: postgres\n",
        4,
        11,
        &["unknown variant `postgres`", "(nodes.a.kind)"],
    );
}

#[test]
fn unknown_field() {
    assert_problem(
        "field.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis\n    persistance: aof\n",
        5,
        5,
        &["unknown field `persistance`", "persistence", "(nodes.a)"],
    );
}

#[test]
fn negative_replicas() {
    assert_problem(
        "neg.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis-replicated\n    replicas: -1\n",
        5,
        15,
        &["-1", "(nodes.a.replicas)"],
    );
}

#[test]
fn quorum_greater_than_sentinels() {
    assert_problem(
        "quorum.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis-replicated\n    sentinels: 3\n    quorum: 4\n",
        6,
        5,
        &[
            "quorum must be between 1 and the number of sentinels (3); got 4",
            "(nodes.a.quorum)",
        ],
    );
}

#[test]
fn port_out_of_range() {
    assert_problem(
        "port.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis\n    port: 70000\n",
        5,
        11,
        &["70000", "(nodes.a.port)"],
    );
}

#[test]
fn port_zero() {
    assert_problem(
        "port0.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis\n    port: 0\n",
        5,
        5,
        &["port must be between 1 and 65535", "(nodes.a.port)"],
    );
}

#[test]
fn empty_image() {
    assert_problem(
        "image.yaml",
        "name: x\nprovider: docker\nnodes:\n  a:\n    kind: redis\n    image: \"\"\n",
        6,
        5,
        &["image must name an image", "(nodes.a.image)"],
    );
}

#[test]
fn unknown_provider() {
    assert_problem(
        "provider.yaml",
        "name: x\nprovider: kubernetes\nnodes:\n  a:\n    kind: redis\n",
        2,
        11,
        &["provider"],
    );
}

#[test]
fn duplicate_node_names() {
    assert_problem(
        "dup.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis\n  a:\n    kind: memcached\n",
        5,
        3,
        &["duplicate key `a` (first defined at line 3)", "(nodes.a)"],
    );
}

#[test]
fn empty_file() {
    assert_problem("empty.yaml", "\n  \n", 1, 1, &["the file is empty"]);
}

#[test]
fn directory_instead_of_file() {
    let h = home();
    let dir = h.path().join("adir.yaml");
    std::fs::create_dir(&dir).unwrap();
    let (code, err) = run_validate(&h, &dir);
    assert_eq!(code, 2);
    assert!(err.contains("adir.yaml:1:1: is a directory"), "{err}");
}

#[test]
fn missing_file() {
    let h = home();
    let (code, err) = run_validate(&h, &h.path().join("nope.yaml"));
    assert_eq!(code, 2);
    assert!(err.contains("nope.yaml:1:1: cannot read"), "{err}");
}

#[test]
fn field_of_another_kind() {
    assert_problem(
        "other.yaml",
        "name: x\nnodes:\n  a:\n    kind: memcached\n    appendfsync: always\n",
        5,
        5,
        &[
            "field `appendfsync` does not apply to kind memcached",
            "(nodes.a.appendfsync)",
        ],
    );
}

#[test]
fn appendfsync_without_aof() {
    assert_problem(
        "fsync.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis\n    persistence: rdb\n    appendfsync: always\n",
        6,
        5,
        &["appendfsync applies only with persistence `aof`"],
    );
}

#[test]
fn missing_nodes() {
    assert_problem(
        "nonodes.yaml",
        "name: x\n",
        1,
        1,
        &["missing field `nodes`"],
    );
}

#[test]
fn wrong_type() {
    assert_problem(
        "type.yaml",
        "name: x\nnodes:\n  a:\n    kind: redis-cluster\n    shards: three\n",
        5,
        13,
        &["invalid type", "(nodes.a.shards)"],
    );
}

#[test]
fn endpoint_engine_without_url() {
    assert_problem(
        "endpoint.yaml",
        "name: x\nnodes:\n  d:\n    kind: dynamodb\n    engine: endpoint\n",
        5,
        5,
        &["needs an `endpoint: URL`", "(nodes.d.engine)"],
    );
}

#[test]
fn not_a_mapping() {
    let (code, err) = validate("list.yaml", "- a\n- b\n");
    assert_eq!(code, 2);
    assert!(err.contains("list.yaml:1:1: "), "{err}");
}

#[test]
fn every_problem_of_a_file_is_listed_and_valid_files_still_pass() {
    let h = home();
    let bad = h.path().join("two.yaml");
    std::fs::write(
        &bad,
        "name: x\nnodes:\n  a:\n    kind: redis-cluster\n    shards: 0\n    node_timeout_ms: 5\n",
    )
    .unwrap();
    let good = support::topology_path("hybrid.yaml");
    let out = cli(&h)
        .arg("validate")
        .arg(&bad)
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.contains("two.yaml:5:5: shards must be between 1 and 16; got 0"),
        "{err}"
    );
    assert!(err.contains("two.yaml:6:5: node_timeout_ms"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("hybrid.yaml: ok"));
}

#[test]
fn bad_fault_timeline_entries_are_named_by_line() {
    let text = "\
name: t
topology:
  name: inline
  nodes:
    cache: { kind: redis, persistence: aof }
    mc: { kind: memcached }
strategies: [redis]
workload:
  sessions: 10
  duration: 2s
  rates: { read: 10/s }
timeline:
  - { at: 1s, fault: explode, target: cache }
  - { at: 1s, fault: kill, target: nosuch }
  - { at: 1s, fault: flush, target: cache, duration: 2s }
  - { at: soon, fault: failover, target: cache }
  - { at: 1s, fault: power-loss, target: mc }
  - { at: 1s, fault: kill, target: cache, unsynced: 500ms }
  - { at: 1s, fault: power-loss, target: cache, unsynced: often }
";
    let (code, err) = validate("timeline.yaml", text);
    assert_eq!(code, 2, "{err}");
    for expected in [
        "timeline.yaml:13:15: unknown fault `explode`, expected one of: kill, restart, pause, resume, power-loss, failover, flush",
        "timeline.yaml:14:28: `nosuch` names no node of topology `inline` (nodes: cache, mc)",
        "timeline.yaml:15:44: `flush` does not last",
        "timeline.yaml:16:7: ",
        "failover needs a redis-replicated or redis-cluster node",
        "`mc` is memcached: it keeps nothing on disk",
        "timeline.yaml:18:43: `unsynced` applies to power-loss only",
        "timeline.yaml:19:49: ",
        "expected a duration like 500ms, 20s, 30m; got \"often\" (timeline[6].unsynced)",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
}

#[test]
fn bad_pattern_parameters_and_eviction_policies_are_named_by_line() {
    let text = "\
name: t
topology:
  name: inline
  nodes:
    cache: { kind: redis }
strategies: [redis-lock, redis-rate-limit]
workload:
  sessions: 10
  duration: 2s
  rates: { read: 10/s }
  patterns: { lock_lease: forever, rate_limit: 30 per minute }
timeline:
  - { at: 1s, fault: evict, target: cache, policy: lru-ish }
  - { at: 1s, fault: kill, target: cache, policy: noeviction }
";
    let (code, err) = validate("patterns.yaml", text);
    assert_eq!(code, 2, "{err}");
    for expected in [
        "patterns.yaml:11:15: ",
        "expected a duration like 500ms",
        "patterns.yaml:11:36: expected requests per window like 30/60s; got \"30 per minute\"",
        "patterns.yaml:13:44: unknown maxmemory-policy `lru-ish`, expected one of: allkeys-lru",
        "patterns.yaml:14:43: `policy` applies to evict only",
    ] {
        assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    }
}

#[test]
fn a_dax_node_must_front_a_dynamodb_node() {
    assert_problem(
        "dax-nothing.yaml",
        "name: t\nnodes:\n  dax: { kind: dax }\n",
        3,
        3,
        &["a dax node needs a dynamodb node to front"],
    );
    assert_problem(
        "dax-wrong.yaml",
        "name: t\nnodes:\n  db: { kind: dynamodb }\n  c: { kind: memcached }\n  dax: { kind: dax, dynamodb: c }\n",
        5,
        21,
        &["`c` is not a dynamodb node of this topology (dynamodb nodes: db)"],
    );
    assert_problem(
        "dax-nodes.yaml",
        "name: t\nnodes:\n  db: { kind: dynamodb }\n  dax: { kind: dax, nodes: 4 }\n",
        4,
        21,
        &["nodes must be between 1 and 3; got 4"],
    );
    assert_problem(
        "dax-ttl.yaml",
        "name: t\nnodes:\n  db: { kind: dynamodb }\n  dax: { kind: dax, item_ttl: soon }\n",
        4,
        21,
        &["expected a duration like 500ms"],
    );
}

/// Files that crashed, stalled or lied (issue 19): each is a clear exit 2,
/// fast, with a real position.
#[test]
fn deep_nesting_is_a_position_not_a_stack_overflow() {
    assert_problem(
        "deep.yaml",
        &"- ".repeat(3000),
        1,
        129,
        &["nested deeper than 64 levels"],
    );
    let started = std::time::Instant::now();
    let (code, err) = validate("brackets.yaml", &"[".repeat(100_000));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nested deeper than 64 levels"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn what_is_not_a_small_regular_utf8_file_is_refused() {
    let h = home();
    let (code, err) = run_validate(&h, Path::new("/dev/zero"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a regular file"), "{err}");

    let fifo = h.path().join("fifo.yaml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (code, err) = run_validate(&h, &fifo);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a regular file"), "{err}");

    let big = format!("name: t\n# {}\n", "x".repeat(2 << 20));
    let (code, err) = validate("big.yaml", &big);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is larger than 1024 KiB"), "{err}");

    let file = h.path().join("latin1.yaml");
    std::fs::write(&file, b"name: t\nnodes:\n  caf\xe9: { kind: redis }\n").unwrap();
    let (code, err) = run_validate(&h, &file);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("latin1.yaml:3:6: "), "{err}");
    assert!(err.contains("not UTF-8"), "{err}");
}

#[test]
fn an_aliased_key_is_refused_rather_than_dropping_a_node() {
    assert_problem(
        "alias-key.yaml",
        "name: t\nx: &n a\nnodes:\n  a: { kind: redis }\n  *n : { kind: memcached }\n",
        5,
        3,
        &["an alias (`*name`) cannot be a key"],
    );
}

/// Durations that overflow the clock were accepted and made a run panic
/// 600 times and exit 0 with "0 lost": they are refused where written.
#[test]
fn durations_past_a_year_are_refused() {
    let text = "\
name: t
topology:
  name: inline
  nodes:
    cache: { kind: redis }
strategies: [redis]
workload:
  sessions: 10
  duration: 2s
  rates: { read: 10/s }
  ttl: 300000000000y
  op_timeout: 10000000000000000000s
";
    let (code, err) = validate("durations.yaml", text);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("durations.yaml:11:3: "), "{err}");
    assert!(err.contains("longer than a year"), "{err}");
    assert!(err.contains("durations.yaml:12:3: "), "{err}");
}

/// What failed only at `up`: it fails at `validate`, where it is written.
#[test]
fn ports_sizes_and_counts_that_failed_only_at_up() {
    assert_problem(
        "dup-ports.yaml",
        "name: t\nnodes:\n  a: { kind: redis, port: 7000 }\n  b: { kind: memcached, port: 7000 }\n",
        4,
        25,
        &["ports 7000-7000 of `b` overlap those of `a`"],
    );
    assert_problem(
        "bus.yaml",
        "name: t\nnodes:\n  c: { kind: redis-cluster, port: 60000 }\n",
        3,
        29,
        &["bus ports (port + 10000) would go up to 70005, past 65535"],
    );
    assert_problem(
        "plus.yaml",
        "name: t\nnodes:\n  a: { kind: redis, maxmemory: +5mb }\n",
        3,
        21,
        &["maxmemory must be a size like 64mb"],
    );
    let many: String = (0..65)
        .map(|i| format!("  n{i}: {{ kind: memcached }}\n"))
        .collect();
    assert_problem(
        "many.yaml",
        &format!("name: t\nnodes:\n{many}"),
        2,
        1,
        &["65 nodes: a topology has at most 64"],
    );
}
