//! The ledger: per session, the last acknowledged operation, and the writes
//! whose fate is unknown (failed or timed out: they may still have landed).
//! Operations on one session are serialised, so versions are ordered.

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acked {
    Write {
        version: u64,
        at: Instant,
        expires_at: Instant,
    },
    Delete {
        at: Instant,
    },
}

#[derive(Debug, Clone, Default)]
pub struct SessionState {
    /// Highest version handed out for this session.
    pub issued: u64,
    /// The last acknowledged write or delete.
    pub acked: Option<Acked>,
    /// Versions written since the last acknowledgement whose outcome is
    /// unknown.
    pub uncertain: Vec<u64>,
    /// A delete since the last acknowledgement whose outcome is unknown.
    pub uncertain_delete: bool,
}

impl SessionState {
    /// The version for the next write.
    pub fn next_version(&mut self) -> u64 {
        self.issued += 1;
        self.issued
    }

    pub fn write_acked(&mut self, version: u64, at: Instant, expires_at: Instant) {
        self.acked = Some(Acked::Write {
            version,
            at,
            expires_at,
        });
        self.uncertain.clear();
        self.uncertain_delete = false;
    }

    pub fn write_failed(&mut self, version: u64) {
        self.uncertain.push(version);
    }

    pub fn delete_acked(&mut self, at: Instant) {
        self.acked = Some(Acked::Delete { at });
        self.uncertain.clear();
        self.uncertain_delete = false;
    }

    pub fn delete_failed(&mut self) {
        self.uncertain_delete = true;
    }

    /// Has anything ever been (possibly) written?
    pub fn touched(&self) -> bool {
        self.issued > 0 || self.acked.is_some()
    }

    /// The last acknowledged version, if the last acknowledged op was a write.
    pub fn acked_version(&self) -> Option<u64> {
        match self.acked {
            Some(Acked::Write { version, .. }) => Some(version),
            _ => None,
        }
    }

    pub fn acked_at(&self) -> Option<Instant> {
        match self.acked {
            Some(Acked::Write { at, .. } | Acked::Delete { at }) => Some(at),
            None => None,
        }
    }
}
