//! Our HTTP nodes' server (the DAX node, and the DynamoDB node's front):
//! axum's router on hyper connections with the limits `axum::serve` does
//! not set — a connection that sends no complete
//! request head within `header_timeout` (an idle keep-alive one included)
//! is closed, and past `max_connections` a new connection is closed at
//! once. Without them, 1 100 idle connections under `ulimit -n 1024` stopped
//! the node until they were released.
//!
//! The cap is what the node's descriptors allow ([`connection_room`]), not
//! a fixed number: a fixed 512 broke the DynamoDB conformance suite, whose
//! SDK clients hold up to 546 keep-alive connections at once (measured).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Descriptors kept for the node's own files: its listeners, logs,
/// database, runtime.
const RESERVE: u64 = 64;

/// How long a node waits, once told to stop, for the requests it is
/// serving to be answered.
const DRAIN: Duration = Duration::from_secs(10);

/// What one connection of a node costs in descriptors, for its cap.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Per connection served: its socket, and the ones a request on it may
    /// hold upstream while it runs.
    pub per_connection: u64,
    /// Held whatever the connections: idle upstream connections the node's
    /// client keeps (and their other ends, when the upstream is in this
    /// process).
    pub pooled: u64,
}

/// How many connections a node may serve at once when not told: its soft
/// limit of open files (first raised to the hard limit, as servers do),
/// less the reserve and what its pool holds, divided by what a connection
/// costs. At least 1.
pub fn connection_room(cost: Cost) -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 512;
    };
    let soft = if hard > soft && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    let room = soft.saturating_sub(RESERVE + cost.pooled) / cost.per_connection.max(1);
    usize::try_from(room.max(1)).unwrap_or(usize::MAX)
}

/// The limits of a node's server, as command-line options of its own.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// A connection that sends no complete request head within this many
    /// milliseconds (idle keep-alive ones included) is closed.
    #[arg(long, default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Connections served at once; more are closed as they come. Default:
    /// what the node's open-file limit allows for what one costs.
    #[arg(long)]
    pub max_connections: Option<usize>,
}

impl Limits {
    /// [`serve`] with these limits; a connection costs `cost`.
    pub async fn serve(
        &self,
        listener: TcpListener,
        app: Router,
        cost: Cost,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let timeout = Duration::from_millis(self.header_timeout_ms.max(1));
        let room = self
            .max_connections
            .unwrap_or_else(|| connection_room(cost));
        serve(listener, app, timeout, room, shutdown).await;
    }
}

/// Completes when the node is told to stop: SIGTERM or SIGINT.
pub fn stop_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Serve `app` on `listener` until `shutdown` completes; then stop taking
/// connections, let the requests being served be answered (for up to
/// [`DRAIN`]) and close the idle connections, and return.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let room = Arc::new(Semaphore::new(
        max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, for one: wait a little rather than spin.
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = room.clone().try_acquire_owned() else {
            drop(stream); // full: closed at once, its descriptor freed
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(true);
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = conn.await {
                tracing::debug!("connection: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {DRAIN:?}: stopping anyway");
    }
}
