//! `failover`: ask the topology to move the primary role.
//! Replicated: `SENTINEL FAILOVER <master>` on a Sentinel. Cluster:
//! `CLUSTER FAILOVER [FORCE|TAKEOVER]` on a replica (the target).

use crate::faults::FaultKind;
use crate::faults::behaviour::{Behaviour, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::provision::ProcessHandle;
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Failover {
    /// On a cluster: `force` or `takeover`.
    pub mode: Option<String>,
}

impl Behaviour for Failover {
    const KIND: FaultKind = FaultKind::Failover;
    const SAID: &'static str = "was failed over";
    const HEALS: bool = false;
    const LINK: bool = false;
    const HEALED_AT_END: bool = false;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const MUST_PROMOTE: bool = true;
    const FIELDS: &'static [&'static str] = &["mode"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        if let Some(m) = &s.mode
            && !["force", "takeover"].contains(&m.as_str())
        {
            c.at(
                &format!("{path}.mode"),
                format!("unknown mode `{m}`, expected force or takeover"),
            );
        }
        Failover {
            mode: s.mode.clone(),
        }
    }

    fn applies(node: &Node) -> Result<(), String> {
        match node.kind {
            NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_) => Ok(()),
            NodeKind::Redis(_)
            | NodeKind::Dynamodb(_)
            | NodeKind::Dax(_)
            | NodeKind::Memcached(_) => Err(format!(
                "failover needs a redis-replicated or redis-cluster node; `{}` is neither",
                node.name
            )),
        }
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        match node.kind {
            NodeKind::RedisReplicated(_) => Budget::new(
                "SENTINEL FAILOVER is not coordinated: the old primary keeps accepting writes until it is reconfigured and clients follow the new primary; those writes are lost",
                None,
            ),
            NodeKind::RedisCluster(_) => Budget::new(
                "CLUSTER FAILOVER: the master pauses clients until its replica has caught up (nothing lost); FORCE/TAKEOVER skip that",
                Some(0.0),
            ),
            NodeKind::Redis(_)
            | NodeKind::Dynamodb(_)
            | NodeKind::Dax(_)
            | NodeKind::Memcached(_) => budget::nothing(node),
        }
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        (false, true)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let Some(&first) = cx.nodes.first() else {
            return Err("no process to fail over".into());
        };
        let node = &cx.dep.nodes[first];
        let group = node.info.node.clone();
        if node.info.kind.is_cluster() {
            cluster(node, self.mode.as_deref()).await?;
            return Ok(format!("CLUSTER FAILOVER on {}", cx.names[0]));
        }
        let mut done = Err("no Sentinel of this group answers".to_string());
        for s in cx
            .dep
            .nodes
            .iter()
            .filter(|n| n.info.node == group && n.info.role.is_sentinel())
        {
            done = sentinel(s, &group).await;
            if done.is_ok() {
                break;
            }
        }
        done?;
        Ok(format!(
            "SENTINEL FAILOVER {group} (primary was {})",
            cx.names[0]
        ))
    }
}

/// The Sentinels' name for a group's primary (see provisioning).
pub fn sentinel_master_name(group: &str) -> String {
    group.to_string()
}

async fn sentinel(sentinel: &ProcessHandle, group: &str) -> Result<(), String> {
    let ok: String = sentinel
        .redis_probe()
        .query(
            redis::cmd("SENTINEL")
                .arg("FAILOVER")
                .arg(sentinel_master_name(group)),
        )
        .await?;
    if ok == "OK" { Ok(()) } else { Err(ok) }
}

async fn cluster(replica: &ProcessHandle, mode: Option<&str>) -> Result<(), String> {
    let mut cmd = redis::cmd("CLUSTER");
    cmd.arg("FAILOVER");
    if let Some(m) = mode {
        cmd.arg(m.to_uppercase());
    }
    let ok: String = replica.redis_probe().query(&cmd).await?;
    if ok == "OK" { Ok(()) } else { Err(ok) }
}
