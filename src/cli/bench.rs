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
    /// The driver against one redis-server vs redis-benchmark on the same
    /// server (SET and GET, equal connections, no pipelining).
    Redis {
        #[arg(long, default_value_t = 50)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        bytes: usize,
        #[arg(long, default_value_t = 200_000)]
        requests: u64,
        /// Rounds (alternating peer and driver); the median ratio is the
        /// result.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// The driver's runtime threads (redis-benchmark runs on one).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Over TLS: the server listens with TLS only, on a certificate of
        /// the run's authority, and both clients verify it.
        #[arg(long)]
        tls: bool,
    },
    /// The DynamoDB node (Dynoxide) through aws-sdk-dynamodb: PutItem and
    /// GetItem throughput and latency, closed loop.
    Dynamodb {
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        #[arg(long, default_value_t = 512)]
        bytes: usize,
    },
    /// GetItem through a DAX node (item-cache hits) vs directly against the
    /// DynamoDB node, same client and concurrency, closed loop.
    Dax {
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        #[arg(long, default_value_t = 512)]
        bytes: usize,
        /// Rounds (alternating direct and DAX); the best of each is kept.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Round-trip latency added on the client's link to DynamoDB (our
        /// proxy), e.g. `4ms`: DynamoDB as far away as in AWS.
        #[arg(long, value_parser = super::parse_duration)]
        dynamodb_latency: Option<Duration>,
    },
    /// What the power-loss filesystem costs: redis-benchmark SET with AOF
    /// on a plain directory vs through the FUSE mount (alternating rounds).
    Fs {
        /// `everysec`, `always` or `no`.
        #[arg(long, default_value = "everysec")]
        appendfsync: String,
        #[arg(long, default_value_t = 300_000)]
        requests: u64,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

pub async fn run(cmd: BenchCommand, home: Home) -> u8 {
    match cmd {
        BenchCommand::Up { file, runs } => up(&file, runs.max(1), home).await,
        BenchCommand::Redis {
            clients,
            bytes,
            requests,
            rounds,
            threads,
            tls,
        } => {
            let o = super::bench_redis::Options {
                tls,
                clients: clients.max(1),
                bytes,
                requests,
                rounds: rounds.max(1),
                threads: threads.max(1),
            };
            super::bench_redis::run(o, home).await
        }
        BenchCommand::Dynamodb {
            clients,
            requests,
            bytes,
        } => dynamodb(clients.max(1), requests, bytes, home).await,
        BenchCommand::Dax {
            clients,
            requests,
            bytes,
            rounds,
            dynamodb_latency,
        } => {
            dax(
                clients.max(1),
                requests,
                bytes,
                rounds,
                dynamodb_latency,
                home,
            )
            .await
        }
        BenchCommand::Fs {
            appendfsync,
            requests,
            rounds,
        } => tokio::task::spawn_blocking(move || fs(&appendfsync, requests, rounds.max(1), home))
            .await
            .unwrap_or(1),
    }
}

fn fs(appendfsync: &str, requests: u64, rounds: usize, home: Home) -> u8 {
    use crate::fabric::powerfs;
    if let Err(e) = powerfs::available() {
        eprintln!("error: the power-loss filesystem is unavailable: {e}");
        return 2;
    }
    let root = home.runs().join(format!("bench-fs-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&root) {
        eprintln!("error: creating {}: {e}", root.display());
        return 1;
    }
    let code = fs_rounds(&root, appendfsync, requests, rounds);
    let _ = std::fs::remove_dir_all(&root);
    code
}

fn fs_rounds(root: &Path, appendfsync: &str, requests: u64, rounds: usize) -> u8 {
    use crate::bench::fs::redis_aof_throughput;
    use crate::fabric::powerfs::PowerFs;
    println!("| round | plain ops/s | powerfs ops/s | ratio |");
    println!("|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let plain_dir = root.join(format!("plain-{round}"));
        let (backing, mnt) = (
            root.join(format!("backing-{round}")),
            root.join(format!("mnt-{round}")),
        );
        let measured = std::fs::create_dir_all(&plain_dir).and_then(|_| {
            let plain = redis_aof_throughput(&plain_dir, appendfsync, requests)?;
            let fs = PowerFs::mount(&backing, &mnt)?;
            let through = redis_aof_throughput(&mnt, appendfsync, requests);
            fs.unmount();
            Ok((plain, through?))
        });
        match measured {
            Ok((plain, through)) => {
                let ratio = through / plain;
                ratios.push(ratio);
                println!("| {round} | {plain:.0} | {through:.0} | {ratio:.2} |");
            }
            Err(e) => {
                eprintln!("error: round {round}: {e}");
                return 1;
            }
        }
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "(appendfsync {appendfsync}, redis-benchmark -t set -c 50 -d 100 -n {requests}; median ratio {:.2})",
        ratios[ratios.len() / 2]
    );
    0
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

/// A one-node topology for benchmarks, brought up in `home`.
pub(super) async fn bench_node(yaml: &str, home: Home) -> Result<crate::provision::Deployment, u8> {
    let src = crate::yaml::SourceText::inline("bench.yaml", yaml);
    let topology = Topology::parse(&src).map_err(|e| {
        eprintln!("{e}");
        2
    })?;
    provision::up(&topology, &UpOptions::new(home))
        .await
        .map_err(|e| {
            eprintln!("error: {e}");
            if e.is_user_error() { 2 } else { 1 }
        })
}

/// The same items read through DAX (every read an item-cache hit: they
/// were written through it) and straight from DynamoDB.
async fn dax(
    clients: usize,
    requests: u64,
    bytes: usize,
    rounds: usize,
    latency: Option<Duration>,
    home: Home,
) -> u8 {
    use crate::bench::{BenchOp, Throughput, drive};
    use crate::store::SessionStore;
    use crate::store::dynamodb::{DynamoBackend, DynamoStore, Reads};
    let d = match bench_node(
        "name: bench-dax\nnodes:\n  db: { kind: dynamodb }\n  dax: { kind: dax, item_ttl: 1h }\n",
        home,
    )
    .await
    {
        Ok(d) => d,
        Err(code) => return code,
    };
    let node = |name: &str| {
        d.nodes
            .iter()
            .find(|n| n.info.name == name)
            .map(|n| &n.info)
    };
    let url = |name: &str| node(name).map(|n| n.url.clone()).unwrap_or_default();
    let port = |name: &str| node(name).map_or(0, |n| n.port);
    let store = |url: String| async move {
        let backend = DynamoBackend::new(&url, "us-east-1", "sessions", Duration::from_secs(10))
            .await
            .with_reads(Reads::Eventual);
        std::sync::Arc::new(DynamoStore {
            backend,
            namespace: "bench".into(),
        }) as std::sync::Arc<dyn SessionStore>
    };
    let through_dax = store(url("dax")).await;
    // The direct path, optionally through our proxy with added latency
    // (item-cache hits never reach DynamoDB, so the DAX path is the same).
    let mut _proxy = None;
    let direct_url = match latency {
        Some(l) => match crate::fabric::proxy::Proxy::start(port("db"), true).await {
            Ok(p) => {
                p.update(|t| t.latency = l);
                let u = format!("http://127.0.0.1:{}", p.listen_port);
                _proxy = Some(p);
                u
            }
            Err(e) => {
                eprintln!("error: starting the link proxy: {e}");
                return 1;
            }
        },
        None => url("db"),
    };
    let direct = store(direct_url).await;
    let per_client = (requests / clients as u64).max(1);
    let fleet = |s: &std::sync::Arc<dyn SessionStore>| vec![s.clone(); clients];
    // Written through DAX: its item cache holds every item.
    let put = drive(fleet(&through_dax), BenchOp::Set, per_client, bytes).await;
    if put.errors > 0 {
        eprintln!("error: {} writes failed", put.errors);
        return 1;
    }
    let best = |a: Option<Throughput>, b: Throughput| match a {
        Some(a) if a.latency_us.p50 <= b.latency_us.p50 => Some(a),
        _ => Some(b),
    };
    let (mut best_direct, mut best_dax) = (None, None);
    for _ in 0..rounds.max(1) {
        best_direct = best(
            best_direct,
            drive(fleet(&direct), BenchOp::Get, per_client, bytes).await,
        );
        best_dax = best(
            best_dax,
            drive(fleet(&through_dax), BenchOp::Get, per_client, bytes).await,
        );
    }
    let (Some(direct), Some(cached)) = (best_direct, best_dax) else {
        return 1;
    };
    let stats = crate::nodes::dax::probe::stats(port("dax"), Duration::from_secs(1)).await;
    crate::bench::print_table(
        "read",
        &[
            ("GetItem, DynamoDB node directly", direct),
            ("GetItem through DAX (item-cache hit)", cached),
        ],
        3,
    );
    println!(
        "p50 speed-up {:.1}x (target >= 3x); {clients} callers, {bytes}-byte values, {requests} reads per round, best of {rounds} rounds by p50; DynamoDB link latency {}",
        direct.latency_us.p50 as f64 / cached.latency_us.p50.max(1) as f64,
        latency.map_or("none (loopback)".to_string(), |l| format!(
            "+{l:?} per round trip"
        ))
    );
    if let Ok(s) = stats {
        println!(
            "DAX item cache: {} hits, {} misses",
            s.item.hits, s.item.misses
        );
    }
    0
}

async fn dynamodb(clients: usize, requests: u64, bytes: usize, home: Home) -> u8 {
    let d = match bench_node(
        "name: bench-dynamodb\nnodes:\n  sessions:\n    kind: dynamodb\n",
        home,
    )
    .await
    {
        Ok(d) => d,
        Err(code) => return code,
    };
    let url = d.nodes[0].info.url.clone();
    let mut stores: Vec<std::sync::Arc<dyn crate::store::SessionStore>> = Vec::new();
    let backend = std::sync::Arc::new(crate::store::dynamodb::DynamoStore {
        backend: crate::store::dynamodb::DynamoBackend::new(
            &url,
            "us-east-1",
            "sessions",
            Duration::from_secs(10),
        )
        .await,
        namespace: "bench".into(),
    });
    for _ in 0..clients {
        stores.push(backend.clone());
    }
    let per_client = (requests / clients as u64).max(1);
    let put = crate::bench::drive(
        stores.clone(),
        crate::bench::BenchOp::Set,
        per_client,
        bytes,
    )
    .await;
    let get = crate::bench::drive(stores, crate::bench::BenchOp::Get, per_client, bytes).await;
    crate::bench::print_table("op", &[("PutItem", put), ("GetItem (consistent)", get)], 2);
    println!(
        "({clients} concurrent callers sharing one SDK client, {bytes}-byte values, {requests} requests per op)"
    );
    0
}
