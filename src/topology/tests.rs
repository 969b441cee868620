use super::*;
use crate::yaml::SourceText;

fn parse(text: &str) -> Result<Topology, crate::yaml::FileError> {
    Topology::parse(&SourceText::inline("t.yaml", text))
}

#[test]
fn hybrid_example_from_the_contract() {
    let t = parse(
        r#"
name: hybrid
description: "ElastiCache Redis with Multi-AZ failover in front of DynamoDB"
provider: process
nodes:
  cache:
    kind: redis-replicated
    replicas: 2
    sentinels: 3
    quorum: 2
    down_after_ms: 1000
    persistence: aof
    appendfsync: everysec
  sessions:
    kind: dynamodb
    engine: embedded
"#,
    )
    .unwrap();
    assert_eq!(t.nodes.len(), 2);
    assert_eq!(t.process_count(), 1 + 2 + 3 + 1);
    let NodeKind::RedisReplicated(r) = &t.nodes[0].kind else {
        panic!("kind")
    };
    assert_eq!(r.quorum, 2);
    assert!(r.server.aof());
    let NodeKind::Dynamodb(d) = &t.nodes[1].kind else {
        panic!("kind")
    };
    assert_eq!(d.tables, ["sessions"]);
}

#[test]
fn defaults_are_filled() {
    let t = parse("name: c\nnodes:\n  c:\n    kind: redis-cluster\n").unwrap();
    let NodeKind::RedisCluster(c) = &t.nodes[0].kind else {
        panic!("kind")
    };
    assert_eq!(
        (c.shards, c.replicas_per_shard, c.node_timeout_ms),
        (3, 1, 1000)
    );
    assert_eq!(t.provider, Provider::Process);
}

#[test]
fn field_of_another_kind_is_refused_at_its_position() {
    let e = parse("name: x\nnodes:\n  a:\n    kind: redis\n    shards: 3\n").unwrap_err();
    let s = e.to_string();
    assert_eq!(
        s,
        "t.yaml:5:5: field `shards` does not apply to kind redis (it is for kind redis-cluster) (nodes.a.shards)"
    );
}

#[test]
fn all_problems_are_reported_in_order() {
    let e = parse(
        "name: x\nnodes:\n  a:\n    kind: redis-replicated\n    sentinels: 2\n    quorum: 3\n    min_replicas_to_write: 5\n",
    )
    .unwrap_err();
    assert_eq!(e.problems.len(), 2, "{e}");
    assert_eq!(e.problems[0].path, "nodes.a.quorum");
    assert_eq!(e.problems[0].pos.line, 6);
    assert_eq!(e.problems[1].path, "nodes.a.min_replicas_to_write");
}

#[test]
fn serde_errors_keep_path_and_position() {
    let e = parse("name: x\nnodes:\n  a:\n    kind: redis\n    replicaz: 1\n").unwrap_err();
    let p = &e.problems[0];
    assert_eq!((p.pos.line, p.pos.col), (5, 5), "{e}");
    assert_eq!(p.path, "nodes.a");
    assert!(p.message.contains("unknown field `replicaz`"), "{e}");
}

#[test]
fn tls_is_taken_by_every_redis_kind_and_refused_elsewhere() {
    let t = parse("name: x\nnodes:\n  a: { kind: redis, tls: true }\n  b: { kind: redis-replicated, tls: true }\n  c: { kind: redis-cluster, tls: true }\n  d: { kind: redis }\n").unwrap();
    let tls: Vec<bool> = t.nodes.iter().map(|n| n.kind.tls()).collect();
    assert_eq!(tls, [true, true, true, false]);
    let e = parse("name: x\nnodes:\n  a:\n    kind: memcached\n    tls: true\n").unwrap_err();
    assert_eq!(e.problems[0].path, "nodes.a.tls", "{e}");
    assert_eq!(e.problems[0].pos.line, 5, "{e}");
}

#[test]
fn users_take_a_password_variable_and_checked_rules_never_a_password() {
    let t = parse("name: x\nnodes:\n  a:\n    kind: redis\n    users:\n      app: { password_env: APP_PW, rules: \"~sd:* +@all -@dangerous\" }\n").unwrap();
    let NodeKind::Redis(s) = &t.nodes[0].kind else {
        panic!()
    };
    assert_eq!(s.client_user.as_deref(), Some("app"));
    assert_eq!(s.users[0].password_env, "APP_PW");
    for (text, path, line, says) in [
        (
            "name: x\nnodes:\n  a:\n    kind: redis\n    users:\n      app:\n        password_env: P\n        rules: \"~* +@all >secret\"\n",
            "nodes.a.users.app.rules",
            8,
            "sets or removes a password",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: redis\n    users:\n      app: { password_env: P }\n      ops: { password_env: Q }\n",
            "nodes.a.users",
            5,
            "client_user must name",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: redis\n    users: { app: { password_env: P } }\n    client_user: bob\n",
            "nodes.a.client_user",
            6,
            "not one of this node's users",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: redis\n    users:\n      default: { password_env: 1P }\n",
            "nodes.a.users.default",
            6,
            "not `default`",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: memcached\n    users: { app: { password_env: P } }\n",
            "nodes.a.users",
            5,
            "does not apply",
        ),
    ] {
        let e = parse(text).unwrap_err();
        let p = &e.problems[0];
        assert_eq!((p.path.as_str(), p.pos.line), (path, line), "{e}");
        assert!(p.message.contains(says), "{e}");
    }
    // A password in the file is not a field at all.
    let e = parse("name: x\nnodes:\n  a:\n    kind: redis\n    users:\n      app:\n        password: hunter2\n").unwrap_err();
    assert_eq!(e.problems[0].pos.line, 7, "{e}");
    assert!(
        e.problems[0].message.contains("unknown field `password`"),
        "{e}"
    );
}

#[test]
fn an_external_node_names_where_it_is_and_configures_nothing_else() {
    let t = parse("name: x\nnodes:\n  a:\n    kind: redis-replicated\n    external:\n      addresses: [\"10.0.0.1:26379\", \"sentinel-b.internal:26379\"]\n      master: m\n      password_env: P\n").unwrap();
    let e = t.nodes[0].external.as_ref().unwrap();
    assert_eq!(
        e.addresses,
        [
            ("10.0.0.1".to_string(), 26379),
            ("sentinel-b.internal".to_string(), 26379)
        ]
    );
    assert_eq!(t.process_count(), 0);
    for (text, path, line, says) in [
        (
            "name: x\nnodes:\n  a:\n    kind: redis\n    persistence: aof\n    external: { addresses: [\"h:1\"] }\n",
            "nodes.a.persistence",
            5,
            "does not apply to an external node",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: redis-replicated\n    external: { addresses: [\"h:1\"] }\n",
            "nodes.a.external",
            5,
            "needs `master:`",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: memcached\n    external: { addresses: [\"h:1\"], password_env: P }\n",
            "nodes.a.external.password_env",
            5,
            "does not apply to memcached",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: redis\n    external: { addresses: [\"h:1\"], ca_file: /ca.pem, server_name: h.internal }\n",
            "nodes.a.external.server_name",
            5,
            "applies to memcached only",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: memcached\n    external: { addresses: [\"h:1\"], server_name: h.internal }\n",
            "nodes.a.external.server_name",
            5,
            "applies with TLS",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: memcached\n    external: { addresses: [\"h:1\"], ca_file: /ca.pem, server_name: \"a..b\" }\n",
            "nodes.a.external.server_name",
            5,
            "is not a host name",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: redis-cluster\n    external: { addresses: [\"h:1\"], master: m }\n",
            "nodes.a.external.master",
            5,
            "applies to redis-replicated",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: dynamodb\n    external: { addresses: [\"h:1\"], table: sessions }\n",
            "nodes.a.external.addresses",
            5,
            "does not apply to an external dynamodb node",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: dynamodb\n    external: { endpoint: \"http://127.0.0.1:8000\" }\n",
            "nodes.a.external",
            5,
            "needs `table:`",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: memcached\n    external: { addresses: [\"h:1\", \"h:1\"] }\n",
            "nodes.a.external.addresses",
            5,
            "listed twice",
        ),
        (
            "name: x\nnodes:\n  a:\n    kind: redis\n    external:\n      addresses: [\"h:1\"]\n      password_env: \"hunter2 is my pw\"\n",
            "nodes.a.external.password_env",
            7,
            "must name an environment variable",
        ),
    ] {
        let e = parse(text).unwrap_err();
        let p = &e.problems[0];
        assert_eq!((p.path.as_str(), p.pos.line), (path, line), "{e}");
        assert!(p.message.contains(says), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}

#[test]
fn an_external_user_needs_a_password_variable() {
    let e = parse("name: x\nnodes:\n  a:\n    kind: redis\n    external:\n      addresses: [\"h:1\"]\n      user: app\n").unwrap_err();
    assert_eq!(e.problems[0].path, "nodes.a.external.user", "{e}");
    assert!(e.problems[0].message.contains("needs password_env"), "{e}");
}

#[test]
fn an_external_nodes_processes_are_named_as_targets_will_find_them() {
    let one = parse("name: x\nnodes:\n  m:\n    kind: memcached\n    external: { addresses: [\"cache.internal:11211\", \"cache.internal:11212\"] }\n").unwrap();
    let e = one.nodes[0].external.as_ref().unwrap();
    assert_eq!(e.process_name("m", "cache.internal", 11211), "m-11211");
    assert!(e.may_name("m", "m-11212"));
    assert!(!e.may_name("m", "m-cache.internal-11212"));
    assert!(!e.may_name("m", "m-11213"));
    let two = parse("name: x\nnodes:\n  m:\n    kind: memcached\n    external: { addresses: [\"a.internal:11211\", \"b.internal:11211\"] }\n").unwrap();
    let e = two.nodes[0].external.as_ref().unwrap();
    assert_eq!(
        e.process_name("m", "b.internal", 11211),
        "m-b.internal-11211"
    );
    assert!(e.may_name("m", "m-b.internal-11211"));
    assert!(!e.may_name("m", "m-11211"));
    // Sentinels name their servers only at the start: any NODE-HOST-PORT.
    let s = parse("name: x\nnodes:\n  c:\n    kind: redis-replicated\n    external: { addresses: [\"s.internal:26379\"], master: m }\n").unwrap();
    let e = s.nodes[0].external.as_ref().unwrap();
    assert!(e.may_name("c", "c-redis-1.internal-6379"));
    assert!(e.may_name("c", "c-::1-6379"));
    assert!(!e.may_name("c", "c-6379"));
    assert!(!e.may_name("c", "c--6379"));
    assert!(!e.may_name("c", "c-host-0"));
}
