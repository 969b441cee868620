//! Checkpoints: once a fault has done its work, the engine holds the load,
//! reads every session of the strategies on the fault's nodes and records
//! exactly which acknowledged writes are gone — before later load can write
//! over them and wash the loss out. The fault side asks ([`Checkpoints`]);
//! the engine answers (`workload::checkpoint`).

use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::WriteTally;

/// One checkpoint, as the report shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The fault (index into the report's `faults`) it was taken for.
    pub fault: usize,
    /// Why then: "healed", "failover observed", …
    pub why: String,
    /// When the load was held, and when it resumed (ms since the run start).
    pub at_ms: u64,
    pub resumed_ms: u64,
    /// Per strategy swept.
    pub strategies: IndexMap<String, CheckpointTally>,
}

/// What one strategy's sweep at a checkpoint found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckpointTally {
    pub checked: u64,
    /// Sessions missing / older than acknowledged at that moment.
    pub missing: u64,
    pub stale: u64,
    /// Sessions it could not read.
    pub unverified: u64,
    /// Acknowledged writes judged at this checkpoint, by fate.
    pub writes: WriteTally,
    /// When its first read succeeded (ms since the run start): until then
    /// the store may still have been unreachable, and the hold does not
    /// hide that from unavailability.
    #[serde(default)]
    pub first_read_ms: Option<u64>,
}

/// A request to the engine.
pub struct Request {
    pub fault: usize,
    /// The topology nodes (groups) the fault hit: strategies using any of
    /// them are swept.
    pub groups: Vec<String>,
    pub why: String,
    /// How long to wait, with the load held, before reading: time for the
    /// clients to follow a new primary.
    pub settle: Duration,
    pub done: oneshot::Sender<Option<Checkpoint>>,
}

/// Where the fault side asks for checkpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    tx: mpsc::UnboundedSender<Request>,
}

pub fn channel() -> (Checkpoints, mpsc::UnboundedReceiver<Request>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Checkpoints { tx }, rx)
}

impl Checkpoints {
    /// Ask for a checkpoint and wait for it; `None` when the load is over
    /// (the final sweep will judge instead) or the engine is gone.
    pub async fn take(
        &self,
        fault: usize,
        groups: Vec<String>,
        why: impl Into<String>,
        settle: Duration,
    ) -> Option<Checkpoint> {
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Request {
                fault,
                groups,
                why: why.into(),
                settle,
                done,
            })
            .ok()?;
        answer.await.ok().flatten()
    }
}
