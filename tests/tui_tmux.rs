//! The real dashboard in a real terminal (tmux): open the AOF everysec
//! topology, let the load run, press `p` on the Redis node, read the screen
//! (`capture-pane`): the sessions panel shows lost sessions and the event
//! log the power loss; then `q` and the confirmation leave nothing behind.

mod support;

use std::time::{Duration, Instant};

use support::tmux::{Tmux, assert_all_gone, report_file};
use support::{BIN, home, mounted_under, processes_under, run_dirs, topology_path};

/// The newest event line on the screen that contains `needle`: its time
/// (seconds into the run) and the line. The event log scrolls (each power
/// loss adds a sentence in words too), so lines are told apart by time,
/// not counted.
fn newest(screen: &str, needle: &str) -> Option<(f64, String)> {
    screen
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            let t: f64 = l
                .trim_start_matches('│')
                .split_whitespace()
                .next()?
                .strip_suffix('s')?
                .parse()
                .ok()?;
            Some((t, l.to_string()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// Bytes the newest power loss on the screen discarded.
fn discarded(screen: &str) -> Option<u64> {
    let (_, l) = newest(screen, "power lost on redis: ")?;
    let rest = &l[l.find("power lost on redis: ")? + "power lost on redis: ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// The `lost` column of `strategy`'s row in the sessions panel.
fn lost(screen: &str, strategy: &str) -> Option<u64> {
    let panel = screen.lines().find_map(|l| {
        let at = l.find("│redis")?;
        (l[at..].contains(strategy)).then(|| &l[at..])
    })?;
    // strategy acked lost stale …
    let fields: Vec<&str> = panel
        .trim_matches('│')
        .split_whitespace()
        .take_while(|f| *f != "│")
        .collect();
    fields.get(2)?.parse().ok()
}

/// Start the dashboard on `topology` in a 100×30 tmux pane; the pane's
/// process is sessiondrill itself.
fn start(tmux: &Tmux, h: &std::path::Path, topology: &str) {
    start_sized(tmux, h, topology, 30);
}

/// `e`: end the load; the summary screen, and the report it wrote.
fn end_and_read_report(tmux: &Tmux, h: &support::TestHome) -> (String, serde_json::Value) {
    tmux.keys("e");
    let (done, screen) = tmux.wait_for(Duration::from_secs(30), |s| {
        s.contains("Summary") && s.contains("report written")
    });
    assert!(done, "no summary:\n{screen}");
    let json = report_file(h);
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // The HTML page beside it.
    let html = std::fs::read_to_string(json.with_extension("html")).expect("an HTML report");
    assert!(
        html.contains("<svg class=\"chart\""),
        "no chart in the HTML report"
    );
    (screen, report)
}

/// `start`, and wait until the load runs.
fn start_running(tmux: &Tmux, h: &std::path::Path, topology: &str) {
    start(tmux, h, topology);
    let (running, screen) = tmux.wait_for(Duration::from_secs(30), |s| s.contains("[running]"));
    assert!(running, "the dashboard did not start:\n{screen}");
}

fn start_sized(tmux: &Tmux, h: &std::path::Path, topology: &str, rows: u16) {
    let command = format!(
        "exec env SESSIONDRILL_HOME={home} {BIN} tui {topology} --duration 120s --report-dir {home}",
        home = h.display(),
        topology = topology_path(topology).display(),
    );
    tmux.open(rows, &command);
}

#[test]
fn sigterm_restores_the_terminal_and_tears_down() {
    let h = home();
    let tmux = Tmux::new(h.path());
    start_running(&tmux, h.path(), "replicated-sentinel.yaml");
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "sd", "#{alternate_on}"])
            .trim(),
        "1"
    );
    support::signal(tmux.pane_pid(), nix::sys::signal::Signal::SIGTERM);
    assert_all_gone(&tmux, &h);
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "sd", "#{alternate_on}"])
            .trim(),
        "0",
        "the alternate screen was not left"
    );
}

#[test]
fn power_loss_from_the_keyboard_shows_lost_sessions_and_quits_clean() {
    let h = home();
    let tmux = Tmux::new(h.path());
    start_sized(&tmux, h.path(), "standalone-aof-everysec.yaml", 60);

    let (running, screen) = tmux.wait_for(Duration::from_secs(30), |s| {
        s.contains("[running]") && s.contains("│›redis")
    });
    assert!(running, "the dashboard did not start:\n{screen}");
    // Let acknowledged writes pile up, then pull the plug on the node. AOF
    // everysec loses what came after the last fsync: a cut just after one
    // loses (almost) nothing — the fsync working, not the dashboard failing
    // — so the power is cut again until a real share of a second is gone
    // (the event log says how many bytes were discarded).
    std::thread::sleep(Duration::from_secs(3));
    let mut before = -1.0;
    for cut in 1..=3 {
        tmux.keys("p");
        // A power loss newer than the last one, and the node back after it.
        let (back, screen) = tmux.wait_for(Duration::from_secs(20), |s| {
            newest(s, "power lost on redis: ").is_some_and(|(cut_at, _)| {
                cut_at > before
                    && newest(s, "redis answers again").is_some_and(|(up, _)| up >= cut_at)
            })
        });
        assert!(back, "power loss {cut} did not come back:\n{screen}");
        before = newest(&screen, "power lost on redis: ").map_or(before, |(t, _)| t);
        if discarded(&screen).is_some_and(|b| b >= 8_000) {
            break;
        }
    }
    let (seen, screen) = tmux.wait_for(Duration::from_secs(40), |s| {
        lost(s, "redis").is_some_and(|n| n > 0)
    });
    assert!(
        seen,
        "expected lost > 0 and the power loss in the event log:\n{screen}"
    );

    tmux.keys("q");
    let (asked, screen) = tmux.wait_for(Duration::from_secs(5), |s| s.contains("Quit "));
    assert!(asked, "quitting a live run must ask first:\n{screen}");
    tmux.keys("y");
    assert_all_gone(&tmux, &h);
}

#[test]
fn e_ends_the_load_shows_the_report_s_numbers_and_exports_it() {
    let h = home();
    let tmux = Tmux::new(h.path());
    start_running(&tmux, h.path(), "standalone-aof-everysec.yaml");
    std::thread::sleep(Duration::from_secs(2));
    let (screen, report) = end_and_read_report(&tmux, &h);
    let writes = report["strategies"]["redis"]["writes"].as_object().unwrap();
    let acked: u64 = writes.values().map(|n| n.as_u64().unwrap()).sum();
    assert!(acked > 0);
    let shown = if acked < 10_000 {
        acked.to_string()
    } else {
        format!("{:.1}k", acked as f64 / 1000.0)
    };
    assert!(
        screen
            .lines()
            .any(|l| l.contains("redis") && l.contains(&shown)),
        "the summary shows the report's {shown} acknowledged writes:\n{screen}"
    );
    // The run is over: q quits without asking.
    tmux.keys("q");
    assert_all_gone(&tmux, &h);
}

/// A drill ended before its fault's time has not tested the fault: the
/// summary says so and the report fails.
#[test]
fn ending_the_load_before_its_fault_fails_the_drill() {
    let h = home();
    let tmux = Tmux::new(h.path());
    start_running(&tmux, h.path(), "redis-no-persistence-reboot.yaml");
    // The restart is due 5.5 s into the load.
    let (screen, report) = end_and_read_report(&tmux, &h);
    assert!(screen.contains("FAIL"), "{screen}");
    assert!(screen.contains("did not fire"), "{screen}");
    assert_eq!(report["faults"][0]["fired"], false, "{}", report["faults"]);
    assert_eq!(report["ok"], false);
    support::assert_valid_report(&report);
    tmux.keys("q");
    assert_all_gone(&tmux, &h);
}

#[test]
fn a_terminal_that_hangs_up_mid_run_leaves_nothing_behind() {
    let h = home();
    let tmux = Tmux::new(h.path());
    // The picker (no file), from the source tree so it finds topologies/.
    let command = format!(
        "exec env SESSIONDRILL_HOME={home} {BIN} --home {home}",
        home = h.path().display()
    );
    tmux.open(30, &command);
    let (picking, screen) = tmux.wait_for(Duration::from_secs(20), |s| s.contains("enter open"));
    assert!(picking, "no picker:\n{screen}");
    tmux.keys("Enter");
    let (running, screen) = tmux.wait_for(Duration::from_secs(30), |s| s.contains("[running]"));
    assert!(running, "the first scenario did not start:\n{screen}");
    tmux.keys("q");
    // The terminal goes away under the confirmation (SIGHUP, then EIO).
    let _ = tmux.cmd().arg("kill-server").output();
    let start = Instant::now();
    while !processes_under(h.path()).is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(processes_under(h.path()), Vec::<String>::new());
    assert!(!mounted_under(h.path()));
    assert!(run_dirs(&h).is_empty(), "{:?}", run_dirs(&h));
}

#[test]
fn the_dashboard_runs_containers_and_kills_one_from_the_keyboard() {
    use sessiondrill::provision::docker::orphans;
    let Some(engine) = support::docker_engine() else {
        return;
    };
    let h = home();
    let tmux = Tmux::new(h.path());
    let command = format!(
        "exec env SESSIONDRILL_HOME={home} DOCKER_HOST={host} SESSIONDRILL_PROVIDER=docker \
         SESSIONDRILL_PULL=never {BIN} tui {topology} --duration 120s --report-dir {home}",
        home = h.path().display(),
        host = engine.host,
        topology = topology_path("standalone-aof-everysec.yaml").display(),
    );
    tmux.open(40, &command);
    let (running, screen) = tmux.wait_for(Duration::from_secs(30), |s| {
        s.contains("[running]") && s.contains("Topology (containers)") && s.contains("│›redis")
    });
    assert!(
        running,
        "the dashboard did not start in containers:\n{screen}"
    );
    let pid = tmux.pane_pid();
    assert_eq!(orphans::of_owner(&engine, pid).unwrap().len(), 1);
    tmux.keys("k");
    let (killed, screen) =
        tmux.wait_for(Duration::from_secs(10), |s| s.contains("docker kill redis"));
    assert!(killed, "the kill did not reach the container:\n{screen}");
    tmux.keys("q");
    let (asked, screen) = tmux.wait_for(Duration::from_secs(5), |s| s.contains("Quit "));
    assert!(asked, "quitting a live run must ask first:\n{screen}");
    tmux.keys("y");
    assert_all_gone(&tmux, &h);
    assert_eq!(
        orphans::of_owner(&engine, pid).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn discarded_bytes_are_read_from_the_event_log() {
    let screen = "│    9.1s fault  power lost on redis: 41234 bytes not │\n│    3.2s fault  power lost on redis: 670 bytes not fsynced discarded │\n│   12.0s node-up  redis answers again │\n";
    assert_eq!(discarded(screen), Some(41234));
    assert_eq!(newest(screen, "answers again").map(|(t, _)| t), Some(12.0));
    assert_eq!(discarded("│ 1.0s node-up x │"), None);
}

#[test]
fn lost_column_is_read_from_the_sessions_row() {
    let screen = "│›redis   primary  up   ││redis    2654  13    3     0     926   2.1s  │\n";
    assert_eq!(lost(screen, "redis"), Some(13));
}
