//! Everything the dashboard shows, as plain data. Updated from engine
//! snapshots, observer statuses, events and fault records; rendering is a
//! pure function of it (see `views`), so every view can be tested with a
//! `TestBackend`.

use std::collections::BTreeMap;

use crate::events::Event;
use crate::faults::{ActiveFault, FaultKind, FaultRecord};
use crate::metrics::{Phase, Snapshot};
use crate::observe::node_status::{NodeState, NodeStatus};
use crate::provision::ProcessInfo;
use crate::report::Report;

/// A panel that can have the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Panel {
    #[default]
    Topology,
    Sessions,
    Latency,
    Events,
}

impl Panel {
    pub const ALL: [Panel; 4] = [
        Panel::Topology,
        Panel::Sessions,
        Panel::Latency,
        Panel::Events,
    ];

    pub fn next(self) -> Panel {
        let i = Panel::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Panel::ALL[(i + 1) % Panel::ALL.len()]
    }

    pub fn prev(self) -> Panel {
        let i = Panel::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Panel::ALL[(i + Panel::ALL.len() - 1) % Panel::ALL.len()]
    }
}

/// What covers the panels, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    ConfirmQuit,
}

/// One process as the topology panel lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub name: String,
    /// Its topology node.
    pub node: String,
    pub kind: String,
    /// Its live role (a Redis server's, after failovers), else as
    /// provisioned.
    pub role: String,
    /// A Sentinel process (a failover key on it fails over its group).
    pub sentinel: bool,
    /// up, down, paused, partitioned, loading, syncing, killed, …
    pub state: String,
    pub port: u16,
    pub pid: Option<u32>,
    pub offset: Option<u64>,
    pub lag_bytes: Option<u64>,
    /// A DAX node's hit ratios, item and query cache (0–1).
    pub hit_ratio: Option<(Option<f64>, Option<f64>)>,
    /// Active faults on it, e.g. `latency 50ms`, `partition up`.
    pub faults: Vec<String>,
}

/// p50/p99 (ms) per second of the load, and throughput, for one strategy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub p50: Vec<(f64, f64)>,
    pub p99: Vec<(f64, f64)>,
    pub throughput: Vec<u64>,
}

/// A fault as a window on the time axis (seconds since the run started).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultMark {
    pub label: String,
    pub from_s: f64,
    pub to_s: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct State {
    pub scenario: String,
    pub description: String,
    /// The question the scenario answers, if it says.
    pub question: Option<String>,
    pub run_id: String,
    /// Length of the timed load, seconds.
    pub duration_s: u64,
    /// The nodes run in containers (provider docker).
    pub in_containers: bool,
    pub nodes: Vec<NodeRow>,
    pub selected: usize,
    pub focus: Panel,
    pub overlay: Overlay,
    pub snapshot: Snapshot,
    pub history: BTreeMap<String, History>,
    last_second: Option<u64>,
    pub events: Vec<Event>,
    /// What each fault did, in words, once a checkpoint read it (kind
    /// `in-words`).
    pub told: Vec<Event>,
    /// How far the events panel is scrolled up from the newest (lines).
    pub events_scroll: usize,
    /// Rows the summary's sentences are scrolled down by.
    pub summary_scroll: usize,
    /// `demo`: the caption over the dashboard.
    pub caption: Option<Shown>,
    pub faults: Vec<FaultMark>,
    /// Per strategy: the loss the latest fault's budget allows, as text.
    pub budget: Option<String>,
    pub load_paused: bool,
    /// The bulk prefill: written so far, of how many (0 of 0: none).
    pub bulk: (u64, u64),
    /// A checkpoint holds the load while it reads every session.
    pub load_checking: bool,
    /// The last thing a key did, or why it could not.
    pub message: String,
    /// The final report, once the run is over: the summary screen.
    pub summary: Option<Report>,
    /// Where `e` wrote the report.
    pub exported: Vec<String>,
}

impl State {
    pub fn new(scenario: &str, description: &str, run_id: &str, duration_s: u64) -> Self {
        Self {
            scenario: scenario.to_string(),
            description: description.to_string(),
            run_id: run_id.to_string(),
            duration_s,
            ..Self::default()
        }
    }

    pub fn selected_node(&self) -> Option<&NodeRow> {
        self.nodes.get(self.selected)
    }

    pub fn select_next(&mut self) {
        if !self.nodes.is_empty() {
            self.selected = (self.selected + 1) % self.nodes.len();
        }
    }

    pub fn select_prev(&mut self) {
        if !self.nodes.is_empty() {
            self.selected = (self.selected + self.nodes.len() - 1) % self.nodes.len();
        }
    }

    /// Is the load still running (quitting needs a confirmation)?
    pub fn is_live(&self) -> bool {
        self.summary.is_none()
    }

    pub fn phase(&self) -> Phase {
        self.snapshot.phase
    }

    /// A new engine snapshot: totals, and one point per completed second.
    pub fn apply_snapshot(&mut self, s: Snapshot) {
        let second = s.elapsed_ms / 1000;
        if second >= 1 && self.last_second != Some(second) && s.phase == Phase::Load {
            self.last_second = Some(second);
            let t = (second - 1) as f64;
            for st in &s.strategies {
                let h = self.history.entry(st.name.clone()).or_default();
                if st.latency_last_us.count > 0 {
                    h.p50.push((t, st.latency_last_us.p50 as f64 / 1000.0));
                    h.p99.push((t, st.latency_last_us.p99 as f64 / 1000.0));
                }
                h.throughput.push(st.throughput_last);
            }
        }
        self.snapshot = s;
    }

    /// New node statuses from the observer, merged with what the run knows
    /// (ports, pids) and the faults active on each process.
    pub fn apply_nodes(
        &mut self,
        infos: &[ProcessInfo],
        status: &[NodeStatus],
        active: &[ActiveFault],
    ) {
        self.nodes = infos
            .iter()
            .enumerate()
            .map(|(i, info)| {
                let seen = status.iter().find(|s| s.name == info.name);
                let mine: Vec<&ActiveFault> =
                    active.iter().filter(|a| a.nodes.contains(&i)).collect();
                NodeRow {
                    name: info.name.clone(),
                    node: info.node.clone(),
                    kind: info.kind.to_string(),
                    sentinel: info.role.is_sentinel(),
                    role: seen
                        .map(|s| role_name(&s.role))
                        .unwrap_or_else(|| info.role.to_string()),
                    state: node_state(seen.map(|s| s.state), &mine),
                    port: info.client_port(),
                    pid: info.pid,
                    offset: seen.and_then(|s| s.offset),
                    lag_bytes: seen.and_then(|s| s.lag_bytes),
                    hit_ratio: seen
                        .and_then(|s| s.cache.as_ref())
                        .map(|c| (c.item.hit_ratio(), c.query.hit_ratio())),
                    faults: mine.iter().map(|a| fault_label(a)).collect(),
                }
            })
            .collect();
        if self.selected >= self.nodes.len() {
            self.selected = self.nodes.len().saturating_sub(1);
        }
    }

    /// The engine's log, with the sentences said about faults
    /// ([`Self::told`]) among them by time.
    pub fn apply_events(&mut self, events: Vec<Event>) {
        let mut all = events;
        all.extend(self.told.iter().cloned());
        all.sort_by_key(|e| e.t_ms);
        self.events = all;
    }

    pub fn apply_faults(&mut self, records: &[FaultRecord]) {
        self.faults = records
            .iter()
            .map(|r| FaultMark {
                label: format!("{} {}", r.kind.name(), r.target),
                from_s: r.at_ms as f64 / 1000.0,
                to_s: r.healed_ms.map(|h| h as f64 / 1000.0),
            })
            .collect();
    }
}

/// A caption of `sessiondrill demo` on the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub text: String,
    /// The load is paused until a key is pressed.
    pub waiting: bool,
    /// The key resumes the load (the caption paused it, not the user).
    pub resumes: bool,
    /// Its place among the scenario's captions (from 1).
    pub number: usize,
    pub of: usize,
}

/// `master`/`slave` as the topology panel says them.
fn role_name(live: &str) -> String {
    match live {
        "master" => "primary".into(),
        "slave" => "replica".into(),
        other => other.into(),
    }
}

/// What a process is doing: a fault that holds it says more than the
/// observer (a paused process merely looks down).
fn node_state(seen: Option<NodeState>, faults: &[&ActiveFault]) -> String {
    let has = |k: FaultKind| faults.iter().any(|a| a.kind() == k);
    if has(FaultKind::Pause) {
        return "paused".into();
    }
    if has(FaultKind::Partition) {
        return "partitioned".into();
    }
    match seen {
        Some(NodeState::Down) if has(FaultKind::Kill) => "killed".into(),
        Some(NodeState::Down) if has(FaultKind::PowerLoss) => "power off".into(),
        Some(s) => s.name().into(),
        None => "-".into(),
    }
}

fn fault_label(a: &ActiveFault) -> String {
    let label = a.action.label();
    // Which link: the clients' (default) or the peers' (replication,
    // Sentinels, cluster bus).
    if a.kind().is_link() && a.peers {
        format!("peers: {label}")
    } else {
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Percentiles, StrategySnapshot};
    use crate::topology::KindName;

    fn snapshot(ms: u64, p99_us: u64) -> Snapshot {
        Snapshot {
            elapsed_ms: ms,
            phase: Phase::Load,
            strategies: vec![StrategySnapshot {
                name: "redis".into(),
                latency_last_us: Percentiles {
                    count: 10,
                    p50: 200,
                    p99: p99_us,
                    p999: p99_us,
                    max: p99_us,
                    min: 100,
                },
                throughput_last: 450,
                ..StrategySnapshot::default()
            }],
        }
    }

    #[test]
    fn one_point_per_completed_second() {
        let mut s = State::new("x", "", "run", 60);
        s.apply_snapshot(snapshot(500, 1000));
        s.apply_snapshot(snapshot(1250, 1000));
        s.apply_snapshot(snapshot(1500, 1000));
        s.apply_snapshot(snapshot(2000, 9000));
        let h = &s.history["redis"];
        assert_eq!(h.p99, vec![(0.0, 1.0), (1.0, 9.0)]);
        assert_eq!(h.throughput, vec![450, 450]);
    }

    fn info(name: &str, role: crate::provision::Role) -> ProcessInfo {
        ProcessInfo {
            name: name.into(),
            node: "cache".into(),
            kind: KindName::RedisReplicated,
            role,
            host: "127.0.0.1".into(),
            port: 7000,
            pid: Some(42),
            container: None,
            url: "redis://127.0.0.1:7000".into(),
            proxy_port: Some(7100),
            peer_port: None,
        }
    }

    #[test]
    fn faults_say_more_than_the_observer() {
        let mut s = State::new("x", "", "run", 60);
        let infos = [
            info("cache-0", crate::provision::Role::Primary),
            info("cache-1", crate::provision::Role::Replica),
        ];
        let status = [
            NodeStatus {
                name: "cache-0".into(),
                group: "cache".into(),
                kind: KindName::RedisReplicated,
                role: "slave".into(),
                state: NodeState::Down,
                offset: Some(10),
                lag_bytes: Some(3),
                cache: None,
            },
            NodeStatus {
                name: "cache-1".into(),
                group: "cache".into(),
                kind: KindName::RedisReplicated,
                role: "master".into(),
                state: NodeState::Up,
                offset: Some(13),
                lag_bytes: None,
                cache: None,
            },
        ];
        let pause = ActiveFault {
            id: 0,
            action: crate::faults::FaultAction::Pause(crate::faults::kinds::Pause),
            peers: false,
            nodes: vec![0],
            duration: None,
            plan: Default::default(),
            node: "cache".into(),
        };
        let cut = ActiveFault {
            id: 1,
            action: crate::faults::FaultAction::Partition(crate::faults::kinds::Partition {
                direction: None,
            }),
            peers: true,
            nodes: vec![1],
            duration: None,
            plan: Default::default(),
            node: "cache".into(),
        };
        s.apply_nodes(&infos, &status, &[pause.clone(), cut]);
        assert_eq!(s.nodes[1].faults, vec!["peers: partition both".to_string()]);
        assert_eq!(s.nodes[1].state, "partitioned");
        s.apply_nodes(&infos, &status, &[pause]);
        assert_eq!(s.nodes[0].state, "paused");
        assert_eq!(s.nodes[0].role, "replica");
        assert_eq!(s.nodes[0].port, 7100, "clients' port: the proxy");
        assert_eq!(s.nodes[0].faults, vec!["pause".to_string()]);
        assert_eq!(s.nodes[1].state, "up");
        assert_eq!(s.nodes[1].role, "primary");
        s.select_prev();
        assert_eq!(s.selected_node().unwrap().name, "cache-1");
        s.select_next();
        assert_eq!(s.selected_node().unwrap().name, "cache-0");
    }
}

/// A filled-in state for the view tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::metrics::{Percentiles, StrategySnapshot};

    fn node(name: &str, role: &str, state: &str) -> NodeRow {
        NodeRow {
            name: name.into(),
            node: "cache".into(),
            kind: "redis-replicated".into(),
            role: role.into(),
            sentinel: role == "sentinel",
            state: state.into(),
            port: 41234,
            pid: Some(3456),
            offset: Some(98765),
            lag_bytes: None,
            hit_ratio: None,
            faults: Vec::new(),
        }
    }

    fn strategy(name: &str, acked: u64, lost: u64, p99: u64) -> StrategySnapshot {
        StrategySnapshot {
            name: name.into(),
            ops: acked * 3,
            acked_writes: acked,
            errors: 12,
            latency_us: Percentiles {
                count: acked * 3,
                p50: 300,
                p99,
                p999: p99 * 2,
                max: p99 * 4,
                min: 100,
            },
            latency_last_us: Percentiles {
                count: 400,
                p50: 310,
                p99,
                p999: p99,
                max: p99,
                min: 100,
            },
            throughput_last: 450,
            proven_lost: lost,
            proven_stale: 3,
            unavailable_ms: 2150,
            ..StrategySnapshot::default()
        }
    }

    pub fn sample() -> State {
        let mut s = State::new(
            "aof-everysec-power-loss",
            "Redis AOF everysec, power loss mid-load",
            "aof-everysec-power-loss-1a2b3c4d",
            600,
        );
        let mut primary = node("cache-0", "primary", "up");
        primary.faults = vec!["+50 ms".into()];
        let mut replica = node("cache-1", "replica", "paused");
        replica.lag_bytes = Some(120);
        replica.faults = vec!["pause".into()];
        s.nodes = vec![
            primary,
            replica,
            node("cache-sentinel-0", "sentinel", "up"),
            NodeRow {
                kind: "dynamodb".into(),
                node: "sessions".into(),
                offset: None,
                ..node("sessions", "server", "down")
            },
        ];
        s.snapshot = Snapshot {
            elapsed_ms: 42_300,
            phase: Phase::Load,
            strategies: vec![
                strategy("redis", 12_345, 57, 1800),
                strategy("dynamodb", 11_000, 0, 14_000),
            ],
        };
        for t in 0..40 {
            for (name, base) in [("redis", 0.4), ("dynamodb", 6.0)] {
                let h = s.history.entry(name.to_string()).or_default();
                let spike = if (20..23).contains(&t) { 900.0 } else { 0.0 };
                h.p50.push((t as f64, base));
                h.p99.push((t as f64, base * 3.0 + spike));
                h.throughput.push(440 + (t % 7) as u64);
            }
        }
        s.faults = vec![FaultMark {
            label: "power-loss cache".into(),
            from_s: 20.0,
            to_s: Some(22.5),
        }];
        s.events = vec![
            Event {
                t_ms: 500,
                kind: "load-started".into(),
                node: String::new(),
                message: "open-loop load at 450 ops/s per strategy for 10m".into(),
            },
            Event {
                t_ms: 20_000,
                kind: "fault".into(),
                node: "cache-0".into(),
                message: "power-loss cache-0: 1843 bytes not fsynced discarded".into(),
            },
            Event {
                t_ms: 20_100,
                kind: "node-down".into(),
                node: "cache-0".into(),
                message: "cache-0 stopped answering".into(),
            },
            Event {
                t_ms: 22_500,
                kind: "failover".into(),
                node: "cache-1".into(),
                message: "Failover from primary node cache-0 to replica node cache-1 completed"
                    .into(),
            },
        ];
        s.budget = Some("power-loss cache: AOF everysec allows ≤ 180 writes".into());
        s.message = "power loss on cache-0".into();
        s
    }
}
