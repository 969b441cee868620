//! Read-modify-write updates of sessions in DynamoDB
//! (`dynamodb-blind-update`, `dynamodb-optimistic-update`,
//! `dynamodb-atomic-update`). The item keeps the update's value in `data`
//! and the tokens in a list, `tokens`, so the atomic flavour can append one
//! with `UpdateItem` (`list_append`); a read gives the session back as one
//! value with its tokens ([`value::compose`]), as Redis holds it.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::{Conflicts, Flavour, gave_up, not_ours, work};
use crate::dynamo::TTL_ATTRIBUTE;
use crate::store::SessionStore;
use crate::store::billing::{self, Side};
use crate::store::dynamodb::{DynamoBackend, DynamoStore, classify, expires_at};
use crate::store::error::OpError;
use crate::store::value;
use crate::store::versioned::conditional_check_failed;

const TOKENS: &str = "tokens";

pub struct DynamoUpdates {
    pub backend: DynamoBackend,
    pub namespace: String,
    pub flavour: Flavour,
    /// The application's work on the session before it writes it back.
    pub work: Duration,
    pub conflicts: Conflicts,
}

/// A session item as read: its last update's value and every token.
struct Item {
    data: String,
    tokens: Option<Vec<u64>>,
}

impl Item {
    fn from(item: &HashMap<String, AttributeValue>) -> Option<Self> {
        let Some(AttributeValue::S(data)) = item.get("data") else {
            return None;
        };
        let tokens = match item.get(TOKENS) {
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|t| match t {
                    AttributeValue::N(n) => n.parse().ok(),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        Some(Self {
            data: data.clone(),
            tokens,
        })
    }

    /// The session as one value (`data` alone when it carries no tokens or
    /// no version: not an update's).
    fn value(&self) -> String {
        match (value::version_of(&self.data), &self.tokens) {
            (Some(v), Some(tokens)) => {
                let session = self.data.split('|').nth(1).unwrap_or_default();
                value::compose(v, session, tokens, self.data.len())
            }
            _ => self.data.clone(),
        }
    }
}

fn numbers(tokens: &[u64]) -> AttributeValue {
    AttributeValue::L(
        tokens
            .iter()
            .map(|t| AttributeValue::N(t.to_string()))
            .collect(),
    )
}

impl DynamoUpdates {
    fn pk(&self, id: u64) -> String {
        DynamoStore::pk(&self.namespace, id)
    }

    async fn read(&self, pk: &str) -> Result<Option<Item>, OpError> {
        Ok(self
            .backend
            .item(pk, true)
            .await?
            .as_ref()
            .and_then(Item::from))
    }

    /// Write `base` with the tokens of `old` and its own; only if the
    /// session is still `old` when `conditional`. `Ok(false)`: it was not.
    async fn write(
        &self,
        pk: &str,
        base: &str,
        old: Option<&Item>,
        ttl: Duration,
        conditional: bool,
    ) -> Result<bool, OpError> {
        let version = value::version_of(base).ok_or_else(not_ours)?;
        let mut tokens = match old {
            Some(o) => o.tokens.clone().ok_or_else(not_ours)?,
            None => Vec::new(),
        };
        tokens.push(version);
        let [(pk_name, pk_v), (sk_name, sk_v)] = DynamoBackend::key(pk);
        let mut put = self
            .backend
            .client()
            .put_item()
            .table_name(self.backend.table())
            .item(pk_name, pk_v)
            .item(sk_name, sk_v)
            .item("data", AttributeValue::S(base.to_string()))
            .item(TOKENS, numbers(&tokens))
            .item(
                TTL_ATTRIBUTE,
                AttributeValue::N(expires_at(ttl).to_string()),
            );
        if conditional {
            put = match old {
                None => put
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", crate::dynamo::PK),
                Some(o) => put
                    .condition_expression("#d = :old")
                    .expression_attribute_names("#d", "data")
                    .expression_attribute_values(":old", AttributeValue::S(o.data.clone())),
            };
        }
        match put
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
        {
            Ok(o) => {
                billing::record(Side::Write, o.consumed_capacity());
                Ok(true)
            }
            Err(e) if conditional && conditional_check_failed(&e) => {
                // Billed by DynamoDB, but the error names no units.
                billing::record(Side::Write, None);
                Ok(false)
            }
            Err(e) => Err(classify(&e)),
        }
    }

    async fn atomic(&self, pk: &str, base: &str, ttl: Duration) -> Result<(), OpError> {
        let version = value::version_of(base).ok_or_else(not_ours)?;
        let [(pk_name, pk_v), (sk_name, sk_v)] = DynamoBackend::key(pk);
        self.backend
            .client()
            .update_item()
            .table_name(self.backend.table())
            .key(pk_name, pk_v)
            .key(sk_name, sk_v)
            .update_expression(
                "SET #d = :d, #e = :e, #t = list_append(if_not_exists(#t, :none), :mine)",
            )
            .expression_attribute_names("#d", "data")
            .expression_attribute_names("#e", TTL_ATTRIBUTE)
            .expression_attribute_names("#t", TOKENS)
            .expression_attribute_values(":d", AttributeValue::S(base.to_string()))
            .expression_attribute_values(":e", AttributeValue::N(expires_at(ttl).to_string()))
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":mine", numbers(&[version]))
            // Never over an item that is not a session kept by updates.
            .condition_expression("attribute_not_exists(#pk) OR attribute_exists(#t)")
            .expression_attribute_names("#pk", crate::dynamo::PK)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map(|o| billing::record(Side::Write, o.consumed_capacity()))
            .map_err(|e| {
                if conditional_check_failed(&e) {
                    not_ours()
                } else {
                    classify(&e)
                }
            })
    }
}

#[async_trait]
impl SessionStore for DynamoUpdates {
    async fn warm(&self) -> crate::store::Warmed {
        // As DynamoStore: the SDK connects on its first requests.
        crate::store::Warmed::default()
    }

    /// Update the session with the change `base` carries (its version).
    async fn put(&self, id: u64, base: &str, ttl: Duration) -> Result<(), OpError> {
        let pk = self.pk(id);
        match self.flavour {
            Flavour::Blind => {
                let old = self.read(&pk).await?;
                work(self.work).await;
                self.write(&pk, base, old.as_ref(), ttl, false)
                    .await
                    .map(|_| ())
            }
            Flavour::Optimistic => {
                for _ in 0..super::ATTEMPTS {
                    let old = self.read(&pk).await?;
                    work(self.work).await;
                    if self.write(&pk, base, old.as_ref(), ttl, true).await? {
                        return Ok(());
                    }
                    self.conflicts.add();
                }
                Err(gave_up())
            }
            Flavour::Atomic => {
                work(self.work).await;
                self.atomic(&pk, base, ttl).await
            }
        }
    }

    async fn get(&self, id: u64) -> Result<Option<String>, OpError> {
        Ok(self.read(&self.pk(id)).await?.map(|i| i.value()))
    }

    async fn delete(&self, id: u64) -> Result<(), OpError> {
        self.backend.delete(&self.pk(id)).await
    }

    fn conflicts(&self) -> u64 {
        self.conflicts.get()
    }

    fn kept(&self) -> crate::store::Kept<'_> {
        crate::store::Kept {
            namespace: &self.namespace,
            redis: None,
            redis_is_cache: false,
            dynamodb: Some(&self.backend),
        }
    }

    fn describe(&self) -> String {
        self.flavour.describe(self.work, &self.backend.describe())
    }
}
