//! The real dashboard in a real terminal (tmux): open the AOF everysec
//! topology, let the load run, press `p` on the Redis node, read the screen
//! (`capture-pane`): the sessions panel shows lost sessions and the event
//! log the power loss; then `q` and the confirmation leave nothing behind.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{BIN, home, mounted_under, processes_under, run_dirs, topology_path};

/// A tmux server of our own, its socket in the test's home (removed with
/// it), killed on drop.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn new(home: &std::path::Path) -> Tmux {
        Tmux {
            socket: home.join("tmux.sock"),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).args(["-f", "/dev/null"]);
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "sd"])
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "sd", keys]);
    }

    /// The process the pane runs (sessiondrill).
    fn pane_pid(&self) -> u32 {
        self.run(&["display", "-p", "-t", "sd", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap()
    }

    /// Wait until `ok` holds for the screen; the last screen either way.
    fn wait_for(&self, limit: Duration, ok: impl Fn(&str) -> bool) -> (bool, String) {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) || start.elapsed() > limit {
                return (ok(&s), s);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A 100-column pane of `rows` running `command` (in the source tree,
    /// so the picker finds topologies/); the pane stays after it exits.
    fn open(&self, rows: u16, command: &str) {
        self.run(&[
            "new-session",
            "-d",
            "-s",
            "sd",
            "-x",
            "100",
            "-y",
            &rows.to_string(),
            "-c",
            env!("CARGO_MANIFEST_DIR"),
            "sh",
            "-c",
            command,
        ]);
        self.run(&["set-option", "-t", "sd", "remain-on-exit", "on"]);
    }

    fn pane_dead(&self) -> bool {
        self.run(&["list-panes", "-t", "sd", "-F", "#{pane_dead}"])
            .trim()
            == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// Bytes each power loss in the event log discarded, oldest first.
fn discarded(screen: &str) -> Vec<u64> {
    screen
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("power lost on redis: ")? + "power lost on redis: ".len()..];
            rest.split_whitespace().next()?.parse().ok()
        })
        .collect()
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

/// Wait for the pane's process to end and the nodes with it.
fn assert_all_gone(tmux: &Tmux, h: &support::TestHome) {
    let start = Instant::now();
    while !tmux.pane_dead() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(tmux.pane_dead(), "still running:\n{}", tmux.screen());
    // Nothing left: no node, no watchdog, no mount, no run directory.
    let start = Instant::now();
    while !processes_under(h.path()).is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(processes_under(h.path()), Vec::<String>::new());
    assert!(!mounted_under(h.path()));
    assert!(run_dirs(h).is_empty(), "{:?}", run_dirs(h));
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
    // Tall enough that the event log keeps every power loss in view.
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
    for cut in 1..=3 {
        tmux.keys("p");
        let (back, screen) = tmux.wait_for(Duration::from_secs(20), |s| {
            discarded(s).len() == cut && s.matches("redis answers again").count() == cut
        });
        assert!(back, "power loss {cut} did not come back:\n{screen}");
        if discarded(&screen).last().is_some_and(|&b| b >= 8_000) {
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
    let screen = "│ 3.2s fault  power lost on redis: 670 bytes not fsynced discarded │\n│ 9.1s fault  power lost on redis: 41234 bytes not │\n";
    assert_eq!(discarded(screen), vec![670, 41234]);
}

#[test]
fn lost_column_is_read_from_the_sessions_row() {
    let screen = "│›redis   primary  up   ││redis    2654  13    3     0     926   2.1s  │\n";
    assert_eq!(lost(screen, "redis"), Some(13));
}

/// `sessiondrill ARGS` with the test's home, as a shell command for a pane.
fn sessiondrill(h: &std::path::Path, args: &str) -> String {
    format!("env SESSIONDRILL_HOME={} {BIN} {args}", h.display())
}

/// The JSON report `e` wrote into the test's home.
fn report_file(h: &support::TestHome) -> std::path::PathBuf {
    std::fs::read_dir(h.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a JSON report")
}

/// The screen's text with the panel borders and line breaks gone and
/// spaces collapsed: a wrapped sentence reads as one.
fn flat(screen: &str) -> String {
    screen
        .lines()
        .flat_map(|l| l.split('│'))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The number after `redis lost ` in the power cut's sentence.
fn said_lost(screen: &str) -> Option<u64> {
    let text = flat(screen);
    let at = text.find("after its last fsync: redis lost ")?;
    let rest = &text[at + "after its last fsync: redis lost ".len()..];
    let first = rest.split_whitespace().next()?;
    if first == "none" {
        return Some(0);
    }
    first.parse().ok()
}

#[test]
fn the_picker_groups_by_question_filters_and_a_power_cut_is_told_in_words() {
    let h = home();
    let tmux = Tmux::new(h.path());
    let command = format!(
        "exec {}",
        sessiondrill(
            h.path(),
            &format!("tui --report-dir {}", h.path().display())
        )
    );
    tmux.open(30, &command);
    let (shown, screen) = tmux.wait_for(Duration::from_secs(20), |s| {
        s.contains("1. Durable sessions") && s.contains("2. Ultra-fast sessions")
    });
    assert!(shown, "no question headings in the picker:\n{screen}");
    // A typed word keeps what mentions it.
    tmux.keys("/");
    for c in "aof-everysec-power".chars() {
        tmux.keys(&c.to_string());
    }
    let (filtered, screen) = tmux.wait_for(Duration::from_secs(10), |s| {
        s.contains("┌ /aof-everysec-power ")
            && s.contains("aof-everysec-power-loss")
            && !s.contains("sentinel-kill-primary")
            && !s.contains("2. Ultra-fast")
    });
    assert!(filtered, "the filter did not narrow the list:\n{screen}");
    assert!(screen.contains("Not run on this machine yet"), "{screen}");
    tmux.keys("Enter"); // done filtering
    tmux.keys("Enter"); // open the drill

    // The power cut at 3 s, told in words once its checkpoint has read
    // what it destroyed.
    let (told, screen) = tmux.wait_for(Duration::from_secs(40), |s| said_lost(s).is_some());
    assert!(told, "no sentence about the power cut:\n{screen}");
    let said = said_lost(&screen).unwrap();
    // 700 ms of writes not fsynced at 1 200 writes/s: some are gone.
    assert!(said > 0, "{screen}");
    assert!(flat(&screen).contains("budget: AOF everysec"), "{screen}");

    // The drill ends by itself (6 s); `e` writes its report.
    let (over, screen) = tmux.wait_for(Duration::from_secs(40), |s| s.contains("Summary"));
    assert!(over, "no summary:\n{screen}");
    tmux.keys("e");
    let (done, screen) = tmux.wait_for(Duration::from_secs(10), |s| s.contains("report written"));
    assert!(done, "no report written:\n{screen}");
    let json = report_file(&h);
    let report: sessiondrill::report::Report =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // The sentence's number is the report's: its checkpoint's and the
    // fault's own count of acknowledged writes destroyed.
    let cp = &report.checkpoints[0].strategies["redis"];
    assert_eq!(said, cp.writes.lost, "{screen}");
    assert_eq!(said, report.faults[0].strategies["redis"].lost_writes);
    // At 100×30 the summary shows the fault's verdict line uncut, and the
    // question.
    let line = sessiondrill::report::words::fault_line(&report.faults[0]);
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat(&screen).contains(&line), "{line}\n{screen}");
    assert!(screen.contains("Question:"), "{screen}");

    // Back in the picker, what it measured is the drill's last answer.
    tmux.keys("Escape");
    let (back, screen) = tmux.wait_for(Duration::from_secs(10), |s| {
        s.contains("Measured here last:")
    });
    assert!(back, "no last answer in the picker:\n{screen}");
    assert!(
        flat(&screen).contains(&format!("redis lost {said} acknowledged")),
        "{screen}"
    );
    tmux.keys("q");
    assert_all_gone(&tmux, &h);
}

#[test]
fn a_recording_replays_to_the_dashboard_s_frames() {
    let h = home();
    let tmux = Tmux::new(h.path());
    let cast = h.path().join("drill.cast");
    let args = format!(
        "tui {} --duration 120s --report-dir {} --record {}",
        topology_path("standalone-aof-everysec.yaml").display(),
        h.path().display(),
        cast.display(),
    );
    let command = format!("exec {}", sessiondrill(h.path(), &args));
    tmux.open(30, &command);
    let (running, screen) = tmux.wait_for(Duration::from_secs(30), |s| s.contains("[running]"));
    assert!(running, "the dashboard did not start:\n{screen}");
    std::thread::sleep(Duration::from_secs(2));
    tmux.keys("q");
    tmux.keys("y");
    assert_all_gone(&tmux, &h);

    // asciicast v2: a header, then [seconds, "o", text] in time order.
    let text = std::fs::read_to_string(&cast).expect("the cast was written");
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2, "{header}");
    assert_eq!(header["width"], 100, "{header}");
    assert_eq!(header["height"], 30, "{header}");
    let events: Vec<(f64, String)> = lines
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v[1], "o", "{l}");
            (v[0].as_f64().unwrap(), v[2].as_str().unwrap().to_string())
        })
        .collect();
    assert!(events.len() > 10, "{} events", events.len());
    assert!(
        events.iter().all(|(_, out)| !out.contains('\u{FFFD}')),
        "a character was broken between frames"
    );
    assert!(
        events.windows(2).all(|w| w[0].0 <= w[1].0),
        "out of time order"
    );
    let span = events.last().unwrap().0 - events[0].0;
    assert!(
        span >= 2.0,
        "the cast covers {span} s of a run of more than 2 s"
    );
    // Replayed through a terminal emulator, a frame shows the topology
    // panel with the load running.
    let mut term = vt100::Parser::new(30, 100, 0);
    let mut seen = false;
    for (_, out) in &events {
        term.process(out.as_bytes());
        let screen = term.screen().contents();
        if screen.contains("Topology") && screen.contains("[running]") {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "no frame with the topology panel:\n{}",
        term.screen().contents()
    );
}

#[test]
fn a_recording_that_cannot_be_written_is_refused_before_anything_starts() {
    let h = home();
    let tmux = Tmux::new(h.path());
    let args = format!(
        "tui {} --record /nonexistent/dir/x.cast",
        topology_path("standalone-aof-everysec.yaml").display()
    );
    let command = format!("{}; echo exit=$?; sleep 60", sessiondrill(h.path(), &args));
    tmux.open(30, &command);
    let (done, screen) = tmux.wait_for(Duration::from_secs(20), |s| s.contains("exit="));
    assert!(done, "{screen}");
    assert!(screen.contains("exit=2"), "{screen}");
    assert!(screen.contains("/nonexistent/dir/x.cast"), "{screen}");
    assert!(run_dirs(&h).is_empty());
    // (The shell sleeps on so that its screen stays: a pane that died with
    // remain-on-exit lost its first line here. The tmux server and the
    // sleep go when `tmux` drops.)
}

#[test]
fn demo_plays_a_scenario_with_its_captions_and_waits_where_asked() {
    let h = home();
    let tmux = Tmux::new(h.path());
    let scenario = h.path().join("demo.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: demo-two-captions
description: "Two captions over a restart"
topology: {topology}
strategies: [redis]
workload:
  sessions: 200
  duration: 6s
  rates: {{ create: 50/s, read: 50/s, update: 50/s }}
timeline:
  - {{ at: 2s, fault: restart, target: redis }}
captions:
  - {{ at: 0s, text: "First caption: sessions flow into Redis." }}
  - {{ after_fault: 1, text: "Second caption: Redis was restarted.", wait: true }}
"#,
            topology = topology_path("standalone-aof-everysec.yaml").display()
        ),
    )
    .unwrap();
    let args = format!(
        "demo {} --report-dir {}",
        scenario.display(),
        h.path().display()
    );
    let command = format!("exec {}", sessiondrill(h.path(), &args));
    tmux.open(30, &command);
    let (first, screen) = tmux.wait_for(Duration::from_secs(30), |s| {
        s.contains("First caption: sessions flow into Redis.") && s.contains(" 1/2 ")
    });
    assert!(first, "no first caption:\n{screen}");
    let (second, screen) = tmux.wait_for(Duration::from_secs(30), |s| {
        s.contains("Second caption: Redis was restarted.") && s.contains("any key to continue")
    });
    assert!(second, "no second caption:\n{screen}");
    // It holds the load until the presenter goes on.
    let (paused, screen) = tmux.wait_for(Duration::from_secs(5), |s| s.contains("[paused]"));
    assert!(
        paused,
        "the waiting caption did not pause the load:\n{screen}"
    );
    // And holds it while nobody presses a key.
    std::thread::sleep(Duration::from_secs(2));
    let screen = tmux.screen();
    assert!(
        screen.contains("[paused]") && screen.contains("any key to continue"),
        "the caption stopped waiting by itself:\n{screen}"
    );
    // Any key goes on — even `q`, which the caption takes (no quit prompt).
    tmux.keys("q");
    let (on, screen) = tmux.wait_for(Duration::from_secs(10), |s| {
        !s.contains("any key to continue") && !s.contains("[paused]")
    });
    assert!(on, "a key did not go on:\n{screen}");
    assert!(
        !screen.contains("Quit "),
        "the key went to the dashboard:\n{screen}"
    );
    // To the end by itself: the summary, then q leaves nothing behind.
    let (over, screen) = tmux.wait_for(Duration::from_secs(40), |s| s.contains("Summary"));
    assert!(over, "the demo did not reach its summary:\n{screen}");
    assert!(
        !screen.contains("Second caption"),
        "captions go with the live run:\n{screen}"
    );
    tmux.keys("q");
    assert_all_gone(&tmux, &h);
}

#[test]
fn captions_that_cannot_be_shown_are_refused_with_their_position() {
    let h = home();
    let scenario = h.path().join("bad-demo.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: bad-demo
topology: {topology}
strategies: [redis]
workload:
  sessions: 10
  duration: 5s
  rates: {{ read: 10/s }}
captions:
  - {{ at: 9s, text: "after the load" }}
  - {{ after_fault: 1, text: "no fault" }}
  - {{ text: "when?" }}
  - {{ at: 1s, after_fault: 1, text: "both" }}
  - {{ at: soon, text: "unparsable" }}
  - {{ at: 1s, text: "  " }}
"#,
            topology = topology_path("standalone-aof-everysec.yaml").display()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .env("SESSIONDRILL_HOME", h.path())
        .arg("validate")
        .arg(&scenario)
        .output()
        .unwrap();
    let err =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for (line, what) in [
        (9, "not within the load"),
        (10, "the timeline injects 0 fault(s)"),
        (11, "either `at`"),
        (12, "either `at`"),
        (13, "expected an offset into the load"),
        (14, "the caption's text is empty"),
    ] {
        let said = err
            .lines()
            .find(|l| l.contains(&format!("bad-demo.yaml:{line}:")))
            .unwrap_or_else(|| panic!("nothing at line {line}: {err}"));
        assert!(said.contains(what), "line {line}: {said}");
    }
}
