//! `diff A.json B.json`: what changed between two reports of one
//! scenario. Exit 0 when nothing got worse, 1 on a regression (a verdict
//! that flipped, a fault that stopped working, a `--fail-on` threshold
//! crossed), 2 on invalid input.

use std::path::{Path, PathBuf};

use crate::drill::write_atomically;
use crate::report::Report;
use crate::report::diff::{self, Rule};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier report (`run --json`).
    pub a: PathBuf,
    /// The later report.
    pub b: PathBuf,
    /// A change that is a regression: `[STRATEGY.]METRIC > +N[%]` (a rise
    /// beyond N) or `< -N[%]` (a fall), METRIC as in `expect:` or
    /// `throughput`; repeat for several.
    #[arg(long = "fail-on", value_name = "RULE")]
    pub fail_on: Vec<String>,
    /// Compare two runs of one scenario even when their loads differ
    /// (sessions, rates, TTL, length) or their providers do.
    #[arg(long)]
    pub any_load: bool,
    /// Also write the diff as Markdown here.
    #[arg(long)]
    pub md: Option<PathBuf>,
    /// Also write the diff as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write the diff as one self-contained HTML page here.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

fn load(path: &Path) -> Result<Report, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a sessiondrill report ({e})", path.display()))
}

pub fn run(args: DiffArgs) -> u8 {
    let (a, b) = match (load(&args.a), load(&args.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut names = diff::strategies(&a);
    names.extend(diff::strategies(&b));
    let rules: Result<Vec<Rule>, String> = args
        .fail_on
        .iter()
        .map(|r| Rule::parse(r, &names))
        .collect();
    let d = match rules.and_then(|rules| diff::diff(&a, &b, &rules, args.any_load)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let md = diff::markdown(&d);
    let written = [
        args.md.as_deref().map(|p| (p, md.clone().into_bytes())),
        args.html
            .as_deref()
            .map(|p| (p, crate::report::html::diff(&d).into_bytes())),
        args.json.as_deref().map(|p| {
            let mut json = serde_json::to_vec_pretty(&d).unwrap_or_default();
            json.push(b'\n');
            (p, json)
        }),
    ];
    for (path, bytes) in written.into_iter().flatten() {
        if let Err(e) = write_atomically(path, &bytes) {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    }
    println!("{md}");
    if d.regressions.is_empty() { 0 } else { 1 }
}
