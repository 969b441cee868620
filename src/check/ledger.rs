//! The ledger: per session, every acknowledged write and what the checker
//! made of it, the last acknowledged operation, and the operations whose
//! fate is unknown (failed, timed out or abandoned: they may still land).
//! Operations on one session are serialised unless the workload asks for
//! concurrency per session; then overlapping operations are judged by
//! real-time order (see [`crate::check::judge`]).
//!
//! An operation enters the ledger as *pending* before it is sent and leaves
//! it when acknowledged; if it fails it stays, because a request that timed
//! out on the client may still have been executed by the server. An
//! acknowledged operation supersedes every uncertain one issued before it:
//! a failed write or delete can explain what a read finds only if it is
//! newer than the last acknowledged operation. Were an older failed request
//! to land after a newer acknowledged one (held in a network, replayed by a
//! resumed node), the acknowledged data would be gone just the same — the
//! checker counts it lost rather than giving the store the benefit of the
//! doubt it cannot check.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

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
    /// Its answer came back an error (or never will): it may still land.
    /// Until then it is in flight.
    pub failed: bool,
    /// When the session would expire had this write landed at issue time.
    pub expires_at: Instant,
}

/// A delete whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UncertainDelete {
    pub issued: Instant,
    /// The highest version issued before it: what it removes if it landed.
    pub through: u64,
    /// Its answer came back an error; until then it is in flight.
    pub failed: bool,
}

/// What the checker made of one acknowledged write. `Lost` and `Expired`
/// are final: a write found gone stays lost however often the session is
/// rewritten. `Durable` is as of the last sweep: a later rollback past it
/// (an RDB restore, a flush) makes it lost, charged to that fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fate {
    /// Not read back by a sweep yet (or its session could not be read by
    /// the last one).
    #[default]
    Unjudged,
    /// Read back, or superseded by a later write or delete that was.
    Durable,
    /// Gone: a sweep found the session holding neither it nor anything
    /// newer (an older version, or nothing).
    Lost,
    /// Hidden: the cache served an older copy while the store of record
    /// holds this write (or a newer one).
    Stale,
    /// Cannot be judged: a failed delete issued after it may have removed it.
    Indeterminate,
    /// The session expired (its TTL ran out) before a sweep read it.
    Expired,
}

impl Fate {
    /// Can a later sweep still change it?
    pub fn is_final(self) -> bool {
        matches!(self, Fate::Lost | Fate::Expired | Fate::Indeterminate)
    }
}

/// One acknowledged write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckedWrite {
    pub version: u64,
    /// When it was sent.
    pub issued: Instant,
    /// When it was acknowledged.
    pub at: Instant,
    pub fate: Fate,
    /// The read that decided its fate.
    pub judged: Option<Judged>,
    /// When the session would expire had nothing written it since.
    pub expires_at: Instant,
    /// Read-modify-write updates: what later reads found of its token.
    pub token: Token,
}

/// What reads found of an update's token ([`crate::check::updates`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Token {
    /// Not checked by a read sent after it was acknowledged (or not an
    /// update).
    #[default]
    Unchecked,
    /// Found by a read sent after it was acknowledged.
    Found,
    /// A later value lacked it although nothing removed the session since:
    /// a lost update. Final, counted once.
    Lost,
}

/// When a fate was decided, and by a checkpoint for which fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    pub at: Instant,
    /// The fault whose checkpoint read it; `None`: the final sweep, or a
    /// live observation.
    pub fault: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct SessionState {
    /// Highest version handed out for this session.
    pub issued: u64,
    /// The last acknowledged write or delete (or an uncertain one a read
    /// proved had landed).
    pub acked: Option<Acked>,
    /// Every acknowledged write, oldest first, with its fate.
    pub writes: Vec<AckedWrite>,
    /// Versions up to this one were removed by an acknowledged delete (or
    /// an uncertain one that landed): their absence is no loss.
    pub deleted_through: u64,
    /// Writes sent but not acknowledged, newer than the last acknowledged
    /// operation.
    pub uncertain: Vec<Uncertain>,
    /// A delete sent but not acknowledged, newer than the last
    /// acknowledged operation.
    pub uncertain_delete: Option<UncertainDelete>,
    /// The acknowledged version a live read last proved lost or stale (0:
    /// none), so each loss is counted once however often it is read.
    pub proven: u64,
    /// `redis-rate-limit`: when (ms on the request clock) the limiter
    /// admitted this customer's requests, within the last window.
    pub admits: VecDeque<u64>,
    /// Operations on this session in flight now (concurrency per session).
    pub in_flight: u32,
    /// When the last delete was sent: a write acknowledged after it may
    /// have landed after the delete.
    pub last_delete_issued: Option<Instant>,
    /// When the last delete was acknowledged: a write sent before then may
    /// have been removed by it.
    pub last_delete_acked: Option<Instant>,
    /// When that acknowledged delete was sent.
    pub acked_delete_issued: Option<Instant>,
    /// The highest version issued before the last delete was sent (whatever
    /// became of it): a write up to it may have been removed by a delete.
    pub deletes_reach: u64,
    /// Concurrency per session: the versions the last few reads judged
    /// legal found, newest last ([`Observed`]).
    pub observed: VecDeque<Observed>,
}

/// A version a read found, and when that read was sent and answered. A
/// later read sent after it was answered may not find an acknowledged
/// write that was acknowledged before it was sent, unless that is the
/// version it found: that write had been overwritten before (the register
/// Jepsen checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub version: u64,
    pub invoked: Instant,
    pub answered: Instant,
}

/// How many observations a session keeps.
const OBSERVED: usize = 4;

impl SessionState {
    /// Start a write: hand out the next version and record it as pending.
    pub fn begin_write(&mut self, issued: Instant, ttl: Duration) -> u64 {
        self.issued += 1;
        self.uncertain.push(Uncertain {
            version: self.issued,
            issued,
            failed: false,
            expires_at: issued + ttl,
        });
        self.issued
    }

    /// Remember what a read found (the oldest observation goes).
    pub fn observe(&mut self, o: Observed) {
        if self.observed.len() == OBSERVED {
            self.observed.pop_front();
        }
        self.observed.push_back(o);
    }

    /// An operation on this session starts; did it overlap another?
    pub fn begin_op(&mut self) -> bool {
        self.in_flight += 1;
        self.in_flight > 1
    }

    pub fn end_op(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Every operation in flight was abandoned (the drain gave up on it):
    /// what it sent may still land, as if it had failed.
    /// The versions of the writes still unanswered when it was called.
    pub fn abandon(&mut self) -> Vec<u64> {
        let mut pending = Vec::new();
        for u in &mut self.uncertain {
            if !u.failed {
                pending.push(u.version);
            }
            u.failed = true;
        }
        self.delete_failed();
        self.in_flight = 0;
        pending
    }

    /// The write of `version` failed (timed out, refused by an error): it
    /// may still land.
    pub fn write_failed(&mut self, version: u64) {
        if let Some(u) = self.uncertain.iter_mut().find(|u| u.version == version) {
            u.failed = true;
        }
    }

    /// The write of `version` was acknowledged at `at`. Every uncertain
    /// operation issued before it is superseded.
    pub fn write_acked(&mut self, version: u64, at: Instant) {
        let (issued, expires_at) = match self.uncertain_write(version) {
            Some(u) => (u.issued, u.expires_at),
            // Not begun through the ledger (tests): expire far away.
            None => (at, at + Duration::from_secs(3600)),
        };
        // Versions are handed out in issue order: a delete that would
        // remove versions below this one was issued before it. A write
        // still in flight (concurrency per session) is not superseded: it
        // may land after this one.
        self.uncertain
            .retain(|u| u.version > version || (!u.failed && u.version != version));
        // Likewise a delete: a failed one is superseded, one in flight may
        // still land after this write.
        if self
            .uncertain_delete
            .is_some_and(|d| d.through < version && d.failed)
        {
            self.uncertain_delete = None;
        }
        // With concurrency an older write can be acknowledged after a newer
        // one or a delete: the newest stays the last acknowledged operation.
        let newest = match self.acked {
            Some(Acked::Write { version: v, .. }) => version > v,
            Some(Acked::Delete { .. }) => version > self.deleted_through,
            None => true,
        };
        if newest {
            self.acked = Some(Acked::Write {
                version,
                at,
                expires_at,
            });
        }
        let pos = self.writes.partition_point(|w| w.version < version);
        self.writes.insert(
            pos,
            AckedWrite {
                version,
                issued,
                at,
                fate: Fate::Unjudged,
                judged: None,
                expires_at,
                token: Token::Unchecked,
            },
        );
    }

    /// The acknowledged write of `version`, if any.
    pub fn acked_write(&self, version: u64) -> Option<&AckedWrite> {
        self.writes
            .binary_search_by_key(&version, |w| w.version)
            .ok()
            .map(|i| &self.writes[i])
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

    /// Start a delete; the highest version it may remove.
    pub fn begin_delete(&mut self, issued: Instant) -> u64 {
        self.last_delete_issued = Some(issued);
        self.deletes_reach = self.issued;
        self.uncertain_delete = Some(UncertainDelete {
            issued,
            through: self.issued,
            failed: false,
        });
        self.issued
    }

    /// The delete in flight failed: it may still land.
    pub fn delete_failed(&mut self) {
        if let Some(d) = &mut self.uncertain_delete {
            d.failed = true;
        }
    }

    /// The delete sent when the highest version was `through` was
    /// acknowledged (with concurrency, another delete may have been sent
    /// since: its own stays uncertain).
    pub fn delete_acked_through(&mut self, at: Instant, through: u64) {
        // Its own record, or (when another delete replaced it or a read
        // adopted it) one with its own reach — never the versions issued
        // since it was sent. Another delete's record stays uncertain.
        let ours = match self.uncertain_delete {
            Some(d) if d.through == through => self.uncertain_delete.take(),
            _ => Some(UncertainDelete {
                issued: self.last_delete_issued.unwrap_or(at),
                through,
                failed: false,
            }),
        };
        self.acknowledge_delete(at, ours);
    }

    /// The delete begun last was acknowledged: it supersedes every write
    /// issued before it.
    pub fn delete_acked(&mut self, at: Instant) {
        let d = self.uncertain_delete.take();
        self.acknowledge_delete(at, d);
    }

    /// Delete `d` (its record; `None`: one that reached every version
    /// issued so far) was acknowledged at `at`.
    fn acknowledge_delete(&mut self, at: Instant, d: Option<UncertainDelete>) {
        let through = d.map_or(self.issued, |d| d.through);
        self.deleted_through = self.deleted_through.max(through);
        self.last_delete_acked = Some(at);
        self.acked_delete_issued = Some(d.map_or(at, |d| d.issued));
        self.uncertain.retain(|u| u.version > through || !u.failed);
        // A write issued after the delete and acknowledged before it (only
        // with concurrency) stays the last acknowledged operation.
        if !matches!(self.acked, Some(Acked::Write { version, .. }) if version > through) {
            self.acked = Some(Acked::Delete { at });
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
    /// known state, with the expiry it was written with. It is not an
    /// acknowledged write (it is not judged), but every acknowledged write
    /// before it is superseded.
    pub fn adopt_write(&mut self, u: Uncertain) {
        // Writes and deletes still in flight (concurrency) may land after it.
        self.uncertain
            .retain(|x| x.version > u.version || (!x.failed && x.version != u.version));
        if self
            .uncertain_delete
            .is_some_and(|d| d.through < u.version && d.failed)
        {
            self.uncertain_delete = None;
        }
        self.acked = Some(Acked::Write {
            version: u.version,
            at: u.issued,
            expires_at: u.expires_at,
        });
    }

    /// Adopt an uncertain delete found to have landed (at `now`): the
    /// writes it removed cannot be judged — the application's own delete
    /// may have removed them.
    pub fn adopt_delete(&mut self, now: Instant) {
        if let Some(d) = self.uncertain_delete.take() {
            self.deleted_through = self.deleted_through.max(d.through);
            self.uncertain.retain(|u| u.version > d.through);
            self.acked = Some(Acked::Delete { at: d.issued });
            self.acked_delete_issued = Some(d.issued);
            for w in self.writes.iter_mut().filter(|w| w.version <= d.through) {
                if w.fate == Fate::Unjudged {
                    w.fate = Fate::Indeterminate;
                    w.judged = Some(Judged {
                        at: now,
                        fault: None,
                    });
                }
            }
        }
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
    fn an_acknowledged_write_supersedes_the_failed_operations_before_it() {
        let t = Instant::now();
        let later = |s| t + Duration::from_secs(s);
        let ttl = Duration::from_secs(600);
        let mut s = SessionState::default();
        // v1 times out, a delete times out, v3 is acknowledged.
        let v1 = s.begin_write(t, ttl);
        s.write_failed(v1);
        s.begin_delete(later(1));
        s.delete_failed();
        let v3 = s.begin_write(later(2), ttl);
        assert_eq!(v3, 2);
        s.write_acked(v3, later(3));
        assert!(s.uncertain_write(v1).is_none());
        assert!(s.uncertain_delete.is_none());
        // A write still in flight after it stays uncertain.
        let v4 = s.begin_write(later(4), ttl);
        assert!(s.uncertain_write(v4).is_some());
        assert_eq!(s.writes.len(), 1);
        // So does one sent before the next acknowledged write and still in
        // flight (concurrency per session): it may land after it.
        let v5 = s.begin_write(later(5), ttl);
        let v6 = s.begin_write(later(6), ttl);
        s.write_acked(v6, later(7));
        assert!(s.uncertain_write(v5).is_some());
    }

    #[test]
    fn a_delete_issued_after_the_last_acknowledged_write_stays_uncertain() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let v = s.begin_write(t, Duration::from_secs(600));
        s.write_acked(v, t);
        s.begin_delete(t + Duration::from_secs(1));
        assert_eq!(
            s.uncertain_delete.map(|d| d.through),
            Some(1),
            "it would remove version 1"
        );
        s.adopt_delete(t);
        assert_eq!(s.deleted_through, 1);
        assert_eq!(s.writes[0].fate, Fate::Indeterminate);
        assert!(matches!(s.acked, Some(Acked::Delete { .. })));
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
