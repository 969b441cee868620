//! The link proxy: a TCP listener on loopback in front of one node. Every
//! connection is two pumps (client → node, node → client) that apply the
//! link's [`Toxics`] live: latency and jitter, bandwidth, holding bytes while
//! partitioned (delivered when healed, as TCP would retransmit them), resets,
//! and — for DynamoDB's HTTP — throttling answered with the real error shape.
//!
//! Written by hand: toxiproxy is a Go server, and the Rust crates for
//! proxies do not apply per-direction faults live to open connections.

pub mod http;
mod pump;
pub mod toxics;

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use toxics::{Direction, Throttle, Toxics};

use crate::fabric::ports::HOST;

/// One proxied link. Dropping it closes the listener and every connection.
pub struct Proxy {
    pub listen_port: u16,
    /// Where it forwards to: this machine unless [`Proxy::start_to`] said
    /// otherwise.
    pub upstream_host: String,
    pub upstream_port: u16,
    /// Speaks HTTP (DynamoDB): throttling is possible.
    pub http: bool,
    /// Carries a Redis Cluster bus: connections are known by their sender.
    pub bus: bool,
    toxics: watch::Sender<Toxics>,
    stop: CancellationToken,
}

impl Proxy {
    /// Listen on a free loopback port and forward to `upstream_port`.
    /// Must be called inside a tokio runtime.
    pub async fn start(upstream_port: u16, http: bool) -> std::io::Result<Proxy> {
        Self::start_with(&HOST.to_string(), upstream_port, http, false).await
    }

    /// A proxy in front of a cluster bus port.
    pub async fn start_bus(upstream_port: u16) -> std::io::Result<Proxy> {
        Self::start_with(&HOST.to_string(), upstream_port, false, true).await
    }

    /// A proxy (listening on loopback) in front of `host:port` elsewhere:
    /// the client link of an external node.
    pub async fn start_to(host: &str, port: u16) -> std::io::Result<Proxy> {
        Self::start_with(host, port, false, false).await
    }

    async fn start_with(
        upstream_host: &str,
        upstream_port: u16,
        http: bool,
        bus: bool,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind((HOST, 0)).await?;
        let listen_port = listener.local_addr()?.port();
        let (toxics, rx) = watch::channel(Toxics::default());
        let stop = CancellationToken::new();
        let link = pump::Link {
            http,
            bus,
            toxics: rx,
            stop: stop.clone(),
            counter: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        };
        let upstream = (upstream_host.to_string(), upstream_port);
        tokio::spawn(accept_loop(listener, upstream.clone(), link));
        Ok(Proxy {
            listen_port,
            upstream_host: upstream.0,
            upstream_port,
            http,
            bus,
            toxics,
            stop,
        })
    }

    pub fn toxics(&self) -> Toxics {
        self.toxics.borrow().clone()
    }

    /// Change the link's toxics; open connections follow at once.
    pub fn update(&self, f: impl FnOnce(&mut Toxics)) {
        self.toxics.send_modify(f);
    }

    /// Reset every open connection (TCP RST).
    pub fn reset(&self) {
        self.update(|t| t.reset_generation += 1);
    }

    /// Back to a clean link (keeps the reset generation).
    pub fn heal(&self) {
        self.update(|t| {
            *t = Toxics {
                reset_generation: t.reset_generation,
                ..Toxics::default()
            }
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, upstream: (String, u16), link: pump::Link) {
    loop {
        let accepted = tokio::select! {
            _ = link.stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((client, _)) = accepted else { continue };
        let _ = client.set_nodelay(true);
        let link = link.clone();
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)).await else {
                // The node is down: the client sees the connection close.
                return;
            };
            let _ = server.set_nodelay(true);
            pump::connection(client, server, link).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::fabric::proxy::toxics::Direction;

    /// An upstream that answers each byte with one byte, and says how long
    /// after `start` the first byte reached it.
    async fn round_trip(direction: Direction) -> (Duration, Duration) {
        let upstream = TcpListener::bind((HOST, 0)).await.unwrap();
        let port = upstream.local_addr().unwrap().port();
        let proxy = Proxy::start(port, false).await.unwrap();
        proxy.update(|t| {
            t.latency = Duration::from_millis(150);
            t.latency_direction = direction;
        });
        let start = Instant::now();
        let server = tokio::spawn(async move {
            let (mut s, _) = upstream.accept().await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            let arrived = start.elapsed();
            s.write_all(&b).await.unwrap();
            arrived
        });
        let mut c = tokio::net::TcpStream::connect((HOST, proxy.listen_port))
            .await
            .unwrap();
        c.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).await.unwrap();
        (server.await.unwrap(), start.elapsed())
    }

    /// The latency goes on the answers by default, on the requests with
    /// `direction: up` — once per round trip either way. (Lower bounds
    /// only but one, with a whole latency of slack: a busy machine can make
    /// anything later, nothing earlier.)
    #[tokio::test]
    async fn latency_delays_the_answers_or_the_requests() {
        let latency = Duration::from_millis(150);
        // The request is not held; the answer comes 150 ms after it.
        let (arrived, total) = round_trip(Direction::Down).await;
        assert!(total >= arrived + latency, "{arrived:?} {total:?}");
        // The request is held 150 ms, its answer is not.
        let (arrived, total) = round_trip(Direction::Up).await;
        assert!(arrived >= latency, "{arrived:?}");
        assert!(
            total < arrived + latency,
            "the answer was held too: {arrived:?} {total:?}"
        );
    }
}
