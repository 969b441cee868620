//! Command line: subcommands and exit codes.
//!
//! Exit codes: 0 success; 1 a run or an expectation failed; 2 invalid
//! input or environment (bad file, missing binary, busy port).

mod bench;
mod bench_redis;
mod compare;
mod cost_args;
mod diff;
mod doctor;
mod doctor_endpoint;
mod images;
mod run;
mod runs;
mod sweep;
mod tui_args;
mod up;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::nodes::dynamodb::DynamodbNodeArgs;
use crate::provision::Home;
use tui_args::TuiArgs;

#[derive(Debug, Parser)]
#[command(
    name = "sessiondrill",
    version,
    about = "Failure drills on session stores: real Redis and DynamoDB topologies, broken on purpose, measured honestly"
)]
pub struct Cli {
    /// Where run directories live (default: $SESSIONDRILL_HOME, else ~/.local/state/sessiondrill).
    #[arg(long, global = true, env = "SESSIONDRILL_HOME")]
    pub home: Option<PathBuf>,
    /// Run every topology on this provider, whatever its file says:
    /// `process` (local processes) or `docker` (one container each).
    #[arg(long, global = true, env = "SESSIONDRILL_PROVIDER", value_enum)]
    pub provider: Option<crate::topology::Provider>,
    /// Without a command: the dashboard, with the scenario picker.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The live dashboard on a scenario or topology (the default command).
    Tui(TuiArgs),
    /// Play a scenario hands-free on the dashboard, with its `captions:`
    /// over it (a caption with `wait: true` pauses the load until a key).
    Demo(tui_args::DemoArgs),
    /// Check topology files; print FILE:LINE:COL: problem (field) for each problem.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Provision a topology and report its endpoints.
    Up(up::UpArgs),
    /// Run a scenario headless: load, check, report; exit 1 if an expectation fails.
    Run(run::RunArgs),
    /// Run scenarios one after another and print them side by side.
    Compare(compare::CompareArgs),
    /// Run a scenario once per value of one field and print the chosen
    /// numbers against it (`--vary workload.prefill.sessions=10k,100k,1M`),
    /// with `--predict` a fit's prediction, kept apart from the measured rows.
    Sweep(sweep::SweepArgs),
    /// What changed between two reports of one scenario (`run --json`):
    /// verdicts, lost and stale writes, unavailability, latency. Exit 1 on
    /// a regression, for CI gates.
    Diff(diff::DiffArgs),
    /// List runs on this machine.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop a detached run (every detached run when no id is given).
    Down { run_id: Option<String> },
    /// Benchmarks (results recorded in docs/PERFORMANCE.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Check the programs sessiondrill needs and say how to install what is missing;
    /// with --endpoint URL, check a Redis, memcached or DynamoDB endpoint before a
    /// drill (reachable, TLS, credentials, latency).
    Doctor(doctor_endpoint::EndpointArgs),
    /// Container images for the Docker provider.
    #[command(subcommand)]
    Images(images::ImagesCommand),
    /// Internal: node processes implemented by sessiondrill itself.
    #[command(name = "__node", hide = true, subcommand)]
    Node(NodeCommand),
    /// Internal: takes a killed run's power-loss mounts down.
    #[command(name = "__watchdog", hide = true)]
    Watchdog(crate::provision::watchdog::WatchdogArgs),
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// The embedded DynamoDB node (Dynoxide over HTTP).
    Dynamodb(DynamodbNodeArgs),
    /// A DAX node: item and query caches in front of a DynamoDB endpoint.
    Dax(crate::nodes::dax::DaxNodeArgs),
}

impl Cli {
    fn home(&self) -> Home {
        match &self.home {
            Some(root) => Home { root: root.clone() },
            None => Home::from_env(),
        }
    }
}

/// Run a headless command until it ends or SIGINT/SIGTERM/SIGHUP arrives; on a
/// signal the command's future is dropped (its nodes torn down) and the
/// exit code is 1.
pub async fn until_signal(work: impl Future<Output = u8>) -> u8 {
    let Ok(mut interrupts) = Interrupts::new() else {
        eprintln!("error: cannot listen for signals");
        return 1;
    };
    tokio::select! {
        code = work => code,
        _ = interrupts.next() => { eprintln!("interrupted; torn down."); 1 }
    }
}

/// SIGINT, SIGTERM and SIGHUP (a closed terminal or SSH session), each
/// heard from the moment this is made: make it before the work whose
/// interruption it is to catch.
pub struct Interrupts {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Interrupts {
    pub fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of them.
    pub async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

/// `work`, which handles the first interruption itself; a second one
/// tears down at once (exit 1).
pub async fn until_second_signal(work: impl Future<Output = u8>) -> u8 {
    let Ok(mut interrupts) = Interrupts::new() else {
        eprintln!("error: cannot listen for signals");
        return 1;
    };
    tokio::pin!(work);
    let mut seen = 0;
    loop {
        tokio::select! {
            code = &mut work => return code,
            _ = interrupts.next() => seen += 1,
        }
        if seen >= 2 {
            // Not left running in AWS either (a few seconds at most).
            for said in crate::cloud::live::end(None, Duration::from_secs(10)).await {
                eprintln!("{said}");
            }
            eprintln!("interrupted twice; torn down.");
            return 1;
        }
    }
}

/// Parse a duration such as `2s`, `500ms`, `1m30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::yaml::parse_duration(s)
}

/// Run the CLI; returns the process exit code.
pub fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let command = cli
        .command
        .take()
        .unwrap_or_else(|| Command::Tui(TuiArgs::from(crate::tui::TuiOptions::default())));
    if let Command::Watchdog(args) = &command {
        // Plain threads only: nothing to gain from a runtime here.
        return ExitCode::from(crate::provision::watchdog::run(args));
    }
    if let Some(p) = cli.provider {
        crate::topology::override_provider(p);
    }
    let home = cli.home();
    // Nothing may print on the dashboard's screen: its log goes to a file.
    let log_file = matches!(command, Command::Tui(_) | Command::Demo(_))
        .then(|| home.root.join("dashboard.log"));
    init_tracing(log_file.as_deref());
    // Worker threads: 2 by default (this project's machines have 2 cores);
    // SESSIONDRILL_WORKERS overrides, e.g. for benchmarks.
    let workers = std::env::var("SESSIONDRILL_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async move {
        match command {
            Command::Tui(args) => crate::tui::run(args.into(), home).await,
            Command::Demo(args) => crate::tui::run(args.into(), home).await,
            Command::Validate { files } => validate::run(&files),
            Command::Up(args) => up::run(args, home).await,
            Command::Run(args) => run::run(args, home).await,
            Command::Compare(args) => compare::run(args, home).await,
            Command::Sweep(args) => sweep::run(args, home).await,
            Command::Diff(args) => diff::run(args),
            Command::Status { json } => runs::status(&home, json),
            Command::Down { run_id } => runs::down(&home, run_id.as_deref()),
            Command::Doctor(endpoint) => doctor::run(&endpoint).await,
            Command::Images(cmd) => images::run(cmd).await,
            Command::Bench(cmd) => bench::run(cmd, home).await,
            Command::Watchdog(args) => crate::provision::watchdog::run(&args),
            Command::Node(NodeCommand::Dynamodb(args)) => {
                match crate::nodes::dynamodb::run(args).await {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("dynamodb node: {e}");
                        1
                    }
                }
            }
            Command::Node(NodeCommand::Dax(args)) => match crate::nodes::dax::run(args).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("dax node: {e}");
                    1
                }
            },
        }
    });
    // Do not wait for stray blocking tasks (e.g. a stdin reader).
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(code)
}

/// Logs go to stderr, or to `file` (appended) when the screen is taken.
fn init_tracing(file: Option<&std::path::Path>) {
    use tracing_subscriber::EnvFilter;
    let filter =
        // fuser reports replies to a session being unmounted (after a power
        // loss, at teardown) as errors: expected, not worth a user's eye.
        EnvFilter::try_from_env("SESSIONDRILL_LOG")
            .unwrap_or_else(|_| EnvFilter::new("warn,fuser=off"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let opened = file.and_then(|f| {
        crate::provision::rundir::private_dir(f.parent()?).ok()?;
        std::os::unix::fs::OpenOptionsExt::mode(
            std::fs::OpenOptions::new().create(true).append(true),
            0o600,
        )
        .open(f)
        .ok()
    });
    let _ = match (file, opened) {
        (_, Some(f)) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        (Some(_), None) => builder.with_writer(std::io::sink).try_init(),
        (None, _) => builder.with_writer(std::io::stderr).try_init(),
    };
}

/// Run one drill of a series (`compare`, `sweep`), saying `label`'s turn
/// and verdict on stderr; `Err(exit code)` when it could not start.
async fn one_drill(
    label: &str,
    (i, total): (usize, usize),
    scenario: crate::scenario::Scenario,
    opts: &crate::drill::DrillOptions,
) -> Result<crate::report::Report, u8> {
    eprintln!("[{}/{total}] {label}: running…", i + 1);
    let drill = match crate::drill::Drill::start(scenario, opts).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(if e.is_user_error() { 2 } else { 1 });
        }
    };
    let r = drill.finish().await;
    eprintln!(
        "[{}/{total}] {label}: {}",
        i + 1,
        if r.ok { "ok" } else { "an expectation failed" }
    );
    Ok(r)
}

/// Write `bytes` to `path` whole, if a path was asked for; exit code 2
/// (said on stderr) when it cannot be written.
/// Every file asked for can be written (its directory takes a new file);
/// the first that cannot is said, and the command ends with exit 2 before
/// anything starts.
fn all_writable<'a>(
    paths: impl IntoIterator<Item = &'a Option<std::path::PathBuf>>,
) -> Result<(), u8> {
    for p in paths.into_iter().flatten() {
        if let Err(e) = crate::drill::check_writable(p) {
            eprintln!("error: {}: {e}", p.display());
            return Err(2);
        }
    }
    Ok(())
}

fn write_out(path: Option<&std::path::Path>, bytes: impl FnOnce() -> Vec<u8>) -> Result<(), u8> {
    let Some(path) = path else { return Ok(()) };
    crate::drill::write_atomically(path, &bytes()).map_err(|e| {
        eprintln!("error: writing {}: {e}", path.display());
        2
    })
}
