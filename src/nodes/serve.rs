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
//! SDK clients hold up to 547 keep-alive connections at once (measured).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Descriptors kept for the node's own files, its listener, logs and
/// database.
const RESERVE: u64 = 64;

/// How many connections a node may serve at once when not told: its soft
/// limit of open files (first raised to the hard limit, as servers do),
/// less a reserve, halved — each connection may hold one more, upstream.
/// At least 1.
pub fn connection_room() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 512;
    };
    let soft = if hard > soft && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    usize::try_from((soft.saturating_sub(RESERVE) / 2).max(1)).unwrap_or(usize::MAX)
}

/// Serve `app` on `listener` until `shutdown` completes.
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
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => return,
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
        tokio::spawn(async move {
            let _permit = permit;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            if let Err(e) = http.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!("connection: {e}");
            }
        });
    }
}
