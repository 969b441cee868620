//! Shared fixtures: a private home per test, the built binary, and checks
//! that processes are gone.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sessiondrill::provision::rundir::process_start_time;
use sessiondrill::provision::{Home, UpOptions};
use sessiondrill::topology::Topology;
use tempfile::TempDir;

pub mod tmux;

pub const BIN: &str = env!("CARGO_BIN_EXE_sessiondrill");

pub fn topology_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("topologies")
        .join(name)
}

pub fn topology(name: &str) -> Topology {
    Topology::load(&topology_path(name)).expect("shipped topology is valid")
}

/// A temporary sessiondrill home. When dropped — also when a test fails
/// half-way — every run still registered in it is stopped (`down`), then
/// the directory is removed: a failing test leaves no process behind.
pub struct TestHome(TempDir);

impl std::ops::Deref for TestHome {
    type Target = TempDir;
    fn deref(&self) -> &TempDir {
        &self.0
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        let runs = self.0.path().join("runs");
        let any = std::fs::read_dir(&runs).is_ok_and(|mut d| d.next().is_some());
        if any {
            let _ = cli(&self.0).arg("down").output();
        }
        // A test that failed half-way may have left a foreground run (or
        // its teardown still going): kill what works under this home, wait
        // until its watchdog and mounts are gone, then let TempDir remove it.
        // Not the fusermount3 helpers: they unmount once their owner dies;
        // killed first, they left the mounts behind (16 after four failed
        // dashboard hang-ups).
        let home = self.0.path();
        for line in processes_under(home)
            .into_iter()
            .filter(|l| !l.contains("fusermount3"))
        {
            if let Some(pid) = line.split(':').next().and_then(|p| p.parse::<u32>().ok()) {
                signal(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
        let start = Instant::now();
        while (!processes_under(home).is_empty() || mounted_under(home))
            && start.elapsed() < Duration::from_secs(15)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Processes (not tmux) whose command line mentions `dir`, as "PID: CMD":
/// nodes keep their config and data under their run directory.
pub fn processes_under(dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| pid != me)
                .filter_map(|pid| {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                    let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                    (cmd.contains(&dir) && !cmd.contains("tmux")).then(|| format!("{pid}: {cmd}"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Is anything mounted at or under `dir`?
pub fn mounted_under(dir: &Path) -> bool {
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .any(|m| m.starts_with(&dir.display().to_string()))
}

pub fn home() -> TestHome {
    TestHome(
        tempfile::Builder::new()
            .prefix("sessiondrill-test-")
            .tempdir()
            .expect("temp dir"),
    )
}

/// A child process killed (SIGKILL) when dropped unless it has exited: a
/// failing assertion does not leave a foreground `up` running. Its nodes
/// die with it (parent-death signal).
pub struct KillOnDrop(pub Child);

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn up_options(home: &TempDir) -> UpOptions {
    let mut o = UpOptions::new(Home {
        root: home.path().to_path_buf(),
    });
    o.node_binary = Some(PathBuf::from(BIN));
    o
}

/// The sessiondrill binary with a private home.
pub fn cli(home: &TempDir) -> Command {
    let mut c = Command::new(BIN);
    c.env("SESSIONDRILL_HOME", home.path())
        .env_remove("SESSIONDRILL_LOG");
    c
}

/// Start `sessiondrill up FILE --json` in the foreground and wait for its
/// JSON report. Returns the child and the report.
pub fn up_foreground(
    home: &TempDir,
    topology: &str,
    extra: &[&str],
) -> (KillOnDrop, serde_json::Value) {
    let mut child = cli(home)
        .arg("up")
        .arg(topology_path(topology))
        .arg("--json")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(KillOnDrop)
        .expect("spawn sessiondrill up");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read report");
    let report: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"));
    (child, report)
}

pub fn pids(report: &serde_json::Value) -> Vec<u32> {
    report["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["pid"].as_u64().map(|p| p as u32))
        .collect()
}

pub fn alive(pid: u32) -> bool {
    process_start_time(pid).is_some()
}

/// Wait up to `limit` for every pid to be gone; returns the survivors.
pub fn wait_gone(pids: &[u32], limit: Duration) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("signal");
}

/// Run directories left in a home.
pub fn run_dirs(home: &TempDir) -> Vec<PathBuf> {
    std::fs::read_dir(home.path().join("runs"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The Docker engine, or `None` (the caller skips its test) when none is
/// reachable and none is required: `./scripts/test.sh` sets
/// `SESSIONDRILL_REQUIRE_DOCKER`, so in CI a missing engine fails instead.
pub fn docker_engine() -> Option<std::sync::Arc<sessiondrill::provision::docker::Engine>> {
    match sessiondrill::provision::docker::Engine::connect() {
        Ok(e) => Some(e),
        Err(e) if std::env::var_os("SESSIONDRILL_REQUIRE_DOCKER").is_some() => {
            panic!("SESSIONDRILL_REQUIRE_DOCKER is set but no Docker engine answers: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no Docker engine ({e})");
            None
        }
    }
}

/// The committed report schema, docs/report.schema.json.
pub fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json"),
    )
    .expect("docs/report.schema.json");
    jsonschema::validator_for(&serde_json::from_str(&text).expect("schema is JSON"))
        .expect("schema compiles")
}

/// Fail unless `report` matches the committed schema.
pub fn assert_valid_report(report: &serde_json::Value) {
    let errors: Vec<String> = schema()
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report of {} does not match docs/report.schema.json: {errors:#?}",
        report["scenario"]
    );
}

/// What `sessiondrill run` left: exit code, the JSON report (checked
/// against the schema), stderr.
pub struct Ran {
    pub code: i32,
    pub report: serde_json::Value,
    pub stderr: String,
}

/// `sessiondrill run FILE ARGS… --json R` in a private home, with `env`
/// set: the report is checked against the schema, and the home must hold
/// no run directory afterwards.
pub fn run_scenario(file: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let h = home();
    let json = h.path().join("report.json");
    let out = cli(&h)
        .arg("run")
        .arg(file)
        .args(args)
        .arg("--json")
        .arg(&json)
        .envs(env.iter().copied())
        .output()
        .expect("run sessiondrill");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no report ({e}): {stderr}")),
    )
    .expect("report is JSON");
    assert_valid_report(&report);
    assert!(run_dirs(&h).is_empty(), "run directory left behind");
    Ran {
        code: out.status.code().unwrap_or(-1),
        report,
        stderr,
    }
}

/// A scenario written to a file of its own (kept while the TempDir lives).
pub fn scenario_file(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("sessiondrill-scenario-")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, text).expect("write scenario");
    (dir, path)
}

/// The engine started on `runs` with `s`'s workload (no hooks, no
/// history), answering checkpoint `requests` if given.
pub fn start_engine(
    s: &sessiondrill::scenario::Scenario,
    runs: Vec<sessiondrill::workload::StrategyRun>,
    requests: Option<sessiondrill::check::checkpoint::Requests>,
) -> sessiondrill::workload::RunHandle {
    let events = sessiondrill::events::EventLog::new(Instant::now());
    sessiondrill::workload::start(
        &s.workload,
        s.workload.duration,
        runs,
        events,
        None,
        requests,
        None,
    )
}
