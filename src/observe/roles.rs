//! The live role of a Redis server, asked with `ROLE`: after a failover
//! it is no longer the provisioned one.

use crate::provision::ProcessHandle;

/// The live role of a Redis server process: `master`, `slave`, or `None`
/// when it does not answer.
pub async fn live_role(node: &ProcessHandle) -> Option<String> {
    let probe = node.redis_probe();
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
