//! DynamoDB as a session store through aws-sdk-dynamodb, with the key
//! design of seed 003: `PK=SESSION#<id>`, `SK=META`, TTL on `expires_at`.
//! Reads are strongly consistent by default (the drill measures
//! durability, not replication lag); the DAX strategies read eventually
//! consistently — through DAX's item cache — or by Query.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::SessionStore;
use super::billing::{self, Side};
use super::error::{ErrorClass, OpError};
use crate::dynamo::{self, ClientPolicy, PK, SK, TTL_ATTRIBUTE};

/// How a backend reads a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// GetItem with `ConsistentRead: true`.
    Consistent,
    /// GetItem, eventually consistent (DAX: the item cache).
    Eventual,
    /// Query on the partition key (DAX: the query cache, or bypassing it
    /// when consistent) — "load the turns of a session".
    Query { consistent: bool },
}

pub struct DynamoBackend {
    client: Client,
    table: String,
    policy: ClientPolicy,
    reads: Reads,
}

impl DynamoBackend {
    pub async fn new(endpoint: &str, region: &str, table: &str, timeout: Duration) -> Self {
        let policy = ClientPolicy {
            connect_timeout: timeout,
            operation_timeout: timeout,
            max_attempts: 1,
        };
        Self {
            client: dynamo::client(endpoint, region, policy).await,
            table: table.to_string(),
            policy,
            reads: Reads::Consistent,
        }
    }

    pub fn with_reads(mut self, reads: Reads) -> Self {
        self.reads = reads;
        self
    }

    pub fn describe(&self) -> String {
        format!(
            "aws-sdk-dynamodb; table {}; operation timeout {} ms; retries off ({} attempt); {}",
            self.table,
            self.policy.operation_timeout.as_millis(),
            self.policy.max_attempts,
            match self.reads {
                Reads::Consistent => "consistent reads",
                Reads::Eventual => "eventually consistent GetItem",
                Reads::Query { consistent: false } => "reads by Query",
                Reads::Query { consistent: true } => "reads by consistent Query",
            }
        )
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub(super) fn table(&self) -> &str {
        &self.table
    }

    pub(super) fn key(pk: &str) -> [(String, AttributeValue); 2] {
        [
            (PK.into(), AttributeValue::S(pk.to_string())),
            (SK.into(), AttributeValue::S("META".into())),
        ]
    }

    pub async fn put(&self, pk: &str, value: &str, ttl: Duration) -> Result<(), OpError> {
        let expires = expires_at(ttl);
        let [(pk_name, pk_v), (sk_name, sk_v)] = Self::key(pk);
        self.client
            .put_item()
            .table_name(&self.table)
            .item(pk_name, pk_v)
            .item(sk_name, sk_v)
            .item("data", AttributeValue::S(value.to_string()))
            .item(TTL_ATTRIBUTE, AttributeValue::N(expires.to_string()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map(|o| billing::record(Side::Write, o.consumed_capacity()))
            .map_err(|e| classify(&e))
    }

    pub async fn get(&self, pk: &str) -> Result<Option<String>, OpError> {
        let consistent = match self.reads {
            Reads::Consistent => true,
            Reads::Eventual => false,
            Reads::Query { consistent } => return self.query(pk, consistent).await,
        };
        Ok(self.item(pk, consistent).await?.as_ref().and_then(data))
    }

    /// The session's item (GetItem), every attribute.
    pub(super) async fn item(
        &self,
        pk: &str,
        consistent: bool,
    ) -> Result<Option<std::collections::HashMap<String, AttributeValue>>, OpError> {
        let [(pk_name, pk_v), (sk_name, sk_v)] = Self::key(pk);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(pk_name, pk_v)
            .key(sk_name, sk_v)
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        billing::record(Side::Read, out.consumed_capacity());
        Ok(out.item)
    }

    /// Every item of the session's partition; the session is its `META`.
    async fn query(&self, pk: &str, consistent: bool) -> Result<Option<String>, OpError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        billing::record(Side::Read, out.consumed_capacity());
        Ok(out
            .items()
            .iter()
            .find(|i| matches!(i.get(SK), Some(AttributeValue::S(s)) if s == "META"))
            .and_then(data))
    }

    pub async fn delete(&self, pk: &str) -> Result<(), OpError> {
        let [(pk_name, pk_v), (sk_name, sk_v)] = Self::key(pk);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(pk_name, pk_v)
            .key(sk_name, sk_v)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map(|o| billing::record(Side::Write, o.consumed_capacity()))
            .map_err(|e| classify(&e))
    }
}

/// The `expires_at` of an item written now with `ttl` (seconds since the
/// epoch).
pub(super) fn expires_at(ttl: Duration) -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(ttl)
        .as_secs()
}

fn data(item: &std::collections::HashMap<String, AttributeValue>) -> Option<String> {
    match item.get("data") {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

pub(super) fn classify<
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
>(
    e: &SdkError<E, R>,
) -> OpError {
    let class = match e {
        SdkError::TimeoutError(_) => ErrorClass::Timeout,
        SdkError::DispatchFailure(d) if d.is_timeout() => ErrorClass::Timeout,
        SdkError::DispatchFailure(d) if d.is_io() => ErrorClass::Refused,
        SdkError::DispatchFailure(_) => ErrorClass::Refused,
        SdkError::ServiceError(s) => match s.err().code() {
            Some(
                "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded",
            ) => ErrorClass::Throttled,
            _ => ErrorClass::Other,
        },
        SdkError::ResponseError(_) => ErrorClass::Refused,
        _ => ErrorClass::Other,
    };
    OpError::new(class, dynamo::error_text(e))
}

/// Strategy `dynamodb`: sessions live in DynamoDB only.
pub struct DynamoStore {
    pub backend: DynamoBackend,
    pub namespace: String,
}

impl DynamoStore {
    pub fn pk(namespace: &str, id: u64) -> String {
        format!("SESSION#{namespace}:{id}")
    }
}

/// The partition keys of sessions `ids` in `namespace`.
pub fn pks(namespace: &str, ids: &[u64]) -> Vec<String> {
    ids.iter()
        .map(|&id| DynamoStore::pk(namespace, id))
        .collect()
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn warm(&self) -> super::Warmed {
        // Not warmed: the SDK opens a connection only for a request, and
        // a request to the table is what the load measures. Its first
        // requests pay for the connection (TCP; against AWS also TLS and
        // the first credential lookup): not measured here.
        super::Warmed::default()
    }

    async fn put(&self, id: u64, value: &str, ttl: Duration) -> Result<(), OpError> {
        self.backend
            .put(&Self::pk(&self.namespace, id), value, ttl)
            .await
    }
    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        self.backend.get(&Self::pk(&self.namespace, id)).await
    }
    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.backend.delete(&Self::pk(&self.namespace, id)).await
    }
    fn kept(&self) -> super::Kept<'_> {
        super::Kept {
            namespace: &self.namespace,
            redis: None,
            redis_is_cache: false,
            dynamodb: Some(&self.backend),
        }
    }
    fn describe(&self) -> String {
        self.backend.describe()
    }
}
