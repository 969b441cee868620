//! The Docker provider (issue 8), end to end through the command line: the
//! same topologies as containers, the same faults, the same numbers, and no
//! container left behind — also when sessiondrill itself is killed.
//!
//! Needs a Docker engine (`DOCKER_HOST`, else /var/run/docker.sock):
//! `./scripts/test.sh` starts a private one and sets
//! `SESSIONDRILL_REQUIRE_DOCKER`, so that in CI a missing engine fails these
//! tests instead of skipping them.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use sessiondrill::provision::docker::{Engine, orphans};
use support::{KillOnDrop, cli, docker_engine, home, topology_path};

/// Wait until process `pid`'s containers are gone; returns those left.
fn containers_gone(engine: &Engine, pid: u32, limit: Duration) -> Vec<String> {
    let start = Instant::now();
    loop {
        let left = orphans::of_owner(engine, pid).expect("listing containers");
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `up --provider docker FILE --json` in the foreground: the child, its
/// report, and the containers it started.
fn up(
    engine: &Engine,
    h: &tempfile::TempDir,
    file: &std::path::Path,
) -> (KillOnDrop, serde_json::Value, Vec<String>) {
    let (child, report) =
        support::up_foreground(h, file.to_str().unwrap(), &["--provider", "docker"]);
    let containers = orphans::of_owner(engine, child.id()).unwrap();
    (child, report, containers)
}

/// Process `pid` runs in one of `containers`: its cgroup names the
/// container.
fn in_a_container(pid: u64, containers: &[String]) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .is_ok_and(|c| containers.iter().any(|id| c.contains(id.as_str())))
}

fn nodes(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["nodes"].as_array().unwrap()
}

/// SIGTERM the foreground `up` and check it tore everything down.
fn stop(engine: &Engine, mut child: KillOnDrop, h: &tempfile::TempDir) {
    let pid = child.id();
    support::signal(pid, nix::sys::signal::Signal::SIGTERM);
    let status = child.wait().unwrap();
    assert!(status.code().is_some(), "{status}");
    assert_eq!(
        containers_gone(engine, pid, Duration::from_secs(1)),
        Vec::<String>::new(),
        "containers left after teardown"
    );
    assert!(support::run_dirs(h).is_empty(), "run directory left");
}

/// `cmd` on the Redis process `node` of an `up --json` report.
fn query<T: redis::FromRedisValue>(node: &serde_json::Value, cmd: &redis::Cmd) -> T {
    let client = redis::Client::open(node["url"].as_str().unwrap()).unwrap();
    let mut c = client.get_connection().unwrap();
    cmd.query(&mut c).unwrap()
}

#[test]
fn the_replicated_sentinel_topology_comes_up_as_containers() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let h = home();
    let (child, report, containers) = up(&engine, &h, &topology_path("replicated-sentinel.yaml"));
    let nodes = nodes(&report);
    assert_eq!(nodes.len(), 6, "{report}");
    assert_eq!(containers.len(), 6, "{containers:?}");
    for n in nodes {
        let pid = n["pid"].as_u64().unwrap();
        assert!(
            in_a_container(pid, &containers),
            "{n} is not in a container"
        );
        assert_eq!(n["host"], "127.0.0.1");
        let short = n["container"].as_str().unwrap();
        assert!(containers.iter().any(|c| c.starts_with(short)), "{n}");
    }
    // Replication and Sentinel work across containers: the primary has
    // both replicas, and every Sentinel names the primary.
    let info: String = query(&nodes[0], redis::cmd("INFO").arg("replication"));
    assert!(info.contains("connected_slaves:2"), "{info}");
    for s in nodes.iter().filter(|n| n["role"] == "sentinel") {
        let addr: Vec<String> = query(
            s,
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg("cache"),
        );
        assert_eq!(addr[1], nodes[0]["port"].as_u64().unwrap().to_string());
    }
    stop(&engine, child, &h);
}

#[test]
fn the_hybrid_topology_comes_up_as_containers() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let h = home();
    let (child, report, containers) = up(&engine, &h, &topology_path("hybrid.yaml"));
    let nodes = nodes(&report);
    // Three Redis servers, three Sentinels, the DynamoDB node.
    assert_eq!(nodes.len(), 7, "{report}");
    assert_eq!(containers.len(), 7, "{containers:?}");
    let dynamodb = nodes.iter().find(|n| n["kind"] == "dynamodb").unwrap();
    assert!(in_a_container(
        dynamodb["pid"].as_u64().unwrap(),
        &containers
    ));
    stop(&engine, child, &h);
}

#[test]
fn every_node_kind_runs_in_a_container() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let h = home();
    let topo = h.path().join("all-kinds.yaml");
    std::fs::write(
        &topo,
        "name: all-kinds\nprovider: docker\nnodes:\n  \
         cluster:\n    kind: redis-cluster\n    shards: 3\n    replicas_per_shard: 0\n  \
         cache:\n    kind: redis\n  \
         mc:\n    kind: memcached\n    instances: 2\n  \
         db:\n    kind: dynamodb\n  \
         dax:\n    kind: dax\n    dynamodb: db\n",
    )
    .unwrap();
    let (child, report, containers) = up(&engine, &h, &topo);
    let nodes = nodes(&report);
    assert_eq!(nodes.len(), 3 + 1 + 2 + 1 + 1, "{report}");
    assert_eq!(containers.len(), nodes.len(), "{containers:?}");
    for kind in ["redis-cluster", "redis", "memcached", "dynamodb", "dax"] {
        let n = nodes.iter().find(|n| n["kind"] == kind).unwrap();
        assert!(
            in_a_container(n["pid"].as_u64().unwrap(), &containers),
            "{n}"
        );
    }
    stop(&engine, child, &h);
}

/// `run --provider docker FILE`: exit code, report, and the containers
/// left once it ended (none expected).
fn run(engine: &Engine, file: &str, duration: &str) -> (i32, serde_json::Value, Vec<String>) {
    let h = home();
    let json = h.path().join("report.json");
    let child = cli(&h)
        .args(["--provider", "docker", "run"])
        .arg(topology_path(file))
        .args(["--duration", duration, "--json"])
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(h.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut child = KillOnDrop(child);
    // The nodes really ran as containers: watch them while it runs.
    let mut most = 0;
    while child.try_wait().unwrap().is_none() {
        most = most.max(orphans::of_owner(engine, pid).unwrap().len());
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(h.path().join("stderr")).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(most > 0, "no container seen during the run: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no report ({e}): {stderr}")),
    )
    .unwrap();
    assert_eq!(report["provider"], "docker");
    support::assert_valid_report(&report);
    assert!(support::run_dirs(&h).is_empty(), "run directory left");
    assert!(!support::mounted_under(h.path()), "a mount left");
    let left = containers_gone(engine, pid, Duration::from_secs(1));
    (status.code().unwrap_or(-1), report, left)
}

#[test]
fn power_loss_in_a_container_loses_writes_with_everysec_and_none_with_always() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let (code, r, left) = run(&engine, "aof-everysec-power-loss.yaml", "5s");
    let s = &r["strategies"]["redis"];
    assert_eq!(code, 0, "{s}");
    assert!(s["writes"]["lost"].as_u64().unwrap() > 0, "{s}");
    assert!(left.is_empty(), "{left:?}");
    assert!(
        r["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "fault"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("not fsynced discarded"))),
        "{}",
        r["events"]
    );

    let (code, r, left) = run(&engine, "aof-always-power-loss.yaml", "5s");
    let s = &r["strategies"]["redis"];
    assert_eq!(code, 0, "{s}");
    assert_eq!(s["lost"], 0, "{s}");
    assert_eq!(s["writes"]["lost"], 0, "{s}");
    assert!(s["acked_writes"].as_u64().unwrap() > 1000, "{s}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn compare_puts_processes_and_containers_side_by_side() {
    let Some(_engine) = docker_engine() else {
        return;
    };
    let h = home();
    let json = h.path().join("both.json");
    let child = cli(&h)
        .arg("compare")
        .arg(topology_path("aof-everysec-power-loss.yaml"))
        .args([
            "--providers",
            "process,docker",
            "--duration",
            "5s",
            "--json",
        ])
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let reports: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["provider"], "process");
    assert_eq!(reports[1]["provider"], "docker");
    // The same drill loses acknowledged writes either way.
    for r in &reports {
        assert!(
            r["strategies"]["redis"]["writes"]["lost"].as_u64() > Some(0),
            "{r}"
        );
    }
    assert!(
        stdout.contains("| aof-everysec-power-loss | redis |")
            && stdout.contains("| aof-everysec-power-loss (docker) | redis |"),
        "{stdout}"
    );
    assert!(support::run_dirs(&h).is_empty());
}

#[test]
fn a_restarted_container_answers_again_on_its_port() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let (code, r, left) = run(&engine, "memcached-node-loss.yaml", "6s");
    assert_eq!(code, 0, "{}", r["expectations"]);
    let restarted = r["events"].as_array().unwrap().iter().any(|e| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("restarted: sessions-1 answered after"))
    });
    assert!(restarted, "{}", r["events"]);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_sentinel_failover_follows_a_docker_kill_of_the_primary() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let (code, r, left) = run(&engine, "sentinel-kill-primary.yaml", "8s");
    assert_eq!(code, 0, "{}", r["expectations"]);
    let failovers: Vec<_> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "failover")
        .collect();
    assert_eq!(failovers.len(), 1, "{}", r["events"]);
    assert_eq!(r["faults"][0]["kind"], "kill", "{}", r["faults"]);
    assert!(
        r["faults"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("docker kill")),
        "{}",
        r["faults"]
    );
    assert!(left.is_empty(), "{left:?}");
}

/// TLS in containers: each container reads its certificate from the
/// bind-mounted run directory, the cluster bus is encrypted, and the bus
/// proxy still cuts a master off by the loopback address it connects from
/// (host networking): the split brain loses writes, as in processes.
#[test]
fn a_tls_cluster_split_brain_in_containers_loses_writes_as_in_processes() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let (code, r, left) = run(&engine, "tls-cluster-split-brain.yaml", "7s");
    assert_eq!(code, 0, "{}", r["expectations"]);
    let w = &r["faults"][0]["strategies"]["redis"];
    assert!(w["lost_writes"].as_u64().unwrap() > 0, "{w}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_frozen_primary_is_a_docker_pause_and_sentinel_fails_over() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let h = home();
    let scenario = h.path().join("frozen-primary.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: frozen-primary\n\
             topology: {}\n\
             strategies: [redis]\n\
             workload:\n  sessions: 300\n  duration: 8s\n  \
             rates: {{ create: 100/s, read: 100/s, update: 100/s, delete: 0/s }}\n\
             timeline:\n  - {{ at: 1s, fault: pause, target: cache.primary, duration: 6s }}\n",
            topology_path("replicated-sentinel.yaml").display()
        ),
    )
    .unwrap();
    let json = h.path().join("report.json");
    let child = cli(&h)
        .args(["--provider", "docker", "run"])
        .arg(&scenario)
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no report ({e}): {stderr}")),
    )
    .unwrap();
    let events = r["events"].as_array().unwrap();
    let said = |kind: &str, text: &str| {
        events
            .iter()
            .any(|e| e["kind"] == kind && e["message"].as_str().is_some_and(|m| m.contains(text)))
    };
    assert!(said("fault", "docker pause cache-0"), "{}", r["events"]);
    assert!(
        said("healed", "") || said("fault", "docker unpause"),
        "{}",
        r["events"]
    );
    // Frozen for 6 s with down-after 2 s: the Sentinels promote a replica.
    assert!(
        events.iter().any(|e| e["kind"] == "failover"),
        "{}",
        r["events"]
    );
    assert!(
        r["strategies"]["redis"]["errors"]["timeout"].as_u64() > Some(0),
        "{}",
        r["strategies"]["redis"]
    );
    assert!(containers_gone(&engine, pid, Duration::from_secs(1)).is_empty());
}

#[test]
fn a_killed_sessiondrill_leaves_no_container_behind() {
    let Some(engine) = docker_engine() else {
        return;
    };
    let h = home();
    let (child, report, containers) = up(&engine, &h, &topology_path("replicated-sentinel.yaml"));
    assert_eq!(containers.len(), 6);
    let pids = support::pids(&report);
    let pid = child.id();
    support::signal(pid, nix::sys::signal::Signal::SIGKILL);
    drop(child);
    // The watchdog removes them (polls every 200 ms).
    let left = containers_gone(&engine, pid, Duration::from_secs(15));
    assert!(left.is_empty(), "containers left: {left:?}");
    // Only the watchdog cleans this private home: its run directory gone
    // shows that it (not another run's sweep) did the work.
    let start = Instant::now();
    while !support::run_dirs(&h).is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(support::run_dirs(&h).is_empty(), "run directory left");
    assert_eq!(
        support::wait_gone(&pids, Duration::from_secs(5)),
        Vec::<u32>::new()
    );
}

/// `up FILE` expected to fail before anything starts, with `env` set:
/// its stderr, once checked that it exited 2 and left no run directory.
fn refused(file: &std::path::Path, env: &[(&str, &str)]) -> String {
    let h = home();
    let out = cli(&h)
        .envs(env.iter().copied())
        .args(["--provider", "docker", "up"])
        .arg(file)
        .args(["--duration", "1s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(support::run_dirs(&h).is_empty());
    stderr
}

#[test]
fn an_image_that_is_not_there_names_the_node() {
    let Some(_engine) = docker_engine() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("t.yaml");
    std::fs::write(
        &topo,
        "name: t\nnodes:\n  cache:\n    kind: redis\n    image: sessiondrill/absent:1\n",
    )
    .unwrap();
    let stderr = refused(&topo, &[("SESSIONDRILL_PULL", "never")]);
    assert!(
        stderr.contains("node `cache`: image sessiondrill/absent:1 is not in the Docker engine"),
        "{stderr}"
    );
}

#[test]
fn an_engine_that_does_not_share_this_machines_processes_is_refused() {
    let Some(engine) = docker_engine() else {
        return;
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root for a private PID namespace");
        return;
    }
    // sessiondrill in its own PID namespace sees the engine as Docker
    // Desktop's VM or a mounted socket would show it: containers whose
    // processes are not its to watch.
    let h = home();
    let out = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(support::BIN)
        .env("SESSIONDRILL_HOME", h.path())
        .args(["--provider", "docker", "up"])
        .arg(topology_path("standalone-aof-everysec.yaml"))
        .args(["--duration", "1s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("outside this machine's view"), "{stderr}");
    assert!(support::run_dirs(&h).is_empty());
    // The container it started was removed (its owner label carries the pid
    // sessiondrill had in its namespace: 1).
    assert_eq!(orphans::of_owner(&engine, 1).unwrap(), Vec::<String>::new());
}

#[test]
fn no_engine_is_a_clear_error() {
    let stderr = refused(
        &topology_path("redis-baseline.yaml"),
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert!(stderr.contains("no Docker engine reachable"), "{stderr}");
    assert!(stderr.contains("DOCKER_HOST"), "{stderr}");
}

#[test]
fn a_remote_engine_is_refused() {
    let stderr = refused(
        &topology_path("redis-baseline.yaml"),
        &[("DOCKER_HOST", "tcp://192.0.2.10:2375")],
    );
    assert!(stderr.contains("loopback"), "{stderr}");
}
