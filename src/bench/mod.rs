//! Benchmarks of the driver itself, against a peer measured on the same
//! server in the same run. Results are written down in docs/PERFORMANCE.md.

pub mod fs;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::metrics::Percentiles;
use crate::store::SessionStore;
use crate::store::redis::{RedisBackend, RedisStore, RedisTarget};
use crate::store::value;

/// Closed-loop throughput of one operation kind.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub ops_per_s: f64,
    pub latency_us: Percentiles,
    pub errors: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchOp {
    Set,
    Get,
}

/// `clients` workers, each on its own connection, each issuing one request
/// at a time (no pipelining), `per_client` requests each.
pub async fn drive(
    stores: Vec<Arc<dyn SessionStore>>,
    op: BenchOp,
    per_client: u64,
    value_bytes: usize,
) -> Throughput {
    let start = Instant::now();
    let workers = stores.into_iter().enumerate().map(|(w, store)| {
        tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("static bounds");
            let mut errors = 0;
            let base = w as u64 * per_client;
            let v = value::encode(base, 1, value_bytes);
            for i in 0..per_client {
                let t = Instant::now();
                let r = match op {
                    BenchOp::Set => store.put(base + i, &v, Duration::from_secs(3600)).await,
                    BenchOp::Get => store.get(base + i).await.map(|_| ()),
                };
                if r.is_err() {
                    errors += 1;
                }
                let _ = h.record(t.elapsed().as_micros().max(1) as u64);
            }
            (h, errors)
        })
    });
    let results = futures::future::join_all(workers).await;
    let elapsed = start.elapsed();
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("static bounds");
    let mut errors = 0;
    for (h, e) in results.into_iter().flatten() {
        let _ = total.add(&h);
        errors += e;
    }
    Throughput {
        ops_per_s: total.len() as f64 / elapsed.as_secs_f64(),
        latency_us: Percentiles::of(&total),
        errors,
    }
}

/// One single-connection Redis store per client.
/// One Markdown table of throughputs: ops/s, p50, p99 (ms with `decimals`
/// digits), errors — as docs/PERFORMANCE.md records them.
pub fn print_table(first: &str, rows: &[(&str, Throughput)], decimals: usize) {
    println!("| {first} | ops/s | p50 | p99 | errors |");
    println!("|---|---:|---:|---:|---:|");
    for (name, t) in rows {
        println!(
            "| {name} | {:.0} | {:.decimals$} ms | {:.decimals$} ms | {} |",
            t.ops_per_s,
            t.latency_us.p50 as f64 / 1000.0,
            t.latency_us.p99 as f64 / 1000.0,
            t.errors
        );
    }
}

pub fn redis_clients(
    port: u16,
    access: &crate::provision::redis::probe::RedisAccess,
    clients: usize,
) -> Vec<Arc<dyn SessionStore>> {
    (0..clients)
        .map(|_| {
            Arc::new(RedisStore {
                backend: RedisBackend::new(
                    RedisTarget::Standalone { port },
                    access,
                    1,
                    Duration::from_secs(5),
                ),
                namespace: "bench".into(),
            }) as Arc<dyn SessionStore>
        })
        .collect()
}

/// `redis-benchmark -t set,get -c CLIENTS -d BYTES -n N --csv` on the same
/// server (with `--tls` verifying against `ca`, when given): requests per
/// second of SET and GET.
pub fn redis_benchmark(
    port: u16,
    access: &crate::provision::redis::probe::RedisAccess,
    ca: Option<&std::path::Path>,
    clients: usize,
    bytes: usize,
    n: u64,
) -> Result<(f64, f64), String> {
    let mut cmd = Command::new("redis-benchmark");
    if let Some(ca) = ca {
        cmd.arg("--tls").arg("--cacert").arg(ca);
    }
    let out = cmd
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-a", &access.password])
        .args([
            "-t",
            "set,get",
            "-c",
            &clients.to_string(),
            "-d",
            &bytes.to_string(),
        ])
        .args(["-n", &n.to_string(), "--csv"])
        .output()
        .map_err(|e| format!("redis-benchmark: {e} (package redis-tools)"))?;
    if !out.status.success() {
        return Err(format!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = |test: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("\"{test}\"")))
            .and_then(|l| l.split(',').nth(1))
            .and_then(|v| v.trim_matches('"').parse::<f64>().ok())
            .ok_or_else(|| format!("no {test} line in redis-benchmark output: {text}"))
    };
    Ok((rps("SET")?, rps("GET")?))
}
