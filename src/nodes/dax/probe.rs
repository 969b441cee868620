//! Asking a DAX node about itself (`/__dax/stats`) and flushing its caches,
//! for the observer, the report and the `flush` fault.

use std::time::Duration;

use axum::http::{HeaderMap, Method};
use bytes::Bytes;

use super::{DaxStats, http};

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}/__dax/{path}")
}

/// The node's cache counters; an error when it does not answer in `limit`.
pub async fn stats(port: u16, limit: Duration) -> Result<DaxStats, String> {
    let resp = http::send(
        Method::GET,
        &url(port, "stats"),
        &HeaderMap::new(),
        Bytes::new(),
        limit,
    )
    .await
    .map_err(String::from)?;
    serde_json::from_slice(&resp.body).map_err(|e| format!("stats: {e}"))
}

/// Empty both caches.
pub async fn flush(port: u16, limit: Duration) -> Result<(), String> {
    let resp = http::send(
        Method::POST,
        &url(port, "flush"),
        &HeaderMap::new(),
        Bytes::new(),
        limit,
    )
    .await
    .map_err(String::from)?;
    if resp.status.is_success() {
        Ok(())
    } else {
        Err(format!("flush: {}", resp.status))
    }
}
