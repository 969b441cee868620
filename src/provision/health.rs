//! Is a node process answering? The check each kind's readiness uses,
//! for processes restarted by faults and for the role observer.
//!
//! A [`Link`] keeps its connection between checks (the observer looks at
//! every process ten times a second: a fresh connection, or for DynamoDB a
//! fresh SDK client, per look was ~70 short connections a second on the
//! hybrid topology) and opens it again after a check that failed.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::net::TcpStream;

use super::handle::{ProcessHandle, ProcessInfo};
use super::redis::probe::RedisAccess;
use crate::dynamo::{self, ClientPolicy};
use crate::fabric::ports::HOST;
use crate::topology::KindName;

/// One check, bounded by `limit`. `Err` says why not (LOADING, refused…).
pub async fn check(node: &ProcessHandle, limit: Duration) -> Result<(), String> {
    Link::new(&node.info, node.redis.as_ref())
        .check(limit)
        .await
}

/// Poll [`check`] until it passes or `timeout` ends; returns the last error.
pub async fn wait(node: &ProcessHandle, timeout: Duration) -> Result<Duration, String> {
    let start = std::time::Instant::now();
    let mut link = Link::new(&node.info, node.redis.as_ref());
    loop {
        match link.check(Duration::from_millis(500)).await {
            Ok(()) => return Ok(start.elapsed()),
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// A kept connection to one process.
enum Kept {
    Redis(MultiplexedConnection),
    Dynamodb(aws_sdk_dynamodb::Client),
    Memcached(TcpStream),
}

/// Checks of one process over one kept connection.
pub struct Link {
    info: ProcessInfo,
    redis: RedisAccess,
    kept: Option<Kept>,
}

impl Link {
    pub fn new(info: &ProcessInfo, redis: Option<&RedisAccess>) -> Self {
        Self {
            info: info.clone(),
            redis: redis.cloned().unwrap_or_default(),
            kept: None,
        }
    }

    /// Does it answer within `limit`? A failed check drops the
    /// connection: the next opens a new one.
    pub async fn check(&mut self, limit: Duration) -> Result<(), String> {
        let r = tokio::time::timeout(limit, self.ask())
            .await
            .unwrap_or_else(|_| Err("no answer".into()));
        if r.is_err() {
            self.kept = None;
        }
        r
    }

    /// A Redis command over the kept connection, within `limit`; a failure
    /// drops the connection.
    pub async fn redis<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
        limit: Duration,
    ) -> Result<T, String> {
        let r = tokio::time::timeout(limit, async {
            let con = self.redis_connection().await?;
            cmd.query_async::<T>(con).await.map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|_| Err("no answer".into()));
        if r.is_err() {
            self.kept = None;
        }
        r
    }

    async fn redis_connection(&mut self) -> Result<&mut MultiplexedConnection, String> {
        if !matches!(self.kept, Some(Kept::Redis(_))) {
            let con = self.info.redis_probe(&self.redis).connect().await?;
            self.kept = Some(Kept::Redis(con));
        }
        match &mut self.kept {
            Some(Kept::Redis(con)) => Ok(con),
            _ => Err("no Redis connection".into()),
        }
    }

    async fn ask(&mut self) -> Result<(), String> {
        let port = self.info.port;
        match self.info.kind {
            KindName::Memcached => {
                if !matches!(self.kept, Some(Kept::Memcached(_))) {
                    let s = TcpStream::connect((HOST, port))
                        .await
                        .map_err(|e| e.to_string())?;
                    self.kept = Some(Kept::Memcached(s));
                }
                let Some(Kept::Memcached(s)) = &mut self.kept else {
                    return Err("no memcached connection".into());
                };
                super::memcached::version_on(s).await.map(|_| ())
            }
            // Through the DAX node's own pooled HTTP client.
            KindName::Dax => crate::nodes::dax::probe::stats(port, Duration::from_secs(1))
                .await
                .map(|_| ()),
            KindName::Dynamodb => {
                if !matches!(self.kept, Some(Kept::Dynamodb(_))) {
                    let client =
                        dynamo::client(&self.info.url, "us-east-1", ClientPolicy::default()).await;
                    self.kept = Some(Kept::Dynamodb(client));
                }
                let Some(Kept::Dynamodb(client)) = &self.kept else {
                    return Err("no DynamoDB client".into());
                };
                dynamo::answers(client).await
            }
            KindName::Redis | KindName::RedisReplicated | KindName::RedisCluster => {
                let con = self.redis_connection().await?;
                let pong: String = redis::cmd("PING")
                    .query_async(con)
                    .await
                    .map_err(|e| e.to_string())?;
                if pong == "PONG" { Ok(()) } else { Err(pong) }
            }
        }
    }
}
