//! The real dashboard in a real terminal (tmux): open the AOF everysec
//! topology, let the load run, press `p` on the Redis node, read the screen
//! (`capture-pane`): the sessions panel shows lost sessions and the event
//! log the power loss; then `q` and the confirmation leave nothing behind.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{BIN, home, run_dirs, topology_path};

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(tag: &str) -> Tmux {
        Tmux {
            socket: format!("sessiondrill-test-{tag}-{}", std::process::id()),
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
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

/// Processes whose command line mentions `dir` (nodes keep their config
/// and data there).
fn processes_under(dir: &std::path::Path) -> Vec<String> {
    let dir = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd.contains(&dir) && !cmd.contains("tmux")).then(|| format!("{pid}: {cmd}"))
        })
        .collect()
}

#[test]
fn power_loss_from_the_keyboard_shows_lost_sessions_and_quits_clean() {
    let h = home();
    let tmux = Tmux::new("power");
    let command = format!(
        "SESSIONDRILL_HOME={home} {BIN} tui {topology} --duration 120s --report-dir {home}",
        home = h.path().display(),
        topology = topology_path("standalone-aof-everysec.yaml").display(),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "sd",
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &command,
    ]);
    tmux.run(&["set-option", "-t", "sd", "remain-on-exit", "on"]);

    let (running, screen) = tmux.wait_for(Duration::from_secs(30), |s| {
        s.contains("[running]") && s.contains("│›redis")
    });
    assert!(running, "the dashboard did not start:\n{screen}");
    // Let acknowledged writes pile up, then pull the plug on the node.
    std::thread::sleep(Duration::from_secs(3));
    tmux.keys("p");
    let (seen, screen) = tmux.wait_for(Duration::from_secs(40), |s| {
        s.contains("power lost on redis") && lost(s, "redis").is_some_and(|n| n > 0)
    });
    assert!(
        seen,
        "expected lost > 0 and the power loss in the event log:\n{screen}"
    );

    tmux.keys("q");
    let (asked, screen) = tmux.wait_for(Duration::from_secs(5), |s| s.contains("Quit "));
    assert!(asked, "quitting a live run must ask first:\n{screen}");
    tmux.keys("y");
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
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(
        !mounts.contains(&h.path().display().to_string()),
        "{mounts}"
    );
    assert!(run_dirs(&h).is_empty(), "{:?}", run_dirs(&h));
}

#[test]
fn lost_column_is_read_from_the_sessions_row() {
    let screen = "│›redis   primary  up   ││redis    2654  13    3     0     926   2.1s  │\n";
    assert_eq!(lost(screen, "redis"), Some(13));
}
