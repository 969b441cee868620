//! Short-lived admin connections used for readiness checks and bootstrap,
//! and how to reach our Redis processes at all ([`RedisAccess`]).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, FromRedisValue};

use crate::fabric::ports::HOST;

#[derive(Debug, Clone)]
pub struct RedisProbe {
    /// An authority redis-rs cannot read is the first connection's error.
    client: Result<Client, String>,
}

/// How to reach the Redis processes of a run: the user (the `default` one
/// unless named) and its password and, when they speak TLS, the run's
/// certificate authority (PEM) to verify them against — never the
/// system's roots, never without verifying.
#[derive(Clone, Default)]
pub struct RedisAccess {
    /// An ACL user (`users:`); `None` is Redis's `default` user.
    pub user: Option<String>,
    pub password: String,
    pub ca: Option<Arc<[u8]>>,
    /// Where the servers are, and the name their certificates are checked
    /// for; `None`: this machine (127.0.0.1), where every process
    /// sessiondrill runs listens.
    pub host: Option<String>,
}

impl std::fmt::Debug for RedisAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password in a log.
        f.debug_struct("RedisAccess")
            .field("user", &self.user)
            .field("tls", &self.ca.is_some())
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl RedisAccess {
    /// Plaintext, with `password`.
    pub fn plain(password: &str) -> Self {
        Self {
            user: None,
            password: password.to_string(),
            ca: None,
            host: None,
        }
    }

    /// The same access to servers on `host` (certificates checked for it).
    pub fn at(&self, host: &str) -> Self {
        Self {
            host: Some(host.to_string()),
            ..self.clone()
        }
    }

    pub fn tls(&self) -> bool {
        self.ca.is_some()
    }

    /// Loopback connection info for `port`, with the password and
    /// `TCP_NODELAY` as hiredis (redis-cli, redis-benchmark) sets it.
    pub fn info(&self, port: u16) -> redis::ConnectionInfo {
        use redis::IntoConnectionInfo;
        let addr = if self.tls() {
            redis::ConnectionAddr::TcpTls {
                host: self.host.clone().unwrap_or_else(|| HOST.to_string()),
                port,
                insecure: false,
                tls_params: None,
            }
        } else {
            redis::ConnectionAddr::Tcp(self.host.clone().unwrap_or_else(|| HOST.to_string()), port)
        };
        let mut settings = redis::RedisConnectionInfo::default();
        // No AUTH at all without a password (an empty one is refused).
        if !self.password.is_empty() {
            settings = settings.set_password(self.password.clone());
        }
        if let Some(user) = &self.user {
            settings = settings.set_username(user.clone());
        }
        addr.into_connection_info()
            .expect("a TCP address is always valid")
            .set_redis_settings(settings)
            .set_tcp_settings(tcp_settings())
    }

    /// What a TLS client verifies against: the run's authority only.
    pub fn certs(&self) -> Option<redis::TlsCertificates> {
        self.ca.as_ref().map(|ca| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca.to_vec()),
        })
    }

    /// A client for our process on `port`.
    pub fn client(&self, port: u16) -> redis::RedisResult<Client> {
        match self.certs() {
            Some(certs) => Client::build_with_tls(self.info(port), certs),
            None => Client::open(self.info(port)),
        }
    }
}

impl RedisProbe {
    pub fn new(port: u16, access: &RedisAccess) -> Self {
        Self {
            client: access.client(port).map_err(|e| e.to_string()),
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
            .as_ref()
            .map_err(String::clone)?
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn info(&self, section: &str) -> Result<String, String> {
        self.query(redis::cmd("INFO").arg(section)).await
    }
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
