//! What the report keeps of each fault: a record of what it hit and did,
//! and the error of a fault that could not be injected.

use std::time::Instant;

use super::budget::Budget;
use super::{Fault, FaultKind};
use crate::fabric::powerfs::LossSummary;
use crate::topology::Node;

#[derive(Debug, thiserror::Error)]
#[error("{fault}: {reason}")]
pub struct FaultError {
    pub fault: String,
    pub reason: String,
    /// The fault is in the records already (it failed half-way).
    pub recorded: bool,
}

/// What happened to one injected fault.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FaultRecord {
    pub id: usize,
    pub kind: FaultKind,
    pub target: String,
    /// The topology node (group) of the processes it hit.
    pub group: String,
    /// The processes it hit.
    pub processes: Vec<String>,
    /// Milliseconds since the run started.
    pub at_ms: u64,
    pub healed_ms: Option<u64>,
    pub message: String,
    /// A link fault on the peer link (replication, Sentinels).
    pub peers: bool,
    /// For a primary with replicas: how far (bytes of replication stream)
    /// the furthest-behind replica was when the fault hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repl_lag_bytes: Option<u64>,
    /// For `power-loss`: what the filesystem discarded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded: Option<LossSummary>,
    /// For `power-loss`: how long the node had gone without an fsync when
    /// the power went (the most its writes could lose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsynced_ms: Option<u64>,
    /// Did it happen? A timeline entry that could not be injected, or never
    /// came (the load ended first), did not.
    pub fired: bool,
    /// Why it did not happen, did not have its effect (a failover nobody
    /// performed) or did not heal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub at: Instant,
    /// Every process it hit is a Sentinel (which holds no sessions).
    #[serde(skip)]
    pub sentinels_only: bool,
}

impl FaultRecord {
    /// The record of `fault`, due or injected at `at` (`at_ms` since the
    /// run started), before anything is known of what it did: it did not
    /// fire, and hit nothing.
    pub fn of(fault: &Fault, at: Instant, at_ms: u64) -> Self {
        Self {
            id: 0,
            kind: fault.kind(),
            target: fault.target.clone(),
            group: String::new(),
            processes: Vec::new(),
            at_ms,
            healed_ms: None,
            message: String::new(),
            peers: fault.peers,
            repl_lag_bytes: None,
            discarded: None,
            unsynced_ms: None,
            fired: false,
            error: None,
            at,
            sentinels_only: false,
        }
    }
}

impl FaultRecord {
    /// What it may destroy on topology node `node`: its kind's budget, but
    /// nothing when it hit only Sentinels (they hold no sessions) — unless
    /// it is a failover, which the Sentinels perform on the primary.
    pub fn budget(&self, node: &Node) -> Budget {
        if self.sentinels_only && !self.kind.must_promote() {
            return Budget::new(
                "Sentinels hold no sessions: nothing acknowledged is lost",
                Some(0.0),
            );
        }
        self.kind.budget(node, self.peers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultAction;
    use crate::faults::kinds::Pause;
    use crate::topology::Topology;
    use crate::yaml::SourceText;

    #[test]
    fn pausing_sentinels_loses_nothing_but_pausing_the_primary_may() {
        let t = Topology::parse(&SourceText::inline(
            "t.yaml",
            "name: t\nnodes:\n  cache: { kind: redis-replicated }\n",
        ))
        .unwrap();
        let node = &t.nodes[0];
        let pause = Fault::new(FaultAction::Pause(Pause), "cache.primary");
        let mut r = FaultRecord::of(&pause, Instant::now(), 0);
        let primary = r.budget(node);
        assert!(
            primary.rule.contains("Sentinel failover"),
            "{}",
            primary.rule
        );
        r.sentinels_only = true;
        let sentinels = r.budget(node);
        assert_eq!(sentinels.window_s, Some(0.0), "{}", sentinels.rule);
        assert!(sentinels.rule.contains("Sentinels hold no sessions"));
        // A failover asked of a Sentinel is still the failover's loss.
        let failover = Fault::new(
            FaultAction::Failover(crate::faults::kinds::Failover { mode: None }),
            "cache-sentinel-0",
        );
        let r = FaultRecord {
            sentinels_only: true,
            ..FaultRecord::of(&failover, Instant::now(), 0)
        };
        assert_eq!(r.budget(node).window_s, None, "{}", r.budget(node).rule);
    }
}
