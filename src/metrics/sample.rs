//! What workers send: plain values, one per finished operation.

use std::time::Instant;

use crate::check::ReadCheck;
use crate::store::ErrorClass;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Create,
    Read,
    Update,
    Delete,
}

impl OpKind {
    pub const ALL: [OpKind; 4] = [OpKind::Create, OpKind::Read, OpKind::Update, OpKind::Delete];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Read => "read",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_write(self) -> bool {
        matches!(self, OpKind::Create | OpKind::Update)
    }
}

#[derive(Debug, Clone)]
pub struct Sample {
    /// Index of the strategy in the scenario.
    pub strategy: usize,
    pub op: OpKind,
    /// The session (lock, customer) it was on.
    pub session: u64,
    /// When the operation was meant to start (open loop): latency is
    /// measured from here, so a stalled server shows up as latency.
    pub intended: Instant,
    /// When the load generator actually started it: `started - intended`
    /// is the generator's own lag (timer resolution, a busy machine), part
    /// of the measured latency but not the store's doing.
    pub started: Instant,
    pub end: Instant,
    pub error: Option<ErrorClass>,
    /// For reads: what the value said against the ledger.
    pub check: Option<ReadCheck>,
    /// The read was the first to prove its acknowledged write lost or stale
    /// (a session counts once however often it is read).
    pub first_proof: bool,
    /// Answered but not done: a lock already held, a request over the limit.
    pub refused: bool,
    /// A lock granted to a second holder, an admit beyond the limit.
    pub violation: bool,
    /// It started while another operation on the same session was in
    /// flight (concurrency per session).
    pub overlapped: bool,
    /// Read-modify-write updates this read proved lost.
    pub lost_updates: u32,
}

impl Sample {
    pub fn lag_us(&self) -> u64 {
        self.started
            .saturating_duration_since(self.intended)
            .as_micros() as u64
    }

    pub fn latency_us(&self) -> u64 {
        self.end
            .saturating_duration_since(self.intended)
            .as_micros() as u64
    }
}
