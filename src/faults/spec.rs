//! The YAML shape of one timeline entry: flat, every kind's parameters
//! side by side. Validation (`scenario::timeline`) maps it onto a
//! [`super::FaultAction`], each kind taking only its own fields.

use std::time::Duration;

use serde::Deserialize;

use crate::yaml::Problems;

/// One fault of the timeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineSpec {
    /// Offset from the start of the timed load, e.g. `5s`.
    pub at: String,
    pub fault: String,
    pub target: String,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub repeat: Option<RepeatSpec>,
    /// `failover` on a cluster: `force` or `takeover`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `latency`: added delay, e.g. `50ms`; `jitter`: ± spread.
    #[serde(default)]
    pub latency: Option<String>,
    #[serde(default)]
    pub jitter: Option<String>,
    /// `bandwidth`: bytes per second, e.g. `100kb/s`, `1mb/s`, `5000`.
    #[serde(default)]
    pub bandwidth: Option<serde_yaml::Value>,
    /// `partition`: `both` (default), `up` (client → node), `down`.
    #[serde(default)]
    pub direction: Option<String>,
    /// `timeout`: close connections this long after the fault (default:
    /// never; bytes are dropped meanwhile).
    #[serde(default)]
    pub close_after: Option<String>,
    /// `throttle`: share of requests, `30%` or `0.3`.
    #[serde(default)]
    pub share: Option<serde_yaml::Value>,
    /// `throttle`: 400 (ProvisionedThroughputExceeded, default) or 500/503.
    #[serde(default)]
    pub status: Option<u16>,
    /// `evict`: the `maxmemory` to shrink Redis to (default `1mb`).
    #[serde(default)]
    pub maxmemory: Option<String>,
    /// `evict`: Redis's `maxmemory-policy` meanwhile (default
    /// `allkeys-lru`; `noeviction` refuses writes instead of evicting).
    #[serde(default)]
    pub policy: Option<String>,
    /// Link faults: `clients` (default) or `peers` (replication and
    /// Sentinel traffic to a redis-replicated server).
    #[serde(default)]
    pub link: Option<String>,
    /// `power-loss`: fall once the node has gone this long without an
    /// fsync, e.g. `700ms` (the worst moment of `appendfsync everysec`).
    #[serde(default)]
    pub unsynced: Option<String>,
    /// `fis`: an experiment template id (`EXT…`), or a template body as
    /// FIS writes it (`roleArn`, `actions`, `targets`, `stopConditions`).
    #[serde(default)]
    pub template: Option<serde_yaml::Value>,
    /// `test-failover`: the ElastiCache replication group and its node
    /// group (default `0001`).
    #[serde(default)]
    pub replication_group: Option<String>,
    #[serde(default)]
    pub node_group: Option<String>,
    /// `reshard`: hash slots to move (default 1000).
    #[serde(default)]
    pub slots: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatSpec {
    pub every: String,
    pub times: u32,
}

impl TimelineSpec {
    /// The kind-specific fields given, by name.
    pub fn given(&self) -> Vec<&'static str> {
        [
            ("mode", self.mode.is_some()),
            ("latency", self.latency.is_some()),
            ("jitter", self.jitter.is_some()),
            ("bandwidth", self.bandwidth.is_some()),
            ("direction", self.direction.is_some()),
            ("close_after", self.close_after.is_some()),
            ("share", self.share.is_some()),
            ("status", self.status.is_some()),
            ("maxmemory", self.maxmemory.is_some()),
            ("policy", self.policy.is_some()),
            ("unsynced", self.unsynced.is_some()),
            ("template", self.template.is_some()),
            ("replication_group", self.replication_group.is_some()),
            ("node_group", self.node_group.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

/// Longest `at`, `duration`, `every` or link delay accepted: a day.
pub const LONGEST: Duration = Duration::from_secs(24 * 3600);

/// `d`, or [`LONGEST`] after a problem at `path` if it is longer.
pub fn at_most_a_day(c: &mut Problems<'_>, path: &str, d: Duration) -> Duration {
    if d > LONGEST {
        c.at(path, "longer than a day: drills are measured in seconds");
        LONGEST
    } else {
        d
    }
}

/// A duration longer than zero and at most a day.
pub fn within_a_day(c: &mut Problems<'_>, path: &str, s: &str) -> Duration {
    let d = c.duration(path, s);
    at_most_a_day(c, path, d)
}
