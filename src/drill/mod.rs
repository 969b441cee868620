//! A running drill: a scenario's deployment, its store strategies, the
//! engine driving them, the fault injector and the observer — everything
//! the headless runner and the dashboard share. Neither face measures
//! anything itself; both read the engine's snapshots and events and end
//! with the same [`Report`].

pub mod answers;
pub mod capacity;
mod cloud_faults;
mod external_cleanup;
mod timeline_hooks;

use timeline_hooks::TimelineHooks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

use crate::events::EventLog;
use crate::faults::{FollowUp, Injector};
use crate::observe::node_status::NodeStatus;
use crate::observe::observer;
use crate::provision::{self, Deployment, Home, ProcessInfo, ProvisionError, UpOptions};
use crate::report::{self, Report};
use crate::scenario::{CheckMode, Scenario};
use crate::store;
use crate::workload::{self, LoadControl, RunHandle, RunHooks, StrategyRun};

#[derive(Debug, Clone)]
pub struct DrillOptions {
    pub home: Home,
    pub keep: bool,
    /// Override the scenario's load duration.
    pub duration: Option<Duration>,
    /// Ready for faults chosen live (the dashboard): every link proxied and,
    /// where FUSE works, every data directory on the power-loss filesystem.
    pub live_faults: bool,
    /// The command line said `--external`: the topology may name nodes
    /// sessiondrill does not run.
    pub external: bool,
    /// Keep the operation history, at most this many lines
    /// ([`Drill::finish_with_history`]).
    pub history: Option<usize>,
    /// The price table and the scale the report's cost is for.
    pub cost: CostOptions,
}

/// What the report's "Cost" section is priced with, and for how many
/// sessions and operations per second.
#[derive(Debug, Clone)]
pub struct CostOptions {
    pub prices: Arc<crate::cost::Prices>,
    /// Where the table came from (the shipped file, or `--prices`).
    pub file: String,
    pub scale: report::cost::ScaleArgs,
}

impl Default for CostOptions {
    /// The shipped table, at the scenario's own scale.
    fn default() -> Self {
        Self {
            prices: Arc::new(crate::cost::Prices::builtin()),
            file: crate::cost::prices::DEFAULT_PATH.into(),
            scale: Default::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error("strategy {strategy}: {reason}")]
    Strategy { strategy: String, reason: String },
    /// A timeline entry would never fire in the load asked for.
    #[error(transparent)]
    Timeline(#[from] crate::yaml::FileError),
    /// A bulk prefill this machine cannot hold.
    #[error("{0}")]
    Capacity(String),
}

impl DrillError {
    /// Invalid input or environment (exit code 2) rather than a failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            DrillError::Provision(e) => e.is_user_error(),
            DrillError::Strategy { .. } | DrillError::Timeline(_) | DrillError::Capacity(_) => true,
        }
    }
}

pub struct Drill {
    pub scenario: Scenario,
    pub run_id: String,
    pub ready_in: Duration,
    /// Every node as provisioned (ports, pids at start), in deployment order.
    pub nodes: Vec<ProcessInfo>,
    /// Why power-loss is not possible in this drill, if it is not.
    pub power_loss_unavailable: Option<String>,
    pub deployment: Arc<Mutex<Deployment>>,
    pub injector: Arc<Injector>,
    pub engine: RunHandle,
    pub status: watch::Receiver<Vec<NodeStatus>>,
    pub duration: Duration,
    /// What the clouds' faults created before the load, removed by
    /// [`Drill::finish`].
    leftovers: Vec<crate::faults::behaviour::Leftover>,
    cost: CostOptions,
    stop_observing: CancellationToken,
    observer: tokio::task::JoinHandle<()>,
    /// A drill dropped before it finished (the dashboard quit) stops its
    /// load and observer at once instead of loading dead nodes.
    _abandon: Abandon,
}

struct Abandon {
    load: LoadControl,
    observer: CancellationToken,
}

impl Drop for Abandon {
    fn drop(&mut self) {
        self.load.abandon();
        self.observer.cancel();
    }
}

impl Drill {
    /// Provision, connect every strategy and start the load (and timeline).
    pub async fn start(scenario: Scenario, opts: &DrillOptions) -> Result<Drill, DrillError> {
        if let Some(d) = opts.duration {
            scenario.fits(d)?;
        }
        capacity::check(&scenario, &opts.home.root).map_err(DrillError::Capacity)?;
        let mut up = UpOptions::new(opts.home.clone());
        up.keep = opts.keep;
        let fuse = crate::fabric::powerfs::available();
        up.power_loss_fs = scenario.needs_power_loss_fs() || (opts.live_faults && fuse.is_ok());
        up.proxies = scenario.needs_proxies() || opts.live_faults;
        up.external = opts.external;
        let deployment = provision::up(&scenario.topology, &up).await?;
        let mut runs = Vec::new();
        for &kind in &scenario.strategies {
            let store = store::build(kind, &scenario.wiring(), &deployment)
                .await
                .map_err(|e| DrillError::Strategy {
                    strategy: kind.name().to_string(),
                    reason: e.to_string(),
                })?;
            runs.push(StrategyRun {
                kind,
                store,
                groups: scenario.groups_of(kind),
            });
        }
        // Last before the load: nothing after it can fail, so what it
        // creates in AWS is removed by `finish`.
        let mut scenario = scenario;
        let leftovers = cloud_faults::before_load(&mut scenario, deployment.run_id()).await?;
        let duration = opts.duration.unwrap_or(scenario.workload.duration);
        let events = EventLog::new(Instant::now());
        let stop_observing = CancellationToken::new();
        let obs = observer::spawn(&deployment, events.clone(), stop_observing.clone());
        let run_id = deployment.run_id().to_string();
        let ready_in = deployment.ready_in;
        let nodes = deployment.infos();
        let deployment = Arc::new(Mutex::new(deployment));
        // Checkpoints after faults, unless the scenario counts only at the end.
        let (follow_up, requests) = match scenario.check {
            CheckMode::Checkpoints => {
                let (checkpoints, requests) = crate::check::checkpoint::channel();
                let follow_up = FollowUp {
                    checkpoints,
                    status: obs.status.clone(),
                };
                (Some(follow_up), Some(requests))
            }
            CheckMode::EndOnly => (None, None),
        };
        let injector = Injector::new(&deployment, events.clone(), events.origin(), follow_up);
        // Also with an empty timeline: faults from the dashboard are healed
        // before the final sweep, and a failover asked for is waited for.
        let hooks: Option<Arc<dyn RunHooks>> = Some(Arc::new(TimelineHooks::new(
            injector.clone(),
            scenario.timeline.clone(),
        )));
        let history = opts
            .history
            .map(|lines| Arc::new(workload::History::new(events.origin(), lines)));
        let engine = workload::start(
            &scenario.workload,
            duration,
            runs,
            events,
            hooks,
            requests,
            history,
        );
        let abandon = Abandon {
            load: engine.control.clone(),
            observer: stop_observing.clone(),
        };
        Ok(Drill {
            _abandon: abandon,
            power_loss_unavailable: (!up.power_loss_fs).then(|| {
                fuse.err()
                    .unwrap_or_else(|| "not mounted for this run".into())
            }),
            scenario,
            leftovers,
            cost: opts.cost.clone(),
            run_id,
            ready_in,
            nodes,
            deployment,
            injector,
            engine,
            status: obs.status,
            duration,
            stop_observing,
            observer: obs.task,
        })
    }

    pub fn control(&self) -> &LoadControl {
        &self.engine.control
    }

    pub fn events(&self) -> &EventLog {
        &self.engine.events
    }

    /// Wait for the load, drain and sweep to end; tear the nodes down;
    /// build the report.
    pub async fn finish(self) -> Report {
        self.finish_with_history().await.0
    }

    /// [`Drill::finish`], and the operation history when it was kept
    /// (`DrillOptions::history`).
    pub async fn finish_with_history(self) -> (Report, Option<Arc<workload::History>>) {
        let outcome = self.engine.finish().await;
        self.stop_observing.cancel();
        let _ = self.observer.await;
        let faults = self.injector.records();
        drop(self.injector);
        let caches = cache_stats(&self.deployment).await;
        let cleanup =
            external_cleanup::run(&self.scenario, &self.run_id, &*self.deployment.lock().await)
                .await;
        // Last reference: the nodes die and the run directory goes here.
        drop(self.deployment);
        let mut cleanup = cleanup;
        cleanup.extend(
            cloud_faults::remove(&self.leftovers, &self.scenario.topology.aws, &self.run_id).await,
        );
        let mut report = report::build(&self.scenario, &self.run_id, &outcome, &faults, caches);
        let c = &self.cost;
        report.cost = Some(report::cost::estimate(
            &report,
            &self.scenario,
            &c.prices,
            &c.file,
            c.scale,
        ));
        if cleanup.iter().any(|c| c.left > 0 || c.error.is_some()) {
            report.ok = false;
        }
        report.external_cleanup = cleanup;
        (report, outcome.history)
    }
}

/// Write `history` as JSON lines to `path` (whole or not at all), with the
/// report's faults among the lines (`nemesis` start and stop, at the ms
/// the report has them); how many lines.
pub fn write_history(
    path: &std::path::Path,
    history: &workload::History,
    report: &Report,
) -> std::io::Result<usize> {
    let names: Vec<String> = report.strategies.keys().cloned().collect();
    let mut nemesis = Vec::new();
    for f in report.faults.iter().filter(|f| f.fired) {
        let what = format!("{} {}: {}", f.kind, f.target, f.message);
        nemesis.push((f.at_ms * 1000, "start", what.clone()));
        if let Some(h) = f.healed_ms {
            nemesis.push((h * 1000, "stop", what));
        }
    }
    let mut n = 0;
    write_atomically_with(path, |w| {
        n = history.write(w, &names, &nemesis)?;
        Ok(())
    })?;
    Ok(n)
}

/// Every DAX node's cache counters (nodes that do not answer are left out).
async fn cache_stats(
    deployment: &Mutex<Deployment>,
) -> indexmap::IndexMap<String, crate::nodes::dax::DaxStats> {
    let nodes: Vec<(String, u16)> = deployment
        .lock()
        .await
        .nodes
        .iter()
        .filter(|n| n.info.kind == crate::topology::KindName::Dax)
        .map(|n| (n.info.name.clone(), n.info.port))
        .collect();
    let mut out = indexmap::IndexMap::new();
    for (name, port) in nodes {
        let limit = std::time::Duration::from_secs(1);
        if let Ok(s) = crate::nodes::dax::probe::stats(port, limit).await {
            out.insert(name, s);
        }
    }
    out
}

/// Write the report as JSON and/or Markdown.
pub fn write_report(
    report: &Report,
    json: Option<&std::path::Path>,
    md: Option<&std::path::Path>,
) -> Result<(), String> {
    if let Some(path) = json {
        serde_json::to_vec_pretty(report)
            .map_err(std::io::Error::other)
            .and_then(|b| write_atomically(path, &b))
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    if let Some(path) = md {
        write_atomically(path, report::markdown(report).as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Write `path` whole or not at all: a temporary file beside it, renamed
/// over it. A killed run, a full disk or a reader looking at the same
/// moment never sees half a report (and a previous one stays until the
/// new one is complete).
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// Can a file be written at `path` (its directory takes a new file)?
/// Asked before a run, so that a file asked for does not fail after it.
pub fn check_writable(path: &std::path::Path) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let probe = path.with_file_name(format!(
        ".{}.{}.probe",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

/// [`write_atomically`], the contents written by `fill` through a buffer
/// (nothing of it held whole in memory).
pub fn write_atomically_with(
    path: &std::path::Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        fill(&mut w)?;
        w.flush()?;
        w.get_ref().sync_all()
    });
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod write_tests {
    #[test]
    fn a_report_is_replaced_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, b"old").unwrap();
        super::write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["r.json"]);
        // A directory that is not there: an error, nothing left behind.
        assert!(super::write_atomically(&dir.path().join("no/r.json"), b"x").is_err());
    }
}
