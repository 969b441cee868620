//! Writes that keep the newest version: a write older than what the store
//! already holds is refused and changes nothing. Two copies written this
//! way (`write-through-versioned`: Redis and DynamoDB) end up holding the
//! same, newest version whatever order overlapping writes reach them in;
//! plain writes leave each copy with whichever write came last
//! (`write-through-race`).

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::billing::{self, Side};
use super::dynamodb::{DynamoBackend, classify, expires_at};
use super::error::{ErrorClass, OpError};
use super::redis::RedisBackend;
use super::value;
use crate::dynamo::{PK, TTL_ATTRIBUTE};

/// SET KEYS[1] to ARGV[1] (version ARGV[2], expiring in ARGV[3] ms) unless
/// it holds the same or a newer version; 1 if set.
const SET_IF_NEWER: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = tonumber(string.match(cur, '^v(%d+)'))
  if v and v >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
";

/// The version attribute of an item written by [`put_if_newer`].
const VERSION: &str = "version";

fn version(v: &str) -> Result<u64, OpError> {
    value::version_of(v)
        .ok_or_else(|| OpError::new(ErrorClass::Other, "a versioned write needs a version"))
}

/// Write `v` under `key` unless Redis holds the same or a newer version.
/// `Ok(false)`: refused, a newer write is there.
pub async fn set_if_newer(
    redis: &RedisBackend,
    key: &str,
    v: &str,
    ttl: Duration,
) -> Result<bool, OpError> {
    let cmd = redis::cmd("EVAL")
        .arg(SET_IF_NEWER)
        .arg(1)
        .arg(key)
        .arg(v)
        .arg(version(v)?)
        .arg(ttl.as_millis().max(1) as u64)
        .to_owned();
    Ok(redis.exec::<i64>(&cmd).await? == 1)
}

/// PutItem `v` under `pk` only if the item is absent or holds an older
/// version (a `ConditionExpression`). `Ok(false)`: refused, a newer write
/// is there.
pub async fn put_if_newer(
    dynamo: &DynamoBackend,
    pk: &str,
    v: &str,
    ttl: Duration,
) -> Result<bool, OpError> {
    let version = version(v)?;
    let [(pk_name, pk_v), (sk_name, sk_v)] = DynamoBackend::key(pk);
    let put = dynamo
        .client()
        .put_item()
        .table_name(dynamo.table())
        .item(pk_name, pk_v)
        .item(sk_name, sk_v)
        .item("data", AttributeValue::S(v.to_string()))
        .item(VERSION, AttributeValue::N(version.to_string()))
        .item(
            TTL_ATTRIBUTE,
            AttributeValue::N(expires_at(ttl).to_string()),
        )
        .condition_expression("attribute_not_exists(#pk) OR #v < :v")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#v", VERSION)
        .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
        .return_consumed_capacity(ReturnConsumedCapacity::Total);
    match put.send().await {
        Ok(o) => {
            billing::record(Side::Write, o.consumed_capacity());
            Ok(true)
        }
        Err(e) if conditional_check_failed(&e) => {
            // DynamoDB bills a refused conditional write, but the SDK's
            // error names no units: counted, as unreported.
            billing::record(Side::Write, None);
            Ok(false)
        }
        Err(e) => Err(classify(&e)),
    }
}

/// A `ConditionExpression` refused the write.
pub fn conditional_check_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::ServiceError(s) if s.err().code() == Some("ConditionalCheckFailedException"))
}
