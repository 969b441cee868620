//! Strategy `memcached`: plain get/set with expiry over memcached's text
//! protocol, sessions sharded across the nodes by session id (client-side
//! sharding, as ElastiCache for Memcached clients do).
//!
//! Written by hand (about 100 lines): the protocol subset is three commands,
//! and the drill needs per-node connection state, explicit timeouts and
//! error classes that the maintained async clients do not expose.

use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;

use super::SessionStore;
use super::error::{ErrorClass, OpError};
use crate::fabric::tls_client::ClientTls;

/// A connection, plain or TLS.
type Conn = BufReader<Either<TcpStream, Box<TlsStream<TcpStream>>>>;

/// The longest value a `get` accepts (64 MiB; memcached's default item
/// limit is 1 MiB), so that a hostile length cannot exhaust memory.
const MAX_VALUE: usize = 64 << 20;

/// Where a server is reached, and the name its TLS certificate is
/// checked for (its own host, also when it is reached through a proxy).
#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub name: String,
}

struct Node {
    at: Server,
    slots: Vec<Mutex<Option<Conn>>>,
}

pub struct MemcachedStore {
    nodes: Vec<Node>,
    namespace: String,
    timeout: Duration,
    /// TLS to every server (an external node with an authority).
    tls: Option<ClientTls>,
}

impl MemcachedStore {
    /// `servers` in the order sessions are sharded over them.
    pub fn new(servers: &[Server], namespace: &str, connections: usize, timeout: Duration) -> Self {
        Self {
            nodes: servers
                .iter()
                .map(|at| Node {
                    at: at.clone(),
                    slots: (0..connections.max(1)).map(|_| Mutex::new(None)).collect(),
                })
                .collect(),
            namespace: namespace.to_string(),
            timeout,
            tls: None,
        }
    }

    /// Speak TLS to the servers (checked for the name `tls` says, else
    /// for each server's host — the one it has, not its proxy's).
    pub fn with_tls(mut self, tls: Option<ClientTls>) -> Self {
        self.tls = tls;
        self
    }

    /// The node a session lives on.
    pub fn node_of(&self, id: u64) -> usize {
        (id % self.nodes.len() as u64) as usize
    }

    pub fn key(namespace: &str, id: u64) -> String {
        format!("sd:{namespace}:session:{id}")
    }

    async fn open(&self, node: &Node) -> std::io::Result<Conn> {
        let tcp = TcpStream::connect((node.at.host.as_str(), node.at.port)).await?;
        Ok(BufReader::new(match &self.tls {
            Some(t) => Either::Right(Box::new(t.connect(tcp, &node.at.name).await?)),
            None => Either::Left(tcp),
        }))
    }

    /// Open every slot's connection to every node, all at once, each
    /// within the timeout ([`SessionStore::warm`]): with fewer sessions
    /// than slots some are never used (closed with the store).
    async fn open_all(&self) -> super::Warmed {
        let opened = self.nodes.iter().flat_map(|node| {
            node.slots.iter().map(move |slot| async move {
                let mut guard = slot.lock().await;
                if guard.is_none()
                    && let Ok(Ok(c)) = tokio::time::timeout(self.timeout, self.open(node)).await
                {
                    *guard = Some(c);
                }
                guard.is_some()
            })
        });
        super::Warmed::of(&futures::future::join_all(opened).await)
    }

    /// Run `f` on a connection to the session's node. The connection is
    /// taken out of its slot for the exchange and put back only after a
    /// complete reply: a failed, timed-out or cancelled exchange (a reply
    /// may still be on the wire) leaves the slot empty, so the next
    /// operation reconnects instead of reading a stale reply.
    async fn with_conn<T>(
        &self,
        id: u64,
        f: impl AsyncFnOnce(&mut Conn) -> std::io::Result<T>,
    ) -> Result<T, OpError> {
        let node = &self.nodes[self.node_of(id)];
        let slot = &node.slots[(id / self.nodes.len() as u64) as usize % node.slots.len()];
        let mut guard = slot.lock().await;
        let taken = guard.take();
        let work = async {
            let mut conn = match taken {
                Some(c) => c,
                None => self.open(node).await?,
            };
            let v = f(&mut conn).await?;
            Ok::<_, std::io::Error>((v, conn))
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok((v, conn))) => {
                *guard = Some(conn);
                Ok(v)
            }
            Ok(Err(e)) => {
                let class = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe => ErrorClass::Refused,
                    _ => ErrorClass::Other,
                };
                Err(OpError::new(
                    class,
                    format!("memcached {}:{}: {e}", node.at.host, node.at.port),
                ))
            }
            Err(_) => Err(OpError::timeout()),
        }
    }
}

/// Write a command and flush it: over TLS the bytes may otherwise stay in
/// the session's buffer while we wait for the reply.
async fn send(c: &mut Conn, bytes: &[u8]) -> std::io::Result<()> {
    c.get_mut().write_all(bytes).await?;
    c.get_mut().flush().await
}

/// A server's numeric answer to `command` (`stats`, `stats slabs`).
async fn stats(
    c: &mut Conn,
    command: &str,
) -> std::io::Result<std::collections::HashMap<String, u64>> {
    send(c, format!("{command}\r\n").as_bytes()).await?;
    let mut out = std::collections::HashMap::new();
    // Bounded: a broken server that never says END cannot hold us.
    for _ in 0..1000 {
        let mut line = String::new();
        if c.read_line(&mut line).await? == 0 {
            break;
        }
        if line == "END\r\n" {
            return Ok(out);
        }
        let mut parts = line.split_whitespace();
        if let (Some("STAT"), Some(k), Some(v)) = (parts.next(), parts.next(), parts.next())
            && let Ok(v) = v.parse()
        {
            out.insert(k.to_string(), v);
        }
    }
    Err(protocol_error("stats without END"))
}

fn protocol_error(line: &str) -> std::io::Error {
    std::io::Error::other(format!("unexpected reply {:?}", line.trim_end()))
}

#[async_trait]
impl SessionStore for MemcachedStore {
    async fn warm(&self) -> super::Warmed {
        self.open_all().await
    }

    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        let key = Self::key(&self.namespace, id);
        // Relative expiry in seconds; memcached caps relative times at 30 days.
        let exp = ttl.as_secs().clamp(1, 30 * 24 * 3600);
        self.with_conn(id, async |c: &mut Conn| {
            let cmd = format!("set {key} 0 {exp} {}\r\n{value}\r\n", value.len());
            send(c, cmd.as_bytes()).await?;
            let mut line = String::new();
            c.read_line(&mut line).await?;
            if line == "STORED\r\n" {
                Ok(())
            } else {
                Err(protocol_error(&line))
            }
        })
        .await
    }

    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        let key = Self::key(&self.namespace, id);
        self.with_conn(id, async |c: &mut Conn| {
            send(c, format!("get {key}\r\n").as_bytes()).await?;
            let mut line = String::new();
            c.read_line(&mut line).await?;
            if line == "END\r\n" {
                return Ok(None);
            }
            // A session is far below this (memcached's items are 1 MiB by
            // default): a larger length is a broken or hostile server.
            let len: usize = line
                .strip_prefix("VALUE ")
                .and_then(|r| r.split_whitespace().nth(2))
                .and_then(|n| n.parse().ok())
                .filter(|&n: &usize| n <= MAX_VALUE)
                .ok_or_else(|| protocol_error(&line))?;
            let mut data = vec![0u8; len + 2];
            c.read_exact(&mut data).await?;
            data.truncate(len);
            let mut end = String::new();
            c.read_line(&mut end).await?;
            if end != "END\r\n" {
                return Err(protocol_error(&end));
            }
            Ok(Some(String::from_utf8_lossy(&data).into_owned()))
        })
        .await
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        let key = Self::key(&self.namespace, id);
        self.with_conn(id, async |c: &mut Conn| {
            send(c, format!("delete {key}\r\n").as_bytes()).await?;
            let mut line = String::new();
            c.read_line(&mut line).await?;
            match line.as_str() {
                "DELETED\r\n" | "NOT_FOUND\r\n" => Ok(()),
                _ => Err(protocol_error(&line)),
            }
        })
        .await
    }

    /// Every server's items (`stats`) and the memory their slab chunks
    /// take (`stats slabs`: used chunks × chunk size, what the item and
    /// its rounding up to the chunk take), summed: memcached has no
    /// per-key size, and no other data is on the run's servers.
    async fn footprint(&self, _ids: &[u64]) -> super::Footprint {
        let (mut items, mut bytes) = (0u64, 0u64);
        for i in 0..self.nodes.len() as u64 {
            let got = self
                .with_conn(i, async |c: &mut Conn| {
                    Ok((stats(c, "stats").await?, stats(c, "stats slabs").await?))
                })
                .await;
            let Ok((general, slabs)) = got else {
                return super::Footprint::default();
            };
            items += general.get("curr_items").copied().unwrap_or(0);
            bytes += slabs
                .iter()
                .filter_map(|(k, &chunk)| {
                    let id = k.strip_suffix(":chunk_size")?;
                    let used = slabs.get(&format!("{id}:used_chunks"))?;
                    Some(chunk.saturating_mul(*used))
                })
                .fold(0u64, u64::saturating_add);
        }
        super::Footprint {
            memcached: (items > 0).then(|| super::footprint::MemcachedFootprint {
                items,
                bytes,
                bytes_per_item: bytes as f64 / items as f64,
            }),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        format!(
            "memcached text protocol; {} nodes, sessions sharded by id modulo nodes; timeout {} ms; no retries",
            self.nodes.len(),
            self.timeout.as_millis()
        )
    }
}
