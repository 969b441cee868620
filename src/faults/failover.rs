//! `failover`: ask the topology to move the primary role.
//! Replicated: `SENTINEL FAILOVER <master>` on a Sentinel. Cluster:
//! `CLUSTER FAILOVER [FORCE|TAKEOVER]` on a replica (the target).

use crate::provision::NodeHandle;
use crate::provision::redis::probe::RedisProbe;

/// The Sentinels' name for a group's primary (see provisioning).
pub fn sentinel_master_name(group: &str) -> String {
    group.to_string()
}

pub async fn sentinel(sentinel: &NodeHandle, group: &str) -> Result<(), String> {
    let probe = RedisProbe::new(
        sentinel.info.port,
        sentinel.password.as_deref().unwrap_or(""),
    );
    let ok: String = probe
        .query(
            redis::cmd("SENTINEL")
                .arg("FAILOVER")
                .arg(sentinel_master_name(group)),
        )
        .await?;
    if ok == "OK" { Ok(()) } else { Err(ok) }
}

pub async fn cluster(replica: &NodeHandle, mode: Option<&str>) -> Result<(), String> {
    let probe = RedisProbe::new(replica.info.port, replica.password.as_deref().unwrap_or(""));
    let mut cmd = redis::cmd("CLUSTER");
    cmd.arg("FAILOVER");
    if let Some(m) = mode {
        cmd.arg(m.to_uppercase());
    }
    let ok: String = probe.query(&cmd).await?;
    if ok == "OK" { Ok(()) } else { Err(ok) }
}
