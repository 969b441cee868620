//! The DynamoDB endpoint behind the DAX node (or, for a replica's writes,
//! the primary DAX node): requests are forwarded with the client's own
//! headers (Dynoxide checks that SigV4 material is present, never the
//! signature), answers come back as they are.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::nodes::http;

pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// Longest wait for upstream: more than any client's operation timeout.
const LIMIT: Duration = Duration::from_secs(10);

/// Keep only the headers that may be passed on.
trait RetainPassing {
    fn retain_passing(&mut self);
}

impl RetainPassing for HeaderMap {
    fn retain_passing(&mut self) {
        let drop: Vec<HeaderName> = self.keys().filter(|n| !passes(n)).cloned().collect();
        for n in drop {
            self.remove(n);
        }
    }
}

/// An answer from upstream.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

pub struct Upstream {
    pub url: String,
    /// Key attribute names per table, from DescribeTable.
    schemas: Mutex<HashMap<String, Vec<String>>>,
}

/// Headers not to pass on: hop-by-hop ones and those the client library
/// sets again.
fn passes(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive"
    )
}

impl Upstream {
    pub fn new(url: &str) -> Result<Self, String> {
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            schemas: Mutex::new(HashMap::new()),
        })
    }

    /// POST `body` with the client's `headers`; as operation `op` when
    /// given, else with the client's own target.
    pub async fn send(
        &self,
        op: Option<&str>,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Reply, http::HttpError> {
        let mut out = HeaderMap::new();
        for (name, value) in headers.iter().filter(|(n, _)| passes(n)) {
            if op.is_some() && name.as_str() == "x-amz-target" {
                continue;
            }
            out.append(name, value.clone());
        }
        if let Some(op) = op {
            let target = format!("{TARGET_PREFIX}{op}");
            let value = HeaderValue::from_str(&target).map_err(|e| http::HttpError {
                connect: true,
                message: e.to_string(),
            })?;
            out.insert("x-amz-target", value);
        }
        let resp = http::send(Method::POST, &format!("{}/", self.url), &out, body, LIMIT).await?;
        let mut headers = resp.headers;
        headers.retain_passing();
        Ok(Reply {
            status: resp.status,
            headers,
            body: resp.body,
        })
    }

    /// A request of our own (JSON in, JSON out), with the client's auth
    /// headers.
    pub async fn call(
        &self,
        op: &str,
        headers: &HeaderMap,
        request: &Value,
    ) -> Result<Value, String> {
        let reply = self
            .send(Some(op), headers, Bytes::from(request.to_string()))
            .await
            .map_err(String::from)?;
        let v = reply.json().ok_or("upstream answered no JSON")?;
        if reply.ok() {
            Ok(v)
        } else {
            Err(format!("{op}: {v}"))
        }
    }

    /// Forget `table`'s key schema: it was deleted or re-created.
    pub async fn forget_schema(&self, table: &str) {
        self.schemas.lock().await.remove(table);
    }

    /// The key attribute names of `table` (cached after the first call).
    pub async fn key_schema(
        &self,
        table: &str,
        headers: &HeaderMap,
    ) -> Result<Vec<String>, String> {
        if let Some(s) = self.schemas.lock().await.get(table) {
            return Ok(s.clone());
        }
        let v = self
            .call(
                "DescribeTable",
                headers,
                &serde_json::json!({ "TableName": table }),
            )
            .await?;
        let names: Vec<String> = v["Table"]["KeySchema"]
            .as_array()
            .ok_or("DescribeTable: no KeySchema")?
            .iter()
            .filter_map(|k| k["AttributeName"].as_str().map(String::from))
            .collect();
        self.schemas
            .lock()
            .await
            .insert(table.to_string(), names.clone());
        Ok(names)
    }
}
