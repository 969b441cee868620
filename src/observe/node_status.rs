//! What the observer last saw of each process: state, live role,
//! replication offset and lag. Published on a `watch` channel for the
//! dashboard's topology panel; the headless runner ignores it.

use crate::provision::redis::probe::info_field;
use crate::topology::KindName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Not looked at yet.
    Unknown,
    Up,
    Down,
    /// Loading its data set (AOF/RDB) after a start.
    Loading,
    /// A replica without a working link to its primary, or in a full sync.
    Syncing,
}

impl NodeState {
    pub fn name(self) -> &'static str {
        match self {
            NodeState::Unknown => "?",
            NodeState::Up => "up",
            NodeState::Down => "down",
            NodeState::Loading => "loading",
            NodeState::Syncing => "syncing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub group: String,
    pub kind: KindName,
    /// The live role (`master`, `slave`) when known, else the configured one.
    pub role: String,
    pub state: NodeState,
    /// Replication offset (Redis servers).
    pub offset: Option<u64>,
    /// Bytes behind its group's primary (replicas of a replicated group).
    pub lag_bytes: Option<u64>,
    /// A DAX node's cache counters.
    pub cache: Option<crate::nodes::dax::DaxStats>,
}

/// What `INFO replication persistence` says of a Redis server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisLook {
    pub role: String,
    pub state: NodeState,
    pub offset: Option<u64>,
}

pub fn parse_redis_info(info: &str) -> RedisLook {
    let role = info_field(info, "role").unwrap_or("?").to_string();
    let num = |k: &str| info_field(info, k).and_then(|v| v.parse::<u64>().ok());
    let offset = if role == "slave" {
        num("slave_repl_offset")
    } else {
        num("master_repl_offset")
    };
    let state = if info_field(info, "loading") == Some("1") {
        NodeState::Loading
    } else if role == "slave"
        && (info_field(info, "master_link_status") != Some("up")
            || info_field(info, "master_sync_in_progress") == Some("1"))
    {
        NodeState::Syncing
    } else {
        NodeState::Up
    };
    RedisLook {
        role,
        state,
        offset,
    }
}

/// Fill in each replica's lag: its group's primary offset minus its own.
/// Cluster groups hold several primaries; their replicas get no lag.
pub fn fill_lag(nodes: &mut [NodeStatus]) {
    let primary_offset = |group: &str, nodes: &[NodeStatus]| {
        let mut primaries = nodes
            .iter()
            .filter(|n| n.group == group && n.role == "master" && n.state != NodeState::Down);
        let first = primaries.next()?;
        primaries.next().is_none().then_some(first.offset).flatten()
    };
    let lags: Vec<Option<u64>> = nodes
        .iter()
        .map(|n| {
            if n.role != "slave" || n.kind.is_cluster() {
                return None;
            }
            let p = primary_offset(&n.group, nodes)?;
            Some(p.saturating_sub(n.offset?))
        })
        .collect();
    for (n, lag) in nodes.iter_mut().zip(lags) {
        n.lag_bytes = lag;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_in_sync_and_one_loading() {
        let info = "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:900\r\n# Persistence\r\nloading:0\r\n";
        assert_eq!(
            parse_redis_info(info),
            RedisLook {
                role: "slave".into(),
                state: NodeState::Up,
                offset: Some(900)
            }
        );
        let down = info.replace("master_link_status:up", "master_link_status:down");
        assert_eq!(parse_redis_info(&down).state, NodeState::Syncing);
        let loading = "role:master\r\nmaster_repl_offset:5\r\nloading:1\r\n";
        assert_eq!(parse_redis_info(loading).state, NodeState::Loading);
        assert_eq!(parse_redis_info(loading).offset, Some(5));
    }

    fn node(name: &str, role: &str, offset: u64) -> NodeStatus {
        NodeStatus {
            name: name.into(),
            group: "cache".into(),
            kind: KindName::RedisReplicated,
            role: role.into(),
            state: NodeState::Up,
            offset: Some(offset),
            lag_bytes: None,
            cache: None,
        }
    }

    #[test]
    fn lag_is_measured_against_the_one_primary() {
        let mut nodes = vec![
            node("cache-0", "master", 1000),
            node("cache-1", "slave", 400),
            node("cache-2", "slave", 1000),
        ];
        fill_lag(&mut nodes);
        let lags: Vec<_> = nodes.iter().map(|n| n.lag_bytes).collect();
        assert_eq!(lags, vec![None, Some(600), Some(0)]);
        // Split brain: two primaries, no honest lag.
        nodes[2].role = "master".into();
        fill_lag(&mut nodes);
        assert_eq!(nodes[1].lag_bytes, None);
    }
}
