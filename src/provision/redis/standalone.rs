//! `kind: redis`: one redis-server.

use super::probe::RedisProbe;
use super::{conf, handle, start, wait_pong};
use crate::provision::launch::Ctx;
use crate::provision::node::NodeHandle;
use crate::provision::{ProvisionError, binaries};
use crate::topology::RedisServer;

pub async fn up(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &RedisServer,
    port: u16,
    password: &str,
) -> Result<Vec<NodeHandle>, ProvisionError> {
    let (mut proc, dir) = start(ctx, group, binaries::REDIS_SERVER, |data| {
        conf::server(cfg, port, data, password)
    })
    .await?;
    wait_pong(ctx, group, &mut proc, &RedisProbe::new(port, password)).await?;
    Ok(vec![handle(
        group, group, "redis", "primary", port, password, proc, dir,
    )])
}
