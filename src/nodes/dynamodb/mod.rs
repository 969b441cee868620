//! The embedded DynamoDB node: Dynoxide (SQLite-backed, DynamoDB JSON
//! protocol over HTTP) on a loopback port, file-backed in the run directory.
//!
//! Dynoxide never deletes expired items by itself; like DynamoDB's lazy TTL
//! deletion, this node sweeps them on an interval. Clients connect to its
//! front ([`front`]), which sets the limits Dynoxide's server does not.

mod front;

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct DynamodbNodeArgs {
    /// Loopback port to listen on.
    #[arg(long)]
    pub port: u16,
    /// SQLite database file (created when missing).
    #[arg(long)]
    pub db: PathBuf,
    /// Delete expired items (TTL) every this many milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub ttl_sweep_ms: u64,
    #[command(flatten)]
    pub limits: crate::nodes::serve::Limits,
}

/// A connection's descriptors: its own and, while a request on it runs,
/// both ends of one connection to Dynoxide (in this process); the client
/// keeps idle ones to Dynoxide, two descriptors each.
const COST: crate::nodes::serve::Cost = crate::nodes::serve::Cost {
    per_connection: 3,
    pooled: 2 * crate::nodes::http::IDLE_PER_HOST,
};

/// Dynoxide's own port: on 127.0.0.2, whose ports no node is planned on
/// (an ephemeral port of 127.0.0.1 taken here could be one `up` planned
/// for another node and has not bound yet); 127.0.0.1 where that address
/// is missing.
async fn inner_listener() -> Result<tokio::net::TcpListener, String> {
    let other = std::net::Ipv4Addr::new(127, 0, 0, 2);
    match tokio::net::TcpListener::bind((other, 0)).await {
        Ok(l) => Ok(l),
        Err(_) => tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| format!("binding 127.0.0.1:0: {e}")),
    }
}

pub async fn run(args: DynamodbNodeArgs) -> Result<(), String> {
    let path = args.db.to_str().ok_or("database path is not UTF-8")?;
    let db = dynoxide::Database::new(path).map_err(|e| format!("opening {path}: {e}"))?;
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, args.port))
        .await
        .map_err(|e| format!("binding 127.0.0.1:{}: {e}", args.port))?;
    // Only the front connects to it.
    let inner = inner_listener().await?;
    let inner_addr = inner.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "dynamodb node listening on http://127.0.0.1:{} (Dynoxide behind it on {inner_addr})",
        args.port
    );

    let sweeper_db = db.clone();
    let interval = Duration::from_millis(args.ttl_sweep_ms.max(10));
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            let db = sweeper_db.clone();
            match tokio::task::spawn_blocking(move || db.sweep_ttl()).await {
                Ok(Ok(n)) if n > 0 => eprintln!("ttl sweep deleted {n} expired items"),
                Ok(Err(e)) => eprintln!("ttl sweep failed: {e}"),
                _ => {}
            }
        }
    });

    let stopped = crate::nodes::serve::stop_signal()?;
    let stop = tokio_util::sync::CancellationToken::new();
    // Dynoxide ending by itself ends the node: a front with nothing behind
    // it would answer every request with an error.
    let ended = tokio_util::sync::CancellationToken::new();
    let dynoxide = {
        let (stop, ended) = (stop.clone(), ended.clone());
        tokio::spawn(async move {
            let r = dynoxide::server::serve_with_shutdown(inner, db, stop.cancelled_owned()).await;
            ended.cancel();
            r
        })
    };
    let gone = ended.clone();
    let app = front::router(format!("http://{inner_addr}"));
    let shutdown = async move {
        tokio::select! {
            () = stopped => {}
            () = gone.cancelled() => {}
        }
    };
    args.limits.serve(listener, app, COST, shutdown).await;
    let early = ended.is_cancelled();
    // The front has answered what it was serving; now Dynoxide stops (its
    // connections from the front are idle). The database closes with the
    // last handle: the sweeper's goes here, or when a sweep running now ends.
    sweeper.abort();
    let _ = sweeper.await;
    stop.cancel();
    let served = dynoxide.await.map_err(|e| format!("dynoxide: {e}"))?;
    match (served, early) {
        (Err(e), _) => Err(e),
        (Ok(()), true) => Err("Dynoxide stopped serving".into()),
        (Ok(()), false) => Ok(()),
    }
}
