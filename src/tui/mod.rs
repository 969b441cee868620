//! The terminal dashboard: a scenario picker, then one live drill per
//! choice. It consumes the same [`crate::drill::Drill`] as the headless
//! runner and measures nothing itself; the domain never depends on it.

mod action;
pub mod catalog;
mod demo;
mod fault_keys;
mod keys;
mod live;
mod record;
pub mod state;
mod telling;
mod terminal;
pub mod views;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;

use crate::drill::DrillOptions;
use crate::provision::Home;
use live::{Exit, LiveOptions};
use terminal::TerminalGuard;
use views::{Picker, PickerState};

/// Frames per second unless told otherwise.
pub const DEFAULT_FPS: u32 = 15;
/// Where `e` writes the report unless told otherwise.
pub const DEFAULT_REPORT_DIR: &str = ".";

/// What the dashboard is asked to do (the command line's `tui` options).
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// A scenario or topology file; without one, pick from the catalogue.
    pub scenario: Option<PathBuf>,
    /// Override the load duration.
    pub duration: Option<Duration>,
    /// Keep the run directory afterwards.
    pub keep: bool,
    pub fps: u32,
    /// Where `e` writes the report (JSON and Markdown).
    pub report_dir: PathBuf,
    /// The catalogue the picker shows (default: ./topologies).
    pub scenarios: Option<PathBuf>,
    /// Record the session as an asciicast v2 file.
    pub record: Option<PathBuf>,
    /// Play the scenario with its captions (`sessiondrill demo`).
    pub demo: bool,
}

impl Default for TuiOptions {
    fn default() -> Self {
        Self {
            scenario: None,
            duration: None,
            keep: false,
            fps: DEFAULT_FPS,
            report_dir: DEFAULT_REPORT_DIR.into(),
            scenarios: None,
            record: None,
            demo: false,
        }
    }
}

/// Run the dashboard; returns the exit code.
pub async fn run(args: TuiOptions, home: Home) -> u8 {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "error: the dashboard needs a terminal; for a headless drill use `sessiondrill run SCENARIO`"
        );
        return 2;
    }
    // A file given on the command line is checked before the screen changes.
    let first = match &args.scenario {
        Some(path) => match crate::scenario::load_any(path).and_then(|s| match args.duration {
            Some(d) => s.fits(d).map(|_| s),
            None => Ok(s),
        }) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("{e}");
                return 2;
            }
        },
        None => None,
    };
    let opts = LiveOptions {
        drill: DrillOptions {
            home,
            keep: args.keep,
            duration: args.duration,
            live_faults: true,
            external: false,
            history: None,
            // The shipped prices, at the scenario's own scale.
            cost: Default::default(),
        },
        fps: args.fps,
        report_dir: args.report_dir.clone(),
        demo: args.demo,
    };
    let mut signals = match live::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    // A recording that cannot be written: nothing starts.
    let cast = match &args.record {
        Some(path) if path.extension().is_none_or(|e| e != "cast") => {
            eprintln!(
                "error: {}: a recording is written to a .cast file (asciicast v2)",
                path.display()
            );
            return 2;
        }
        Some(path) => {
            let (w, h) = crossterm::terminal::size().unwrap_or((80, 24));
            let title = match &first {
                Some(s) => format!("sessiondrill: {}", s.name),
                None => "sessiondrill".to_string(),
            };
            match record::Recorder::create(path, w, h, &title) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return 2;
                }
            }
        }
        None => None,
    };
    let mut guard = match TerminalGuard::enter(cast) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: cannot set up the terminal: {e}");
            return 1;
        }
    };
    // One stream of terminal events for the whole session, on its own
    // thread (keys.rs).
    let mut keys = match keys::Keys::new() {
        Ok(k) => k,
        Err(e) => {
            drop(guard);
            eprintln!("error: reading the terminal: {e}");
            return 1;
        }
    };
    let result = match first {
        Some(scenario) => live::run(&mut guard, scenario, &opts, &mut keys, &mut signals)
            .await
            .map(|_| ()),
        None => pick_and_run(&mut guard, &args, &opts, &mut keys, &mut signals).await,
    };
    drop(guard);
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

async fn pick_and_run(
    guard: &mut TerminalGuard,
    args: &TuiOptions,
    opts: &LiveOptions,
    keys: &mut keys::Keys,
    signals: &mut live::Signals,
) -> Result<(), String> {
    let dir = args.scenarios.clone().unwrap_or_else(catalog::default_dir);
    let mut picker = PickerState {
        entries: catalog::list(&dir, Some(&opts.drill.home)),
        dir: dir.display().to_string(),
        ..PickerState::default()
    };
    if let Some(&first) = picker.visible().first() {
        picker.selected = first;
    }
    loop {
        guard
            .terminal
            .draw(|f| f.render_widget(Picker(&picker), f.area()))
            .map_err(|e| format!("drawing: {e}"))?;
        let ev = tokio::select! {
            ev = keys.next() => ev,
            _ = signals.recv() => return Ok(()),
        };
        let Some(ev) = ev else {
            return Ok(());
        };
        let Ok(TermEvent::Key(key)) = ev else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if picker.filtering {
            match key.code {
                _ if ctrl_c => return Ok(()),
                KeyCode::Esc => picker.clear_filter(),
                KeyCode::Enter => picker.filtering = false,
                KeyCode::Backspace => picker.backspace(),
                KeyCode::Down => picker.next(),
                KeyCode::Up => picker.prev(),
                KeyCode::Char(c) => picker.type_char(c),
                _ => {}
            }
            continue;
        }
        match key.code {
            _ if ctrl_c => return Ok(()),
            KeyCode::Char('/') => picker.filtering = true,
            KeyCode::Esc if !picker.filter.is_empty() => picker.clear_filter(),
            KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
            KeyCode::Down | KeyCode::Char('j') => picker.next(),
            KeyCode::Up | KeyCode::Char('k' | 'K') => picker.prev(),
            KeyCode::Enter => {
                let Some(entry) = picker.current() else {
                    continue;
                };
                match crate::scenario::load_any(&entry.path) {
                    Ok(scenario) => {
                        picker.error = None;
                        match live::run(guard, scenario, opts, keys, signals).await {
                            Ok(Exit::Quit) => return Ok(()),
                            // Back with what it measured just now.
                            Ok(Exit::Back) => picker.reload_answers(&opts.drill.home),
                            Err(e) => picker.error = Some(e),
                        }
                    }
                    Err(e) => picker.error = Some(e.to_string()),
                }
            }
            _ => {}
        }
    }
}
