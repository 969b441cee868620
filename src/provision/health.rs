//! Is a node process answering? The check each kind's readiness uses,
//! for processes restarted by faults and for the role observer.

use std::time::Duration;

use super::handle::{ProcessHandle, ProcessInfo};
use crate::dynamo::{self, ClientPolicy};
use crate::topology::KindName;

/// One check, bounded by `limit`. `Err` says why not (LOADING, refused…).
pub async fn check(node: &ProcessHandle, limit: Duration) -> Result<(), String> {
    check_info(&node.info, node.password.as_deref(), limit).await
}

/// [`check`] from what a node's [`ProcessInfo`] and password say.
pub async fn check_info(
    info: &ProcessInfo,
    password: Option<&str>,
    limit: Duration,
) -> Result<(), String> {
    let port = info.port;
    let work = async {
        match info.kind {
            KindName::Memcached => super::memcached::version(port).await.map(|_| ()),
            KindName::Dax => crate::nodes::dax::probe::stats(port, limit)
                .await
                .map(|_| ()),
            KindName::Dynamodb => {
                let client = dynamo::client(&info.url, "us-east-1", ClientPolicy::default()).await;
                dynamo::answers(&client).await
            }
            KindName::Redis | KindName::RedisReplicated | KindName::RedisCluster => {
                let probe = info.redis_probe(password.unwrap_or(""));
                let pong: String = probe.query(&redis::cmd("PING")).await?;
                if pong == "PONG" { Ok(()) } else { Err(pong) }
            }
        }
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err("no answer".into()))
}

/// Poll [`check`] until it passes or `timeout` ends; returns the last error.
pub async fn wait(node: &ProcessHandle, timeout: Duration) -> Result<Duration, String> {
    let start = std::time::Instant::now();
    loop {
        match check(node, Duration::from_millis(500)).await {
            Ok(()) => return Ok(start.elapsed()),
            Err(e) if start.elapsed() >= timeout => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}
