//! `run SCENARIO`: headless. Provision the topology, run the workload on
//! every strategy side by side, check, report. Progress on stderr.
//! Exit 0 when every expectation holds, 1 when one fails, 2 on invalid
//! input or environment.

use std::path::PathBuf;
use std::time::Duration;

use super::parse_duration;
use crate::drill::{CostOptions, Drill, DrillOptions, write_report};
use crate::metrics::Snapshot;
use crate::provision::Home;
use crate::report;
use crate::scenario::{CheckMode, Scenario};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (see topologies/); a bare topology runs the default load.
    pub scenario: PathBuf,
    /// Override the scenario's load duration.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Write the JSON report here (schema: docs/report.schema.json).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the Markdown report here.
    #[arg(long)]
    pub md: Option<PathBuf>,
    /// Write the report as one self-contained HTML page here: latency and
    /// throughput over time with the faults' windows, what each fault
    /// destroyed, the expectations, the topology and the events.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Keep the run directory (configs, data, logs) afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Provision as the dashboard does: a proxy on every link and, where
    /// FUSE works, data on the power-loss filesystem (for comparisons).
    #[arg(long)]
    pub live_faults: bool,
    /// Allow nodes sessiondrill does not run (`external:`): only keys
    /// under the run's prefix are written, and they are removed at the end.
    #[arg(long)]
    pub external: bool,
    /// A control run: the scenario with its timeline removed. If every
    /// expectation still holds, the drill's expectations prove nothing
    /// about its faults.
    #[arg(long)]
    pub without_faults: bool,
    /// When to read every session back: `checkpoints` (after each fault
    /// that can destroy writes, and at the end) or `end-only`; overrides
    /// the scenario's `check:`.
    #[arg(long, value_parser = parse_check)]
    pub check: Option<CheckMode>,
    /// Write every operation, every read of the checker and the faults
    /// here, one JSON object a line, in time order (docs/HISTORY.md), for
    /// an external checker.
    #[arg(long, value_name = "FILE.jsonl")]
    pub history: Option<PathBuf>,
    /// Lines of the history kept at most; past it the rest is counted and
    /// the last line says so.
    #[arg(long, default_value_t = crate::workload::history::DEFAULT_LIMIT, requires = "history")]
    pub history_limit: usize,
    #[command(flatten)]
    pub cost: super::cost_args::CostArgs,
}

fn parse_check(s: &str) -> Result<CheckMode, String> {
    CheckMode::parse(s).ok_or_else(|| format!("expected checkpoints or end-only, got {s:?}"))
}

pub async fn run(args: RunArgs, home: Home) -> u8 {
    let mut scenario = match crate::scenario::load_any(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    if args.without_faults {
        scenario.timeline.clear();
    }
    let cost = match args.cost.options() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    if let Some(check) = args.check {
        scenario.check = check;
    }
    // A file asked for that cannot be written: nothing starts.
    if let Err(code) = super::all_writable([&args.history, &args.html]) {
        return code;
    }
    // A fault that would never fire in the load asked for: nothing starts.
    if let Some(d) = args.duration
        && let Err(e) = scenario.fits(d)
    {
        eprintln!("{e}");
        return 2;
    }
    if !scenario.topology.external_nodes().is_empty() {
        // The first Ctrl-C ends the load and the run's keys are removed
        // from the external nodes (see `run_scenario`); a second quits.
        return super::until_second_signal(run_scenario(&scenario, &args, home, cost)).await;
    }
    super::until_signal(run_scenario(&scenario, &args, home, cost)).await
}

async fn run_scenario(scenario: &Scenario, args: &RunArgs, home: Home, cost: CostOptions) -> u8 {
    eprintln!(
        "{}: bringing up {} ({} processes)…",
        scenario.name,
        scenario.topology.name,
        scenario.topology.process_count()
    );
    let opts = DrillOptions {
        home,
        keep: args.keep,
        duration: args.duration,
        live_faults: args.live_faults,
        external: args.external,
        history: args.history.as_ref().map(|_| args.history_limit),
        cost,
    };
    let external = !scenario.topology.external_nodes().is_empty();
    // Listened for before anything starts: an interruption while the
    // external nodes are checked ends the run before any load, and one
    // during the load ends the load and leaves time for the cleanup.
    let mut interrupts = if external {
        match super::Interrupts::new() {
            Ok(i) => Some(i),
            Err(e) => {
                eprintln!("error: cannot listen for signals: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    let started = async {
        match interrupts.as_mut() {
            Some(i) => tokio::select! {
                d = Drill::start(scenario.clone(), &opts) => Some(d),
                _ = i.next() => None,
            },
            None => Some(Drill::start(scenario.clone(), &opts).await),
        }
    };
    let Some(started) = started.await else {
        // A template a cloud fault was creating goes too.
        for said in crate::cloud::live::end(None, Duration::from_secs(10)).await {
            eprintln!("{said}");
        }
        eprintln!("interrupted before the load began: nothing was written");
        return 1;
    };
    let drill = match started {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return if e.is_user_error() { 2 } else { 1 };
        }
    };
    eprintln!(
        "ready in {} ms (run {})",
        drill.ready_in.as_millis(),
        drill.run_id
    );
    let progress = tokio::spawn(progress(drill.engine.snapshots.clone()));
    let bulk = tokio::spawn(bulk_progress(drill.control().clone()));
    let ender = interrupts.map(|mut interrupts| {
        let control = drill.control().clone();
        tokio::spawn(async move {
            interrupts.next().await;
            eprintln!(
                "interrupted: ending the load, then removing this run's keys from the external nodes (interrupt again to quit at once)"
            );
            control.stop();
        })
    });
    let nodes = drill.nodes.clone();
    let (report, history) = drill.finish_with_history().await;
    progress.abort();
    bulk.abort();
    if let Some(e) = ender {
        e.abort();
    }
    // The picker shows it as this scenario's last measured answer; a
    // control run without the faults is not that answer.
    if !args.without_faults
        && let Err(e) = crate::drill::answers::save(&opts.home, &report)
    {
        eprintln!("warning: keeping the answer for the picker: {e}");
    }
    if let Err(e) = write_report(&report, args.json.as_deref(), args.md.as_deref()) {
        eprintln!("error: {e}");
        return 2;
    }
    if let Some(path) = &args.html {
        let html = crate::report::html::run(&report, &nodes);
        if let Err(e) = crate::drill::write_atomically(path, html.as_bytes()) {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    }
    if let (Some(path), Some(h)) = (&args.history, history) {
        match crate::drill::write_history(path, &h, &report) {
            Ok(n) => eprintln!("history: {n} lines in {}", path.display()),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return 2;
            }
        }
    }
    println!("{}", report::markdown(&report));
    // Why the run failed when no expectation or fault says it (the report
    // has it too): also on stderr, where a script or a test looks.
    if let Some(e) = &report.generator_error {
        eprintln!("error: {e}: the load ended early");
    }
    for (name, s) in &report.strategies {
        if let Some(e) = s.bulk.as_ref().and_then(|b| b.error.as_deref()) {
            eprintln!("error: {name}: the bulk prefill failed: {e}");
        }
    }
    if report.ok { 0 } else { 1 }
}

/// The bulk prefill's progress, a line a second until it is done.
async fn bulk_progress(control: crate::workload::LoadControl) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = 0;
    loop {
        tick.tick().await;
        let (done, total) = control.bulk_progress();
        if total > 0 && done > last {
            eprintln!(
                "bulk prefill: {done} / {total} writes ({:.0} %, {}/s)",
                done as f64 * 100.0 / total as f64,
                done - last
            );
        }
        if total > 0 && done >= total {
            return;
        }
        last = done;
    }
}

/// One progress line a second on stderr.
async fn progress(mut rx: tokio::sync::watch::Receiver<Snapshot>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let _ = rx.changed().await;
        let s = rx.borrow_and_update().clone();
        let parts: Vec<String> = s
            .strategies
            .iter()
            .map(|st| {
                format!(
                    "{} {} ops/s p99 {:.2} ms err {}{}{}{}",
                    st.name,
                    st.throughput_last,
                    st.latency_last_us.p99 as f64 / 1000.0,
                    st.errors,
                    if st.live_missing + st.live_stale > 0 {
                        format!(" missing {} stale {}", st.live_missing, st.live_stale)
                    } else {
                        String::new()
                    },
                    if st.violations > 0 {
                        format!(" violations {}", st.violations)
                    } else {
                        String::new()
                    },
                    if st.lost_updates > 0 {
                        format!(" lost updates {}", st.lost_updates)
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        eprintln!(
            "[{:>5.1}s {:?}] {}",
            s.elapsed_ms as f64 / 1000.0,
            s.phase,
            parts.join(" | ")
        );
    }
}
