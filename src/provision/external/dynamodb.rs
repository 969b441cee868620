//! An external DynamoDB table: it must exist with the session key schema
//! (sessiondrill creates nothing and changes no setting there). (The run's
//! items are deleted by `drill::external_cleanup`.)

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeyType, TableStatus};

use super::{answers_within, handle};
use crate::dynamo::{self, ClientPolicy, PK, SK};
use crate::provision::ProvisionError;
use crate::provision::handle::{ProcessHandle, Role};
use crate::provision::launch::Ctx;
use crate::topology::{DynamoEngine, Dynamodb, External, Node, NodeKind};

/// The node's table and where it is: (endpoint, region, table); empty
/// endpoint or region: the SDK's.
fn place(node: &Node) -> Result<(&str, &str, &str), String> {
    match &node.kind {
        NodeKind::Dynamodb(Dynamodb {
            engine: DynamoEngine::Endpoint { url },
            region,
            tables,
        }) => Ok((url, region, tables.first().ok_or("no table")?)),
        _ => Err(format!("`{}` is not an external dynamodb node", node.name)),
    }
}

/// The node's handle, once its table answers `DescribeTable` as an active
/// session table.
pub(super) async fn up(
    ctx: &Ctx<'_>,
    node: &Node,
    ext: &External,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let (url, region, table) = place(node).map_err(|e| super::unusable(node, e))?;
    let client = dynamo::client(url, region, ClientPolicy::default()).await;
    let what = format!("table {table}");
    answers_within(ctx.timeout, &what, || session_table(&client, table))
        .await
        .map_err(|e| super::unusable(node, format!("{what}: {e}")))?;
    let shown = if url.is_empty() {
        format!("(the AWS endpoint of region {})", shown_region(region))
    } else {
        url.to_string()
    };
    let (host, port) = ext
        .addresses
        .first()
        .map_or(("", 443), |(h, p)| (h.as_str(), *p));
    let name = ext.process_name(&node.name, host, port);
    Ok(vec![handle(
        node,
        name,
        (host, port),
        Role::Endpoint,
        shown,
    )])
}

fn shown_region(region: &str) -> &str {
    if region.is_empty() {
        "the SDK's default"
    } else {
        region
    }
}

/// `DescribeTable`: active, keyed by PK (hash) and SK (range).
async fn session_table(client: &Client, table: &str) -> Result<(), String> {
    let out = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| dynamo::error_text(&e))?;
    let t = out.table().ok_or("DescribeTable said nothing")?;
    if t.table_status() != Some(&TableStatus::Active) {
        return Err(format!(
            "not active ({})",
            t.table_status().map_or("no status", |s| s.as_str())
        ));
    }
    let key = |kind: KeyType| {
        t.key_schema()
            .iter()
            .find(|k| k.key_type() == &kind)
            .map(|k| k.attribute_name().to_string())
    };
    match (key(KeyType::Hash), key(KeyType::Range)) {
        (Some(h), Some(r)) if h == PK && r == SK => Ok(()),
        (h, r) => Err(format!(
            "keyed by {} / {}, not the session key {PK} (hash) / {SK} (range)",
            h.as_deref().unwrap_or("-"),
            r.as_deref().unwrap_or("-")
        )),
    }
}
