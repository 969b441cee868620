//! The dashboard as a teacher, in a real terminal (tmux): the picker by
//! exam question and its filter, a power cut said in words with the
//! report's number, the summary's verdict lines, `demo` with its captions,
//! and `--record` casts replayed through a terminal emulator.

mod support;

use std::process::Command;
use std::time::Duration;

use support::tmux::{Tmux, assert_all_gone, report_file, sessiondrill};
use support::{BIN, home, run_dirs, topology_path};

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
