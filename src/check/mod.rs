//! The checker: what a read proves about the acknowledged writes, live and
//! in the sweeps that read every session (checkpoints after a fault, and
//! the final sweep after the load stops).
//!
//! Per session (what a user would see now):
//! - durable: the last acknowledged version is readable;
//! - lost: acknowledged, not expired, not deleted, and missing;
//! - stale: an older version than the one acknowledged;
//! - resurrected: deleted (acknowledged), yet back;
//! - indeterminate: a write or delete that failed or timed out turned out
//!   to have landed — counted apart, never as lost.
//!
//! Per acknowledged write (what the fault destroyed), judged by sweeps
//! only ([`judge_writes`]): every write newer than what the session holds
//! is lost (or stale, when a cache hides it and the store of record holds
//! it); every write at or below it is durable. A lost write stays lost
//! whatever later load writes over it.

pub mod checkpoint;
pub mod ledger;
mod sweep;

use std::time::{Duration, Instant};

pub use sweep::{Patience, SweepResult, WriteTally, sweep};

use crate::store::value;
use ledger::{Acked, Fate, Judged, SessionState};

/// A session closer than this to its expiry is not judged: it may expire
/// between the read and the check.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadCheck {
    Durable,
    /// The read found the session without its last acknowledged write
    /// (absent, or an older version): the write is lost. `missing` in the
    /// report's `live` counts, as before.
    #[serde(rename = "missing")]
    Lost,
    Stale,
    Resurrected,
    Indeterminate,
    /// Nothing to judge: never acknowledged, or absent as expected.
    Nothing,
}

impl ReadCheck {
    pub const ALL: [ReadCheck; 6] = [
        ReadCheck::Durable,
        ReadCheck::Lost,
        ReadCheck::Stale,
        ReadCheck::Resurrected,
        ReadCheck::Indeterminate,
        ReadCheck::Nothing,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReadCheck::Durable => "durable",
            ReadCheck::Lost => "missing",
            ReadCheck::Stale => "stale",
            ReadCheck::Resurrected => "resurrected",
            ReadCheck::Indeterminate => "indeterminate",
            ReadCheck::Nothing => "nothing",
        }
    }
}

/// What one read found, judged against the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub check: ReadCheck,
    /// Every acknowledged write up to this version is accounted for (held,
    /// superseded, or deleted); every one above it is not in the store.
    pub holds: u64,
    /// The session expired before it was read: its writes are not judged.
    pub expired: bool,
}

/// The version a stored value carries; a value that is not this run's
/// (unparsable) carries none.
fn version_in(observed: Option<&str>) -> Option<Option<u64>> {
    observed.map(value::version_of)
}

/// Judge one read of a session against its ledger entry. When an uncertain
/// write or delete newer than the last acknowledged operation is found to
/// have landed, the ledger adopts it.
pub fn judge(state: &mut SessionState, observed: Option<&str>, now: Instant) -> Reading {
    let seen = version_in(observed);
    let floor = state.deleted_through;
    let reading = |check, holds: u64| Reading {
        check,
        holds: holds.max(floor),
        expired: false,
    };
    match (state.acked, seen) {
        (Some(Acked::Write { expires_at, .. }), _) if expires_at <= now + EXPIRY_MARGIN => {
            Reading {
                check: ReadCheck::Nothing,
                holds: floor,
                expired: true,
            }
        }
        (Some(Acked::Write { version, .. }), Some(Some(r))) if r == version => {
            reading(ReadCheck::Durable, r)
        }
        // A failed write newer than the last acknowledged operation landed.
        (_, Some(Some(r))) if state.uncertain_write(r).is_some() => {
            let u = state.uncertain_write(r).expect("checked above");
            state.adopt_write(u);
            reading(ReadCheck::Indeterminate, r)
        }
        (Some(Acked::Write { version, .. }), Some(Some(r))) if r < version => {
            reading(ReadCheck::Stale, r)
        }
        // Newer than anything this session was ever sent, or not a value of
        // this run's at all: the acknowledged write is not there.
        (Some(Acked::Write { .. }), Some(_)) => reading(ReadCheck::Lost, 0),
        (Some(Acked::Write { .. }), None) if state.uncertain_delete.is_some() => {
            state.adopt_delete(now);
            Reading {
                check: ReadCheck::Indeterminate,
                holds: state.deleted_through,
                expired: false,
            }
        }
        (Some(Acked::Write { .. }), None) => reading(ReadCheck::Lost, 0),
        (Some(Acked::Delete { .. }), Some(_)) => reading(ReadCheck::Resurrected, 0),
        (Some(Acked::Delete { .. }), None) => reading(ReadCheck::Nothing, 0),
        (None, _) => reading(ReadCheck::Nothing, 0),
    }
}

/// Decide the fate of the session's acknowledged writes from a sweep's
/// reading. `source`: what the store of record behind a cache holds, when
/// the read disagreed with the ledger (`Some(None)`: nothing). Returns the
/// judgements made now, by fate (a write judged durable before and found
/// lost now counts as lost now).
pub fn judge_writes(
    state: &mut SessionState,
    reading: &Reading,
    source: Option<Option<u64>>,
    judged: Judged,
) -> WriteTally {
    let mut tally = WriteTally::default();
    let held_by_source = source.flatten().unwrap_or(0);
    for w in state.writes.iter_mut().rev() {
        let fate = if w.fate.is_final() {
            continue;
        } else if w.version > reading.holds {
            let hidden = source.is_some() && w.version <= held_by_source;
            match (reading.expired, hidden, w.fate) {
                (true, _, _) => Fate::Expired,
                (false, true, Fate::Stale) => continue,
                (false, true, _) => Fate::Stale,
                (false, false, _) => Fate::Lost,
            }
        } else if w.fate == Fate::Unjudged {
            Fate::Durable
        } else {
            // Judged by an earlier sweep; everything older was too.
            break;
        };
        w.fate = fate;
        w.judged = Some(judged);
        tally.add(fate, 1);
    }
    tally
}

/// Writes not judged final whose session a sweep could not read: they are
/// unverified again (a rollback may have taken them since they were last
/// seen). How many.
pub fn unverify(state: &mut SessionState) -> u64 {
    let mut n = 0;
    for w in state.writes.iter_mut().filter(|w| !w.fate.is_final()) {
        w.fate = Fate::Unjudged;
        w.judged = None;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(version: u64, now: Instant) -> SessionState {
        let mut s = SessionState::default();
        for _ in 0..version {
            let v = s.begin_write(now, Duration::from_secs(600));
            s.write_acked(v, now);
        }
        s
    }

    fn val(v: u64) -> String {
        value::encode(1, v, 40)
    }

    fn check(s: &mut SessionState, observed: Option<&str>, now: Instant) -> ReadCheck {
        judge(s, observed, now).check
    }

    fn at(now: Instant) -> Judged {
        Judged {
            at: now,
            fault: None,
        }
    }

    #[test]
    fn classifies_reads() {
        let now = Instant::now();
        let mut s = state_with(3, now);
        assert_eq!(check(&mut s, Some(&val(3)), now), ReadCheck::Durable);
        assert_eq!(check(&mut s, Some(&val(2)), now), ReadCheck::Stale);
        assert_eq!(check(&mut s, None, now), ReadCheck::Lost);
        assert_eq!(check(&mut s, Some("not ours"), now), ReadCheck::Lost);
        assert_eq!(check(&mut s, Some(&val(9)), now), ReadCheck::Lost);
        s.begin_delete(now);
        s.delete_acked(now);
        assert_eq!(check(&mut s, None, now), ReadCheck::Nothing);
        assert_eq!(check(&mut s, Some(&val(3)), now), ReadCheck::Resurrected);
    }

    #[test]
    fn an_uncertain_write_that_landed_is_indeterminate_not_lost_and_adopted() {
        let now = Instant::now();
        let mut s = state_with(3, now);
        let v = s.begin_write(now, Duration::from_secs(600));
        assert_eq!(v, 4);
        assert_eq!(check(&mut s, Some(&val(4)), now), ReadCheck::Indeterminate);
        assert_eq!(s.acked_version(), Some(4));
        assert_eq!(check(&mut s, Some(&val(4)), now), ReadCheck::Durable);
    }

    /// Issue 15: a store that rolls back to an older version whose write
    /// had failed (its answer lost) used to be given the benefit of the
    /// doubt — the failed write "landed late" — and adopted over the newer
    /// acknowledged one, so the loss was never counted.
    #[test]
    fn a_rollback_to_an_older_failed_write_is_stale_and_its_successors_lost() {
        let now = Instant::now();
        let mut s = SessionState::default();
        let ttl = Duration::from_secs(600);
        let v1 = s.begin_write(now, ttl);
        s.write_acked(v1, now);
        // v2 times out (it did reach the store), v3 is acknowledged, then
        // the store loses v3 and holds v2.
        let _v2 = s.begin_write(now, ttl);
        let v3 = s.begin_write(now, ttl);
        s.write_acked(v3, now);
        let r = judge(&mut s, Some(&val(2)), now);
        assert_eq!(r.check, ReadCheck::Stale);
        assert_eq!(s.acked_version(), Some(3), "not adopted");
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!((t.lost, t.durable), (1, 1), "v3 lost, v1 superseded");
    }

    /// Issue 15: a delete that failed before a write was acknowledged used
    /// to explain that write's absence for 60 s (indeterminate, not lost).
    #[test]
    fn a_failed_delete_before_an_acknowledged_write_does_not_explain_its_loss() {
        let now = Instant::now();
        let mut s = state_with(2, now);
        s.begin_delete(now);
        let v = s.begin_write(now, Duration::from_secs(600));
        s.write_acked(v, now);
        let r = judge(&mut s, None, now);
        assert_eq!(r.check, ReadCheck::Lost);
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!(t.lost, 3, "every acknowledged write is gone");
    }

    #[test]
    fn a_failed_delete_after_the_last_write_makes_its_absence_indeterminate() {
        let now = Instant::now();
        let mut s = state_with(2, now);
        s.begin_delete(now);
        // A live read (no write judgement) finds it gone: the delete landed.
        assert_eq!(check(&mut s, None, now), ReadCheck::Indeterminate);
        let r = judge(&mut s, None, now);
        assert_eq!(r.check, ReadCheck::Nothing);
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!(
            t,
            WriteTally::default(),
            "judged when the delete was adopted"
        );
        let fates: Vec<Fate> = s.writes.iter().map(|w| w.fate).collect();
        assert_eq!(fates, [Fate::Indeterminate, Fate::Indeterminate]);
    }

    /// Review of issue 15: an expired write stayed open to judgement and
    /// was counted lost when a later write of the session was.
    #[test]
    fn an_expired_write_stays_expired() {
        let now = Instant::now();
        let mut s = SessionState::default();
        let v1 = s.begin_write(now, Duration::from_secs(1));
        s.write_acked(v1, now);
        let r = judge(&mut s, None, now);
        assert_eq!(judge_writes(&mut s, &r, None, at(now)).expired, 1);
        let v2 = s.begin_write(now, Duration::from_secs(600));
        s.write_acked(v2, now);
        let r = judge(&mut s, None, now);
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!((t.lost, t.expired), (1, 0), "v2 lost, v1 still expired");
    }

    #[test]
    fn writes_a_sweep_could_not_read_are_unverified_again() {
        let now = Instant::now();
        let mut s = state_with(3, now);
        let r = judge(&mut s, Some(&val(1)), now);
        judge_writes(&mut s, &r, None, at(now));
        // 2 and 3 lost (final); 1 durable, but unread at the end.
        assert_eq!(unverify(&mut s), 1);
        assert_eq!(s.writes[0].fate, Fate::Unjudged);
        assert_eq!(s.writes[2].fate, Fate::Lost);
    }

    #[test]
    fn expiring_sessions_are_not_judged() {
        let now = Instant::now();
        let mut s = SessionState::default();
        let v = s.begin_write(now, Duration::from_secs(1));
        s.write_acked(v, now);
        let r = judge(&mut s, None, now);
        assert_eq!(r.check, ReadCheck::Nothing);
        assert_eq!(judge_writes(&mut s, &r, None, at(now)).expired, 1);
    }

    /// The point of judging writes: a write found lost by a checkpoint stays
    /// lost after later load rewrites the session, and each write is
    /// counted once.
    #[test]
    fn a_lost_write_stays_lost_after_the_session_is_rewritten() {
        let now = Instant::now();
        let ttl = Duration::from_secs(600);
        let mut s = state_with(5, now);
        // A checkpoint after a power loss finds version 2: 3, 4, 5 lost.
        let r = judge(&mut s, Some(&val(2)), now);
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!((t.lost, t.durable), (3, 2));
        // The load writes version 6 over it; the final sweep reads 6.
        let v6 = s.begin_write(now, ttl);
        s.write_acked(v6, now);
        let r = judge(&mut s, Some(&val(6)), now);
        assert_eq!(r.check, ReadCheck::Durable);
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!((t.lost, t.durable), (0, 1), "only v6 is new");
        let lost = s.writes.iter().filter(|w| w.fate == Fate::Lost).count();
        assert_eq!(lost, 3);
    }

    #[test]
    fn a_rollback_past_an_earlier_sweep_loses_what_it_had_seen() {
        let now = Instant::now();
        let mut s = state_with(4, now);
        let r = judge(&mut s, Some(&val(4)), now);
        assert_eq!(judge_writes(&mut s, &r, None, at(now)).durable, 4);
        // An RDB restore takes the session back to version 1.
        let r = judge(&mut s, Some(&val(1)), now);
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!((t.lost, t.durable), (3, 0));
    }

    #[test]
    fn writes_the_store_of_record_holds_behind_a_stale_cache_are_stale_not_lost() {
        let now = Instant::now();
        let mut s = state_with(5, now);
        // The cache serves version 2; the store of record has 4 (5 is gone).
        let r = judge(&mut s, Some(&val(2)), now);
        let t = judge_writes(&mut s, &r, Some(Some(4)), at(now));
        assert_eq!((t.stale, t.lost, t.durable), (2, 1, 2));
        // Later the store of record has lost them too: stale becomes lost.
        let r = judge(&mut s, Some(&val(2)), now);
        let t = judge_writes(&mut s, &r, Some(None), at(now));
        assert_eq!((t.stale, t.lost), (0, 2));
    }

    #[test]
    fn deleted_writes_are_not_lost_when_the_store_rolls_back_past_the_delete() {
        let now = Instant::now();
        let ttl = Duration::from_secs(600);
        let mut s = state_with(2, now);
        s.begin_delete(now);
        s.delete_acked(now);
        let v3 = s.begin_write(now, ttl);
        s.write_acked(v3, now);
        let r = judge(&mut s, Some(&val(1)), now);
        assert_eq!(r.check, ReadCheck::Stale);
        let t = judge_writes(&mut s, &r, None, at(now));
        assert_eq!((t.lost, t.durable), (1, 2), "only v3 was lost");
    }
}
