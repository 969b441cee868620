//! A small HTTP/1 client over hyper-util's pooled client: the DAX node
//! talks to DynamoDB, to its primary and its replicas with it, the
//! DynamoDB node's front to Dynoxide, and sessiondrill asks DAX nodes for
//! their stats. Plain HTTP on loopback only.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A request that got no answer.
#[derive(Debug, Clone)]
pub struct HttpError {
    /// The connection was never made: the request certainly was not sent.
    pub connect: bool,
    pub message: String,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<HttpError> for String {
    fn from(e: HttpError) -> String {
        e.message
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Idle connections the client keeps per host.
pub const IDLE_PER_HOST: u64 = 64;

fn client() -> &'static Client<HttpConnector, Full<Bytes>> {
    static CLIENT: OnceLock<Client<HttpConnector, Full<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(1)));
        connector.set_nodelay(true);
        // Idle connections are closed before our servers close them (their
        // header timeout): a request sent as the server closes would fail.
        Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(IDLE_PER_HOST as usize)
            .pool_idle_timeout(crate::dynamo::LOCAL_POOL_IDLE)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector)
    })
}

/// Send one request; an error when there is no complete answer within
/// `limit`.
pub async fn send(
    method: Method,
    url: &str,
    headers: &HeaderMap,
    body: Bytes,
    limit: Duration,
) -> Result<Response, HttpError> {
    let fail = |connect: bool, e: &dyn std::fmt::Display| HttpError {
        connect,
        message: format!("{url}: {e}"),
    };
    let mut req = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    let req = req.body(Full::new(body)).map_err(|e| fail(true, &e))?;
    let work = async {
        let resp = client()
            .request(req)
            .await
            .map_err(|e| fail(e.is_connect(), &e))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| fail(false, &e))?
            .to_bytes();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(HttpError {
            connect: false,
            message: format!("{url}: no answer within {limit:?}"),
        })
    })
}
