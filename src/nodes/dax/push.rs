//! Pushing write-through effects to one peer: one queue and one sender
//! task per peer, so updates arrive in the order they were made. A push the
//! peer does not take (paused, dead) is dropped: that peer's item cache
//! stays behind until its entries expire, as a DAX replica's would.

use axum::http::{HeaderMap, HeaderValue, Method};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub fn start(peer: String) -> mpsc::UnboundedSender<(Instant, Bytes)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Bytes)>();
    let url = format!("{}/__dax/items", peer.trim_end_matches('/'));
    tokio::spawn(async move {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        while let Some((due, body)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            let limit = std::time::Duration::from_secs(2);
            if let Err(e) =
                crate::nodes::http::send(Method::POST, &url, &headers, body, limit).await
            {
                tracing::warn!("pushing to peer {url}: {e}");
            }
        }
    });
    tx
}
