//! `run SCENARIO`: headless. Provision the topology, run the workload on
//! every strategy side by side, check, report. Progress on stderr.
//! Exit 0 when every expectation holds, 1 when one fails, 2 on invalid
//! input or environment.

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::parse_duration;
use crate::events::EventLog;
use crate::faults::timeline::TimelineHooks;
use crate::faults::{self, Injector};
use crate::metrics::Snapshot;
use crate::provision::{self, Home, UpOptions};
use crate::report;
use crate::scenario::Scenario;
use crate::store;
use crate::workload::{self, RunHooks, StrategyRun};
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (see topologies/).
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
    /// Keep the run directory (configs, data, logs) afterwards.
    #[arg(long)]
    pub keep: bool,
}

pub async fn run(args: RunArgs, home: Home) -> u8 {
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("error: cannot listen for signals");
        return 1;
    };
    tokio::select! {
        code = run_scenario(&scenario, &args, home) => code,
        _ = int.recv() => { eprintln!("interrupted; torn down."); 1 }
        _ = term.recv() => { eprintln!("terminated; torn down."); 1 }
    }
}

async fn run_scenario(scenario: &Scenario, args: &RunArgs, home: Home) -> u8 {
    let mut opts = UpOptions::new(home);
    opts.keep = args.keep;
    opts.power_loss_fs = scenario.needs_power_loss_fs();
    opts.proxies = scenario.needs_proxies();
    eprintln!(
        "{}: bringing up {} ({} processes)…",
        scenario.name,
        scenario.topology.name,
        scenario.topology.process_count()
    );
    let deployment = match provision::up(&scenario.topology, &opts).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return if e.is_user_error() { 2 } else { 1 };
        }
    };
    eprintln!(
        "ready in {} ms (run {})",
        deployment.ready_in.as_millis(),
        deployment.run_id()
    );
    let mut runs = Vec::new();
    for &kind in &scenario.strategies {
        match store::build(kind, scenario, &deployment).await {
            Ok(store) => runs.push(StrategyRun { kind, store }),
            Err(e) => {
                eprintln!("error: strategy {}: {e}", kind.name());
                return 2;
            }
        }
    }
    let duration = args.duration.unwrap_or(scenario.workload.duration);
    let events = EventLog::new(std::time::Instant::now());
    let stop_observing = CancellationToken::new();
    let observer = faults::observer::spawn(&deployment, events.clone(), stop_observing.clone());
    let deployment = Arc::new(Mutex::new(deployment));
    let injector = Injector::new(&deployment, events.clone(), events.origin());
    let hooks: Option<Arc<dyn RunHooks>> = (!scenario.timeline.is_empty()).then(|| {
        Arc::new(TimelineHooks {
            injector: injector.clone(),
            entries: scenario.timeline.clone(),
        }) as Arc<dyn RunHooks>
    });
    let handle = workload::start(&scenario.workload, duration, runs, events, hooks);
    let progress = tokio::spawn(progress(handle.snapshots.clone()));
    let outcome = handle.finish().await;
    progress.abort();
    stop_observing.cancel();
    let _ = observer.await;
    let faults = injector.records();
    drop(injector);
    // Last reference: the nodes die and the run directory goes here.
    drop(deployment);

    let report = report::build(scenario, &outcome, &faults);
    let md = report::markdown(&report);
    if let Some(path) = &args.json {
        let written = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(path, b));
        if let Err(e) = written {
            eprintln!("error: writing {}: {e}", path.display());
            return 2;
        }
    }
    if let Some(path) = &args.md
        && let Err(e) = std::fs::write(path, &md)
    {
        eprintln!("error: writing {}: {e}", path.display());
        return 2;
    }
    println!("{md}");
    if report.ok { 0 } else { 1 }
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
                    "{} {} ops/s p99 {:.2} ms err {}{}",
                    st.name,
                    st.throughput_last,
                    st.latency_last_us.p99 as f64 / 1000.0,
                    st.errors,
                    if st.live_missing + st.live_stale > 0 {
                        format!(" missing {} stale {}", st.live_missing, st.live_stale)
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
