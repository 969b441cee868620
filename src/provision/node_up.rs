//! One topology node brought up: its kind's provisioning, with the run's
//! password for Redis, and the DynamoDB node a DAX node sits in front of.

use std::collections::HashMap;

use super::launch::Ctx;
use super::port_plan::PortPlan;
use super::{ProcessHandle, ProvisionError, dax, dynamodb, memcached, redis};
use crate::topology::{Node, NodeKind};

/// Processes that get a client link proxy: every server (Sentinels are
/// reached directly). Clients of replicated and cluster nodes learn a
/// server's peer address (from Sentinels, `CLUSTER SLOTS`, MOVED) and
/// translate it to the client proxy ([`crate::store`]).
pub(super) fn proxied(n: &ProcessHandle) -> bool {
    n.process.is_some() && !n.info.role.is_sentinel()
}

pub(super) async fn node_up(
    ctx: &Ctx<'_>,
    node: &Node,
    plan: &PortPlan,
    dynamodb_urls: &HashMap<&str, String>,
    secrets: &super::Secrets<'_>,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    if let (Some(ext), Some(access)) = (&node.external, secrets.externals.get(&node.name)) {
        return super::external::up(ctx, node, ext, access).await;
    }
    let users = secrets.users.get(&node.name);
    let ctx = &Ctx {
        image: node.image.as_deref(),
        tls: ctx.run_tls.filter(|_| node.kind.tls()),
        users,
        ..*ctx
    };
    let mut handles = kind_up(ctx, node, plan, dynamodb_urls).await?;
    // The strategies authenticate as the client user, if the node has one.
    if let Some(users) = users {
        for h in &mut handles {
            h.client_redis = h.redis.as_ref().and_then(|c| users.client_access(c));
        }
    }
    Ok(handles)
}

async fn kind_up(
    ctx: &Ctx<'_>,
    node: &Node,
    plan: &PortPlan,
    dynamodb_urls: &HashMap<&str, String>,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let name = node.name.as_str();
    let password = || {
        match &node.kind {
            NodeKind::Redis(s) => s.password.clone(),
            NodeKind::RedisReplicated(r) => r.server.password.clone(),
            NodeKind::RedisCluster(c) => c.server.password.clone(),
            NodeKind::Dynamodb(_) | NodeKind::Dax(_) | NodeKind::Memcached(_) => None,
        }
        .unwrap_or_else(redis::random_password)
    };
    let access = || redis::probe::RedisAccess {
        user: None,
        password: password(),
        ca: ctx.tls.map(|t| t.pem.clone()),
        host: None,
    };
    match &node.kind {
        NodeKind::Redis(cfg) => {
            redis::standalone::up(ctx, name, cfg, plan.client[0], &access()).await
        }
        NodeKind::RedisReplicated(cfg) => {
            redis::replicated::up(ctx, name, cfg, &plan.client, &access()).await
        }
        NodeKind::RedisCluster(cfg) => {
            redis::cluster::up(ctx, name, cfg, &plan.client, &plan.bus, &access()).await
        }
        NodeKind::Dynamodb(cfg) => dynamodb::up(ctx, name, cfg, plan.client.first().copied()).await,
        NodeKind::Dax(cfg) => {
            let upstream = dynamodb_urls.get(cfg.dynamodb.as_str()).ok_or_else(|| {
                ProvisionError::Setup(format!(
                    "dax node `{name}`: no dynamodb node `{}`",
                    cfg.dynamodb
                ))
            })?;
            dax::up(ctx, name, cfg, &plan.client, upstream).await
        }
        NodeKind::Memcached(cfg) => memcached::up(ctx, name, cfg, &plan.client).await,
    }
}
