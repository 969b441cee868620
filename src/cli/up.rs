//! `up FILE [--detach] [--json]`: provision and report endpoints.
//!
//! Foreground: stay up until Ctrl-C / SIGTERM (or `--duration`), then tear
//! down. `--detach`: re-run ourselves as a supervisor in a new session that
//! owns the nodes (so they still die with *it*), wait until it reports
//! ready, print its endpoints and return; `down` stops the supervisor.

use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::parse_duration;
use crate::provision::{self, Home, ProcessInfo, UpOptions};
use crate::scenario::Document;

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Topology file, or a scenario file (its topology is used).
    pub file: PathBuf,
    /// Return once ready and leave the run in the background (see `status`, `down`).
    #[arg(long)]
    pub detach: bool,
    /// Print one JSON object with the endpoints on stdout.
    #[arg(long)]
    pub json: bool,
    /// Stay up this long, then tear down (default: until Ctrl-C).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Keep the run directory (configs, data, logs) after teardown.
    #[arg(long)]
    pub keep: bool,
    /// Mount every data directory on the power-loss filesystem (FUSE), so
    /// that a power loss can drop what was not fsynced.
    #[arg(long)]
    pub power_loss_fs: bool,
    /// Put link proxies in front of every server (and between replicated
    /// servers), so link faults can be applied.
    #[arg(long)]
    pub proxies: bool,
    /// Allow nodes sessiondrill does not run (`external:`).
    #[arg(long)]
    pub external: bool,
    /// How long each process may take to become ready.
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    pub ready_timeout: Duration,
    /// Internal: run as the supervisor of a detached run.
    #[arg(long, hide = true)]
    pub supervise: bool,
}

/// What `up --json` prints.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct UpReport {
    pub run_id: String,
    pub topology: String,
    pub ready_ms: u128,
    pub nodes: Vec<ProcessInfo>,
    /// The run's certificate authority (PEM), when its Redis speaks TLS:
    /// what `rediss://` clients verify against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<std::path::PathBuf>,
}

pub async fn run(args: UpArgs, home: Home) -> u8 {
    let topology = match Document::load(&args.file) {
        Ok(d) => d.topology().clone(),
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    if args.detach && !args.supervise {
        return detach(&args, &home);
    }
    // Listen for signals before anything starts: a Ctrl-C during start-up
    // or right after the report must still tear down in order.
    let mut ends = match Ends::listen(args.supervise) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot listen for signals: {e}");
            return 1;
        }
    };
    let mut opts = UpOptions::new(home);
    opts.ready_timeout = args.ready_timeout;
    opts.detached = args.supervise;
    opts.keep = args.keep;
    opts.power_loss_fs = args.power_loss_fs;
    opts.proxies = args.proxies;
    opts.external = args.external;
    if !args.json {
        eprintln!(
            "starting {} ({} processes)…",
            topology.name,
            topology.process_count()
        );
    }
    let up = tokio::select! {
        up = provision::up(&topology, &opts) => up,
        why = ends.next(None) => {
            // Dropping the provisioning future drops every started process.
            eprintln!("{why} during start-up; nothing left running.");
            return 1;
        }
    };
    let deployment = match up {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return if e.is_user_error() { 2 } else { 1 };
        }
    };
    let report = UpReport {
        run_id: deployment.run_id().to_string(),
        topology: topology.name.clone(),
        ready_ms: deployment.ready_in.as_millis(),
        nodes: deployment.infos(),
        ca: Some(deployment.run.path.join("ca.pem")).filter(|p| p.exists()),
    };
    if args.json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        print_ready(&report);
        eprintln!(
            "{}",
            match args.duration {
                Some(d) => format!("tearing down in {}.", humantime::format_duration(d)),
                None => "Ctrl-C tears everything down.".into(),
            }
        );
    }
    if args.supervise {
        detach_stdio(&deployment.run.path.join("supervisor.log"));
    }
    let why = ends.next(args.duration).await;
    tracing::info!(why, "tearing down");
    let run_id = deployment.run_id().to_string();
    drop(deployment);
    if !args.json && !args.supervise {
        eprintln!("{why}: run {run_id} torn down.");
    }
    0
}

/// What ends a run: Ctrl-C, SIGTERM, SIGHUP (foreground only), or time.
struct Ends {
    int: Signal,
    term: Signal,
    hup: Signal,
    detached: bool,
}

impl Ends {
    fn listen(detached: bool) -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            detached,
        })
    }

    /// Wait for the next reason to end; `duration` bounds the wait.
    async fn next(&mut self, duration: Option<Duration>) -> &'static str {
        let timer = async {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timer);
        loop {
            tokio::select! {
                _ = self.int.recv() => return "interrupted",
                _ = self.term.recv() => return "terminated",
                _ = self.hup.recv() => if !self.detached { return "hung up" },
                _ = &mut timer => return "duration elapsed",
            }
        }
    }
}

/// The supervisor's stdout/stderr belong to the `up --detach` that started
/// it, which exits once we are ready: move them to the run's log.
fn detach_stdio(log: &std::path::Path) {
    if let Ok(f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = nix::unistd::dup2_stdout(&f);
        let _ = nix::unistd::dup2_stderr(&f);
    }
}

/// Start the supervisor in its own session and relay its ready report.
fn detach(args: &UpArgs, home: &Home) -> u8 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot locate the sessiondrill binary: {e}");
            return 1;
        }
    };
    let mut cmd = Command::new(exe);
    // The supervisor runs the topology on the provider asked for here.
    if let Some(p) = crate::topology::provider_override() {
        cmd.env("SESSIONDRILL_PROVIDER", p.as_str());
    }
    cmd.arg("--home")
        .arg(&home.root)
        .arg("up")
        .arg(&args.file)
        .arg("--json")
        .arg("--supervise")
        .arg("--ready-timeout")
        .arg(format!("{}ms", args.ready_timeout.as_millis()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if args.power_loss_fs {
        cmd.arg("--power-loss-fs");
    }
    if args.external {
        cmd.arg("--external");
    }
    if args.proxies {
        cmd.arg("--proxies");
    }
    if args.keep {
        cmd.arg("--keep");
    }
    if let Some(d) = args.duration {
        cmd.arg("--duration").arg(format!("{}ms", d.as_millis()));
    }
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot start the supervisor: {e}");
            return 1;
        }
    };
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|out| std::io::BufReader::new(out).read_line(&mut line));
    match (read, serde_json::from_str::<UpReport>(line.trim())) {
        (Some(Ok(n)), Ok(report)) if n > 0 => {
            if args.json {
                println!("{}", line.trim());
            } else {
                print_ready(&report);
                eprintln!(
                    "detached; stop it with: sessiondrill down {}",
                    report.run_id
                );
            }
            0
        }
        _ => match child.wait() {
            Ok(s) => s.code().map(|c| c as u8).unwrap_or(1),
            Err(_) => 1,
        },
    }
}

fn print_ready(r: &UpReport) {
    println!(
        "run {} ({}) ready in {} ms",
        r.run_id, r.topology, r.ready_ms
    );
    print_nodes(&r.nodes);
}

pub(super) fn print_nodes(nodes: &[ProcessInfo]) {
    let containers = nodes.iter().any(|n| n.container.is_some());
    let container = |c: Option<&str>| {
        if containers {
            format!(" {:<12}", c.unwrap_or("-"))
        } else {
            String::new()
        }
    };
    println!(
        "  {:<22} {:<17} {:<9} {:>6} {:>8}{}  URL",
        "NAME",
        "KIND",
        "ROLE",
        "PORT",
        "PID",
        container(Some("CONTAINER"))
    );
    for n in nodes {
        println!(
            "  {:<22} {:<17} {:<9} {:>6} {:>8}{}  {}",
            n.name,
            n.kind,
            n.role,
            n.port,
            n.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            container(n.container.as_deref()),
            n.url
        );
    }
}
