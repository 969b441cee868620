//! `doctor`: which of the programs sessiondrill uses are here, their
//! versions, and the install command for each missing one.

use std::process::Command;

use crate::provision::binaries::{self, Binary, which};

struct Check {
    what: &'static str,
    /// Needed for: the kinds or features that use it.
    needed_for: &'static str,
    binary: Binary,
}

const CHECKS: &[Check] = &[
    Check {
        what: "redis-server",
        needed_for: "redis, redis-replicated, redis-cluster nodes",
        binary: binaries::REDIS_SERVER,
    },
    Check {
        what: "redis-sentinel",
        needed_for: "redis-replicated nodes (Sentinel failover)",
        binary: binaries::REDIS_SENTINEL,
    },
    Check {
        what: "redis-cli",
        needed_for: "benchmarks (redis-benchmark) and manual inspection",
        binary: binaries::REDIS_CLI,
    },
    Check {
        what: "memcached",
        needed_for: "memcached nodes",
        binary: binaries::MEMCACHED,
    },
    Check {
        what: "fusermount3",
        needed_for: "the power-loss fault (FUSE data directories)",
        binary: binaries::FUSERMOUNT3,
    },
    Check {
        what: "dockerd",
        needed_for: "provider: docker, when no Docker engine runs (./scripts/dockerd.sh starts one)",
        binary: binaries::DOCKERD,
    },
];

pub async fn run(endpoint: &super::doctor_endpoint::EndpointArgs) -> u8 {
    if let Some(url) = &endpoint.endpoint {
        return super::doctor_endpoint::run(endpoint, url).await;
    }
    let mut missing = 0;
    for c in CHECKS {
        match which(c.binary.name) {
            Some(path) => println!(
                "ok       {:<15} {}  ({})",
                c.what,
                version(&path, c.binary.version_arg),
                path.display()
            ),
            None => {
                missing += 1;
                println!(
                    "missing  {:<15} needed for {}; install: {}",
                    c.what,
                    c.needed_for,
                    c.binary.install_command()
                );
            }
        }
    }
    let fuse = std::path::Path::new("/dev/fuse").exists();
    if fuse {
        println!("ok       {:<15} present", "/dev/fuse");
    } else {
        missing += 1;
        println!(
            "missing  {:<15} the kernel offers no FUSE device: power-loss faults are refused (needs a machine or container with /dev/fuse)",
            "/dev/fuse"
        );
    }
    match crate::provision::docker::Engine::connect() {
        Ok(engine) => {
            println!(
                "ok       {:<15} {} (API {}) at {}",
                "docker engine", engine.version, engine.api, engine.host
            );
            for line in super::images::listing(&engine).await {
                println!("         {line}");
            }
        }
        Err(why) => println!(
            "note     {:<15} no engine reachable ({why}); only provider: docker needs one",
            "docker engine"
        ),
    }
    match which("sessiondrill").or_else(|| std::env::current_exe().ok()) {
        Some(p) => println!(
            "ok       {:<15} {} ({})",
            "sessiondrill",
            env!("CARGO_PKG_VERSION"),
            p.display()
        ),
        None => println!(
            "ok       {:<15} {}",
            "sessiondrill",
            env!("CARGO_PKG_VERSION")
        ),
    }
    if missing == 0 {
        println!("everything sessiondrill uses is installed");
        0
    } else {
        println!("{missing} missing; the commands above install them (or run ./scripts/deps.sh)");
        1
    }
}

fn version(path: &std::path::Path, arg: &str) -> String {
    Command::new(path)
        .arg(arg)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "version unknown".into())
}
