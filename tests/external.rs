//! External nodes (issue 20): a TLS Sentinel topology brought up on its
//! own (`up --detach`, its own home) and drilled from another home as a
//! system sessiondrill does not run — only with `--external`, within the
//! rate cap, no process faults, and every key of the run gone afterwards.

mod support;

use std::process::{Command, Stdio};

use support::{cli, home, run_dirs, topology_path};

/// The staging system's password, as its operators would hand it over.
const ENV: &str = "SD_TEST_STAGING_PASSWORD";

/// The staging system's Sentinels as an external node `name` of a
/// topology (the block under `nodes:`), its passwords in [`ENV`].
fn sentinel_node(name: &str, sentinels: &[String], ca: &str) -> String {
    format!(
        "    {name}:
      kind: redis-replicated
      external:
        addresses: [{}]
        master: cache
        password_env: {ENV}
        sentinel_password_env: {ENV}
        ca_file: {ca}
",
        sentinels.join(", ")
    )
}

/// `validate FILE` in `home` is exit 2 and says `says`.
fn refused(home: &support::TestHome, file: &std::path::Path, says: &str) {
    let out = cli(home).arg("validate").arg(file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains(says), "{}", said(&out));
}

/// `down` of the staging system in `home`.
fn down(home: &support::TestHome) {
    let out = cli(home).arg("down").output().unwrap();
    assert!(out.status.success(), "{}", said(&out));
}

fn said(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `redis-cli` over TLS against `url`, as its operators would look:
/// what it printed, trimmed.
fn redis_cli(ca: &str, url: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["--tls", "--cacert", ca, "-u", url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A "staging" system: `file` up on its own (`up --detach`), in a home of
/// its own. Its home, `up --json`, the CA path, and the URL and password
/// of its server in role `role` (its operators' secret).
struct Staging {
    home: support::TestHome,
    report: serde_json::Value,
    ca: String,
    url: String,
    password: String,
}

fn staging(file: &str, role: &str) -> Staging {
    let home = home();
    let up = cli(&home)
        .args(["up", "--detach", "--json"])
        .arg(topology_path(file))
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", said(&up));
    let report: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    let ca = report["ca"].as_str().unwrap_or_default().to_string();
    let url = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["role"] == role)
        .and_then(|n| n["url"].as_str())
        .unwrap()
        .to_string();
    // memcached has none.
    let password = url
        .split_once("default:")
        .and_then(|(_, r)| r.split_once('@'))
        .map(|(p, _)| p.to_string())
        .unwrap_or_default();
    Staging {
        home,
        report,
        ca,
        url,
        password,
    }
}

#[test]
fn a_sentinel_managed_tls_redis_is_drilled_from_outside_and_left_clean() {
    let Staging {
        home: staging,
        report,
        ca,
        url: server_url,
        password,
    } = staging("replicated-sentinel-tls.yaml", "primary");
    let sentinels = addresses(&report, "sentinel");
    assert_eq!(sentinels.len(), 3);
    let node = sentinel_node("staging", &sentinels, &ca);
    let scenario = |rates: &str, timeline: &str| {
        format!(
            "name: staging-drill
topology:
  name: staging
  nodes:
{node}strategies: [redis]
workload:
  sessions: 300
  duration: 2s
  rates: {rates}
  ttl: 30m
{timeline}"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("staging.yaml");
    std::fs::write(
        &file,
        scenario(
            "{ create: 60/s, read: 60/s, update: 60/s, delete: 10/s }",
            "",
        ),
    )
    .unwrap();

    let drills = home();
    // Without --external: refused before anything is written.
    let out = cli(&drills)
        .arg("run")
        .arg(&file)
        .env(ENV, &password)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("pass --external"), "{}", said(&out));
    assert!(run_dirs(&drills).is_empty());

    // The variable is not set: exit 2 naming node and variable.
    let out = cli(&drills)
        .args(["run", "--external"])
        .arg(&file)
        .env_remove(ENV)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains(&format!("node `staging`: ${ENV} is not set")),
        "{}",
        said(&out)
    );

    // A wrong password: the node is not usable, exit 2.
    let out = cli(&drills)
        .args(["run", "--external", "--json"])
        .arg(dir.path().join("r.json"))
        .arg(&file)
        .env(ENV, "not-the-password")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains("external node `staging` is not usable"),
        "{}",
        said(&out)
    );
    assert!(run_dirs(&drills).is_empty());

    // The Sentinels' password right, the data one wrong: found at up too.
    let mixed = dir.path().join("mixed.yaml");
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        &format!("password_env: {ENV}"),
        "password_env: SD_TEST_STAGING_DATA",
        1,
    );
    std::fs::write(&mixed, text).unwrap();
    let out = cli(&drills)
        .args(["run", "--external"])
        .arg(&mixed)
        .env(ENV, &password)
        .env("SD_TEST_STAGING_DATA", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("primary 127.0.0.1:"), "{}", said(&out));
    assert!(run_dirs(&drills).is_empty());

    // The drill: the load runs, nothing is lost, and every key it wrote is
    // removed at the end.
    let r = support::run_scenario(&file, &["--external"], &[(ENV, &password)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.report["strategies"]["redis"];
    assert!(s["acked_writes"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    let cleanup = &r.report["external_cleanup"][0];
    assert_eq!(cleanup["node"], "staging", "{}", r.report);
    assert!(cleanup["removed"].as_u64().unwrap() > 50, "{cleanup}");
    assert_eq!(cleanup["left"], 0, "{cleanup}");
    assert!(!r.stderr.contains(&password), "the password was printed");
    // Looked at from outside: no session key of any run is left.
    assert_eq!(
        redis_cli(&ca, &server_url, &["--scan", "--pattern", "sd:*"]),
        ""
    );
    // Nor any other key: the drill wrote nothing outside its prefix.
    assert_eq!(redis_cli(&ca, &server_url, &["DBSIZE"]), "0");

    // Interrupted mid-load (Ctrl-C): the load ends, and the keys still go.
    let child = cli(&drills)
        .args(["run", "--external", "--duration", "30s"])
        .arg(&file)
        .env(ENV, &password)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let wrote = || {
        redis_cli(&ca, &server_url, &["--scan", "--pattern", "sd:*"])
            .lines()
            .count()
    };
    let start = std::time::Instant::now();
    while wrote() < 20 && start.elapsed() < std::time::Duration::from_secs(15) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(wrote() >= 20, "the interrupted drill wrote nothing");
    support::signal(child.id(), nix::sys::signal::Signal::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert!(
        said(&out).contains("removing this run's keys"),
        "{}",
        said(&out)
    );
    assert_eq!(wrote(), 0, "keys left after Ctrl-C: {}", said(&out));
    assert!(run_dirs(&drills).is_empty());

    // Refused at validation: a process fault on it, and more load than
    // the cap.
    std::fs::write(
        &file,
        scenario(
            "{ create: 60/s, read: 60/s }",
            "timeline:\n  - { at: 1s, fault: kill, target: staging }\n",
        ),
    )
    .unwrap();
    refused(&drills, &file, "is an external node");
    std::fs::write(&file, scenario("{ create: 150/s, read: 150/s }", "")).unwrap();
    refused(&drills, &file, "more than the 200/s");
    // ... unless the scenario says the system is ours to load.
    let raised = scenario("{ create: 150/s, read: 150/s }", "")
        .replace("  ttl: 30m\n", "  ttl: 30m\n  max_rate: 400/s\n");
    std::fs::write(&file, raised).unwrap();
    let out = cli(&drills).arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    // One strategy, and no prefill burst.
    let more = scenario("{ create: 60/s }", "")
        .replace("strategies: [redis]", "strategies: [redis, redis-presence]")
        .replace("  ttl: 30m\n", "  ttl: 30m\n  prefill: true\n");
    std::fs::write(&file, more).unwrap();
    refused(
        &drills,
        &file,
        "one strategy runs, `redis`, `memcached`, `dynamodb`, `write-through` or `cache-aside`",
    );
    refused(&drills, &file, "prefill writes every session");

    down(&staging);
}

/// The shipped examples validate, and stop before any traffic: without
/// `--external`, and with it but without their secrets.
#[test]
fn the_examples_need_external_and_their_secrets_before_any_traffic() {
    // Without secrets of their own, memcached and DynamoDB (whose are the
    // SDK's) stop at the same place.
    for name in ["external-memcached.yaml", "external-dynamodb.yaml"] {
        let file = topology_path("external").join(name);
        let h = home();
        let out = cli(&h).arg("validate").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", said(&out));
        let out = cli(&h).arg("run").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", said(&out));
        assert!(said(&out).contains("pass --external"), "{}", said(&out));
        assert!(run_dirs(&h).is_empty());
    }
    for name in [
        "external-redis.yaml",
        "external-sentinel.yaml",
        "external-cluster.yaml",
        // The clouds' faults: nothing reaches AWS before the node's check.
        "elasticache-az-power.yaml",
        "elasticache-test-failover.yaml",
    ] {
        let file = topology_path("external").join(name);
        let h = home();
        let out = cli(&h).arg("validate").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", said(&out));
        let out = cli(&h).arg("run").arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", said(&out));
        assert!(said(&out).contains("pass --external"), "{}", said(&out));
        let out = cli(&h)
            .args(["run", "--external"])
            .arg(&file)
            .env_remove("STAGING_REDIS_PASSWORD")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", said(&out));
        assert!(
            said(&out).contains("node `cache`: $STAGING_REDIS_PASSWORD is not set"),
            "{}",
            said(&out)
        );
        assert!(run_dirs(&h).is_empty());
    }
}

/// A partition on the client link of an external Redis (a TLS server
/// brought up on its own): its link goes through a proxy on this machine,
/// the fault is injected and healed, the load times out meanwhile and
/// recovers, nothing is lost, and every key goes at the end.
#[test]
fn a_partition_on_an_external_redis_client_link_is_injected_and_healed() {
    let Staging {
        home: staging,
        report,
        ca,
        url,
        password,
    } = staging("standalone-aof-everysec-tls.yaml", "primary");
    let node = &report["nodes"][0];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("partition.yaml");
    std::fs::write(
        &file,
        format!(
            "name: staging-partition
topology:
  name: staging
  nodes:
    cache:
      kind: redis
      external:
        addresses: [\"127.0.0.1:{}\"]
        password_env: {ENV}
        ca_file: {ca}
strategies: [redis]
workload:
  sessions: 300
  duration: 4s
  rates: {{ create: 50/s, read: 50/s, update: 50/s }}
  ttl: 30m
  op_timeout: 300ms
timeline:
  - {{ at: 1s, fault: partition, target: cache, duration: 1s }}
expect:
  redis.errors.timeout: \"> 0\"
  redis.lost: \"== 0\"
",
            node["port"]
        ),
    )
    .unwrap();
    let r = support::run_scenario(&file, &["--external"], &[(ENV, &password)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = &r.report["faults"][0];
    assert_eq!(f["kind"], "partition", "{f}");
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
    let s = &r.report["strategies"]["redis"];
    assert!(s["errors"]["timeout"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    let cleanup = &r.report["external_cleanup"][0];
    assert_eq!(cleanup["left"], 0, "{cleanup}");
    assert!(cleanup["removed"].as_u64().unwrap() > 50, "{cleanup}");
    assert_eq!(redis_cli(&ca, &url, &["--scan", "--pattern", "sd:*"]), "");
    down(&staging);
}

/// The ports of the staging system's processes in `role`, as
/// `"127.0.0.1:PORT"` list items.
fn addresses(report: &serde_json::Value, role: &str) -> Vec<String> {
    report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["role"] == role)
        .map(|n| format!("\"127.0.0.1:{}\"", n["port"]))
        .collect()
}

/// An external TLS Redis Cluster, named by its seeds: the strategy follows
/// the cluster's own map, and the run's keys go from every master.
#[test]
fn an_external_tls_cluster_is_drilled_by_its_seeds_and_every_master_is_left_clean() {
    let Staging {
        home: staging,
        report,
        ca,
        password,
        ..
    } = staging("cluster-3x1-tls.yaml", "master");
    let masters: Vec<String> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["role"] == "master")
        .map(|n| n["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(masters.len(), 3);
    let seeds = addresses(&report, "master");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.yaml");
    let scenario = |timeline: &str| {
        format!(
            "name: staging-cluster
topology:
  name: staging
  nodes:
    sessions:
      kind: redis-cluster
      external:
        addresses: [{}]
        password_env: {ENV}
        ca_file: {ca}
strategies: [redis]
workload:
  sessions: 300
  duration: 2s
  rates: {{ create: 60/s, read: 60/s, update: 60/s }}
  ttl: 30m
{timeline}",
            seeds[..2].join(", ")
        )
    };
    std::fs::write(&file, scenario("")).unwrap();
    let r = support::run_scenario(&file, &["--external"], &[(ENV, &password)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.report["strategies"]["redis"];
    assert!(s["acked_writes"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    assert!(s["errors"].as_object().unwrap().is_empty(), "{s}");
    let cleanup = &r.report["external_cleanup"][0];
    assert!(cleanup["removed"].as_u64().unwrap() > 50, "{cleanup}");
    assert_eq!(cleanup["left"], 0, "{cleanup}");
    // Every master took some of the run's writes and UNLINKs (the third
    // was not a seed), and none holds a key now.
    for url in &masters {
        let stats = redis_cli(&ca, url, &["INFO", "commandstats"]);
        let calls = |cmd: &str| {
            stats
                .lines()
                .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
                .map_or(0, |r| r.split(',').next().unwrap().parse::<u64>().unwrap())
        };
        assert!(calls("set") > 0, "{url}: {stats}");
        assert!(calls("unlink") > 0, "{url}: {stats}");
        assert_eq!(redis_cli(&ca, url, &["DBSIZE"]), "0", "{url}");
    }

    // A link fault on it is refused at validation: its clients follow the
    // cluster's own map, which no proxy of ours is on.
    std::fs::write(
        &file,
        scenario("timeline:\n  - { at: 1s, fault: partition, target: sessions, duration: 1s }\n"),
    )
    .unwrap();
    refused(&home(), &file, "`sessions` is an external node");
    down(&staging);
}

/// One text-protocol command to memcached at `addr`: the reply up to END
/// (or its one line).
fn memcached(addr: &str, command: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let addr = addr.trim_matches('"');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut out = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        out.push_str(&line);
        if line.is_empty() || line == "END\r\n" || !line.starts_with(['S', 'k']) {
            return out;
        }
    }
}

/// External memcached servers on two "hosts" (`localhost` and
/// `127.0.0.1`: two names, as separate machines would have): sessions
/// sharded over them, a partition on one server's client link
/// (`<node>-<host>-<port>`) injected and healed, and the run's keys
/// deleted.
#[test]
fn external_memcached_servers_take_a_partition_and_are_left_without_the_runs_keys() {
    let Staging {
        home: staging,
        report,
        ..
    } = staging("memcached.yaml", "server");
    let servers = addresses(&report, "server");
    assert_eq!(servers.len(), 3);
    let first_port = report["nodes"][0]["port"].clone();
    let named: Vec<String> = servers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 {
                a.replace("127.0.0.1", "localhost")
            } else {
                a.clone()
            }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("memcached.yaml");
    std::fs::write(
        &file,
        format!(
            "name: staging-memcached
topology:
  name: staging
  nodes:
    sessions:
      kind: memcached
      external:
        addresses: [{}]
strategies: [memcached]
workload:
  sessions: 300
  duration: 4s
  rates: {{ create: 50/s, read: 50/s, update: 50/s }}
  ttl: 30m
  op_timeout: 300ms
timeline:
  - {{ at: 1s, fault: partition, target: sessions-localhost-{}, duration: 1s }}
expect:
  memcached.errors.timeout: \"> 0\"
",
            named.join(", "),
            first_port
        ),
    )
    .unwrap();
    let r = support::run_scenario(&file, &["--external"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = &r.report["faults"][0];
    assert_eq!(f["kind"], "partition", "{f}");
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
    assert_eq!(
        f["processes"],
        serde_json::json!([format!("sessions-localhost-{first_port}")]),
        "{f}"
    );
    let s = &r.report["strategies"]["memcached"];
    assert!(s["errors"]["timeout"].as_u64().unwrap() > 0, "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 100, "{s}");
    // Only the one server was cut off: the sessions on the other two
    // answered in every second, the partition's included.
    for sec in s["per_second"].as_array().unwrap() {
        let (ops, errors) = (
            sec["ops"].as_u64().unwrap(),
            sec["errors"].as_u64().unwrap(),
        );
        assert!(ops == 0 || errors * 2 < ops, "{sec}");
    }
    let cleanup = &r.report["external_cleanup"][0];
    assert!(cleanup["removed"].as_u64().unwrap() > 50, "{cleanup}");
    assert_eq!(cleanup["left"], 0, "{cleanup}");
    // Looked at from outside: every server held some, and holds none now.
    for a in &servers {
        let stats = memcached(a, "stats");
        let items = stats
            .lines()
            .find_map(|l| l.strip_prefix("STAT curr_items "))
            .unwrap();
        assert_eq!(items.trim(), "0", "{a}: {stats}");
        let total = stats
            .lines()
            .find_map(|l| l.strip_prefix("STAT total_items "))
            .unwrap();
        assert!(total.trim().parse::<u64>().unwrap() > 10, "{a}: {stats}");
    }
    down(&staging);
}

/// Items of `table` at `url` whose key starts with `SESSION#`, counted by
/// boto3 (an independent client), as the table's owners would look.
fn session_items(url: &str, table: &str) -> u64 {
    let script = format!(
        "import boto3
t = boto3.resource('dynamodb', endpoint_url='{url}', region_name='us-east-1',
    aws_access_key_id='x', aws_secret_access_key='x').Table('{table}')
n, kw = 0, {{}}
while True:
    page = t.scan(**kw)
    n += sum(1 for i in page['Items'] if i['PK'].startswith('SESSION#'))
    if 'LastEvaluatedKey' not in page:
        break
    kw['ExclusiveStartKey'] = page['LastEvaluatedKey']
print(n)"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// An external DynamoDB table on an endpoint brought up on its own: the
/// table must exist (nothing is created there), the load runs within the
/// cap, and every item of the run is deleted afterwards.
#[test]
fn an_external_dynamodb_table_is_drilled_and_its_run_items_are_deleted() {
    let Staging {
        home: staging, url, ..
    } = staging("dynamodb.yaml", "server");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dynamodb.yaml");
    let scenario = |table: &str, timeline: &str| {
        format!(
            "name: staging-dynamodb
topology:
  name: staging
  nodes:
    sessions:
      kind: dynamodb
      external:
        endpoint: {url}
        region: us-east-1
        table: {table}
strategies: [dynamodb]
workload:
  sessions: 300
  duration: 2s
  rates: {{ create: 60/s, read: 60/s, update: 60/s, delete: 10/s }}
  ttl: 30m
{timeline}"
        )
    };
    // Without --external: refused before anything is written.
    std::fs::write(&file, scenario("sessions", "")).unwrap();
    let drills = home();
    let out = cli(&drills).arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("pass --external"), "{}", said(&out));

    let r = support::run_scenario(&file, &["--external"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.report["strategies"]["dynamodb"];
    assert!(s["acked_writes"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    assert!(s["errors"].as_object().unwrap().is_empty(), "{s}");
    let cleanup = &r.report["external_cleanup"][0];
    assert_eq!(cleanup["node"], "sessions", "{}", r.report);
    assert!(cleanup["removed"].as_u64().unwrap() > 50, "{cleanup}");
    assert_eq!(cleanup["left"], 0, "{cleanup}");
    assert_eq!(session_items(&url, "sessions"), 0);

    // A table that is not there: exit 2 naming the node; none is created.
    std::fs::write(&file, scenario("not-there", "")).unwrap();
    let out = cli(&drills)
        .args(["run", "--external"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains("external node `sessions` is not usable: table not-there"),
        "{}",
        said(&out)
    );
    assert!(run_dirs(&drills).is_empty());

    // Refused at validation: a process fault, a link fault (no proxy of
    // ours sits before an HTTPS endpoint), a DAX node of ours in front of
    // it, and an endpoint engine on a machine that is not this one.
    for (timeline, says) in [
        (
            "timeline:\n  - { at: 1s, fault: kill, target: sessions }\n",
            "`sessions` is an external node",
        ),
        (
            "timeline:\n  - { at: 1s, fault: partition, target: sessions, duration: 1s }\n",
            "`sessions` is an external node",
        ),
    ] {
        std::fs::write(&file, scenario("sessions", timeline)).unwrap();
        refused(&drills, &file, says);
    }
    let dax = scenario("sessions", "").replace(
        "        table: sessions\n",
        "        table: sessions\n    dax:\n      kind: dax\n",
    );
    std::fs::write(&file, dax).unwrap();
    refused(&drills, &file, "a dax node of ours does not front");
    let remote = "name: x\nnodes:\n  d:\n    kind: dynamodb\n    engine: endpoint\n    endpoint: https://dynamodb.eu-west-1.amazonaws.com\n";
    std::fs::write(&file, remote).unwrap();
    refused(&drills, &file, "is not on this machine");

    down(&staging);
}

/// A partition on the client link of an external Sentinel-managed primary:
/// the strategies reach every server through a proxy of ours (the
/// Sentinels' answers translated), the Sentinels still see the primary
/// (they are not behind the proxy), so nothing fails over; writes time out
/// while the link is cut and come back when it heals.
#[test]
fn a_partition_on_an_external_sentinel_primarys_client_link_is_injected_and_healed() {
    let Staging {
        home: staging,
        report,
        ca,
        url: server_url,
        password,
    } = staging("replicated-sentinel-tls.yaml", "primary");
    // The Sentinels by another name than the one they give the primary
    // by (`127.0.0.1`): the servers are found where the Sentinels say.
    let sentinels: Vec<String> = addresses(&report, "sentinel")
        .iter()
        .map(|a| a.replace("127.0.0.1", "localhost"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("partition.yaml");
    std::fs::write(
        &file,
        format!(
            "name: staging-sentinel-partition
topology:
  name: staging
  nodes:
{}strategies: [redis]
workload:
  sessions: 300
  duration: 4s
  rates: {{ create: 50/s, read: 50/s, update: 50/s }}
  ttl: 30m
  op_timeout: 300ms
timeline:
  - {{ at: 1s, fault: partition, target: staging.primary, duration: 1s }}
expect:
  redis.errors.timeout: \"> 0\"
  redis.lost: \"== 0\"
",
            sentinel_node("staging", &sentinels, &ca)
        ),
    )
    .unwrap();
    let r = support::run_scenario(&file, &["--external"], &[(ENV, &password)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = &r.report["faults"][0];
    assert_eq!(f["kind"], "partition", "{f}");
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
    // The primary's own process was the target, at the host and port its
    // Sentinels name (named with the host: not the Sentinels' `localhost`).
    let primary_port = server_url.rsplit(':').next().unwrap();
    assert_eq!(
        f["processes"],
        serde_json::json!([format!("staging-127.0.0.1-{primary_port}")]),
        "{f}"
    );
    let s = &r.report["strategies"]["redis"];
    assert!(s["errors"]["timeout"].as_u64().unwrap() > 0, "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    // Writes came back after the heal: the last second had no errors.
    let last = s["per_second"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|p| p["ops"].as_u64() > Some(10))
        .unwrap();
    assert_eq!(last["errors"], 0, "{s}");
    let cleanup = &r.report["external_cleanup"][0];
    assert!(cleanup["removed"].as_u64().unwrap() > 50, "{cleanup}");
    assert_eq!(cleanup["left"], 0, "{cleanup}");
    assert_eq!(
        redis_cli(&ca, &server_url, &["--scan", "--pattern", "sd:*"]),
        ""
    );
    down(&staging);
}

/// An interruption while an external node is still being checked (here a
/// port nothing answers on, which would be polled for the whole ready
/// timeout of 15 s) ends the run at once, before any load, and leaves
/// nothing behind.
#[test]
fn an_interruption_during_the_start_up_check_ends_the_run_before_any_load() {
    // A listener that never answers, held for the whole test (no other
    // test can take its port).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("closed.yaml");
    std::fs::write(
        &file,
        format!(
            "name: nobody-there
topology:
  name: staging
  nodes:
    sessions:
      kind: memcached
      external:
        addresses: [\"127.0.0.1:{closed}\"]
strategies: [memcached]
workload:
  sessions: 100
  duration: 2s
  rates: {{ create: 50/s }}
  ttl: 30m
"
        ),
    )
    .unwrap();
    let drills = home();
    let mut child = cli(&drills)
        .args(["run", "--external"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it says it is bringing the nodes up, it listens for signals
    // within microseconds; the check then polls for up to 15 s.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    assert!(first.contains("bringing up"), "{first}");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let sent = std::time::Instant::now();
    support::signal(child.id(), nix::sys::signal::Signal::SIGINT);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = format!("{first}{rest}").into_bytes();
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(5),
        "took {:?} after the interruption: {}",
        sent.elapsed(),
        said(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        said(&out).contains("interrupted before the load began"),
        "{}",
        said(&out)
    );
    assert!(run_dirs(&drills).is_empty(), "{:?}", run_dirs(&drills));
    drop(silent);
}

/// The drill: a TLS Sentinel topology and a DynamoDB node, each
/// brought up on its own, named as external nodes of one scenario with
/// write-through (sessions in DynamoDB, cached in Redis). A partition on
/// the Redis primary's client link is injected and healed, nothing
/// acknowledged is lost, and every key and item of the run is gone.
#[test]
fn write_through_over_an_external_sentinel_redis_and_dynamodb_table_loses_nothing_and_leaves_nothing()
 {
    let Staging {
        home: redis_staging,
        report,
        ca,
        url: server_url,
        password,
    } = staging("replicated-sentinel-tls.yaml", "primary");
    let Staging {
        home: dynamo_staging,
        url: dynamo_url,
        ..
    } = staging("dynamodb.yaml", "server");
    let sentinels = addresses(&report, "sentinel");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hybrid.yaml");
    std::fs::write(
        &file,
        format!(
            "name: staging-hybrid
topology:
  name: staging
  nodes:
{}    sessions:
      kind: dynamodb
      external:
        endpoint: {dynamo_url}
        region: us-east-1
        table: sessions
strategies: [write-through]
workload:
  sessions: 300
  duration: 4s
  rates: {{ create: 50/s, read: 50/s, update: 50/s }}
  ttl: 30m
  op_timeout: 300ms
timeline:
  - {{ at: 1s, fault: partition, target: cache.primary, duration: 1s }}
expect:
  write-through.lost: \"== 0\"
",
            sentinel_node("cache", &sentinels, &ca)
        ),
    )
    .unwrap();
    let r = support::run_scenario(&file, &["--external"], &[(ENV, &password)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = &r.report["faults"][0];
    assert_eq!(f["kind"], "partition", "{f}");
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
    let s = &r.report["strategies"]["write-through"];
    assert!(s["acked_writes"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    // The cut bit: Redis was unreachable for a second.
    let bit =
        s["errors"].as_object().is_some_and(|e| !e.is_empty()) || s["fallbacks"].as_u64() > Some(0);
    assert!(bit, "the partition touched nothing: {s}");
    let cleanup = r.report["external_cleanup"].as_array().unwrap();
    assert_eq!(cleanup.len(), 2, "{cleanup:?}");
    for c in cleanup {
        assert!(c["removed"].as_u64().unwrap() > 50, "{c}");
        assert_eq!(c["left"], 0, "{c}");
        assert!(c["error"].is_null(), "{c}");
    }
    assert_eq!(
        redis_cli(&ca, &server_url, &["--scan", "--pattern", "sd:*"]),
        ""
    );
    assert_eq!(session_items(&dynamo_url, "sessions"), 0);
    for h in [&redis_staging, &dynamo_staging] {
        down(h);
    }
}

/// A memcached server with TLS only on its client port (and a plaintext
/// port for the test's own look), its certificate valid for a DNS name and
/// not for 127.0.0.1; killed with the guard.
struct TlsMemcached {
    child: std::process::Child,
    tls_port: u16,
    plain_port: u16,
    ca_file: std::path::PathBuf,
    other_ca_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsMemcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MEMCACHED_NAME: &str = "memcached.staging.test";

fn tls_memcached() -> TlsMemcached {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let authority = || {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
    };
    let ca = authority();
    let key = KeyPair::generate().unwrap();
    // Valid for two names, not for 127.0.0.1.
    let cert = CertificateParams::new(vec![MEMCACHED_NAME.to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let path = |n: &str| dir.path().join(n);
    std::fs::write(path("ca.pem"), ca.pem()).unwrap();
    std::fs::write(path("other-ca.pem"), authority().pem()).unwrap();
    std::fs::write(path("cert.pem"), cert.pem()).unwrap();
    std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (tls_port, plain_port) = (free(), free());
    let mut cmd = Command::new("memcached");
    if nix::unistd::geteuid().is_root() {
        cmd.args(["-u", "root"]);
    }
    let child = cmd
        .arg("-Z")
        .arg("-o")
        .arg(format!(
            "ssl_chain_cert={},ssl_key={}",
            path("cert.pem").display(),
            path("key.pem").display()
        ))
        .arg("-l")
        .arg(format!("127.0.0.1:{tls_port},notls:127.0.0.1:{plain_port}"))
        .args(["-U", "0", "-m", "16"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", plain_port)).is_err() {
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    TlsMemcached {
        child,
        tls_port,
        plain_port,
        ca_file: path("ca.pem"),
        other_ca_file: path("other-ca.pem"),
        _dir: dir,
    }
}

/// An external memcached that speaks TLS only, its certificate for a DNS
/// name: checked for `server_name` also through the link proxy (on
/// 127.0.0.1), which a partition cuts and heals; the run's keys deleted
/// over TLS. Without `server_name`, or with another authority, it is exit
/// 2 naming the node, before any load.
#[test]
fn an_external_tls_memcached_is_checked_for_its_server_name_also_through_the_proxy() {
    let m = tls_memcached();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tls-memcached.yaml");
    let scenario_at = |host: &str, ca: &std::path::Path, server_name: &str| {
        format!(
            "name: staging-tls-memcached
topology:
  name: staging
  nodes:
    sessions:
      kind: memcached
      external:
        addresses: [\"{host}:{port}\"]
        ca_file: {ca}
{server_name}strategies: [memcached]
workload:
  sessions: 200
  duration: 3s
  rates: {{ create: 40/s, read: 40/s, update: 40/s }}
  ttl: 30m
  op_timeout: 300ms
timeline:
  - {{ at: 1s, fault: partition, target: sessions-{port}, duration: 1s }}
expect:
  memcached.errors.timeout: \"> 0\"
",
            port = m.tls_port,
            ca = ca.display(),
        )
    };
    let scenario =
        |ca: &std::path::Path, server_name: &str| scenario_at("127.0.0.1", ca, server_name);
    let named = format!("        server_name: {MEMCACHED_NAME}\n");
    let drills = home();
    for (ca, name, says) in [
        (&m.ca_file, "", "not valid for name \"127.0.0.1\""),
        (&m.other_ca_file, named.as_str(), "invalid peer certificate"),
    ] {
        std::fs::write(&file, scenario(ca, name)).unwrap();
        let out = cli(&drills)
            .args(["run", "--external"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            said(&out).contains("external node `sessions` is not usable")
                && said(&out).contains(says),
            "{}",
            said(&out)
        );
        assert!(run_dirs(&drills).is_empty());
    }

    std::fs::write(&file, scenario(&m.ca_file, &named)).unwrap();
    let r = support::run_scenario(&file, &["--external"], &[]);
    assert_eq!(
        r.code, 0,
        "{}\n{}\n{}",
        r.stderr, r.report["external_cleanup"], r.report["expectations"]
    );
    let f = &r.report["faults"][0];
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
    let s = &r.report["strategies"]["memcached"];
    assert!(s["errors"]["timeout"].as_u64().unwrap() > 0, "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 50, "{s}");
    let errors: Vec<&String> = s["errors"].as_object().unwrap().keys().collect();
    assert_eq!(errors, ["timeout"], "{s}");
    let cleanup = &r.report["external_cleanup"][0];
    assert!(cleanup["removed"].as_u64().unwrap() > 30, "{cleanup}");
    assert_eq!(cleanup["left"], 0, "{cleanup}");
    // From outside, on the plaintext port: the server took the run's
    // writes over TLS, and holds none of them now.
    let stats = memcached(&format!("127.0.0.1:{}", m.plain_port), "stats");
    let stat = |k: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("STAT {k} ")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert!(stat("total_items") > 50, "{stats}");
    assert_eq!(stat("curr_items"), 0, "{stats}");

    // Named by a host its certificate is valid for, without server_name:
    // through the proxy (on 127.0.0.1, which it is not valid for) the
    // client still checks that host.
    std::fs::write(&file, scenario_at("localhost", &m.ca_file, "")).unwrap();
    let r = support::run_scenario(&file, &["--external"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.report["strategies"]["memcached"];
    assert!(s["acked_writes"].as_u64().unwrap() > 50, "{s}");
    // Only the partition's timeouts: no handshake failed.
    let errors: Vec<&String> = s["errors"].as_object().unwrap().keys().collect();
    assert_eq!(errors, ["timeout"], "{s}");
    assert_eq!(r.report["external_cleanup"][0]["left"], 0, "{}", r.report);
}
