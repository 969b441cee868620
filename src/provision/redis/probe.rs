//! Short-lived admin connections used for readiness checks and bootstrap.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, FromRedisValue};

use crate::fabric::ports::HOST;

#[derive(Debug, Clone)]
pub struct RedisProbe {
    client: Client,
}

impl RedisProbe {
    pub fn new(port: u16, password: &str) -> Self {
        Self {
            client: Client::open(connection_info(port, password))
                .expect("a TCP connection info is always valid"),
        }
    }

    /// Run one command on a fresh connection, with tight timeouts.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        let mut con = self.connect().await?;
        cmd.query_async(&mut con).await.map_err(|e| e.to_string())
    }

    /// A connection with tight timeouts, to keep.
    pub async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let cfg = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(2000)));
        self.client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn info(&self, section: &str) -> Result<String, String> {
        self.query(redis::cmd("INFO").arg(section)).await
    }
}

/// Loopback TCP connection info with the run's password, and
/// `TCP_NODELAY` as hiredis (redis-cli, redis-benchmark) sets it.
pub fn connection_info(port: u16, password: &str) -> redis::ConnectionInfo {
    use redis::IntoConnectionInfo;
    redis::ConnectionAddr::Tcp(HOST.to_string(), port)
        .into_connection_info()
        .expect("a TCP address is always valid")
        .set_redis_settings(redis::RedisConnectionInfo::default().set_password(password))
        .set_tcp_settings(tcp_settings())
}

/// Without `TCP_NODELAY` (redis-rs's default) a request written while
/// another on the same connection is unanswered waits for its ACK (Nagle).
pub fn tcp_settings() -> redis::io::tcp::TcpSettings {
    redis::io::tcp::TcpSettings::default().set_nodelay(true)
}

/// `key:value` from an INFO reply.
pub fn info_field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}
