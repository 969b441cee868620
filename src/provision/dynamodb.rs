//! `kind: dynamodb`: the embedded Dynoxide node (our own binary's hidden
//! `__node dynamodb` subcommand) or an existing endpoint; both get their
//! session tables with TTL enabled.

use std::path::PathBuf;

use super::ProvisionError;
use super::handle::{ProcessHandle, ProcessInfo, Role};
use super::launch::{Ctx, poll_until};
use super::spawner::SpawnSpec;
use crate::dynamo::{self, ClientPolicy};
use crate::fabric::ports::HOST;
use crate::topology::{DynamoEngine, Dynamodb, KindName};

const KIND: KindName = KindName::Dynamodb;

/// Environment variable naming the sessiondrill binary that runs node
/// subcommands (inside integration tests `current_exe` is the test binary).
pub const BIN_ENV: &str = "SESSIONDRILL_BIN";

pub fn default_node_binary() -> Result<PathBuf, ProvisionError> {
    if let Some(p) = std::env::var_os(BIN_ENV) {
        return Ok(PathBuf::from(p));
    }
    std::env::current_exe().map_err(ProvisionError::io("locating the sessiondrill binary"))
}

pub async fn up(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &Dynamodb,
    port: Option<u16>,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    match &cfg.engine {
        DynamoEngine::Embedded {
            ttl_sweep_interval_ms,
        } => {
            let port = port.ok_or_else(|| ProvisionError::Setup("no port planned".into()))?;
            embedded(ctx, group, cfg, port, *ttl_sweep_interval_ms).await
        }
        DynamoEngine::Endpoint { url } => endpoint(ctx, group, cfg, url).await,
    }
}

async fn embedded(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &Dynamodb,
    port: u16,
    sweep_ms: u64,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let (dir, log) = ctx.dirs(group)?;
    let (data, fs) = ctx.data_dir(&dir)?;
    super::rundir::private_dir(&data)
        .map_err(ProvisionError::io(format!("creating {}", data.display())))?;
    let spec = SpawnSpec::new(ctx.node_binary, &dir, log)
        .arg("__node")
        .arg("dynamodb")
        .arg("--port")
        .arg(port.to_string())
        .arg("--db")
        .arg(data.join("dynamo.db"))
        .arg("--ttl-sweep-ms")
        .arg(sweep_ms.to_string());
    let mut proc = ctx.start(group, spec).await?;
    let url = format!("http://{HOST}:{port}");
    let client = dynamo::client(&url, &cfg.region, ClientPolicy::default()).await;
    ctx.wait_ready(group, &mut proc, || async {
        dynamo::answers(&client).await
    })
    .await?;
    create_tables(&client, group, cfg).await?;
    let info = ProcessInfo::at(
        group.to_string(),
        group,
        KIND,
        Role::Server,
        &HOST.to_string(),
        port,
        url,
    );
    Ok(vec![ProcessHandle::local(info, proc, dir).with_fs(fs)])
}

async fn endpoint(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &Dynamodb,
    url: &str,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let client = dynamo::client(url, &cfg.region, ClientPolicy::default()).await;
    poll_until(&format!("{group} ({url})"), ctx.timeout, || async {
        dynamo::answers(&client).await
    })
    .await?;
    create_tables(&client, group, cfg).await?;
    let (host, port) = host_port(url);
    let info = ProcessInfo::at(
        group.to_string(),
        group,
        KIND,
        Role::Endpoint,
        &host,
        port,
        url.to_string(),
    );
    Ok(vec![ProcessHandle::external(info)])
}

async fn create_tables(
    client: &aws_sdk_dynamodb::Client,
    group: &str,
    cfg: &Dynamodb,
) -> Result<(), ProvisionError> {
    for t in &cfg.tables {
        dynamo::ensure_session_table(client, t)
            .await
            .map_err(|e| ProvisionError::Setup(format!("node `{group}`: {e}")))?;
    }
    Ok(())
}

/// Host and port of an http(s) URL (port defaulted from the scheme).
fn host_port(url: &str) -> (String, u16) {
    let https = url.starts_with("https://");
    let rest = url.split("://").nth(1).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().unwrap_or(0)),
        _ => (authority.to_string(), if https { 443 } else { 80 }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_port_parses_urls() {
        assert_eq!(
            super::host_port("http://127.0.0.1:4566"),
            ("127.0.0.1".into(), 4566)
        );
        assert_eq!(
            super::host_port("https://dynamodb.us-east-1.amazonaws.com/"),
            ("dynamodb.us-east-1.amazonaws.com".into(), 443)
        );
    }
}
