//! `bench redis`: the session driver against `redis-benchmark` on the same
//! server, alternating, round after round; the result is the median of
//! the rounds' ratios (docs/PERFORMANCE.md).

use std::time::Duration;

use crate::bench::{BenchOp, Throughput, drive, redis_benchmark, redis_clients};
use crate::provision::Home;
use crate::provision::redis::probe::RedisAccess;

/// One round: the peer's and our ops/s for SET and GET.
struct Round {
    peer: [f64; 2],
    ours: [Throughput; 2],
}

pub struct Options {
    pub clients: usize,
    pub bytes: usize,
    pub requests: u64,
    pub rounds: usize,
    /// The driver's runtime threads (redis-benchmark has one).
    pub threads: usize,
    /// Both clients over TLS (verified against the run's authority).
    pub tls: bool,
}

pub async fn run(o: Options, home: Home) -> u8 {
    let yaml = if o.tls {
        "name: bench-redis-tls\nnodes:\n  redis:\n    kind: redis\n    tls: true\n"
    } else {
        "name: bench-redis\nnodes:\n  redis:\n    kind: redis\n"
    };
    let d = match super::bench::bench_node(yaml, home).await {
        Ok(d) => d,
        Err(code) => return code,
    };
    let node = &d.nodes[0];
    let port = node.info.port;
    let access = node.redis.clone().unwrap_or_default();
    let ca = o.tls.then(|| d.run.path.join("ca.pem"));
    let mut rounds = Vec::new();
    for round in 1..=o.rounds {
        let peer = redis_benchmark(port, &access, ca.as_deref(), o.clients, o.bytes, o.requests);
        let (s, g) = match peer {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let ours = match own_runtime(o.threads, port, &access, &o).await {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        println!(
            "round {round}: redis-benchmark SET {s:.0}/s GET {g:.0}/s; sessiondrill SET {:.0}/s GET {:.0}/s (errors {}); ratio SET {:.2} GET {:.2}",
            ours[0].ops_per_s,
            ours[1].ops_per_s,
            ours[0].errors + ours[1].errors,
            ours[0].ops_per_s / s,
            ours[1].ops_per_s / g,
        );
        rounds.push(Round { peer: [s, g], ours });
    }
    println!(
        "\n| op | redis-benchmark ops/s (median) | sessiondrill ops/s (median) | ratio per round | median ratio | sessiondrill p50 / p99 (median round) |"
    );
    println!("|---|---:|---:|---|---:|---:|");
    for (i, name) in ["SET", "GET"].iter().enumerate() {
        let ratios: Vec<f64> = rounds
            .iter()
            .map(|r| r.ours[i].ops_per_s / r.peer[i])
            .collect();
        let peer = median(rounds.iter().map(|r| r.peer[i]).collect());
        let ours = median(rounds.iter().map(|r| r.ours[i].ops_per_s).collect());
        let mid = rounds
            .iter()
            .min_by(|a, b| {
                let d = |r: &Round| (r.ours[i].ops_per_s - ours).abs();
                d(a).total_cmp(&d(b))
            })
            .map(|r| r.ours[i].latency_us);
        let per_round: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "| {name} | {peer:.0} | {ours:.0} | {} | {:.2} | {} |",
            per_round.join(" / "),
            median(ratios),
            mid.map_or("—".into(), |l| format!(
                "{:.3} / {:.3} ms",
                l.p50 as f64 / 1000.0,
                l.p99 as f64 / 1000.0
            )),
        );
    }
    println!(
        "({} connections, {}-byte values, {} requests per test, {} rounds alternating, driver on {} runtime thread(s){})",
        o.clients,
        o.bytes,
        o.requests,
        o.rounds,
        o.threads,
        if o.tls { ", over TLS" } else { "" }
    );
    0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// SET then GET through the driver, on a runtime of its own with
/// `threads` workers (so the comparison is with the peer's one thread,
/// whatever the main runtime has), on a thread of its own.
async fn own_runtime(
    threads: usize,
    port: u16,
    access: &RedisAccess,
    o: &Options,
) -> Result<[Throughput; 2], String> {
    let (clients, bytes) = (o.clients, o.bytes);
    let per_client = (o.requests / clients as u64).max(1);
    let access = access.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("sd-bench".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build();
            let r = match rt {
                Ok(rt) => Ok(rt.block_on(async {
                    let stores = redis_clients(port, &access, clients);
                    let set = drive(stores.clone(), BenchOp::Set, per_client, bytes).await;
                    let get = drive(stores, BenchOp::Get, per_client, bytes).await;
                    [set, get]
                })),
                Err(e) => Err(format!("cannot start the driver's runtime: {e}")),
            };
            let _ = tx.send(r);
        })
        .map_err(|e| format!("cannot start the driver's thread: {e}"))?;
    tokio::time::timeout(Duration::from_secs(600), rx)
        .await
        .map_err(|_| "the driver did not finish in 10 minutes".to_string())?
        .map_err(|_| "the driver's thread died".to_string())?
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
