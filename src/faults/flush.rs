//! `flush`: empty a cache — `FLUSHALL` on a Redis server (on a replicated
//! group, the primary; it replicates), `flush_all` on memcached, both
//! caches of a DAX node.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fabric::ports::HOST;
use crate::provision::NodeHandle;
use crate::provision::redis::probe::RedisProbe;

/// Bounded: a paused node must not hang the run (the deployment is locked
/// while a fault is injected).
pub async fn inject(node: &NodeHandle) -> Result<(), String> {
    tokio::time::timeout(std::time::Duration::from_secs(2), flush(node))
        .await
        .unwrap_or_else(|_| Err(format!("{} did not answer within 2 s", node.info.name)))
}

async fn flush(node: &NodeHandle) -> Result<(), String> {
    let port = node.info.port;
    if node.info.kind == "memcached" {
        let mut s = tokio::net::TcpStream::connect((HOST, port))
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(b"flush_all\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        return if buf[..n].starts_with(b"OK") {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
    }
    if node.info.kind == "dax" {
        return crate::nodes::dax::probe::flush(port, std::time::Duration::from_secs(2)).await;
    }
    if !node.info.kind.starts_with("redis") {
        return Err(format!("flush applies to caches, not {}", node.info.kind));
    }
    let probe = RedisProbe::new(port, node.password.as_deref().unwrap_or(""));
    let ok: String = probe.query(&redis::cmd("FLUSHALL")).await?;
    if ok == "OK" { Ok(()) } else { Err(ok) }
}
