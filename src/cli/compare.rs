//! `compare SCENARIO...`: run scenarios one after another (headless) and
//! print one side-by-side table. Every file is checked before anything
//! starts. Exit 0 when every expectation of every scenario holds, 1 when
//! one fails, 2 on invalid input or environment.

use std::path::PathBuf;
use std::time::Duration;

use super::parse_duration;
use crate::drill::DrillOptions;
use crate::provision::Home;
use crate::report::{self, Report};

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Scenario (or topology) files, run in this order.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Override every scenario's load duration.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Write every report as a JSON array here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the comparison table (and each report) as Markdown here.
    #[arg(long)]
    pub md: Option<PathBuf>,
    /// Run every scenario once on each of these providers (e.g.
    /// `process,docker`), rows side by side: do containers change the
    /// numbers?
    #[arg(long, value_delimiter = ',', value_enum)]
    pub providers: Vec<crate::topology::Provider>,
    /// Write the comparison as one self-contained HTML page here: the
    /// table and a chart per number across the scenarios.
    #[arg(long)]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub cost: super::cost_args::CostArgs,
}

pub async fn run(args: CompareArgs, home: Home) -> u8 {
    super::until_signal(compare(args, home)).await
}

async fn compare(args: CompareArgs, home: Home) -> u8 {
    let mut scenarios = Vec::new();
    let mut invalid = false;
    for path in &args.scenarios {
        let fits = |s: &crate::scenario::Scenario| match args.duration {
            Some(d) => s.fits(d),
            None => Ok(()),
        };
        match crate::scenario::load_any(path).and_then(|s| fits(&s).map(|_| s)) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("{e}");
                invalid = true;
            }
        }
    }
    let cost = match args.cost.options() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            invalid = true;
            Default::default()
        }
    };
    if invalid {
        return 2;
    }
    if let Err(code) = super::all_writable([&args.html]) {
        return code;
    }
    let opts = DrillOptions {
        home,
        keep: false,
        duration: args.duration,
        live_faults: false,
        external: false,
        history: None,
        cost,
    };
    // Each scenario on each provider asked for, else on its own.
    let runs: Vec<_> = scenarios
        .into_iter()
        .flat_map(|s| {
            if args.providers.is_empty() {
                return vec![s];
            }
            args.providers
                .iter()
                .map(|&p| {
                    let mut s = s.clone();
                    s.topology.provider = p;
                    s
                })
                .collect()
        })
        .collect();
    let total = runs.len();
    let mut reports: Vec<Report> = Vec::new();
    for (i, scenario) in runs.into_iter().enumerate() {
        let label = scenario.name.clone();
        match super::one_drill(&label, (i, total), scenario, &opts).await {
            Ok(r) => reports.push(r),
            Err(code) => return code,
        }
    }
    let table = report::compare_markdown(&reports);
    let written = super::write_out(args.json.as_deref(), || {
        serde_json::to_vec_pretty(&reports).unwrap_or_default()
    })
    .and_then(|_| {
        super::write_out(args.md.as_deref(), || {
            let mut md = format!("# Comparison\n\n{table}\n");
            for r in &reports {
                md.push_str(&report::markdown(r));
                md.push('\n');
            }
            md.into_bytes()
        })
    })
    .and_then(|_| {
        super::write_out(args.html.as_deref(), || {
            report::html::compare(&reports).into_bytes()
        })
    });
    if let Err(code) = written {
        return code;
    }
    println!("{table}");
    if reports.iter().all(|r| r.ok) { 0 } else { 1 }
}
