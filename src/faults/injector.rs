//! The injector: applies faults to a running deployment, heals them when
//! their duration ends, and keeps a record of each for the report. The
//! scenario timeline and the dashboard's fault keys call it. What each kind
//! does is its own file's ([`super::kinds`]); this is only the lifecycle.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::behaviour::{Mend, Strike};
use super::followup::{self, FollowUp, FollowUps, Plan};
pub use super::record::{FaultError, FaultRecord};
use super::{Fault, FaultAction, FaultKind, process, target};
use crate::events::EventLog;
use crate::provision::Deployment;

/// A fault that can still be healed.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveFault {
    pub id: usize,
    /// As injected: with what it keeps for its heal.
    pub action: FaultAction,
    /// On the peer link.
    pub peers: bool,
    pub nodes: Vec<usize>,
    /// Heals by itself after this long; `None` waits for a manual heal.
    pub duration: Option<Duration>,
    /// When its checkpoints come.
    pub plan: Plan,
    /// The topology node it hit.
    pub node: String,
}

impl ActiveFault {
    pub fn kind(&self) -> FaultKind {
        self.action.kind()
    }
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
    /// Faults that end by themselves: what stops watching for their end
    /// once they are healed another way (a watch that never ends would
    /// read a cloud's API for the rest of the process).
    watching: std::sync::Mutex<std::collections::HashMap<usize, CancellationToken>>,
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
            watching: Default::default(),
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
        let kind = fault.kind();
        let dep = self.deployment().map_err(err)?;
        let mut dep = dep.lock().await;
        let nodes = target::resolve(&dep, &fault.target).await.map_err(err)?;
        fault.action.prepare(&dep, &nodes).await;
        let repl_lag_bytes = match nodes.first() {
            Some(&i) => crate::observe::replication::replication_lag(&dep.nodes[i]).await,
            None => None,
        };
        // What a promotion watch needs, taken before the fault acts.
        let watch = match (&self.follow_ups, nodes.first()) {
            (Some(f), Some(&i)) => Some(f.watch(&dep, &dep.nodes[i].info.node)),
            _ => None,
        };
        let at = Instant::now();
        let names: Vec<String> = nodes
            .iter()
            .map(|&i| dep.nodes[i].info.name.clone())
            .collect();
        let sentinels_only =
            !nodes.is_empty() && nodes.iter().all(|&i| dep.nodes[i].info.role.is_sentinel());
        let group = nodes
            .first()
            .map(|&i| dep.nodes[i].info.node.clone())
            .unwrap_or_default();
        let plan = dep
            .topology
            .nodes
            .iter()
            .find(|n| n.name == group)
            .map(|n| followup::plan(kind, fault.peers, &n.kind))
            .unwrap_or_default();
        let mut action = fault.action.clone();
        let mut cx = Strike {
            dep: &mut dep,
            nodes: &nodes,
            names: &names,
            peers: fault.peers,
            discarded: None,
            unsynced_ms: None,
            events: &self.events,
            ends: None,
        };
        let held = match &self.follow_ups {
            Some(f) if plan.hold_ahead => f.hold(),
            _ => None,
        };
        // Held ahead: the fault acts once what was already sent has
        // ended, not in the middle of it.
        if let (Some(_), Some(f)) = (&held, &self.follow_ups) {
            f.drained().await;
            if plan.read_first {
                f.read_first(&group).await;
            }
        }
        let acted = action.inject(&mut cx).await;
        let (discarded, unsynced_ms, ends) = (cx.discarded.take(), cx.unsynced_ms, cx.ends.take());
        if let (Ok(_), Some(ended)) = (&acted, kind.ends()) {
            self.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|a| !(a.kind() == ended && a.nodes == nodes));
        }
        // A kill, restart or power loss that failed half-way may have left
        // processes dead: it is still recorded (and healed by a restart).
        let half_done = kind.stops_processes()
            && nodes
                .iter()
                .any(|&i| !process::is_running(&mut dep.nodes[i]));
        let (message, failure) = match acted {
            Ok(m) => (m, None),
            Err(e) if half_done => (format!("{fault} failed half-way: {e}"), Some(e)),
            Err(e) => return Err(err(e)), // `held`, dropped, lets go
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
            sentinels_only,
            error: failure.clone(),
            ..FaultRecord::of(&fault, at, self.ms(at))
        });
        self.events.push("fault", &names.join(","), message);
        // No checkpoint follows a failure: dropped, the hold lets go.
        let held = held.filter(|_| failure.is_none());
        if let Some(reason) = failure {
            // Healed like a kill: what is dead is started again.
            self.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(ActiveFault {
                    id,
                    action: FaultAction::Kill(super::kinds::Kill),
                    peers: false,
                    nodes,
                    duration: Some(Duration::ZERO),
                    plan: Plan::default(),
                    node: group,
                });
            return Err(FaultError {
                recorded: true,
                ..err(reason)
            });
        }
        if let Some(f) = &self.follow_ups {
            if plan.at_once {
                f.checkpoint(id, &group, format!("after {fault}"), plan.settle, held);
            }
            if let (true, Some(watch)) = (plan.on_promotion, watch) {
                let limit = match fault.duration {
                    _ if kind.must_promote() => followup::FAILOVER_LIMIT,
                    Some(d) => d,
                    None => followup::PROMOTION_LIMIT,
                };
                let me = self.clone();
                let failed = kind
                    .must_promote()
                    .then_some(move |why: String| me.set_error(id, why));
                f.on_promotion(id, watch, at + limit, plan.settle, failed);
            }
        }
        if kind.heals() {
            self.active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(ActiveFault {
                    id,
                    action,
                    peers: fault.peers,
                    nodes: nodes.clone(),
                    duration: fault.duration,
                    plan,
                    node: group.clone(),
                });
            if let Some(d) = fault.duration {
                let me = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    me.heal(id).await;
                });
            }
        }
        // A fault that ends by itself (a cloud experiment) is healed then:
        // its checkpoint counts what it destroyed.
        if let Some(ends) = ends {
            let me = self.clone();
            let who = names.join(",");
            let healed = CancellationToken::new();
            self.watching
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, healed.clone());
            tokio::spawn(async move {
                let ended = tokio::select! {
                    e = ends => e,
                    () = healed.cancelled() => return,
                };
                match ended {
                    Ok(m) => me.events.push("fault-ended", &who, m),
                    Err(e) => {
                        me.events.push("fault-failed", &who, e.clone());
                        me.set_error(id, e);
                    }
                }
                me.heal(id).await;
            });
        }
        Ok(id)
    }

    /// Heal fault `id` if it is still active: restart what was killed,
    /// resume what was paused, take its toxics off the link…
    pub async fn heal(&self, id: usize) {
        let _healing = self.healing.lock().await;
        let Some(active) = ({
            let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
            a.iter().position(|f| f.id == id).map(|i| a.swap_remove(i))
        }) else {
            return;
        };
        let Ok(dep) = self.deployment() else { return };
        // What it started outside this machine ends first, with the load
        // going and the deployment free (a cloud experiment's stop).
        let aws = dep.lock().await.topology.aws.clone();
        let mut notes = Vec::new();
        let mut failed = false;
        match active.action.wind_down(&aws).await {
            Ok(Some(m)) => notes.push(m),
            Ok(None) => {}
            Err(e) => {
                failed = true;
                self.events.push("heal-failed", &active.node, e.clone());
                self.set_error(id, e.clone());
                notes.push(e);
            }
        }
        let mut dep = dep.lock().await;
        // Held before the node comes back, not once it answers: a write
        // landing on it before the checkpoint reads could make what the
        // fault destroyed look durable. Only once the deployment is ours
        // (waiting for another fault's injection with the load held would
        // change that fault's drill). Unavailability still counts the
        // restart (the checkpoint is measured from the hold until its
        // first read succeeds). A process started again holds only the
        // writes: the reads go on while it loads its data, and show what
        // it answered meanwhile (`LOADING`, or a fallback's answer).
        let held = match (&self.follow_ups, active.plan.at_heal) {
            (Some(f), true) if active.kind().stops_processes() => {
                let held = f.hold_writes();
                // A write handed over before the hold may still be on its
                // way (waiting for its session): it ends, against the dead
                // node, before the node is started again — at once, as
                // nothing answers there. (Not for a node left running,
                // a paused one: what is in flight there waits it out.)
                if held.is_some() {
                    f.drained().await;
                }
                held
            }
            (Some(f), true) => f.hold(),
            _ => None,
        };
        for &i in &active.nodes {
            let name = dep.nodes[i].info.name.clone();
            // The other link faults on the same link keep their toxics.
            let still: Vec<FaultAction> = self
                .active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .filter(|a| a.kind().is_link() && a.nodes.contains(&i) && a.peers == active.peers)
                .map(|a| a.action.clone())
                .collect();
            let mut cx = Mend {
                dep: &mut dep,
                peers: active.peers,
                still: &still,
            };
            match active.action.heal(&mut cx, i).await {
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
        // load while every read fails (dropped, `held` lets go).
        if let (true, false, Some(f)) = (active.plan.at_heal, failed, &self.follow_ups) {
            f.checkpoint(id, &active.node, "healed".into(), active.plan.settle, held);
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
        // Healed: its end is no longer watched for.
        if let Some(w) = self
            .watching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
        {
            w.cancel();
        }
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
            .filter(|a| a.kind().healed_at_end() || a.duration.is_some())
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
