//! `kind: redis`: one redis-server.

use super::{RedisAccess, conf, start};
use crate::provision::handle::{ProcessHandle, Role};
use crate::provision::launch::Ctx;
use crate::provision::{ProvisionError, binaries};
use crate::topology::{KindName, RedisServer};

pub async fn up(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &RedisServer,
    port: u16,
    access: &RedisAccess,
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let mut node = start(
        ctx,
        group.to_string(),
        port,
        binaries::REDIS_SERVER,
        |data| conf::server(cfg, port, data, &access.password),
    )
    .await?;
    node.wait_pong(ctx, access).await?;
    Ok(vec![node.into_handle(
        group,
        KindName::Redis,
        Role::Primary,
        access,
    )])
}
