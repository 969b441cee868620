//! Validation of the AWS-shaped nodes: `dynamodb` (embedded engine or an
//! external endpoint) and `dax` (its caches, and the DynamoDB node it sits
//! in front of).

use std::time::Duration;

use super::model::*;
use super::spec::{EngineName, NodeSpec};
use super::validate::range;
use crate::yaml::Problems;

pub(super) fn dynamodb(c: &mut Problems<'_>, path: &str, n: &NodeSpec) -> Dynamodb {
    let engine = match (n.engine.unwrap_or(EngineName::Embedded), &n.endpoint) {
        (EngineName::Embedded, Some(_)) => {
            c.at(
                &format!("{path}.endpoint"),
                "endpoint applies only with `engine: endpoint`",
            );
            DynamoEngine::Embedded {
                ttl_sweep_interval_ms: 0,
            }
        }
        (EngineName::Embedded, None) => {
            let ms = n.ttl_sweep_interval_ms.unwrap_or(5000);
            range(c, path, "ttl_sweep_interval_ms", ms, 10, 86_400_000);
            DynamoEngine::Embedded {
                ttl_sweep_interval_ms: ms,
            }
        }
        (EngineName::Endpoint, url) => {
            if n.ttl_sweep_interval_ms.is_some() {
                c.at(
                    &format!("{path}.ttl_sweep_interval_ms"),
                    "ttl_sweep_interval_ms applies only to the embedded engine (an endpoint expires items itself)",
                );
            }
            match url {
                Some(u) if !crate::dynamo::is_local(u) => {
                    // A shared system: under the external rules.
                    c.at(
                        &format!("{path}.endpoint"),
                        format!(
                            "{u:?} is not on this machine: name a table sessiondrill does not own with `external: {{ endpoint: URL, table: NAME }}` (run with --external, within the rate cap, its items removed afterwards); `engine: endpoint` is for local stand-ins (LocalStack, DynamoDB Local)"
                        ),
                    );
                    DynamoEngine::Endpoint { url: u.clone() }
                }
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    DynamoEngine::Endpoint { url: u.clone() }
                }
                Some(u) => {
                    c.at(
                        &format!("{path}.endpoint"),
                        format!("endpoint must be an http:// or https:// URL; got {u:?}"),
                    );
                    DynamoEngine::Endpoint { url: u.clone() }
                }
                None => {
                    c.at(
                        &format!("{path}.engine"),
                        "`engine: endpoint` needs an `endpoint: URL` (e.g. http://127.0.0.1:4566 for LocalStack)",
                    );
                    DynamoEngine::Endpoint { url: String::new() }
                }
            }
        }
    };
    let tables = n.tables.clone().unwrap_or_else(|| vec!["sessions".into()]);
    if tables.is_empty() {
        c.at(
            &format!("{path}.tables"),
            "tables must name at least one table",
        );
    }
    for (i, t) in tables.iter().enumerate() {
        if !valid_table(t) {
            c.at(
                &format!("{path}.tables[{i}]"),
                format!(
                    "table name {t:?} is not a valid DynamoDB name (3-255 of a-z A-Z 0-9 _ . -)"
                ),
            );
        }
    }
    Dynamodb {
        engine,
        region: n.region.clone().unwrap_or_else(|| "us-east-1".into()),
        tables,
    }
}

pub(super) fn dax(c: &mut Problems<'_>, path: &str, n: &NodeSpec) -> Dax {
    let duration = |c: &mut Problems<'_>, field: &str, v: &Option<String>, default: u64| {
        let Some(s) = v else {
            return Duration::from_millis(default);
        };
        match crate::yaml::parse_duration(s) {
            Ok(d) => d,
            Err(e) => {
                c.at(&format!("{path}.{field}"), e);
                Duration::from_millis(default)
            }
        }
    };
    let item_ttl = duration(c, "item_ttl", &n.item_ttl, 300_000);
    let query_ttl = duration(c, "query_ttl", &n.query_ttl, 300_000);
    let replica_delay = duration(c, "replica_delay", &n.replica_delay, 100);
    for (field, d) in [("item_ttl", item_ttl), ("query_ttl", query_ttl)] {
        if d.is_zero() {
            c.at(
                &format!("{path}.{field}"),
                "a cache TTL must be longer than zero",
            );
        }
    }
    let nodes = n.nodes.unwrap_or(1);
    range(c, path, "nodes", nodes.into(), 1, 3);
    let max_items = n.max_items.unwrap_or(100_000);
    range(c, path, "max_items", max_items, 1, 10_000_000);
    Dax {
        // Filled in (or refused) once every node is known: see `dax_targets`.
        dynamodb: n.dynamodb.clone().unwrap_or_default(),
        item_ttl,
        query_ttl,
        max_items,
        nodes,
        replica_delay,
        fallback: n.fallback.unwrap_or(true),
    }
}

/// A DynamoDB table name: 3-255 of a-z A-Z 0-9 _ . -
pub(super) fn valid_table(t: &str) -> bool {
    (3..=255).contains(&t.len())
        && t.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
}

/// Every `dax` node fronts a `dynamodb` node: the one it names, or the
/// only one there is.
pub(super) fn dax_targets(c: &mut Problems<'_>, nodes: &mut [Node], p: &dyn Fn(&str) -> String) {
    let dynamo: Vec<String> = nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Dynamodb(_)))
        .map(|n| n.name.clone())
        .collect();
    let external: Vec<String> = nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Dynamodb(_)) && n.external.is_some())
        .map(|n| n.name.clone())
        .collect();
    for n in nodes.iter_mut() {
        let NodeKind::Dax(d) = &mut n.kind else {
            continue;
        };
        let path = p(&format!("nodes.{}", n.name));
        if d.dynamodb.is_empty() {
            match dynamo.as_slice() {
                [only] => d.dynamodb = only.clone(),
                [] => c.at(
                    &path,
                    "a dax node needs a dynamodb node to front, and there is none",
                ),
                _ => c.at(
                    &path,
                    format!(
                        "name the dynamodb node this dax node fronts: `dynamodb: <{}>`",
                        dynamo.join("|")
                    ),
                ),
            }
        } else if !dynamo.contains(&d.dynamodb) {
            c.at(
                &format!("{path}.dynamodb"),
                format!(
                    "`{}` is not a dynamodb node of this topology (dynamodb nodes: {})",
                    d.dynamodb,
                    if dynamo.is_empty() {
                        "none".to_string()
                    } else {
                        dynamo.join(", ")
                    }
                ),
            );
        }
        if external.contains(&d.dynamodb) {
            c.at(
                &path,
                format!(
                    "`{}` is an external dynamodb node: a dax node of ours does not front a table sessiondrill does not own",
                    d.dynamodb
                ),
            );
        }
    }
}
