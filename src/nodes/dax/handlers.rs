//! What the DAX node does with each DynamoDB operation (see the module
//! documentation of [`super`]), and its own endpoints.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::capacity::Asked;
use super::keys::{item_key, key_of, query_key};
use super::upstream::{Reply, TARGET_PREFIX};
use super::{Dax, DaxStats};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

type Handled = Result<Response, String>;

/// What a successful write does to the item cache.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Effect {
    pub key: String,
    /// The item now stored (`None`: deleted — cached as absent).
    pub item: Option<Value>,
    /// The new item is not known (an update that returned old values):
    /// drop the entry instead.
    #[serde(default)]
    pub remove: bool,
}

pub async fn dynamodb(State(dax): State<Arc<Dax>>, headers: HeaderMap, body: Bytes) -> Response {
    let op = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or("")
        .to_string();
    let request: Option<Value> = serde_json::from_slice(&body).ok();
    // Unsigned requests are DynamoDB's to refuse
    // (MissingAuthenticationTokenException): a cache must not answer what
    // the service would not.
    let signed = headers.contains_key("authorization");
    let handled = match (op.as_str(), request) {
        (_, _) if !signed => {
            dax.passed_through.fetch_add(1, Ordering::Relaxed);
            pass(&dax, &headers, body).await
        }
        ("ExecuteStatement" | "ExecuteTransaction" | "BatchExecuteStatement", _) => {
            // DAX does not take PartiQL; passed through, a write would leave
            // the item cache stale.
            Ok(respond(
                StatusCode::BAD_REQUEST,
                Bytes::from(
                    json!({
                        "__type": "com.amazon.coral.service#UnknownOperationException",
                        "message": format!("DAX does not support PartiQL ({op}): send it to DynamoDB"),
                    })
                    .to_string(),
                ),
            ))
        }
        ("DeleteTable" | "CreateTable", Some(r)) => {
            schema_change(&dax, &op, &headers, body, r).await
        }
        ("GetItem", Some(r)) => get_item(&dax, &headers, body, r).await,
        ("BatchGetItem", Some(r)) => batch_get(&dax, &headers, body, r).await,
        ("Query" | "Scan", Some(r)) => query(&dax, &op, &headers, body, r).await,
        (
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems",
            Some(r),
        ) => {
            // A write runs to its end even if the client hangs up: DynamoDB
            // may already have it, and the item cache must then know.
            let (dax, op, headers) = (dax.clone(), op.clone(), headers.clone());
            tokio::spawn(async move { write(&dax, &op, &headers, body, r).await })
                .await
                .unwrap_or_else(|e| Err(format!("write task: {e}")))
        }
        _ => {
            dax.passed_through.fetch_add(1, Ordering::Relaxed);
            pass(&dax, &headers, body).await
        }
    };
    handled.unwrap_or_else(|e| {
        dax.upstream_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("upstream: {e}");
        let body = json!({
            "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
            "message": format!("DAX: DynamoDB did not answer: {e}"),
        });
        respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from(body.to_string()),
        )
    })
}

fn respond(status: StatusCode, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    r
}

fn from_reply(reply: Reply) -> Response {
    let mut r = (reply.status, reply.body).into_response();
    for (name, value) in reply.headers {
        if let Some(name) = name {
            r.headers_mut().insert(name, value);
        }
    }
    r
}

/// Unchanged, to DynamoDB.
async fn pass(dax: &Dax, headers: &HeaderMap, body: Bytes) -> Handled {
    Ok(from_reply(dax.dynamodb.send(None, headers, body).await?))
}

fn consistent(r: &Value) -> bool {
    r["ConsistentRead"].as_bool() == Some(true)
}

async fn bypass(dax: &Dax, headers: &HeaderMap, body: Bytes) -> Handled {
    dax.bypassed.fetch_add(1, Ordering::Relaxed);
    pass(dax, headers, body).await
}

async fn get_item(dax: &Dax, headers: &HeaderMap, body: Bytes, r: Value) -> Handled {
    if consistent(&r) {
        return bypass(dax, headers, body).await;
    }
    let projected = r.get("ProjectionExpression").is_some() || r.get("AttributesToGet").is_some();
    let (Some(table), Some(key), false) = (r["TableName"].as_str(), r.get("Key"), projected) else {
        dax.passed_through.fetch_add(1, Ordering::Relaxed);
        return pass(dax, headers, body).await;
    };
    let ck = item_key(table, key);
    if let Some(item) = dax.items.get(&ck) {
        let mut body = match item {
            Some(item) => json!({ "Item": item }),
            None => json!({}),
        };
        Asked::of(&r).hit(&mut body, table);
        return Ok(respond(StatusCode::OK, Bytes::from(body.to_string())));
    }
    let since = dax.items.seq();
    let reply = dax.dynamodb.send(Some("GetItem"), headers, body).await?;
    if reply.ok()
        && let Some(v) = reply.json()
    {
        dax.items.fill(ck, v.get("Item").cloned(), since);
    }
    Ok(from_reply(reply))
}

/// A table deleted or created: what was cached of it (items, queries, its
/// key schema) no longer holds. On a delete the caches are emptied whole
/// (they do not index by table); the schema is forgotten on both. An
/// UpdateTable cannot change the key: passed through, nothing forgotten.
async fn schema_change(dax: &Dax, op: &str, headers: &HeaderMap, body: Bytes, r: Value) -> Handled {
    dax.passed_through.fetch_add(1, Ordering::Relaxed);
    let reply = dax.dynamodb.send(Some(op), headers, body).await?;
    if let Some(table) = r["TableName"].as_str() {
        dax.dynamodb.forget_schema(table).await;
    }
    if reply.ok() && op == "DeleteTable" {
        dax.items.clear();
        dax.queries.clear();
    }
    Ok(from_reply(reply))
}

/// A BatchGetItem DynamoDB would refuse (no tables, a table without keys,
/// a key asked twice, over 100 keys): DynamoDB answers it, with its own
/// ValidationException, instead of the cache answering what it should not.
fn invalid_batch_get(tables: &serde_json::Map<String, Value>) -> bool {
    let mut total = 0;
    tables.is_empty()
        || tables.iter().any(|(table, t)| {
            let keys = t["Keys"].as_array().map(Vec::as_slice).unwrap_or_default();
            total += keys.len();
            let distinct: std::collections::HashSet<String> =
                keys.iter().map(|k| item_key(table, k)).collect();
            keys.is_empty() || distinct.len() != keys.len()
        })
        || total > 100
}

/// Per table: hits from the item cache, the rest from DynamoDB in one
/// request (which then fills the cache).
async fn batch_get(dax: &Dax, headers: &HeaderMap, body: Bytes, r: Value) -> Handled {
    let Some(tables) = r["RequestItems"].as_object() else {
        return pass(dax, headers, body).await;
    };
    if invalid_batch_get(tables) {
        dax.passed_through.fetch_add(1, Ordering::Relaxed);
        return pass(dax, headers, body).await;
    }
    let plain = tables.values().all(|t| {
        !consistent(t)
            && t.get("ProjectionExpression").is_none()
            && t.get("AttributesToGet").is_none()
    });
    if !plain {
        return bypass(dax, headers, body).await;
    }
    let since = dax.items.seq();
    let mut found: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut missing: serde_json::Map<String, Value> = serde_json::Map::new();
    for (table, t) in tables {
        let mut hits = Vec::new();
        let mut misses = Vec::new();
        for key in t["Keys"].as_array().into_iter().flatten() {
            match dax.items.get(&item_key(table, key)) {
                Some(Some(item)) => hits.push(item),
                Some(None) => {}
                None => misses.push(key.clone()),
            }
        }
        found.insert(table.clone(), Value::Array(hits));
        if !misses.is_empty() {
            let mut t = t.clone();
            t["Keys"] = Value::Array(misses);
            missing.insert(table.clone(), t);
        }
    }
    let mut unprocessed = json!({});
    let mut consumed = Value::Null;
    if !missing.is_empty() {
        let mut req = r.clone();
        req["RequestItems"] = Value::Object(missing.clone());
        let reply = dax
            .dynamodb
            .send(Some("BatchGetItem"), headers, Bytes::from(req.to_string()))
            .await?;
        let Some(v) = reply.json().filter(|_| reply.ok()) else {
            return Ok(from_reply(reply));
        };
        unprocessed = v["UnprocessedKeys"].clone();
        consumed = v["ConsumedCapacity"].clone();
        for (table, t) in &missing {
            let items: Vec<Value> = v["Responses"][table]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Array(hits)) = found.get_mut(table) {
                hits.extend(items.iter().cloned());
            }
            // Without the key schema nothing can be cached; the answer stands.
            let Ok(schema) = dax.dynamodb.key_schema(table, headers).await else {
                continue;
            };
            let mut returned = std::collections::HashSet::new();
            for item in &items {
                if let Some(key) = key_of(item, &schema) {
                    let ck = item_key(table, &key);
                    returned.insert(ck.clone());
                    dax.items.fill(ck, Some(item.clone()), since);
                }
            }
            let pending: std::collections::HashSet<String> = unprocessed[table]["Keys"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| item_key(table, k))
                .collect();
            for key in t["Keys"].as_array().into_iter().flatten() {
                let ck = item_key(table, key);
                if !returned.contains(&ck) && !pending.contains(&ck) {
                    dax.items.fill(ck, None, since);
                }
            }
        }
    }
    let mut body = json!({ "Responses": found, "UnprocessedKeys": unprocessed });
    let asked: Vec<&String> = tables.keys().collect();
    if let Some(list) = Asked::of(&r).batch(&asked, &consumed) {
        body["ConsumedCapacity"] = list;
    }
    Ok(respond(StatusCode::OK, Bytes::from(body.to_string())))
}

/// Query and Scan: the query cache, never invalidated by writes.
async fn query(dax: &Dax, op: &str, headers: &HeaderMap, body: Bytes, r: Value) -> Handled {
    if consistent(&r) {
        return bypass(dax, headers, body).await;
    }
    let ck = query_key(op, &r);
    if let Some(cached) = dax.queries.get(&ck) {
        // Cached without ConsumedCapacity (below): added only when asked.
        let asked = Asked::of(&r);
        let body = match serde_json::from_slice::<Value>(&cached) {
            Ok(mut answer) if asked != Asked::None => {
                asked.hit(&mut answer, r["TableName"].as_str().unwrap_or_default());
                Bytes::from(answer.to_string())
            }
            _ => cached,
        };
        return Ok(respond(StatusCode::OK, body));
    }
    let reply = dax.dynamodb.send(Some(op), headers, body).await?;
    if reply.ok() {
        // What this miss consumed is not what a later hit consumes.
        let body = match reply.json() {
            Some(mut answer) if answer.get("ConsumedCapacity").is_some() => {
                Asked::None.hit(&mut answer, "");
                Bytes::from(answer.to_string())
            }
            _ => reply.body.clone(),
        };
        dax.queries.put(ck, body);
    }
    Ok(from_reply(reply))
}

/// Writes: a replica hands them to the primary; the primary forwards them
/// to DynamoDB and, on success, updates the item cache (and, a little
/// later, the replicas'). The query cache is left alone. Writes to one
/// item are serialised from forward to cache update, so the cache ends
/// with the item DynamoDB ends with.
async fn write(dax: &Dax, op: &str, headers: &HeaderMap, body: Bytes, r: Value) -> Handled {
    dax.writes.fetch_add(1, Ordering::Relaxed);
    if let Some(primary) = &dax.primary {
        match primary.send(Some(op), headers, body.clone()).await {
            Ok(reply) => return Ok(from_reply(reply)),
            // Only a write that certainly never reached the primary may be
            // taken here: one that did may already have been done.
            Err(e) if e.connect => {
                tracing::warn!("primary unreachable ({e}); taking the write");
                dax.writes_as_primary.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let touched: Vec<String> = match (op, r["TableName"].as_str(), r.get("Key")) {
        ("UpdateItem", Some(table), Some(key)) => vec![item_key(table, key)],
        _ => match effects(dax, op, headers, &r, None).await {
            Ok(e) => e.into_iter().map(|e| e.key).collect(),
            Err(_) => Vec::new(),
        },
    };
    let _serialised = dax.write_locks.lock(&touched).await;
    if op == "UpdateItem" {
        return update_item(dax, headers, body, r).await;
    }
    let reply = dax.dynamodb.send(Some(op), headers, body).await?;
    if reply.ok() {
        let unprocessed = reply.json().map(|v| v["UnprocessedItems"].clone());
        match effects(dax, op, headers, &r, unprocessed.as_ref()).await {
            Ok(effects) => apply(dax, effects),
            // DynamoDB has the write, but which items it touched is
            // unknown (no key schema): forget everything rather than serve
            // an old copy.
            Err(e) => {
                tracing::warn!("write-through unknown ({e}); emptying the item cache");
                dax.items.clear();
            }
        }
    }
    Ok(from_reply(reply))
}

/// UpdateItem: asked for the new item (`ALL_NEW`) so the cache can hold
/// it; the client gets what it asked for. An update that wants old values
/// drops the cached entry instead.
async fn update_item(dax: &Dax, headers: &HeaderMap, body: Bytes, r: Value) -> Handled {
    let (Some(table), Some(key)) = (r["TableName"].as_str(), r.get("Key")) else {
        return pass(dax, headers, body).await;
    };
    let ck = item_key(table, key);
    let wants = r["ReturnValues"].as_str().unwrap_or("NONE").to_string();
    if wants != "NONE" && wants != "ALL_NEW" {
        let reply = dax.dynamodb.send(Some("UpdateItem"), headers, body).await?;
        if reply.ok() {
            apply(
                dax,
                vec![Effect {
                    key: ck,
                    item: None,
                    remove: true,
                }],
            );
        }
        return Ok(from_reply(reply));
    }
    let mut req = r.clone();
    req["ReturnValues"] = json!("ALL_NEW");
    let reply = dax
        .dynamodb
        .send(Some("UpdateItem"), headers, Bytes::from(req.to_string()))
        .await?;
    let Some(mut v) = reply.json().filter(|_| reply.ok()) else {
        return Ok(from_reply(reply));
    };
    apply(
        dax,
        vec![Effect {
            key: ck,
            item: v.get("Attributes").cloned(),
            remove: false,
        }],
    );
    if wants == "NONE"
        && let Some(m) = v.as_object_mut()
    {
        m.remove("Attributes");
    }
    Ok(respond(reply.status, Bytes::from(v.to_string())))
}

/// The item-cache changes a successful write makes.
async fn effects(
    dax: &Dax,
    op: &str,
    headers: &HeaderMap,
    r: &Value,
    unprocessed: Option<&Value>,
) -> Result<Vec<Effect>, String> {
    let put = |table: &str, item: &Value, schema: &[String]| {
        key_of(item, schema).map(|key| Effect {
            key: item_key(table, &key),
            item: Some(item.clone()),
            remove: false,
        })
    };
    let delete = |table: &str, key: &Value| Effect {
        key: item_key(table, key),
        item: None,
        remove: false,
    };
    let mut out = Vec::new();
    match op {
        "PutItem" => {
            if let Some(table) = r["TableName"].as_str() {
                let schema = dax.dynamodb.key_schema(table, headers).await?;
                out.extend(put(table, &r["Item"], &schema));
            }
        }
        "DeleteItem" => {
            if let (Some(table), Some(key)) = (r["TableName"].as_str(), r.get("Key")) {
                out.push(delete(table, key));
            }
        }
        "BatchWriteItem" => {
            for (table, requests) in r["RequestItems"].as_object().into_iter().flatten() {
                let schema = dax.dynamodb.key_schema(table, headers).await?;
                let pending: Vec<&Value> = unprocessed
                    .and_then(|u| u[table].as_array())
                    .map(|a| a.iter().collect())
                    .unwrap_or_default();
                for w in requests.as_array().into_iter().flatten() {
                    if pending.contains(&w) {
                        continue;
                    }
                    if let Some(item) = w["PutRequest"].get("Item") {
                        out.extend(put(table, item, &schema));
                    } else if let Some(key) = w["DeleteRequest"].get("Key") {
                        out.push(delete(table, key));
                    }
                }
            }
        }
        "TransactWriteItems" => {
            for t in r["TransactItems"].as_array().into_iter().flatten() {
                if let Some(p) = t.get("Put")
                    && let Some(table) = p["TableName"].as_str()
                {
                    let schema = dax.dynamodb.key_schema(table, headers).await?;
                    out.extend(put(table, &p["Item"], &schema));
                } else if let Some(d) = t.get("Delete")
                    && let (Some(table), Some(key)) = (d["TableName"].as_str(), d.get("Key"))
                {
                    out.push(delete(table, key));
                } else if let Some(u) = t.get("Update")
                    && let (Some(table), Some(key)) = (u["TableName"].as_str(), u.get("Key"))
                {
                    out.push(Effect {
                        key: item_key(table, key),
                        item: None,
                        remove: true,
                    });
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

fn apply_local(dax: &Dax, effects: &[Effect]) {
    for e in effects {
        if e.remove {
            dax.items.remove(e.key.clone());
        } else {
            dax.items.put(e.key.clone(), e.item.clone());
        }
    }
}

/// Write-through here now; on the peers after the replica delay, in the
/// order the writes were done here.
fn apply(dax: &Dax, effects: Vec<Effect>) {
    if effects.is_empty() {
        return;
    }
    apply_local(dax, &effects);
    if dax.peers.is_empty() {
        return;
    }
    let Ok(body) = serde_json::to_vec(&effects) else {
        return;
    };
    dax.push(Bytes::from(body));
}

/// A replica learns of the primary's writes.
pub async fn replicate(
    State(dax): State<Arc<Dax>>,
    Json(effects): Json<Vec<Effect>>,
) -> StatusCode {
    apply_local(&dax, &effects);
    StatusCode::NO_CONTENT
}

pub async fn stats(State(dax): State<Arc<Dax>>) -> Json<DaxStats> {
    Json(dax.stats())
}

pub async fn flush(State(dax): State<Arc<Dax>>) -> StatusCode {
    dax.items.clear();
    dax.queries.clear();
    StatusCode::NO_CONTENT
}
