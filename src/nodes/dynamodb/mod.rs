//! The embedded DynamoDB node: Dynoxide (SQLite-backed, DynamoDB JSON
//! protocol over HTTP) on a loopback port, file-backed in the run directory.
//!
//! Dynoxide never deletes expired items by itself; like DynamoDB's lazy TTL
//! deletion, this node sweeps them on an interval. Clients connect to its
//! front ([`front`]), which sets the limits Dynoxide's server does not.

mod front;

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

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
    /// A connection that sends no complete request head within this many
    /// milliseconds (idle keep-alive ones included) is closed.
    #[arg(long, default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Connections served at once; more are closed as they come. Default:
    /// what the open-file limit allows (half of it, less a reserve).
    #[arg(long)]
    pub max_connections: Option<usize>,
}

pub async fn run(args: DynamodbNodeArgs) -> Result<(), String> {
    let path = args.db.to_str().ok_or("database path is not UTF-8")?;
    let db = dynoxide::Database::new(path).map_err(|e| format!("opening {path}: {e}"))?;
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, args.port))
        .await
        .map_err(|e| format!("binding 127.0.0.1:{}: {e}", args.port))?;
    // Dynoxide's own port: only the front connects to it.
    let inner = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| format!("binding 127.0.0.1:0: {e}"))?;
    let inner_addr = inner.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "dynamodb node listening on http://127.0.0.1:{} (Dynoxide behind it on {inner_addr})",
        args.port
    );

    let sweeper_db = db.clone();
    let interval = Duration::from_millis(args.ttl_sweep_ms.max(10));
    tokio::spawn(async move {
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

    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let stop = tokio_util::sync::CancellationToken::new();
    let dynoxide = tokio::spawn(dynoxide::server::serve_with_shutdown(
        inner,
        db,
        stop.clone().cancelled_owned(),
    ));
    crate::nodes::serve::serve(
        listener,
        front::router(format!("http://{inner_addr}")),
        Duration::from_millis(args.header_timeout_ms.max(1)),
        args.max_connections
            .unwrap_or_else(crate::nodes::serve::connection_room),
        async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        },
    )
    .await;
    // Requests already in Dynoxide finish; then the database is closed.
    stop.cancel();
    dynoxide.await.map_err(|e| format!("dynoxide: {e}"))?
}
