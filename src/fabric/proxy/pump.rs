//! One proxied connection: a reader and a writer per direction joined by a
//! queue of timestamped chunks, so latency delays every chunk by the same
//! amount without limiting throughput, and a partition holds chunks in the
//! queue until it heals.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::http;
use super::toxics::{Direction, Toxics};

type Chunk = (Instant, Vec<u8>);

/// What every connection of one proxy shares.
#[derive(Clone)]
pub struct Link {
    pub http: bool,
    pub bus: bool,
    pub toxics: watch::Receiver<Toxics>,
    pub stop: CancellationToken,
    /// Requests seen (HTTP), for spreading throttles evenly.
    pub counter: Arc<AtomicU64>,
}

pub async fn connection(client: TcpStream, server: TcpStream, link: Link) {
    let Link {
        http,
        bus,
        toxics,
        stop,
        counter,
    } = link;
    // A bus connection is known by the node that opened it: each cluster
    // node connects from its own loopback address (`bind-source-addr`), so
    // the sender is known without reading the bus, which may be TLS.
    let sender: Option<IpAddr> = if bus {
        client.peer_addr().ok().map(|a| a.ip())
    } else {
        None
    };
    let generation = toxics.borrow().reset_generation;
    let (c_read, c_write) = client.into_split();
    let (s_read, s_write) = server.into_split();
    let (up_tx, up_rx) = mpsc::unbounded_channel::<Chunk>();
    let (down_tx, down_rx) = mpsc::unbounded_channel::<Chunk>();
    let up_reader = read_up(
        c_read,
        up_tx,
        // Weak: when the node closes its side, the down writer must end
        // (and the client see the close) even though this reader could
        // still answer throttled requests.
        down_tx.downgrade(),
        http,
        toxics.clone(),
        counter,
    );
    let down_reader = read(s_read, down_tx);
    let up_writer = write(s_write, up_rx, Direction::Up, toxics.clone(), sender);
    let down_writer = write(c_write, down_rx, Direction::Down, toxics.clone(), sender);
    let mut reset_watch = toxics.clone();
    // Ends the connection on a reset, or `after` into a `timeout` toxic.
    let reset = async move {
        loop {
            let timeout = reset_watch.borrow_and_update().timeout;
            let closing = async {
                match timeout {
                    Some(after) if !after.is_zero() => tokio::time::sleep(after).await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = closing => return true,
                changed = reset_watch.changed() => {
                    if changed.is_err() {
                        return false;
                    }
                    if reset_watch.borrow().reset_generation != generation {
                        return true;
                    }
                }
            }
        }
    };
    // Either side closing ends the connection once its bytes are written.
    let pumps = async {
        tokio::join!(
            async {
                up_reader.await;
            },
            async {
                down_reader.await;
            },
            async {
                if let Some(mut w) = up_writer.await {
                    let _ = w.shutdown().await;
                }
            },
            async {
                if let Some(mut w) = down_writer.await {
                    let _ = w.shutdown().await;
                }
            },
        )
    };
    // A reset, or the proxy going away, drops both sockets at once: the
    // client and the node see the connection closed mid-stream.
    tokio::select! {
        _ = pumps => {}
        _ = stop.cancelled() => {}
        true = reset => {}
    }
}

/// Client → node. In HTTP mode, whole requests are forwarded or, when the
/// link throttles, answered with an error response sent back down.
async fn read_up(
    mut from: OwnedReadHalf,
    up: mpsc::UnboundedSender<Chunk>,
    down: mpsc::WeakUnboundedSender<Chunk>,
    http_mode: bool,
    toxics: watch::Receiver<Toxics>,
    counter: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let now = Instant::now();
        if !http_mode {
            if up.send((now, buf[..n].to_vec())).is_err() {
                return;
            }
            continue;
        }
        pending.extend_from_slice(&buf[..n]);
        loop {
            let len = match http::request_len(&pending) {
                http::Framed::Complete(len) => len,
                http::Framed::Incomplete => break,
                http::Framed::Invalid(why) => {
                    tracing::debug!("proxy: closing a connection that sent {why}");
                    return;
                }
            };
            let request: Vec<u8> = pending.drain(..len).collect();
            let throttle = toxics.borrow().throttle;
            let k = counter.fetch_add(1, Ordering::Relaxed);
            match throttle {
                Some(t) if chosen(k, t.share) => {
                    let Some(down) = down.upgrade() else { return };
                    if down.send((now, http::error_response(t.status, k))).is_err() {
                        return;
                    }
                }
                _ => {
                    if up.send((now, request)).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Is request number `k` among a `share` of all requests? Evenly spread and
/// deterministic: request k is chosen when floor((k+1)·share) > floor(k·share).
fn chosen(k: u64, share: f64) -> bool {
    let share = share.clamp(0.0, 1.0);
    ((k + 1) as f64 * share).floor() > (k as f64 * share).floor()
}

async fn read(mut from: OwnedReadHalf, to: mpsc::UnboundedSender<Chunk>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.send((Instant::now(), buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// Write chunks in order, each no earlier than its arrival + latency, none
/// while the direction is blocked. Returns the writer when the queue ends.
async fn write(
    mut to: OwnedWriteHalf,
    mut chunks: mpsc::UnboundedReceiver<Chunk>,
    dir: Direction,
    mut toxics: watch::Receiver<Toxics>,
    sender: Option<IpAddr>,
) -> Option<OwnedWriteHalf> {
    // Each pump its own jitter sequence: connections of one pool are not
    // delayed alike.
    static PUMPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut jitter_seed: u64 = 0x9e37_79b9_7f4a_7c15
        ^ PUMPS
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .wrapping_mul(0xbf58_476d_1ce4_e5b9);
    while let Some((arrived, bytes)) = chunks.recv().await {
        loop {
            let t = toxics.borrow_and_update().clone();
            if t.timeout.is_some() {
                // Dropped, never delivered.
                break;
            }
            if t.blocked(dir) || t.holds_sender(sender) {
                // Hold until the partition heals.
                if toxics.changed().await.is_err() {
                    return None;
                }
                continue;
            }
            // Latency is added once per round trip: on the way back, unless
            // the fault delays the requests.
            let mut delay = if dir == t.latency_direction {
                t.latency
            } else {
                Duration::ZERO
            };
            if !t.jitter.is_zero() && dir == t.latency_direction {
                jitter_seed = jitter_seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let j = (jitter_seed >> 33) % (2 * t.jitter.as_micros() as u64 + 1);
                delay = (delay + Duration::from_micros(j)).saturating_sub(t.jitter);
            }
            let due = arrived + delay;
            if Instant::now() < due {
                tokio::select! {
                    _ = tokio::time::sleep_until(due.into()) => {}
                    // A partition starting meanwhile holds this chunk too.
                    r = toxics.changed() => { if r.is_err() { return None; } continue; }
                }
            }
            if to.write_all(&bytes).await.is_err() {
                return None;
            }
            if let Some(bps) = t.bandwidth.filter(|&b| b > 0) {
                tokio::time::sleep(Duration::from_secs_f64(bytes.len() as f64 / bps as f64)).await;
            }
            break;
        }
    }
    Some(to)
}

#[cfg(test)]
mod tests {
    use super::chosen;

    #[test]
    fn a_share_of_requests_is_chosen_evenly() {
        let n = (0..1000).filter(|&k| chosen(k, 0.3)).count();
        assert_eq!(n, 300);
        assert_eq!((0..100).filter(|&k| chosen(k, 0.0)).count(), 0);
        assert_eq!((0..100).filter(|&k| chosen(k, 1.0)).count(), 100);
    }
}
