//! The ledger: per session, the last acknowledged operation, and the writes
//! and deletes whose fate is unknown (failed, timed out or abandoned: they
//! may still land). Operations on one session are serialised, so versions
//! are ordered.
//!
//! An operation enters the ledger as *pending* before it is sent and leaves
//! it when acknowledged; if it fails it stays, because a request that timed
//! out on the client can still be executed by the server later — even after
//! a newer write of the same session was acknowledged. Such operations are
//! remembered for [`UNCERTAIN_HORIZON`] after the next acknowledgement.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long an unacknowledged operation can still land, counted from the
/// acknowledgement of a later one. Longer than any op timeout plus the
/// longest stall the drills inject.
pub const UNCERTAIN_HORIZON: Duration = Duration::from_secs(60);

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

/// A write whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uncertain {
    pub version: u64,
    pub issued: Instant,
    /// When the session would expire had this write landed at issue time.
    pub expires_at: Instant,
}

#[derive(Debug, Clone, Default)]
pub struct SessionState {
    /// Highest version handed out for this session.
    pub issued: u64,
    /// The last acknowledged write or delete.
    pub acked: Option<Acked>,
    /// Writes sent but not acknowledged (pending or failed).
    pub uncertain: Vec<Uncertain>,
    /// A delete sent but not acknowledged: when it was issued.
    pub uncertain_delete: Option<Instant>,
    /// The acknowledged version a live read last proved lost or stale (0:
    /// none), so each loss is counted once however often it is read.
    pub proven: u64,
    /// `redis-rate-limit`: when (ms on the request clock) the limiter
    /// admitted this customer's requests, within the last window.
    pub admits: VecDeque<u64>,
}

impl SessionState {
    /// Start a write: hand out the next version and record it as pending.
    pub fn begin_write(&mut self, issued: Instant, ttl: Duration) -> u64 {
        self.issued += 1;
        self.uncertain.push(Uncertain {
            version: self.issued,
            issued,
            expires_at: issued + ttl,
        });
        self.issued
    }

    /// The write of `version` was acknowledged at `at`.
    pub fn write_acked(&mut self, version: u64, at: Instant) {
        let expires_at = match self.uncertain.iter().position(|u| u.version == version) {
            Some(i) => self.uncertain.swap_remove(i).expires_at,
            // Not begun through the ledger (tests): expire far away.
            None => at + Duration::from_secs(3600),
        };
        self.acked = Some(Acked::Write {
            version,
            at,
            expires_at,
        });
        self.forget_old(at);
    }

    /// The write of `version` was refused (a lock already held): it
    /// certainly did not land, so it is no longer uncertain.
    pub fn write_refused(&mut self, version: u64) {
        self.uncertain.retain(|u| u.version != version);
    }

    /// Until when the acknowledged write is certainly live on the server: a
    /// lock's lease. `None` after a delete, or when a release whose fate is
    /// unknown may have ended it.
    pub fn lease_until(&self) -> Option<Instant> {
        match self.acked {
            Some(Acked::Write { expires_at, .. }) if self.uncertain_delete.is_none() => {
                Some(expires_at)
            }
            _ => None,
        }
    }

    /// Record an admitted request at `at_ms`; how many admits the window
    /// `(at_ms - window_ms, at_ms]` now holds.
    pub fn admit(&mut self, at_ms: u64, window_ms: u64) -> usize {
        let from = at_ms.saturating_sub(window_ms);
        while self.admits.front().is_some_and(|&t| t <= from) {
            self.admits.pop_front();
        }
        self.admits.push_back(at_ms);
        self.admits.len()
    }

    /// Start a delete.
    pub fn begin_delete(&mut self, issued: Instant) {
        self.uncertain_delete = Some(issued);
    }

    pub fn delete_acked(&mut self, at: Instant) {
        self.acked = Some(Acked::Delete { at });
        self.uncertain_delete = None;
        self.forget_old(at);
    }

    fn forget_old(&mut self, now: Instant) {
        let horizon = now.checked_sub(UNCERTAIN_HORIZON);
        if let Some(h) = horizon {
            self.uncertain.retain(|u| u.issued >= h);
            if self.uncertain_delete.is_some_and(|t| t < h) {
                self.uncertain_delete = None;
            }
        }
    }

    /// The uncertain write of `version`, if any.
    pub fn uncertain_write(&self, version: u64) -> Option<Uncertain> {
        self.uncertain
            .iter()
            .copied()
            .find(|u| u.version == version)
    }

    /// Adopt an uncertain write found to have landed: it becomes the last
    /// acknowledged state, with the expiry it was written with.
    pub fn adopt_write(&mut self, u: Uncertain) {
        self.uncertain.retain(|x| x.version != u.version);
        self.acked = Some(Acked::Write {
            version: u.version,
            at: u.issued,
            expires_at: u.expires_at,
        });
    }

    /// Adopt an uncertain delete found to have landed.
    pub fn adopt_delete(&mut self) {
        let at = self.uncertain_delete.take();
        self.acked = Some(Acked::Delete {
            at: at.unwrap_or_else(Instant::now),
        });
    }

    /// Note that a read proved the acknowledged version lost or stale;
    /// true the first time for that version.
    pub fn first_proof(&mut self) -> bool {
        match self.acked_version() {
            Some(v) if v != self.proven => {
                self.proven = v;
                true
            }
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_write_is_not_uncertain_and_a_lease_ends_with_a_release() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(t, Duration::from_secs(10));
        s.write_acked(v1, t);
        assert_eq!(s.lease_until(), Some(t + Duration::from_secs(10)));
        let v2 = s.begin_write(t, Duration::from_secs(10));
        s.write_refused(v2);
        assert!(s.uncertain.is_empty());
        s.begin_delete(t);
        assert_eq!(s.lease_until(), None, "a release in flight may end it");
        s.delete_acked(t);
        assert_eq!(s.lease_until(), None);
    }

    #[test]
    fn admits_count_the_sliding_window() {
        let mut s = SessionState::default();
        assert_eq!(s.admit(1000, 500), 1);
        assert_eq!(s.admit(1200, 500), 2);
        // 1000 falls out: the window is (1000, 1500].
        assert_eq!(s.admit(1500, 500), 2);
        assert_eq!(s.admit(1501, 500), 3);
    }

    #[test]
    fn a_failed_write_stays_uncertain_after_a_later_ack() {
        let t = Instant::now();
        let ttl = Duration::from_secs(600);
        let mut s = SessionState::default();
        let v1 = s.begin_write(t, ttl);
        // v1 timed out; v2 is acknowledged.
        let v2 = s.begin_write(t + Duration::from_secs(1), ttl);
        s.write_acked(v2, t + Duration::from_secs(2));
        assert_eq!(s.acked_version(), Some(2));
        assert!(s.uncertain_write(v1).is_some());
        assert!(s.uncertain_write(v2).is_none());
        // Far beyond the horizon, v1 cannot land any more.
        let v3 = s.begin_write(t + UNCERTAIN_HORIZON, ttl);
        s.write_acked(v3, t + UNCERTAIN_HORIZON * 2);
        assert!(s.uncertain_write(v1).is_none());
    }

    #[test]
    fn a_loss_is_proven_once_per_acknowledged_version() {
        let t = Instant::now();
        let ttl = Duration::from_secs(600);
        let mut s = SessionState::default();
        assert!(!s.first_proof(), "nothing acknowledged, nothing to prove");
        let v = s.begin_write(t, ttl);
        s.write_acked(v, t);
        assert!(s.first_proof());
        assert!(!s.first_proof());
        let v = s.begin_write(t, ttl);
        s.write_acked(v, t);
        assert!(s.first_proof());
    }

    #[test]
    fn expiry_counts_from_the_issue_time() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let v = s.begin_write(t, Duration::from_secs(10));
        s.write_acked(v, t + Duration::from_secs(3));
        assert!(matches!(
            s.acked,
            Some(Acked::Write { expires_at, .. }) if expires_at == t + Duration::from_secs(10)
        ));
    }
}
