//! ElastiCache's managed failover: `TestFailover` on one node group of a
//! replication group, and the service's own events (`DescribeEvents`)
//! that say when it is done.

use std::collections::HashSet;
use std::time::SystemTime;

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::primitives::DateTime;
use aws_sdk_elasticache::types::ReplicationGroup;

use super::error_text;

/// One event as ElastiCache tells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// The replication group or cache cluster (`sessions-0001-002`).
    pub source: String,
    pub message: String,
    /// Seconds since the epoch, as the service dated it.
    pub date_s: i64,
}

impl Event {
    /// Does it say the failover of a primary completed? ElastiCache's
    /// message: "Failover from primary node … to replica node … completed".
    pub fn failover_completed(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        m.starts_with("failover") && m.contains("completed")
    }
}

#[derive(Clone)]
pub struct ElastiCache {
    client: Client,
}

impl ElastiCache {
    /// A client at `place` (see [`super::sdk_config`]).
    pub async fn new(place: &super::AwsPlace) -> ElastiCache {
        ElastiCache {
            client: Client::new(&super::sdk_config(place).await),
        }
    }

    /// Replication group `group` as ElastiCache describes it.
    async fn group(&self, group: &str) -> Result<ReplicationGroup, String> {
        let out = self
            .client
            .describe_replication_groups()
            .replication_group_id(group)
            .send()
            .await
            .map_err(|e| format!("replication group {group}: {}", error_text(&e)))?;
        out.replication_groups()
            .first()
            .cloned()
            .ok_or_else(|| format!("replication group {group}: not found"))
    }

    /// Does replication group `group` have node group `node_group`?
    pub async fn node_group(&self, group: &str, node_group: &str) -> Result<(), String> {
        let g = self.group(group).await?;
        let ids: Vec<&str> = g
            .node_groups()
            .iter()
            .filter_map(|n| n.node_group_id())
            .collect();
        if ids.contains(&node_group) {
            Ok(())
        } else {
            Err(format!(
                "replication group {group} has no node group {node_group:?} (it has {})",
                ids.join(", ")
            ))
        }
    }

    /// The cache clusters of replication group `group`.
    pub async fn members(&self, group: &str) -> Result<Vec<String>, String> {
        Ok(self.group(group).await?.member_clusters().to_vec())
    }

    /// `TestFailover`: ElastiCache promotes a replica of `node_group`;
    /// the group's status as it answered.
    pub async fn test_failover(&self, group: &str, node_group: &str) -> Result<String, String> {
        let out = self
            .client
            .test_failover()
            .replication_group_id(group)
            .node_group_id(node_group)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "TestFailover of {group} node group {node_group}: {}",
                    error_text(&e)
                )
            })?;
        Ok(out
            .replication_group()
            .and_then(|g| g.status())
            .unwrap_or("no status")
            .to_string())
    }

    /// Events since `since` of the sources named (a replication group and
    /// its cache clusters), oldest first, leaving out those in `seen` (and
    /// adding the new ones to it).
    pub async fn events(
        &self,
        sources: &[String],
        since: SystemTime,
        seen: &mut HashSet<Event>,
    ) -> Result<Vec<Event>, String> {
        let mut new = Vec::new();
        let mut marker = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .describe_events()
                .start_time(DateTime::from(since))
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| format!("DescribeEvents: {}", error_text(&e)))?;
            for e in out.events() {
                let source = e.source_identifier().unwrap_or_default();
                if !sources.iter().any(|s| s == source) {
                    continue;
                }
                let ev = Event {
                    source: source.to_string(),
                    message: e.message().unwrap_or_default().to_string(),
                    date_s: e.date().map_or(0, |d| d.secs()),
                };
                if seen.insert(ev.clone()) {
                    new.push(ev);
                }
            }
            marker = out.marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        new.sort_by_key(|e| e.date_s);
        Ok(new)
    }
}

/// Pages of events read at most per look (100 events each).
const MAX_PAGES: usize = 20;
