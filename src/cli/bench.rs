//! `bench`: measurements whose results are written down in docs/PERFORMANCE.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::provision::{self, Home, UpOptions};
use crate::topology::Topology;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Time from `up` to every node ready, over several runs (median reported).
    Up {
        file: PathBuf,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

pub async fn run(cmd: BenchCommand, home: Home) -> u8 {
    match cmd {
        BenchCommand::Up { file, runs } => up(&file, runs.max(1), home).await,
    }
}

async fn up(file: &Path, runs: usize, home: Home) -> u8 {
    let topology = match Topology::load(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let opts = UpOptions::new(home);
    let mut times = Vec::new();
    for i in 0..runs {
        match provision::up(&topology, &opts).await {
            Ok(d) => {
                println!("run {}: ready in {} ms", i + 1, d.ready_in.as_millis());
                times.push(d.ready_in);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return if e.is_user_error() { 2 } else { 1 };
            }
        }
    }
    times.sort();
    let median = median(&times);
    println!(
        "{}: {} processes, median time to ready over {runs} runs: {} ms (min {} ms, max {} ms)",
        topology.name,
        topology.process_count(),
        median.as_millis(),
        times[0].as_millis(),
        times[times.len() - 1].as_millis()
    );
    0
}

fn median(sorted: &[Duration]) -> Duration {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}
