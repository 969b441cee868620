//! `images`: the container images of the Docker provider.

use clap::Subcommand;

use crate::provision::docker::{Engine, Family, images};

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build local images (FROM scratch + the programs installed here and
    /// the libraries they link), for offline machines and CI.
    Build {
        /// Only these: redis, memcached, node (default: all three).
        only: Vec<String>,
    },
    /// Which image each kind of node would run from.
    List,
}

pub async fn run(cmd: ImagesCommand) -> u8 {
    let engine = match Engine::connect() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: no Docker engine reachable: {e}");
            eprintln!("       start one (./scripts/dockerd.sh start) and set DOCKER_HOST");
            return 2;
        }
    };
    let node_binary = match crate::provision::dynamodb::default_node_binary() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match cmd {
        ImagesCommand::Build { only } => {
            let mut families = Vec::new();
            for name in &only {
                match Family::ALL.iter().find(|f| f.name() == name) {
                    Some(f) => families.push(*f),
                    None => {
                        eprintln!("error: no image `{name}`; choose from redis, memcached, node");
                        return 2;
                    }
                }
            }
            if families.is_empty() {
                families = Family::ALL.to_vec();
            }
            let mut failed = 0;
            for f in families {
                match images::build(&engine, f, &node_binary).await {
                    Ok(b) => println!(
                        "built    {:<28} {:>6.1} MB context in {:.2} s",
                        b.tag,
                        b.bytes as f64 / 1e6,
                        b.took.as_secs_f64()
                    ),
                    Err(e) => {
                        failed += 1;
                        println!("failed   {:<28} {e}", f.local_tag());
                    }
                }
            }
            u8::from(failed > 0)
        }
        ImagesCommand::List => {
            println!(
                "engine {} (API {}) at {}",
                engine.version, engine.api, engine.host
            );
            for line in listing(&engine).await {
                println!("{line}");
            }
            0
        }
    }
}

/// One line per image family: which image a node would run from.
pub async fn listing(engine: &Engine) -> Vec<String> {
    let mut out = Vec::new();
    for f in Family::ALL {
        let local = f.local_tag();
        let line = match (images::in_engine(engine, f).await, f.public()) {
            (Some(tag), _) if tag != local => format!("present  {:<10} {tag}", f.name()),
            (Some(tag), Some(public)) => format!(
                "present  {:<10} {tag} (built here; {public} is not present)",
                f.name()
            ),
            (Some(tag), None) => format!(
                "present  {:<10} {tag} (rebuilt when this sessiondrill binary changes)",
                f.name()
            ),
            (None, Some(public)) => format!(
                "absent   {:<10} {public} or {local}: built from this machine's programs on first use (or `sessiondrill images build`), else pulled",
                f.name()
            ),
            (None, None) => format!(
                "absent   {:<10} {local}: built from this sessiondrill binary on first use",
                f.name()
            ),
        };
        out.push(line);
    }
    out
}
