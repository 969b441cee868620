//! Asking a DAX node about itself (`/__dax/stats`) and flushing its caches,
//! for the observer, the report and the `flush` fault.

use std::time::Duration;

use axum::http::{HeaderMap, Method};
use bytes::Bytes;

use super::DaxStats;
use crate::nodes::http::{self, Response};

async fn call(method: Method, port: u16, path: &str, limit: Duration) -> Result<Response, String> {
    let url = format!("http://127.0.0.1:{port}/__dax/{path}");
    let resp = http::send(method, &url, &HeaderMap::new(), Bytes::new(), limit).await?;
    if resp.status.is_success() {
        Ok(resp)
    } else {
        Err(format!("{path}: {}", resp.status))
    }
}

/// The node's cache counters; an error when it does not answer in `limit`.
pub async fn stats(port: u16, limit: Duration) -> Result<DaxStats, String> {
    let resp = call(Method::GET, port, "stats", limit).await?;
    serde_json::from_slice(&resp.body).map_err(|e| format!("stats: {e}"))
}

/// Empty both caches.
pub async fn flush(port: u16, limit: Duration) -> Result<(), String> {
    call(Method::POST, port, "flush", limit).await.map(|_| ())
}
