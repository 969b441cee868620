//! The `tui` command's options; the dashboard itself takes plain
//! [`TuiOptions`] and knows nothing of the command line.

use std::path::PathBuf;
use std::time::Duration;

use crate::tui::{DEFAULT_FPS, DEFAULT_REPORT_DIR, TuiOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct TuiArgs {
    /// A scenario or topology file; without one, pick from the catalogue.
    pub scenario: Option<PathBuf>,
    /// Override the load duration (a bare topology loads for 10 minutes).
    #[arg(long, value_parser = super::parse_duration)]
    pub duration: Option<Duration>,
    /// Keep the run directory (configs, data, logs) afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Frames per second.
    #[arg(long, default_value_t = DEFAULT_FPS, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: u32,
    /// Where `e` writes the report (JSON and Markdown).
    #[arg(long, default_value = DEFAULT_REPORT_DIR)]
    pub report_dir: PathBuf,
    /// The catalogue the picker shows (default: ./topologies).
    #[arg(long)]
    pub scenarios: Option<PathBuf>,
    /// Record the session to FILE as an asciicast v2 file (`asciinema
    /// play FILE` replays it).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

impl From<TuiArgs> for TuiOptions {
    fn from(a: TuiArgs) -> Self {
        TuiOptions {
            scenario: a.scenario,
            duration: a.duration,
            keep: a.keep,
            fps: a.fps,
            report_dir: a.report_dir,
            scenarios: a.scenarios,
            record: a.record,
            demo: false,
        }
    }
}

impl From<TuiOptions> for TuiArgs {
    fn from(o: TuiOptions) -> Self {
        TuiArgs {
            scenario: o.scenario,
            duration: o.duration,
            keep: o.keep,
            fps: o.fps,
            report_dir: o.report_dir,
            scenarios: o.scenarios,
            record: o.record,
        }
    }
}

/// `demo`: a scenario played hands-free with its captions.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// The scenario to play.
    pub scenario: PathBuf,
    /// Override the load duration.
    #[arg(long, value_parser = super::parse_duration)]
    pub duration: Option<Duration>,
    /// Frames per second.
    #[arg(long, default_value_t = DEFAULT_FPS, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: u32,
    /// Where `e` writes the report (JSON and Markdown).
    #[arg(long, default_value = DEFAULT_REPORT_DIR)]
    pub report_dir: PathBuf,
    /// Record the demo to FILE as an asciicast v2 file.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

impl From<DemoArgs> for TuiOptions {
    fn from(a: DemoArgs) -> Self {
        TuiOptions {
            scenario: Some(a.scenario),
            duration: a.duration,
            fps: a.fps,
            report_dir: a.report_dir,
            record: a.record,
            demo: true,
            ..TuiOptions::default()
        }
    }
}
