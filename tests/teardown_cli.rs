//! No process of a run survives its end: normal exit, SIGINT, SIGTERM and
//! SIGKILL of a foreground `sessiondrill up`, and `down` of a detached one;
//! kept runs survive the next sweep; `doctor` says how to install what is
//! missing.

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::{cli, home, pids, run_dirs, signal, up_foreground, wait_gone};

const LIMIT: Duration = Duration::from_secs(3);

#[test]
fn normal_exit_after_duration() {
    let h = home();
    let (mut child, report) = up_foreground(&h, "hybrid.yaml", &["--duration", "300ms"]);
    let pids = pids(&report);
    assert_eq!(pids.len(), 7, "{report}");
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(wait_gone(&pids, LIMIT), Vec::<u32>::new());
    assert!(
        run_dirs(&h).is_empty(),
        "run directory left: {:?}",
        run_dirs(&h)
    );
}

fn foreground_then(sig: Signal) {
    let h = home();
    let (mut child, report) = up_foreground(&h, "hybrid.yaml", &[]);
    let pids = pids(&report);
    assert_eq!(pids.len(), 7);
    assert!(pids.iter().all(|&p| support::alive(p)));
    signal(child.id(), sig);
    let status = child.wait().unwrap();
    assert_eq!(wait_gone(&pids, LIMIT), Vec::<u32>::new(), "after {sig}");
    if sig != Signal::SIGKILL {
        assert!(status.success(), "{status}");
        assert!(run_dirs(&h).is_empty());
    }
}

#[test]
fn sigint_tears_down() {
    foreground_then(Signal::SIGINT);
}

#[test]
fn sigterm_tears_down() {
    foreground_then(Signal::SIGTERM);
}

#[test]
fn sigkill_of_sessiondrill_kills_every_node() {
    foreground_then(Signal::SIGKILL);
}

#[test]
fn detach_status_down() {
    let h = home();
    let out = cli(&h)
        .args(["up", "--detach", "--json"])
        .arg(support::topology_path("standalone-aof-everysec.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run_id = report["run_id"].as_str().unwrap().to_string();
    let pids = pids(&report);
    assert_eq!(pids.len(), 1);
    let node = &report["nodes"][0];
    assert_eq!(node["host"], "127.0.0.1");
    assert!(
        node["url"]
            .as_str()
            .unwrap()
            .starts_with("redis://default:")
    );

    let status = cli(&h).args(["status", "--json"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let run = &status["runs"][0];
    assert_eq!(run["run_id"], run_id.as_str());
    assert_eq!(
        (run["alive"].as_bool(), run["detached"].as_bool()),
        (Some(true), Some(true))
    );
    // The node outlives the `up --detach` command.
    assert!(support::alive(pids[0]));

    let down = cli(&h).args(["down", &run_id]).output().unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(wait_gone(&pids, LIMIT), Vec::<u32>::new());
    assert!(run_dirs(&h).is_empty());
    let after = cli(&h).args(["status", "--json"]).output().unwrap();
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(after["runs"].as_array().map(Vec::len), Some(0));
}

#[test]
fn down_without_id_stops_every_detached_run_and_killed_supervisor_takes_nodes_along() {
    let h = home();
    let mut all = Vec::new();
    let mut owners = Vec::new();
    for _ in 0..2 {
        let out = cli(&h)
            .args(["up", "--detach", "--json"])
            .arg(support::topology_path("memcached.yaml"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        all.extend(pids(&report));
        let status = cli(&h).args(["status", "--json"]).output().unwrap();
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        owners = status["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["owner_pid"].as_u64().unwrap() as u32)
            .collect();
    }
    assert_eq!(owners.len(), 2);
    // SIGKILL one supervisor: its nodes die with it.
    signal(owners[0], Signal::SIGKILL);
    let down = cli(&h).arg("down").output().unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert_eq!(wait_gone(&all, LIMIT), Vec::<u32>::new());
    assert!(wait_gone(&owners, LIMIT).is_empty());
    assert!(run_dirs(&h).is_empty(), "{:?}", run_dirs(&h));
}

#[test]
fn missing_binary_names_the_package() {
    let h = home();
    let out = cli(&h)
        .env("PATH", "/nonexistent")
        .arg("up")
        .arg(support::topology_path("replicated-sentinel.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`redis-server` was not found on PATH; install it with: sudo apt-get install -y redis-server"),
        "{err}"
    );
    assert!(run_dirs(&h).is_empty());
}

#[test]
fn invalid_topology_is_exit_2_before_anything_starts() {
    let h = home();
    let f = h.path().join("bad.yaml");
    std::fs::write(
        &f,
        "name: bad\nnodes:\n  a:\n    kind: redis\n    replicas: 2\n",
    )
    .unwrap();
    let out = cli(&h).arg("up").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("bad.yaml:5:5: field `replicas` does not apply")
    );
}

#[test]
fn kept_run_directory_survives_the_next_up() {
    let h = home();
    let up = |extra: &[&str]| {
        let out = cli(&h)
            .args(["up", "--duration", "100ms"])
            .args(extra)
            .arg(support::topology_path("memcached.yaml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    up(&["--keep"]);
    let kept = run_dirs(&h);
    assert_eq!(kept.len(), 1);
    assert!(kept[0].join("kept").exists());
    // The next run sweeps dead runs' directories, but not a kept one.
    up(&[]);
    assert_eq!(run_dirs(&h), kept);
}

#[test]
fn doctor_names_what_is_missing_and_how_to_install_it() {
    let h = home();
    let out = cli(&h)
        .env("PATH", "/nonexistent")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for (binary, package) in [
        ("redis-server", "redis-server"),
        ("redis-sentinel", "redis-sentinel"),
        ("memcached", "memcached"),
        ("fusermount3", "fuse3"),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(binary))
            .unwrap_or_else(|| panic!("no line for {binary}: {text}"));
        assert!(line.starts_with("missing"), "{line}");
        assert!(
            line.contains(&format!("sudo apt-get install -y {package}")),
            "{line}"
        );
    }
    assert!(text.contains("./scripts/deps.sh"), "{text}");
}

/// FUSE mounts under `dir` listed in /proc/mounts.
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .filter(|m| m.starts_with(&dir.display().to_string()))
        .collect()
}

#[test]
fn no_mount_survives_a_killed_sessiondrill() {
    let h = home();
    let (mut child, report) = up_foreground(&h, "hybrid.yaml", &["--power-loss-fs", "--proxies"]);
    let pids = pids(&report);
    // Three Redis servers and the DynamoDB node keep data on FUSE mounts.
    assert_eq!(
        mounts_under(h.path()).len(),
        4,
        "{:?}",
        mounts_under(h.path())
    );
    signal(child.id(), Signal::SIGKILL);
    let _ = child.wait();
    assert_eq!(wait_gone(&pids, LIMIT), Vec::<u32>::new());
    // fusermount3's auto-unmount, or else the run's watchdog, takes the
    // mounts down and the watchdog removes the run directory; on a loaded
    // machine that can take a few seconds.
    let start = std::time::Instant::now();
    while (!mounts_under(h.path()).is_empty() || !run_dirs(&h).is_empty())
        && start.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(mounts_under(h.path()), Vec::<String>::new());
    assert!(run_dirs(&h).is_empty(), "{:?}", run_dirs(&h));
    assert_eq!(watchdogs_of(h.path()), Vec::<u32>::new());
}

/// `sessiondrill __watchdog` processes working on a run under `home`.
fn watchdogs_of(home: &std::path::Path) -> Vec<u32> {
    let home = home.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("__watchdog") && cmd.contains(&home)
        })
        .collect()
}

#[test]
fn mounts_and_proxies_go_with_a_normal_teardown() {
    let h = home();
    let (mut child, report) = up_foreground(
        &h,
        "hybrid.yaml",
        &["--power-loss-fs", "--proxies", "--duration", "300ms"],
    );
    let nodes = report["nodes"].as_array().unwrap();
    assert!(
        nodes
            .iter()
            .filter(|n| n["role"] != "sentinel")
            .all(|n| n["proxy_port"].as_u64().is_some()),
        "{report}"
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(mounts_under(h.path()), Vec::<String>::new());
    assert!(run_dirs(&h).is_empty(), "{:?}", run_dirs(&h));
    assert_eq!(watchdogs_of(h.path()), Vec::<u32>::new());
}

/// The URLs `up --json` prints work as they are in redis-cli (which
/// answers WRONGPASS to `redis://:PASSWORD@…`), on every Redis and
/// Sentinel of a replicated topology.
#[test]
fn redis_cli_takes_the_urls_up_prints() {
    let h = home();
    let (mut child, report) = up_foreground(&h, "hybrid.yaml", &["--duration", "20s"]);
    let mut roles = Vec::new();
    for node in report["nodes"].as_array().unwrap() {
        let url = node["url"].as_str().unwrap();
        if !url.starts_with("redis://") {
            continue;
        }
        let out = std::process::Command::new("redis-cli")
            .args(["--no-auth-warning", "-u", url, "ROLE"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success() && !said.contains("WRONGPASS") && !said.contains("NOAUTH"),
            "{}: {said}{}",
            node["name"],
            String::from_utf8_lossy(&out.stderr)
        );
        roles.push(said.lines().next().unwrap_or_default().to_string());
    }
    roles.sort();
    assert_eq!(
        roles,
        [
            "master", "sentinel", "sentinel", "sentinel", "slave", "slave"
        ],
        "{report}"
    );
    signal(child.id(), Signal::SIGINT);
    let _ = child.wait();
}

/// Run directories hold the runs' passwords (state.json, redis.conf) and
/// the nodes' data: nothing under the home is open to other users. The
/// home's own mode is the user's (it may be a repository): left as it is.
#[test]
fn nothing_under_the_home_is_open_to_other_users() {
    use std::os::unix::fs::PermissionsExt;
    let h = home();
    std::fs::set_permissions(h.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (mut child, report) =
        up_foreground(&h, "hybrid.yaml", &["--duration", "20s", "--power-loss-fs"]);
    // Something to write: the nodes' data files exist once they have data.
    for node in report["nodes"].as_array().unwrap() {
        if node["role"] == "primary" {
            let url = node["url"].as_str().unwrap();
            let ok = std::process::Command::new("redis-cli")
                .args(["--no-auth-warning", "-u", url, "SET", "k", "v"])
                .output()
                .unwrap();
            assert!(ok.status.success());
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut open = Vec::new();
    let mut seen = 0;
    let mut stack: Vec<std::path::PathBuf> = std::fs::read_dir(h.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue; // gone meanwhile
        };
        seen += 1;
        if meta.permissions().mode() & 0o077 != 0 && !meta.file_type().is_symlink() {
            open.push(format!(
                "{:o} {}",
                meta.permissions().mode() & 0o777,
                p.display()
            ));
        }
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        }
    }
    signal(child.id(), Signal::SIGINT);
    let _ = child.wait();
    assert!(
        seen > 20,
        "only {seen} entries: is this the home of the run?"
    );
    assert_eq!(open, Vec::<String>::new());
    let home_mode = std::fs::metadata(h.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(home_mode, 0o755, "the home's own mode was changed");
}

/// A home another user owns is refused before anything starts (exit 2): it
/// would hold this user's passwords where that user can read them, and
/// `down` would trust what that user wrote there.
#[test]
fn a_home_of_another_user_is_refused() {
    let h = home();
    let theirs = h.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    nix::unistd::chown(&theirs, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let out = cli(&h)
        .args(["up", "--json", "--duration", "1s", "--home"])
        .arg(&theirs)
        .arg(support::topology_path("standalone-aof-everysec.yaml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a directory of this user"), "{err}");
    assert!(std::fs::read_dir(&theirs).unwrap().next().is_none());
}

/// `down` signals a run's owner only if it is a sessiondrill of this user
/// started when the state file says: a state file naming another process
/// (with its real start time) gets nothing killed.
#[test]
fn down_does_not_kill_a_process_a_state_file_names_falsely() {
    let h = home();
    let (mut child, report) =
        up_foreground(&h, "standalone-aof-everysec.yaml", &["--duration", "20s"]);
    let run_id = report["run_id"].as_str().unwrap().to_string();
    let real = h.path().join("runs").join(&run_id).join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    signal(child.id(), Signal::SIGINT);
    let _ = child.wait();

    let mut victim = support::KillOnDrop(
        std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap(),
    );
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", victim.id())).unwrap();
    let start: u64 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(22 - 3)
        .unwrap()
        .parse()
        .unwrap();
    state["run_id"] = "forged-00000000".into();
    state["owner_pid"] = victim.id().into();
    state["owner_start"] = start.into();
    state["detached"] = true.into();
    for n in state["nodes"].as_array_mut().unwrap() {
        n["pid"] = serde_json::Value::Null;
    }
    let dir = h.path().join("runs").join("forged-00000000");
    // Plant the state file, run `down` on it: the victim must live.
    let mut down_spares = |state: &serde_json::Value, what: &str| {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.json"), state.to_string()).unwrap();
        let out = cli(&h).args(["down", "forged-00000000"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(victim.try_wait().unwrap().is_none(), "down killed {what}");
    };
    down_spares(&state, "a process that is not a sessiondrill");
    // Nor when the state file leaves the program out.
    state.as_object_mut().unwrap().remove("owner_exe");
    down_spares(&state, "the process a state file without its program named");
}

/// A home whose name has a `"` and a `\` (it ended redis.conf's quoted
/// `dir` early, and Redis refused to start).
#[test]
fn a_home_with_quotes_in_its_name_works() {
    let h = home();
    let odd = h.path().join("a \"quoted\\ home");
    let out = cli(&h)
        .args(["up", "--json", "--duration", "300ms", "--home"])
        .arg(&odd)
        .arg(support::topology_path("standalone-aof-everysec.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A run directory that lost its state file was never removed; now the
/// next `up` removes it once it is an hour old (a younger one may be an
/// `up` starting right now).
#[test]
fn a_run_directory_without_state_is_swept_once_old() {
    let h = home();
    let runs = h.path().join("runs");
    let old = runs.join("lost-00000000");
    let young = runs.join("starting-00000000");
    std::fs::create_dir_all(old.join("nodes/x/data")).unwrap();
    std::fs::create_dir_all(&young).unwrap();
    let two_hours_ago = nix::sys::time::TimeVal::new(
        (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 7200) as i64,
        0,
    );
    nix::sys::stat::utimes(&old, &two_hours_ago, &two_hours_ago).unwrap();
    let out = cli(&h)
        .args(["up", "--json", "--duration", "300ms"])
        .arg(support::topology_path("standalone-aof-everysec.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !old.exists(),
        "an hour-old run directory without state stayed"
    );
    assert!(young.exists(), "a young one was removed");
}
