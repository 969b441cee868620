//! The injector: applies faults to a running deployment, heals them when
//! their duration ends, and keeps a record of each for the report. The
//! scenario timeline calls it; the TUI will call it for live faults.

use nix::sys::signal::Signal;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::followup::{self, FollowUp, FollowUps, Plan};
pub use super::record::{FaultError, FaultRecord};
use super::{
    Fault, FaultKind, LinkParams, evict, failover, flush, link, power_loss, process, target,
};
use crate::events::EventLog;
use crate::fabric::powerfs::LossSummary;
use crate::provision::Deployment;

/// A fault that can still be healed.
#[derive(Debug, Clone)]
pub struct ActiveFault {
    pub id: usize,
    pub kind: FaultKind,
    pub nodes: Vec<usize>,
    /// Heals by itself after this long; `None` waits for a manual heal.
    pub duration: Option<Duration>,
    pub link: LinkParams,
    /// What `evict` changed, per node, to put back.
    pub saved: Vec<(usize, evict::Saved)>,
    /// When its checkpoints come.
    pub plan: Plan,
    /// The topology node it hit.
    pub group: String,
}

pub struct Injector {
    /// Weak: whoever runs the deployment owns it; when they drop it (end of
    /// run, Ctrl-C) the nodes go at once, whatever timers are pending.
    dep: Weak<Mutex<Deployment>>,
    events: EventLog,
    /// Held for the whole of each heal, so `heal_pending` can wait for a
    /// heal a timer started.
    healing: Mutex<()>,
    start: Instant,
    records: std::sync::Mutex<Vec<FaultRecord>>,
    active: std::sync::Mutex<Vec<ActiveFault>>,
    follow_ups: Option<FollowUps>,
}

impl Injector {
    /// `start` is the run's time origin (the engine's). With `follow_up`,
    /// faults that can destroy acknowledged writes are followed by
    /// checkpoints.
    pub fn new(
        dep: &Arc<Mutex<Deployment>>,
        events: EventLog,
        start: Instant,
        follow_up: Option<FollowUp>,
    ) -> Arc<Self> {
        Arc::new(Self {
            dep: Arc::downgrade(dep),
            healing: Mutex::new(()),
            events,
            start,
            records: Default::default(),
            active: Default::default(),
            follow_ups: follow_up.map(FollowUps::new),
        })
    }

    /// Record a fault that was asked for and did not happen (the timeline
    /// could not inject it, or the load ended before its time). `at`: when
    /// it was due.
    pub fn record_failed(&self, fault: &Fault, at: Instant, reason: String) {
        self.record(FaultRecord {
            message: format!("{fault}: {reason}"),
            error: Some(reason),
            ..FaultRecord::of(fault, at, self.ms(at))
        });
    }

    /// Keep `r` with the next id; that id.
    fn record(&self, r: FaultRecord) -> usize {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let id = records.len();
        records.push(FaultRecord { id, ..r });
        id
    }

    fn set_error(&self, id: usize, error: String) {
        if let Some(r) = self
            .records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(id)
        {
            r.error.get_or_insert(error);
        }
    }

    pub fn events(&self) -> &EventLog {
        &self.events
    }

    fn deployment(&self) -> Result<Arc<Mutex<Deployment>>, String> {
        self.dep
            .upgrade()
            .ok_or_else(|| "the run is over: its nodes are gone".to_string())
    }

    pub fn records(&self) -> Vec<FaultRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Faults still active (not healed), e.g. to show what holds a node.
    pub fn active(&self) -> Vec<ActiveFault> {
        self.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn ms(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.start).as_millis() as u64
    }

    /// Inject `fault` now. With a duration (for kinds that heal), a timer
    /// heals it later.
    pub async fn inject(self: &Arc<Self>, fault: Fault) -> Result<usize, FaultError> {
        let err = |reason: String| FaultError {
            fault: fault.to_string(),
            reason,
            recorded: false,
        };
        let dep = self.deployment().map_err(err)?;
        let mut dep = dep.lock().await;
        let nodes = target::resolve(&dep, &fault.target).await.map_err(err)?;
        // A power loss asked to fall when this much is unsynced waits for
        // that moment; the fault's time is when it falls.
        if let (FaultKind::PowerLoss, Some(at_least), Some(&i)) =
            (fault.kind, fault.unsynced, nodes.first())
        {
            power_loss::wait_unsynced(&dep.nodes[i], at_least).await;
        }
        let repl_lag_bytes = match nodes.first() {
            Some(&i) => crate::observe::replication::replication_lag(&dep.nodes[i]).await,
            None => None,
        };
        // What a promotion watch needs, taken before the fault acts.
        let watch = match (&self.follow_ups, nodes.first()) {
            (Some(f), Some(&i)) => Some(f.watch(&dep, &dep.nodes[i].info.group)),
            _ => None,
        };
        let at = Instant::now();
        let names: Vec<String> = nodes
            .iter()
            .map(|&i| dep.nodes[i].info.name.clone())
            .collect();
        let group = nodes
            .first()
            .map(|&i| dep.nodes[i].info.group.clone())
            .unwrap_or_default();
        let plan = dep
            .topology
            .nodes
            .iter()
            .find(|n| n.name == group)
            .map(|n| followup::plan(fault.kind, fault.link.peers, &n.kind))
            .unwrap_or_default();
        let mut discarded: Option<LossSummary> = None;
        let mut unsynced_ms: Option<u64> = None;
        let mut saved = Vec::new();
        let acted: Result<String, String> = async {
            Ok(match fault.kind {
            FaultKind::Kill => {
                for &i in &nodes {
                    process::kill(&mut dep.nodes[i])?;
                }
                process::how(&nodes.iter().map(|&i| &dep.nodes[i]).collect::<Vec<_>>(), Signal::SIGKILL)
            }
            FaultKind::Restart => {
                let mut took = Vec::new();
                for &i in &nodes {
                    process::kill(&mut dep.nodes[i])?;
                    let (nodes_mut, spawner) = dep.nodes_and_spawner();
                    let t = process::start_again(&mut nodes_mut[i], spawner)
                        .await
                        ?;
                    took.push(format!(
                        "{} answered after {} ms",
                        names[took.len()],
                        t.as_millis()
                    ));
                }
                format!("restarted: {}", took.join(", "))
            }
            FaultKind::Pause => {
                for &i in &nodes {
                    process::pause(&mut dep.nodes[i])?;
                }
                process::how(&nodes.iter().map(|&i| &dep.nodes[i]).collect::<Vec<_>>(), Signal::SIGSTOP)
            }
            FaultKind::Resume => {
                for &i in &nodes {
                    process::resume(&mut dep.nodes[i])?;
                }
                // Resuming heals any pause of these processes.
                self.active
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .retain(|a| !(a.kind == FaultKind::Pause && a.nodes == nodes));
                process::how(&nodes.iter().map(|&i| &dep.nodes[i]).collect::<Vec<_>>(), Signal::SIGCONT)
            }
            FaultKind::PowerLoss => {
                let mut total = LossSummary::default();
                let mut unsynced = Vec::new();
                for &i in &nodes {
                    let (s, since) = power_loss::inject(&mut dep.nodes[i])?;
                    add(&mut total, &s);
                    unsynced.extend(since.map(|d| format!("{} ms", d.as_millis())));
                    if let Some(d) = since {
                        let ms = d.as_millis() as u64;
                        unsynced_ms = Some(unsynced_ms.map_or(ms, |m| m.max(ms)));
                    }
                }
                let m = format!(
                    "power lost on {}: {} bytes not fsynced discarded ({} files cut, {} removed; {} after the last fsync)",
                    names.join(", "),
                    total.bytes_discarded,
                    total.files_truncated,
                    total.files_removed,
                    unsynced.join(", "),
                );
                discarded = Some(total);
                m
            }
            FaultKind::Failover => {
                let node = &dep.nodes[nodes[0]];
                let group = node.info.group.clone();
                if node.info.kind == "redis-cluster" {
                    failover::cluster(node, fault.mode.as_deref())
                        .await
                        ?;
                    format!("CLUSTER FAILOVER on {}", names[0])
                } else {
                    let mut done = Err("no Sentinel of this group answers".to_string());
                    for s in dep
                        .nodes
                        .iter()
                        .filter(|n| n.info.group == group && n.info.role == "sentinel")
                    {
                        done = failover::sentinel(s, &group).await;
                        if done.is_ok() {
                            break;
                        }
                    }
                    done?;
                    format!("SENTINEL FAILOVER {group} (primary was {})", names[0])
                }
            }
            FaultKind::Flush => {
                for &i in &nodes {
                    flush::inject(&dep.nodes[i]).await?;
                }
                format!("flushed {}", names.join(", "))
            }
            FaultKind::Evict => {
                let max = fault.maxmemory.as_deref().unwrap_or("1mb");
                let policy = fault.policy.as_deref().unwrap_or(evict::DEFAULT_POLICY);
                for &i in &nodes {
                    saved.push((i, evict::inject(&dep.nodes[i], max, policy).await?));
                }
                format!("maxmemory {max} ({policy}) on {}", names.join(", "))
            }
            k if k.is_link() => {
                let mut said = Vec::new();
                for &i in &nodes {
                    let cluster_cut = k == FaultKind::Partition
                        && fault.link.peers
                        && dep.nodes[i].bus_proxy.is_some();
                    said.push(if cluster_cut {
                        link::cluster_partition(&dep.nodes, i, true)?
                    } else {
                        link::inject(&dep.nodes[i], k, &fault.link)?
                    });
                }
                said.join("; ")
            }
            k => return Err(format!("{} cannot be injected", k.name())),
        })
        }
        .await;
        // A kill, restart or power loss that failed half-way may have left
        // processes dead: it is still recorded (and healed by a restart).
        let half_done = matches!(
            fault.kind,
            FaultKind::Kill | FaultKind::Restart | FaultKind::PowerLoss
        ) && nodes
            .iter()
            .any(|&i| !process::is_running(&mut dep.nodes[i]));
        let (message, failure) = match acted {
            Ok(m) => (m, None),
            Err(e) if half_done => (format!("{fault} failed half-way: {e}"), Some(e)),
            Err(e) => return Err(err(e)),
        };
        drop(dep);
        let id = self.record(FaultRecord {
            group: group.clone(),
            processes: names.clone(),
            message: message.clone(),
            repl_lag_bytes,
            discarded,
            unsynced_ms,
            fired: true,
            error: failure.clone(),
            ..FaultRecord::of(&fault, at, self.ms(at))
        });
        self.events.push("fault", &names.join(","), message);
        if let Some(reason) = failure {
            self.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(ActiveFault {
                    id,
                    kind: FaultKind::Kill,
                    nodes,
                    duration: Some(Duration::ZERO),
                    link: LinkParams::default(),
                    saved: Vec::new(),
                    plan: Plan::default(),
                    group,
                });
            return Err(FaultError {
                recorded: true,
                ..err(reason)
            });
        }
        if let Some(f) = &self.follow_ups {
            if plan.at_once {
                f.checkpoint(id, &group, format!("after {fault}"), plan.settle);
            }
            if let (true, Some(watch)) = (plan.on_promotion, watch) {
                let limit = match (fault.kind, fault.duration) {
                    (FaultKind::Failover, _) => followup::FAILOVER_LIMIT,
                    (_, Some(d)) => d,
                    (_, None) => followup::PROMOTION_LIMIT,
                };
                let me = self.clone();
                let failed = (fault.kind == FaultKind::Failover)
                    .then_some(move |why: String| me.set_error(id, why));
                f.on_promotion(id, watch, at + limit, plan.settle, failed);
            }
        }
        if fault.kind.heals() {
            self.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(ActiveFault {
                    id,
                    kind: fault.kind,
                    nodes: nodes.clone(),
                    duration: fault.duration,
                    link: fault.link.clone(),
                    saved,
                    plan,
                    group: group.clone(),
                });
            if let Some(d) = fault.duration {
                let me = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    me.heal(id).await;
                });
            }
        }
        Ok(id)
    }

    /// Heal fault `id` if it is still active: restart what was killed,
    /// resume what was paused.
    pub async fn heal(&self, id: usize) {
        let _healing = self.healing.lock().await;
        let Some(active) = ({
            let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
            a.iter().position(|f| f.id == id).map(|i| a.swap_remove(i))
        }) else {
            return;
        };
        let Ok(dep) = self.deployment() else { return };
        let mut dep = dep.lock().await;
        let mut notes = Vec::new();
        let mut failed = false;
        for &i in &active.nodes {
            let name = dep.nodes[i].info.name.clone();
            let result = match active.kind {
                FaultKind::Pause => {
                    process::resume(&mut dep.nodes[i]).map(|_| "resumed".to_string())
                }
                FaultKind::Kill | FaultKind::PowerLoss => {
                    let (nodes_mut, spawner) = dep.nodes_and_spawner();
                    process::start_again(&mut nodes_mut[i], spawner)
                        .await
                        .map(|t| format!("restarted, answered after {} ms", t.as_millis()))
                }
                FaultKind::Partition if active.link.peers && dep.nodes[i].bus_proxy.is_some() => {
                    link::cluster_partition(&dep.nodes, i, false)
                }
                k if k.is_link() => {
                    let still: Vec<(FaultKind, LinkParams)> = self
                        .active
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .iter()
                        .filter(|a| {
                            a.kind.is_link()
                                && a.nodes.contains(&i)
                                && a.link.peers == active.link.peers
                        })
                        .map(|a| (a.kind, a.link.clone()))
                        .collect();
                    link::rebuild(&dep.nodes[i], k, &active.link, &still)
                }
                FaultKind::Evict => match active.saved.iter().find(|(j, _)| *j == i) {
                    Some((_, saved)) => evict::heal(&dep.nodes[i], saved)
                        .await
                        .map(|_| format!("maxmemory back to {}", saved.maxmemory)),
                    None => Ok(String::new()),
                },
                _ => Ok(String::new()),
            };
            match result {
                Ok(m) => notes.push(format!("{name} {m}")),
                Err(e) => {
                    failed = true;
                    self.events.push("heal-failed", &name, e.clone());
                    self.set_error(id, format!("{name} did not heal: {e}"));
                    notes.push(format!("{name}: {e}"));
                }
            }
        }
        drop(dep);
        // Only on a node that is back: reading a dead one would hold the
        // load while every read fails.
        if let (true, false, Some(f)) = (active.plan.at_heal, failed, &self.follow_ups) {
            f.checkpoint(id, &active.group, "healed".into(), active.plan.settle);
        }
        let now = Instant::now();
        if let Some(r) = self
            .records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(id)
        {
            r.healed_ms = Some(self.ms(now));
        }
        self.events.push("healed", "", notes.join("; "));
    }

    /// Heal every fault that heals (pauses resumed, killed nodes with a
    /// duration restarted early) — at the end of the load, before the
    /// final sweep. Kills without a duration stay: the user asked for them.
    pub async fn heal_pending(&self) {
        let ids: Vec<usize> = self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|a| {
                // A power loss is always followed by a restart: without
                // one, the sweep could prove nothing about what survived.
                matches!(
                    a.kind,
                    FaultKind::Pause | FaultKind::Evict | FaultKind::PowerLoss
                ) || a.kind.is_link()
                    || a.duration.is_some()
            })
            .map(|a| a.id)
            .collect();
        for id in ids {
            self.heal(id).await;
        }
        // A heal a timer started just before is finished too.
        drop(self.healing.lock().await);
        // A failover asked for is seen to happen, or fails the run.
        if let Some(f) = &self.follow_ups {
            f.failovers_done().await;
        }
    }

    /// How long ago (from now) the run started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

fn add(total: &mut LossSummary, s: &LossSummary) {
    total.files_truncated += s.files_truncated;
    total.bytes_discarded += s.bytes_discarded;
    total.files_removed += s.files_removed;
    total.renames_undone += s.renames_undone;
    total.unlinks_undone += s.unlinks_undone;
}
