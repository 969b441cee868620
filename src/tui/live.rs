//! The live dashboard: one drill, redrawn at a fixed frame rate from the
//! engine's snapshots, the observer's node states and the event log; keys
//! become faults through the same [`Injector`] the timeline uses. Faults
//! run in their own tasks, so a slow one (a power loss remounts, a restart
//! waits for the node) never freezes the screen.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use futures::StreamExt;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use super::action::{self, Action};
use super::demo::Captions;
use super::fault_keys::{FaultKeys, Plan, budget_line, worker};
use super::state::{Overlay, State};
use super::telling::Telling;
use super::terminal::TerminalGuard;
use super::views;
use crate::drill::{Drill, DrillOptions, write_report};
use crate::scenario::Scenario;

/// How the dashboard of one drill ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Quit the program.
    Quit,
    /// Back to the scenario picker.
    Back,
}

#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub drill: DrillOptions,
    pub fps: u32,
    /// Where `e` writes the report.
    pub report_dir: PathBuf,
    /// Show the scenario's captions (`sessiondrill demo`).
    pub demo: bool,
}

/// SIGTERM and SIGHUP, listened to from the start: the dashboard ends
/// (terminal restored, nodes torn down) instead of dying in raw mode.
pub struct Signals {
    term: Signal,
    hup: Signal,
}

impl Signals {
    pub fn new() -> Result<Signals, String> {
        let listen = |k| signal(k).map_err(|e| format!("cannot listen for signals: {e}"));
        Ok(Signals {
            term: listen(SignalKind::terminate())?,
            hup: listen(SignalKind::hangup())?,
        })
    }

    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

pub async fn run(
    guard: &mut TerminalGuard,
    scenario: Scenario,
    opts: &LiveOptions,
    keys: &mut super::keys::Keys,
    signals: &mut Signals,
) -> Result<Exit, String> {
    let name = scenario.name.clone();
    // Only `demo` shows them.
    let live_captions = if opts.demo {
        scenario.captions.clone()
    } else {
        Vec::new()
    };
    let description = scenario.description.clone().unwrap_or_default();
    let mut state = State::new(&name, &description, "", 0);
    state.question = scenario.question.clone();
    state.in_containers = scenario.topology.provider == crate::topology::Provider::Docker;
    state.message = format!(
        "bringing up {} ({} processes{})…",
        scenario.topology.name,
        scenario.topology.process_count(),
        if state.in_containers {
            ", in containers"
        } else {
            ""
        }
    );
    draw(guard, &state)?;
    let drill = tokio::select! {
        d = Drill::start(scenario, &opts.drill) => d.map_err(|e| e.to_string())?,
        _ = signals.recv() => return Ok(Exit::Quit),
    };
    state.run_id = drill.run_id.clone();
    state.duration_s = drill.duration.as_secs();
    state.message = format!("ready in {} ms", drill.ready_in.as_millis());
    let mut live = Live {
        infos: drill.nodes.clone(),
        drill: Some(drill),
        keys: FaultKeys::default(),
        export_when_done: false,
        report_dir: opts.report_dir.clone(),
        home: opts.drill.home.clone(),
        telling: Telling::default(),
        keyed: false,
        captions: Captions::new(live_captions),
    };
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel::<String>();
    let (plan_tx, plan_rx) = mpsc::unbounded_channel::<Plan>();
    let injector = live.drill.as_ref().map(|d| d.injector.clone());
    let faults = injector.map(|i| tokio::spawn(worker(i, plan_rx, msg_tx)));
    // The worker holds the injector only weakly to the deployment; ending
    // the dashboard drops the drill (nodes torn down) and stops the worker.
    let _stop_worker = AbortOnDrop(faults);
    let mut frame = tokio::time::interval(Duration::from_secs(1) / opts.fps.max(1));
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = frame.tick() => {
                if super::terminal::hung_up() {
                    return Ok(Exit::Quit);
                }
                live.refresh(&mut state);
                if live.drill.as_ref().is_some_and(|d| d.engine.is_done()) {
                    live.finish(&mut state, guard).await?;
                }
                draw(guard, &state)?;
            }
            Some(m) = msg_rx.recv() => state.message = m,
            ev = keys.next() => {
                let key = match ev {
                    Some(Ok(TermEvent::Key(key))) => key,
                    Some(Ok(_)) => continue,
                    // The terminal is gone (hung up, closed): end.
                    Some(Err(_)) | None => return Ok(Exit::Quit),
                };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                // A caption waiting for the presenter: any key goes on
                // (and resumes the load, unless it was paused before).
                let live_run = state.is_live() && state.overlay == Overlay::None;
                if let Some(c) = state.caption.as_mut().filter(|c| c.waiting && live_run) {
                    c.waiting = false;
                    if let (Some(d), true) = (&live.drill, c.resumes) {
                        d.control().set_paused(false);
                    }
                    draw(guard, &state)?;
                    continue;
                }
                let Some(a) = action::of_key(key, state.overlay) else { continue };
                if let Some(exit) = live.act(a, &mut state, &plan_tx) {
                    return Ok(exit);
                }
                draw(guard, &state)?;
            }
            _ = signals.recv() => return Ok(Exit::Quit),
        }
    }
}

/// Render and write a frame. It blocks (layout, terminal I/O), so the
/// runtime moves this worker's other tasks elsewhere meanwhile: the
/// engine's operations never wait behind a frame.
fn draw(guard: &mut TerminalGuard, state: &State) -> Result<(), String> {
    tokio::task::block_in_place(|| {
        guard
            .terminal
            .draw(|f| views::draw(f, state))
            .map(|_| ())
            .map_err(|e| format!("drawing: {e}"))
    })
}

struct Live {
    /// `None` once the run is over (the summary is showing).
    drill: Option<Drill>,
    keys: FaultKeys,
    export_when_done: bool,
    report_dir: PathBuf,
    /// Every node as last read from the deployment.
    infos: Vec<crate::provision::ProcessInfo>,
    /// Where the picker's last answers are kept.
    home: crate::provision::Home,
    /// What the events panel has said about faults.
    telling: Telling,
    /// A fault was planned from the keyboard.
    keyed: bool,
    /// `demo`: the scenario's captions.
    captions: Captions,
}

impl Live {
    /// Pull the latest of everything the engine publishes into `state`.
    fn refresh(&mut self, state: &mut State) {
        let Some(d) = &self.drill else { return };
        state.apply_snapshot(d.engine.snapshots.borrow().clone());
        state.load_paused = d.control().is_paused();
        state.load_checking = d.control().is_checking();
        state.bulk = d.control().bulk_progress();
        // Pids change when a node restarts. The deployment lock is never
        // waited for (a fault may hold it for seconds): the last infos
        // seen stay until it is free.
        if let Ok(dep) = d.deployment.try_lock() {
            self.infos = dep.infos();
        }
        state.apply_nodes(&self.infos, &d.status.borrow(), &d.injector.active());
        let records = d.injector.records();
        state.apply_faults(&records);
        state.budget = records.last().map(|r| budget_line(d, state, r));
        self.telling.tell(d, &records, state);
        state.apply_events(d.events().all());
        self.captions.next(d, &records, state);
    }
}

impl Live {
    /// The run is over: tear down, build the report, show the summary.
    async fn finish(&mut self, state: &mut State, guard: &mut TerminalGuard) -> Result<(), String> {
        let Some(d) = self.drill.take() else {
            return Ok(());
        };
        state.message = "checking every session, tearing down…".into();
        draw(guard, state)?;
        let events = d.events().clone();
        // The scenario's answer only when it ran as written: not ended
        // early with `e`, no fault added from the keyboard, and a drill
        // (a timeline or expectations), not a bare topology.
        let a_drill = !d.scenario.timeline.is_empty() || !d.scenario.expectations.is_empty();
        let as_written = a_drill && !self.export_when_done && !self.keyed;
        state.caption = None;
        let report = d.finish().await;
        state.apply_events(events.all());
        state.message = "run over".into();
        if as_written && let Err(e) = crate::drill::answers::save(&self.home, &report) {
            state.message = format!("run over (answer not kept for the picker: {e})");
        }
        state.summary = Some(report);
        if std::mem::take(&mut self.export_when_done) {
            self.export(state);
        }
        Ok(())
    }

    fn export(&self, state: &mut State) {
        let Some(report) = &state.summary else { return };
        let base = self
            .report_dir
            .join(format!("sessiondrill-{}", state.run_id));
        let json = base.with_extension("json");
        let md = base.with_extension("md");
        let html = base.with_extension("html");
        let page = crate::report::html::run(report, &self.infos);
        match write_report(report, Some(&json), Some(&md)).and_then(|()| {
            crate::drill::write_atomically(&html, page.as_bytes()).map_err(|e| e.to_string())
        }) {
            Ok(()) => {
                state.exported = vec![
                    json.display().to_string(),
                    md.display().to_string(),
                    html.display().to_string(),
                ];
                state.message = "report exported".into();
            }
            Err(e) => state.message = format!("export failed: {e}"),
        }
    }

    /// Do what a key asks; `Some` ends the dashboard.
    fn act(
        &mut self,
        a: Action,
        state: &mut State,
        plans: &mpsc::UnboundedSender<Plan>,
    ) -> Option<Exit> {
        match a {
            Action::Quit if state.is_live() => state.overlay = Overlay::ConfirmQuit,
            Action::Quit | Action::QuitNow => return Some(Exit::Quit),
            Action::Back if state.overlay != Overlay::None => state.overlay = Overlay::None,
            Action::Back if !state.is_live() => return Some(Exit::Back),
            Action::Back => {}
            Action::Help => state.overlay = Overlay::Help,
            Action::NextPanel => state.focus = state.focus.next(),
            Action::PrevPanel => state.focus = state.focus.prev(),
            Action::NextNode => state.select_next(),
            Action::PrevNode => state.select_prev(),
            Action::ScrollUp if !state.is_live() => {
                state.summary_scroll = state.summary_scroll.saturating_sub(5);
            }
            Action::ScrollDown if !state.is_live() => {
                state.summary_scroll = (state.summary_scroll + 5).min(500);
            }
            Action::ScrollUp => {
                state.events_scroll = (state.events_scroll + 5).min(state.events.len());
            }
            Action::ScrollDown => state.events_scroll = state.events_scroll.saturating_sub(5),
            Action::Export if !state.is_live() => self.export(state),
            Action::Export => {
                if let Some(d) = &self.drill {
                    d.control().stop();
                    self.export_when_done = true;
                    state.message = "load ended: draining, then every session is checked".into();
                }
            }
            Action::ToggleLoad => {
                if let Some(d) = &self.drill {
                    let paused = d.control().toggle();
                    state.load_paused = paused;
                    state.message = if paused {
                        "load paused"
                    } else {
                        "load resumed"
                    }
                    .into();
                }
            }
            fault => self.fault(fault, state, plans),
        }
        None
    }

    /// A destructive key on the selected node: planned here, run by the
    /// fault worker in key order.
    fn fault(&mut self, a: Action, state: &mut State, plans: &mpsc::UnboundedSender<Plan>) {
        let Some(d) = &self.drill else {
            state.message = "the run is over".into();
            return;
        };
        let Some(node) = state.selected_node().cloned() else {
            return;
        };
        let unavailable = d.power_loss_unavailable.as_deref();
        match self.keys.plan(a, &node, state.selected, unavailable) {
            Ok(Some(plan)) => {
                self.keyed = true;
                state.message = plan.describe(&node.name);
                let _ = plans.send(plan);
            }
            Ok(None) => {}
            Err(why) => state.message = why,
        }
    }
}

struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::state::Panel;

    fn idle(report_dir: PathBuf) -> Live {
        Live {
            drill: None,
            keys: FaultKeys::default(),
            export_when_done: false,
            report_dir,
            infos: Vec::new(),
            home: crate::provision::Home {
                root: PathBuf::from("/nonexistent"),
            },
            telling: Telling::default(),
            keyed: false,
            captions: Captions::default(),
        }
    }

    #[test]
    fn quitting_a_live_run_asks_first() {
        let mut live = idle(PathBuf::from("."));
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut s = State::new("demo", "", "run", 60);
        assert_eq!(live.act(Action::Quit, &mut s, &tx), None);
        assert_eq!(s.overlay, Overlay::ConfirmQuit);
        assert_eq!(live.act(Action::Back, &mut s, &tx), None);
        assert_eq!(s.overlay, Overlay::None);
        assert_eq!(
            live.act(Action::Back, &mut s, &tx),
            None,
            "esc on a live run stays"
        );
        assert_eq!(live.act(Action::QuitNow, &mut s, &tx), Some(Exit::Quit));
        live.act(Action::NextPanel, &mut s, &tx);
        assert_eq!(s.focus, Panel::Sessions);
        live.act(Action::PrevPanel, &mut s, &tx);
        live.act(Action::PrevPanel, &mut s, &tx);
        assert_eq!(s.focus, Panel::Events);
        live.act(Action::Help, &mut s, &tx);
        assert_eq!(s.overlay, Overlay::Help);
    }

    #[test]
    fn after_the_run_keys_export_go_back_and_quit_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = idle(dir.path().to_path_buf());
        let (tx, rx) = mpsc::unbounded_channel();
        let mut s = State::new("demo", "", "demo-1234", 60);
        let report: crate::report::Report =
            serde_json::from_str(include_str!("../../tests/data/minimal-report.json")).unwrap();
        s.summary = Some(report);
        live.act(Action::Kill, &mut s, &tx);
        assert_eq!(s.message, "the run is over");
        drop(tx);
        let mut rx = rx;
        assert!(rx.try_recv().is_err(), "no fault was planned");
        let (tx, _rx) = mpsc::unbounded_channel();
        live.act(Action::Export, &mut s, &tx);
        assert_eq!(s.exported.len(), 3, "{}", s.message);
        let html = std::fs::read_to_string(dir.path().join("sessiondrill-demo-1234.html")).unwrap();
        assert!(html.contains("<h1>demo "), "{html}");
        let json = dir.path().join("sessiondrill-demo-1234.json");
        let back: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(back["scenario"], "demo");
        assert!(dir.path().join("sessiondrill-demo-1234.md").is_file());
        assert_eq!(live.act(Action::Back, &mut s, &tx), Some(Exit::Back));
        assert_eq!(live.act(Action::Quit, &mut s, &tx), Some(Exit::Quit));
    }
}
