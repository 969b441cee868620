//! `kind: dax`: a DAX cluster in front of a `dynamodb` node — our own
//! binary's hidden `__node dax` subcommand, one process per DAX node. The
//! first is the primary (it writes through to DynamoDB and pushes its item
//! cache updates to the others), the rest are replicas (they take writes
//! themselves when the primary does not answer).

use super::ProvisionError;
use super::handle::{ProcessHandle, ProcessInfo, Role};
use super::launch::{Ctx, process_name};
use super::spawner::SpawnSpec;
use crate::dynamo::{self, ClientPolicy};
use crate::fabric::ports::HOST;
use crate::topology::{Dax, KindName};

const KIND: KindName = KindName::Dax;

/// Bring the cluster up; `dynamodb` is the URL of the node it fronts.
pub async fn up(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &Dax,
    ports: &[u16],
    dynamodb: &str,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let url = |port: u16| format!("http://{HOST}:{port}");
    let mut started = Vec::new();
    for (i, &port) in ports.iter().enumerate() {
        let name = process_name(group, i, ports.len());
        let (dir, log) = ctx.dirs(&name)?;
        let mut spec = SpawnSpec::new(ctx.node_binary, &dir, log)
            .arg("__node")
            .arg("dax")
            .arg("--port")
            .arg(port.to_string())
            .arg("--dynamodb")
            .arg(dynamodb)
            .arg("--item-ttl-ms")
            .arg(cfg.item_ttl.as_millis().to_string())
            .arg("--query-ttl-ms")
            .arg(cfg.query_ttl.as_millis().to_string())
            .arg("--max-items")
            .arg(cfg.max_items.to_string())
            .arg("--replica-delay-ms")
            .arg(cfg.replica_delay.as_millis().to_string());
        for (_, &p) in ports.iter().enumerate().filter(|(j, _)| *j != i) {
            spec = spec.arg("--peer").arg(url(p));
        }
        if i > 0 {
            spec = spec.arg("--primary").arg(url(ports[0]));
        }
        let role = if i == 0 { Role::Primary } else { Role::Replica };
        let p = ctx.start(&name, spec).await?;
        started.push((name, port, role, p, dir));
    }
    let mut handles = Vec::new();
    for (name, port, role, mut proc, dir) in started {
        // Ready when a request passes through it to DynamoDB.
        let client = dynamo::client(&url(port), "us-east-1", ClientPolicy::default()).await;
        ctx.wait_ready(&name, &mut proc, || async {
            dynamo::answers(&client).await
        })
        .await?;
        let info = ProcessInfo::at(name, group, KIND, role, &HOST.to_string(), port, url(port));
        handles.push(ProcessHandle::local(info, proc, dir));
    }
    Ok(handles)
}
