//! The live role of a Redis server, asked with `ROLE`: after a failover
//! it is no longer the provisioned one.

use crate::provision::NodeHandle;
use crate::provision::redis::probe::RedisProbe;

/// The live role of a Redis server process: `master`, `slave`, or `None`
/// when it does not answer.
pub async fn live_role(node: &NodeHandle) -> Option<String> {
    role_at(node.info.port, node.password.as_deref().unwrap_or("")).await
}

/// The `ROLE` of the Redis server on `port`.
pub async fn role_at(port: u16, password: &str) -> Option<String> {
    let probe = RedisProbe::new(port, password);
    let reply: redis::Value = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        probe.query(&redis::cmd("ROLE")),
    )
    .await
    .ok()?
    .ok()?;
    match reply {
        redis::Value::Array(items) => match items.first()? {
            redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
            redis::Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}
