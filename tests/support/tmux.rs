//! A tmux server of a test's own, for the dashboard's tests: panes, keys,
//! screens, and the checks that a dashboard left nothing behind.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{BIN, TestHome, mounted_under, processes_under, run_dirs};

/// A tmux server of our own, its socket in the test's home (removed with
/// it), killed on drop.
pub struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    pub fn new(home: &std::path::Path) -> Tmux {
        Tmux {
            socket: home.join("tmux.sock"),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).args(["-f", "/dev/null"]);
        c
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "sd"])
    }

    pub fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "sd", keys]);
    }

    /// The process the pane runs (sessiondrill).
    pub fn pane_pid(&self) -> u32 {
        self.run(&["display", "-p", "-t", "sd", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap()
    }

    /// Wait until `ok` holds for the screen; the last screen either way.
    pub fn wait_for(&self, limit: Duration, ok: impl Fn(&str) -> bool) -> (bool, String) {
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
    pub fn open(&self, rows: u16, command: &str) {
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

    pub fn pane_dead(&self) -> bool {
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

/// Wait for the pane's process to end and the nodes with it.
pub fn assert_all_gone(tmux: &Tmux, h: &TestHome) {
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

/// `sessiondrill ARGS` with the test's home, as a shell command for a pane.
pub fn sessiondrill(h: &std::path::Path, args: &str) -> String {
    format!("env SESSIONDRILL_HOME={} {BIN} {args}", h.display())
}

/// The JSON report `e` wrote into the test's home.
pub fn report_file(h: &TestHome) -> std::path::PathBuf {
    std::fs::read_dir(h.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a JSON report")
}
