//! The embedded DynamoDB node: Dynoxide (SQLite-backed, DynamoDB JSON
//! protocol over HTTP) on a loopback port, file-backed in the run directory.
//!
//! Dynoxide never deletes expired items by itself; like DynamoDB's lazy TTL
//! deletion, this node sweeps them on an interval.

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
}

pub async fn run(args: DynamodbNodeArgs) -> Result<(), String> {
    let path = args.db.to_str().ok_or("database path is not UTF-8")?;
    let db = dynoxide::Database::new(path).map_err(|e| format!("opening {path}: {e}"))?;
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, args.port))
        .await
        .map_err(|e| format!("binding 127.0.0.1:{}: {e}", args.port))?;
    eprintln!("dynamodb node listening on http://127.0.0.1:{}", args.port);

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
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    dynoxide::server::serve_with_shutdown(listener, db, shutdown).await
}
