//! The DynamoDB node's front: what clients connect to. Dynoxide serves
//! with its own `axum::serve`, which takes no header-read timeout and no
//! connection cap, and keeps its router private — so it listens on a
//! loopback port of its own, and this front, on our serve loop with both
//! limits, hands every request to it as it came and its answer back as it
//! went. Before, 1 100 idle connections under `ulimit -n 1024` stopped a
//! node (the DAX node, measured; the DynamoDB node had the same server).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;

use crate::nodes::http;

/// DynamoDB takes bodies up to 16 MB (so does Dynoxide).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Longest an operation may run in Dynoxide before the client is told it
/// failed: more than any client's operation timeout.
const LIMIT: Duration = Duration::from_secs(60);

/// The front's router: everything to Dynoxide at `inner` (`http://IP:PORT`).
pub fn router(inner: String) -> Router {
    Router::new()
        .fallback(forward)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(inner))
}

/// Hop-by-hop headers, and the length (set again for the body sent on).
fn hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive" | "upgrade"
    )
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers.iter().filter(|(n, _)| !hop(n)) {
        out.append(name, value.clone());
    }
    out
}

/// A response with exactly these headers (no content type added).
fn response(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

async fn forward(
    State(inner): State<Arc<String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(path) = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/'))
    else {
        // `OPTIONS *` and the like: what Dynoxide answers to any path but `/`.
        let body = Bytes::from_static(b"<UnknownOperationException/>\n");
        return response(StatusCode::NOT_FOUND, HeaderMap::new(), body);
    };
    let url = format!("{inner}{path}");
    let head = method == Method::HEAD;
    match http::send(method, &url, &end_to_end(&headers), body, LIMIT).await {
        Ok(r) => {
            let mut h = end_to_end(&r.headers);
            // A HEAD answer has no body but says how long the GET's is.
            if head && let Some(len) = r.headers.get(header::CONTENT_LENGTH) {
                h.insert(header::CONTENT_LENGTH, len.clone());
            }
            response(r.status, h, r.body)
        }
        Err(e) => {
            tracing::warn!("dynamodb front: {e}");
            let body = serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": "the DynamoDB node did not answer",
            });
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.0"),
            );
            response(
                StatusCode::INTERNAL_SERVER_ERROR,
                h,
                Bytes::from(body.to_string()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_end_to_end_headers_are_passed_on() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("host", "127.0.0.1:1"),
            ("content-length", "5"),
            ("connection", "close"),
            ("transfer-encoding", "chunked"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=x"),
            ("x-amz-target", "DynamoDB_20120810.GetItem"),
            ("x-amz-date", "20261201T000000Z"),
            ("content-type", "application/x-amz-json-1.0"),
        ] {
            h.insert(HeaderName::from_static(n), v.parse().unwrap());
        }
        let passed = end_to_end(&h);
        let mut kept: Vec<&str> = passed.keys().map(|n| n.as_str()).collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                "authorization",
                "content-type",
                "x-amz-date",
                "x-amz-target"
            ]
        );
    }
}
