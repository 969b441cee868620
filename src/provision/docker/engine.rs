//! The connection to a Docker engine, usable from sync and async code.
//!
//! bollard is async; faults call into nodes from sync code (a `kill` is a
//! plain function) and teardown runs in `Drop`. The engine therefore owns a
//! small runtime of its own: every request runs there, and a caller either
//! awaits it or blocks on a channel for the answer (never entering a runtime
//! from inside another one).
//!
//! The API version is negotiated: Debian 12's `docker.io` (Engine 20.10)
//! speaks API 1.41 and refuses newer clients. That is why this talks to the
//! engine through bollard directly rather than through testcontainers,
//! whose requests are pinned to the newest API version (1.53 in 0.28).

use std::future::Future;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

/// Seconds any single request may take (image builds stream for longer:
/// the limit applies between chunks).
const REQUEST_TIMEOUT_S: u64 = 120;

pub struct Engine {
    rt: OwnRuntime,
    docker: Docker,
    /// Where the engine was reached, e.g. `unix:///var/run/docker.sock`.
    pub host: String,
    /// The engine's version and the API version both sides speak.
    pub version: String,
    pub api: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("host", &self.host)
            .field("version", &self.version)
            .finish()
    }
}

const STOPPED: &str = "the Docker client runtime stopped";

/// Where to find the engine: `$DOCKER_HOST`, else the default socket.
pub fn host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

impl Engine {
    /// Connect to the engine at [`host`] and agree on an API version.
    /// Only local engines: a unix socket, or TCP on a loopback address.
    pub fn connect() -> Result<Arc<Engine>, String> {
        let host = host();
        let rt = OwnRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("sessiondrill-docker")
                .enable_all()
                .build()
                .map_err(|e| format!("starting the Docker client runtime: {e}"))?,
        ));
        let docker = if host.starts_with("unix://") {
            Docker::connect_with_unix(&host, REQUEST_TIMEOUT_S, API_DEFAULT_VERSION)
        } else if let Some(addr) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            if !loopback(addr) {
                return Err(format!(
                    "DOCKER_HOST={host}: sessiondrill only drives a Docker engine on this \
                     machine (a unix socket or a loopback address)"
                ));
            }
            Docker::connect_with_http(addr, REQUEST_TIMEOUT_S, API_DEFAULT_VERSION)
        } else {
            return Err(format!(
                "DOCKER_HOST={host}: use unix:///path/to/docker.sock or tcp://127.0.0.1:PORT"
            ));
        }
        .map_err(|e| format!("{host}: {e}"))?;
        let (tx, rx) = mpsc::channel();
        rt.get().spawn(async move {
            let answer = async {
                let docker = docker.negotiate_version().await?;
                let v = docker.version().await?;
                Ok::<_, bollard::errors::Error>((docker, v))
            };
            let _ = tx.send(tokio::time::timeout(Duration::from_secs(5), answer).await);
        });
        let (docker, v) = match rx.recv() {
            Ok(Ok(Ok(answer))) => answer,
            Ok(Ok(Err(e))) => return Err(format!("{host}: {e}")),
            Ok(Err(_)) => return Err(format!("{host}: no answer within 5 s")),
            Err(_) => return Err(format!("{host}: the client runtime stopped")),
        };
        Ok(Arc::new(Engine {
            rt,
            docker,
            host,
            version: v.version.unwrap_or_else(|| "?".into()),
            api: v.api_version.unwrap_or_else(|| "?".into()),
        }))
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.get()
    }

    /// A client handle, for requests that run on the engine's runtime.
    pub fn docker(&self) -> Docker {
        self.docker.clone()
    }

    /// Run `f` on the engine's runtime and wait for it (from any thread,
    /// inside or outside another runtime).
    pub fn block<T, F, Fut>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(Docker) -> Fut,
        Fut: Future<Output = Result<T, bollard::errors::Error>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let fut = f(self.docker.clone());
        self.rt().spawn(async move {
            let _ = tx.send(fut.await);
        });
        match rx.recv() {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err(STOPPED.into()),
        }
    }

    /// Run `f` on the engine's runtime and await it.
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(Docker) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
    {
        self.rt()
            .spawn(f(self.docker.clone()))
            .await
            .map_err(|_| STOPPED.to_string())
    }

    /// Start `f` on the engine's runtime without waiting (log followers).
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.rt().spawn(fut)
    }
}

/// The engine's runtime, shut down without blocking when dropped:
/// dropping a runtime blocks, which is refused inside another runtime, and
/// nothing left on it by then needs waiting for.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("runtime lives until drop")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// `addr` is exactly `HOST:PORT` (an optional trailing `/`) with a loopback
/// HOST: an IP literal or `localhost`, nothing else (`localhost:1@evil.com`
/// would reach evil.com).
fn loopback(addr: &str) -> bool {
    let addr = addr.strip_suffix('/').unwrap_or(addr);
    if let Ok(sa) = addr.parse::<std::net::SocketAddr>() {
        return sa.ip().is_loopback();
    }
    addr.strip_prefix("localhost:")
        .is_some_and(|port| port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback_engines() {
        assert!(super::loopback("127.0.0.1:2375"));
        assert!(super::loopback("[::1]:2375"));
        assert!(super::loopback("localhost:2375"));
        assert!(!super::loopback("10.0.0.5:2375"));
        assert!(!super::loopback("docker.example.com:2375"));
        assert!(!super::loopback("localhost:1@docker.example.com"));
        assert!(!super::loopback("127.0.0.1:1@docker.example.com:2375"));
        assert!(!super::loopback("127.0.0.1:2375/../x"));
        assert!(!super::loopback("127.0.0.1"));
        assert!(!super::loopback("localhost"));
    }
}
