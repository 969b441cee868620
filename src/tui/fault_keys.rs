//! Keys that break things: a destructive key on the selected node becomes
//! a [`Plan`] for the injector, and one worker runs the plans in key order
//! (so a toggle decides to heal or inject after the keys before it).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::action::Action;
use super::state::{NodeRow, State};
use crate::drill::Drill;
use crate::fabric::proxy::Direction;
use crate::faults::kinds::{Failover, Flush, Kill, Latency, Partition, Pause, PowerLoss, Restart};
use crate::faults::{Fault, FaultAction, FaultKind, FaultRecord, Injector};

/// Power loss from the keyboard: the node is back on what survived after this.
const POWER_OFF_FOR: Duration = Duration::from_secs(2);
/// `l` cycles through these, then off.
const LATENCIES_MS: [u64; 3] = [10, 50, 200];

/// Per process: the next step of the `l` and `x` cycles.
#[derive(Debug, Default)]
pub struct FaultKeys {
    latency: HashMap<String, usize>,
    partition: HashMap<String, usize>,
}

impl FaultKeys {
    /// The plan for key `a` on `node` (row `index`): `None` for a key that
    /// breaks nothing, an error (for the status line) for one that cannot.
    pub fn plan(
        &mut self,
        a: Action,
        node: &NodeRow,
        index: usize,
        power_loss_unavailable: Option<&str>,
    ) -> Result<Option<Plan>, String> {
        let target = node.name.clone();
        let plan = match a {
            Action::Kill => Plan::Inject(Fault::new(FaultAction::Kill(Kill), &target)),
            Action::Flush => Plan::Inject(Fault::new(FaultAction::Flush(Flush), &target)),
            Action::PowerLoss => match power_loss_unavailable {
                Some(why) => return Err(format!("power loss is not possible here: {why}")),
                None => Plan::Inject(Fault {
                    duration: Some(POWER_OFF_FOR),
                    ..Fault::new(
                        FaultAction::PowerLoss(PowerLoss { unsynced: None }),
                        &target,
                    )
                }),
            },
            Action::PauseToggle => Plan::Toggle {
                index,
                holds: &[FaultKind::Pause],
                otherwise: Fault::new(FaultAction::Pause(Pause), &target),
            },
            Action::Restart => Plan::Toggle {
                index,
                holds: &[FaultKind::Kill, FaultKind::PowerLoss],
                otherwise: Fault::new(FaultAction::Restart(Restart), &target),
            },
            Action::Failover => {
                let group_or_node = if node.sentinel { &node.node } else { &target };
                Plan::Inject(Fault::new(
                    FaultAction::Failover(Failover { mode: None }),
                    group_or_node,
                ))
            }
            Action::Latency => {
                let step = self.latency.entry(target.clone()).or_default();
                let next = LATENCIES_MS.get(*step).map(|&ms| {
                    let latency = Latency {
                        latency: Duration::from_millis(ms),
                        jitter: Duration::ZERO,
                        direction: Default::default(),
                    };
                    Fault::new(FaultAction::Latency(latency), &target)
                });
                *step = if next.is_some() { *step + 1 } else { 0 };
                Plan::Cycle {
                    index,
                    kind: FaultKind::Latency,
                    next,
                }
            }
            Action::Partition => {
                let step = self.partition.entry(target.clone()).or_default();
                let next = [Some(Direction::Up), None].get(*step).map(|&direction| {
                    Fault::new(FaultAction::Partition(Partition { direction }), &target)
                });
                *step = if next.is_some() { *step + 1 } else { 0 };
                Plan::Cycle {
                    index,
                    kind: FaultKind::Partition,
                    next,
                }
            }
            Action::HealAll => {
                self.latency.clear();
                self.partition.clear();
                Plan::HealAll
            }
            _ => return Ok(None),
        };
        Ok(Some(plan))
    }
}

/// What a key will do with the injector. Whether a toggle heals or injects
/// is decided when it runs, after the keys before it.
pub enum Plan {
    Inject(Fault),
    /// Heal the faults of `holds` kinds on the node, or inject `otherwise`.
    Toggle {
        index: usize,
        holds: &'static [FaultKind],
        otherwise: Fault,
    },
    /// Heal the node's faults of `kind`, then inject the cycle's next step.
    Cycle {
        index: usize,
        kind: FaultKind,
        next: Option<Fault>,
    },
    HealAll,
}

impl Plan {
    pub fn describe(&self, node: &str) -> String {
        match self {
            Plan::Inject(f) => format!("{} on {node}…", f.kind().name()),
            Plan::Toggle { otherwise, .. } => format!("{} on {node}…", otherwise.kind().name()),
            Plan::Cycle { next: Some(f), .. } => format!("{} on {node}…", f.kind().name()),
            Plan::Cycle { next: None, .. } => format!("healing the link of {node}…"),
            Plan::HealAll => "healing every fault…".into(),
        }
    }

    /// Run it; a line for the status bar.
    async fn run(self, injector: &Arc<Injector>) -> String {
        let on_node = |index: usize, kinds: &[FaultKind]| -> Vec<usize> {
            injector
                .active()
                .into_iter()
                .filter(|f| f.nodes.contains(&index) && kinds.contains(&f.kind()))
                .map(|f| f.id)
                .collect()
        };
        match self {
            Plan::Inject(f) => inject(injector, f).await,
            Plan::Toggle {
                index,
                holds,
                otherwise,
            } => {
                let held = on_node(index, holds);
                if held.is_empty() {
                    return inject(injector, otherwise).await;
                }
                for id in &held {
                    injector.heal(*id).await;
                }
                format!("healed {} fault(s) on {}", held.len(), otherwise.target)
            }
            Plan::Cycle { index, kind, next } => {
                for id in on_node(index, &[kind]) {
                    injector.heal(id).await;
                }
                match next {
                    Some(f) => inject(injector, f).await,
                    None => format!("{} healed", kind.name()),
                }
            }
            Plan::HealAll => {
                let ids: Vec<usize> = injector.active().iter().map(|f| f.id).collect();
                for id in &ids {
                    injector.heal(*id).await;
                }
                format!("healed {} fault(s)", ids.len())
            }
        }
    }
}

/// Runs the keys' plans one after another; reports each on `msg`.
pub async fn worker(
    injector: Arc<Injector>,
    mut plans: mpsc::UnboundedReceiver<Plan>,
    msg: mpsc::UnboundedSender<String>,
) {
    while let Some(p) = plans.recv().await {
        let _ = msg.send(p.run(&injector).await);
    }
}

async fn inject(injector: &Arc<Injector>, f: Fault) -> String {
    let what = f.to_string();
    match injector.inject(f).await {
        Ok(_) => format!("{what}: done"),
        Err(e) => {
            injector.events().push("refused", "", e.to_string());
            e.to_string()
        }
    }
}

/// "power-loss cache: AOF everysec: about 1 s …; at 150 writes/s ≤ 300".
pub fn budget_line(d: &Drill, state: &State, r: &FaultRecord) -> String {
    let Some(node) = d.scenario.topology.nodes.iter().find(|n| n.name == r.group) else {
        return format!("{} {}: unknown node", r.kind.name(), r.group);
    };
    let b = r.budget(node);
    let secs = (state.snapshot.elapsed_ms as f64 / 1000.0).max(1.0);
    let rate = state
        .snapshot
        .strategies
        .iter()
        .map(|s| s.acked_writes as f64 / secs)
        .fold(0.0, f64::max);
    match b.max_writes(rate) {
        Some(w) => format!(
            "{} {}: {} — at {rate:.0} writes/s, at most {w:.0}",
            r.kind.name(),
            r.group,
            b.rule
        ),
        None => format!("{} {}: {}", r.kind.name(), r.group, b.rule),
    }
}
