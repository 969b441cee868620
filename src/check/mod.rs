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
    /// Concurrency per session: the write whose value the read found may
    /// have landed as late as this. Acknowledged writes above `holds` sent
    /// before then may have been overwritten by it legitimately, so they
    /// are not proven lost. `None`: operations did not overlap.
    pub landed_by: Option<Instant>,
}

/// The version a stored value carries; a value that is not this run's
/// (unparsable) carries none.
fn version_in(observed: Option<&str>) -> Option<Option<u64>> {
    observed.map(value::version_of)
}

/// Judge one read of a session against its ledger entry, operations on the
/// session serialised. When an uncertain write or delete newer than the
/// last acknowledged operation is found to have landed, the ledger adopts
/// it.
pub fn judge(state: &mut SessionState, observed: Option<&str>, now: Instant) -> Reading {
    judge_read(state, observed, now, None)
}

/// Judge a read sent at `invoked` that may have overlapped other
/// operations on the session, by real-time order (a register, as Jepsen
/// checks one): it may return any write not yet overwritten when it was
/// sent — one in flight, or an acknowledged one no write acknowledged
/// before the read had followed — and nothing only if no write was
/// acknowledged before it. What it may not return is judged as a serial
/// read would be.
pub fn judge_concurrent(
    state: &mut SessionState,
    observed: Option<&str>,
    invoked: Instant,
    now: Instant,
) -> Reading {
    judge_read(state, observed, now, Some(invoked))
}

/// A write, acknowledged at `at`, that a later write acknowledged before
/// `invoked` (and sent after it) or a delete sent after it and acknowledged
/// before `invoked` certainly overwrote.
fn overwritten_before(state: &SessionState, w: &ledger::AckedWrite, invoked: Instant) -> bool {
    let by_write = state
        .writes
        .iter()
        .any(|w2| w2.version > w.version && w2.at < invoked && w2.issued > w.at);
    // A write adopted from a failed one (not in `writes`): its issue time.
    let by_adopted = matches!(
        state.acked,
        Some(Acked::Write { version, at, .. })
            if version > w.version && at < invoked && at > w.at
                && state.acked_write(version).is_none()
    );
    let by_delete = matches!(state.acked, Some(Acked::Delete { at }) if at < invoked)
        && state.acked_delete_issued.is_some_and(|d| d > w.at);
    by_write || by_adopted || by_delete
}

/// What a read that overlapped other operations may legally have found,
/// as a reading; `None`: judge it as a serial read.
fn legal_overlap(
    state: &SessionState,
    seen: Option<Option<u64>>,
    invoked: Instant,
    now: Instant,
) -> Option<Reading> {
    let floor = state.deleted_through;
    let durable = |holds: u64, landed_by: Instant| Reading {
        check: ReadCheck::Durable,
        holds: holds.max(floor),
        expired: false,
        landed_by: Some(landed_by),
    };
    match seen {
        // A write in flight: it landed before its answer came back.
        Some(Some(r)) if state.uncertain.iter().any(|u| u.version == r && !u.failed) => {
            Some(durable(r, now))
        }
        // A write that failed but landed, sent before a newer write was
        // acknowledged: it may have landed after it. Indeterminate, and
        // not adopted (the newer write stays the last acknowledged one).
        Some(Some(r))
            if state.uncertain_write(r).is_some_and(|u| {
                state
                    .writes
                    .iter()
                    .any(|w| w.version > r && w.at > u.issued)
            }) =>
        {
            Some(Reading {
                check: ReadCheck::Indeterminate,
                holds: r.max(floor),
                expired: false,
                landed_by: Some(now),
            })
        }
        // An acknowledged write nothing had certainly overwritten when the
        // read was sent (the newest, or one concurrent with it).
        Some(Some(r)) => {
            let w = state.acked_write(r)?;
            (!overwritten_before(state, w, invoked)).then(|| durable(r, w.at))
        }
        // Not a value of this run's: judged as a serial read would be.
        Some(None) => None,
        // Nothing: legal while no write still live was acknowledged before
        // the read was sent.
        None => {
            // A delete acknowledged after a write was sent may have come
            // after it.
            let maybe_deleted =
                |w: &ledger::AckedWrite| state.last_delete_acked.is_some_and(|d| d > w.issued);
            let owed = state.writes.iter().any(|w| {
                w.version > floor
                    && w.at < invoked
                    && !maybe_deleted(w)
                    && !overwritten_before(state, w, invoked)
            });
            // A delete in flight may have landed already.
            let delete_in_flight = state.uncertain_delete.is_some_and(|d| !d.failed);
            // Every write above the floor is excused: none was owed, or a
            // delete in flight may have removed it.
            (delete_in_flight || (!owed && state.uncertain_delete.is_none())).then_some(Reading {
                check: ReadCheck::Nothing,
                holds: floor,
                expired: false,
                landed_by: Some(now),
            })
        }
    }
}

fn judge_read(
    state: &mut SessionState,
    observed: Option<&str>,
    now: Instant,
    invoked: Option<Instant>,
) -> Reading {
    let seen = version_in(observed);
    let floor = state.deleted_through;
    let expiring = matches!(
        state.acked,
        Some(Acked::Write { expires_at, .. }) if expires_at <= now + EXPIRY_MARGIN
    );
    if let Some(invoked) = invoked
        && !expiring
        && let Some(r) = legal_overlap(state, seen, invoked, now)
    {
        return r;
    }
    let reading = |check, holds: u64| Reading {
        check,
        holds: holds.max(floor),
        expired: false,
        landed_by: None,
    };
    let serial = match (state.acked, seen) {
        (Some(Acked::Write { expires_at, .. }), _) if expires_at <= now + EXPIRY_MARGIN => {
            Reading {
                check: ReadCheck::Nothing,
                holds: floor,
                expired: true,
                landed_by: None,
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
                landed_by: None,
            }
        }
        (Some(Acked::Write { .. }), None) => reading(ReadCheck::Lost, 0),
        (Some(Acked::Delete { .. }), Some(_)) => reading(ReadCheck::Resurrected, 0),
        (Some(Acked::Delete { .. }), None) => reading(ReadCheck::Nothing, 0),
        (None, _) => reading(ReadCheck::Nothing, 0),
    };
    // A stale read with overlapping operations: the writes sent before the
    // version it found had landed may have been overwritten by it.
    match (invoked, serial.check, seen) {
        (Some(_), ReadCheck::Stale, Some(Some(r))) => Reading {
            landed_by: state.acked_write(r).map(|w| w.at),
            ..serial
        },
        _ => serial,
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
        // Sent before the write the read found had landed: it may have
        // been overwritten by it legitimately (concurrency per session).
        let overlapped = reading.landed_by.is_some_and(|t| w.issued <= t);
        let fate = if w.fate.is_final() {
            continue;
        } else if w.version > reading.holds && !overlapped {
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
            // Judged by an earlier sweep. (Not a reason to stop: with
            // concurrency an older write can be acknowledged after a newer
            // one was judged.)
            continue;
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
        let v2 = s.begin_write(now, ttl);
        s.write_failed(v2);
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
        s.delete_failed();
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

    /// Concurrency per session (issue 17): histories of overlapping
    /// operations, each rule against the serial judgement it relaxes.
    mod real_time {
        use super::*;

        const TTL: Duration = Duration::from_secs(600);

        fn t(base: Instant, ms: u64) -> Instant {
            base + Duration::from_millis(ms)
        }

        /// w1 [0, 10] and w2 [5, 20] overlap: a read after both may find
        /// either; a serial judgement would call v1 stale.
        #[test]
        fn concurrent_writes_may_land_in_either_order() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            let v2 = s.begin_write(t(b, 5), TTL);
            s.write_acked(v1, t(b, 10));
            s.write_acked(v2, t(b, 20));
            let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 30), t(b, 31));
            assert_eq!(r.check, ReadCheck::Durable);
            assert_eq!(
                judge_concurrent(&mut s.clone(), Some(&val(2)), t(b, 30), t(b, 31)).check,
                ReadCheck::Durable
            );
            // Nor is v2 lost when a sweep finds v1: v2 was sent before v1 landed.
            let tally = judge_writes(&mut s, &r, None, at(t(b, 31)));
            assert_eq!((tally.lost, tally.durable), (0, 2));
            let mut serial = s.clone();
            assert_eq!(
                check(&mut serial, Some(&val(1)), t(b, 31)),
                ReadCheck::Stale
            );
        }

        /// w1 [0, 10], then w2 [20, 30] strictly after it: a read sent at
        /// 40 that finds v1 is stale, and a sweep that finds v1 has lost v2.
        #[test]
        fn a_write_overwritten_before_the_read_was_sent_is_stale() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            s.write_acked(v1, t(b, 10));
            let v2 = s.begin_write(t(b, 20), TTL);
            s.write_acked(v2, t(b, 30));
            let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 40), t(b, 41));
            assert_eq!(r.check, ReadCheck::Stale);
            let tally = judge_writes(&mut s, &r, None, at(t(b, 41)));
            assert_eq!((tally.lost, tally.durable), (1, 1));
        }

        /// A read sent at 15 while w2 [12, 30] is in flight may find v1 (the
        /// read came first) or v2 (it landed before its answer came back).
        #[test]
        fn a_read_overlapping_a_write_may_find_either() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            s.write_acked(v1, t(b, 10));
            let v2 = s.begin_write(t(b, 12), TTL);
            let early = judge_concurrent(&mut s.clone(), Some(&val(1)), t(b, 15), t(b, 25));
            assert_eq!(early.check, ReadCheck::Durable);
            let landed = judge_concurrent(&mut s, Some(&val(2)), t(b, 15), t(b, 25));
            assert_eq!(landed.check, ReadCheck::Durable);
            assert_eq!(s.acked_version(), Some(1), "in flight is not adopted");
            s.write_acked(v2, t(b, 30));
            // Sent after v2 was acknowledged, v1 is stale.
            let late = judge_concurrent(&mut s, Some(&val(1)), t(b, 35), t(b, 36));
            assert_eq!(late.check, ReadCheck::Stale);
            // The first write of a session, still in flight: nothing is legal.
            let mut fresh = SessionState::default();
            fresh.begin_write(t(b, 0), TTL);
            assert_eq!(
                judge_concurrent(&mut fresh, None, t(b, 1), t(b, 2)).check,
                ReadCheck::Nothing
            );
        }

        /// A write that timed out may land late: found, it is indeterminate
        /// and adopted, as in a serial run — not the benefit the doubt of a
        /// write still in flight gets.
        #[test]
        fn a_timed_out_write_that_lands_late_is_indeterminate() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            s.write_acked(v1, t(b, 10));
            let v2 = s.begin_write(t(b, 20), TTL);
            s.write_failed(v2);
            let r = judge_concurrent(&mut s, Some(&val(2)), t(b, 1040), t(b, 1041));
            assert_eq!(r.check, ReadCheck::Indeterminate);
            assert_eq!(s.acked_version(), Some(2), "adopted");
            // And a version never sent is lost, overlap or not.
            assert_eq!(
                judge_concurrent(&mut s, Some(&val(9)), t(b, 1050), t(b, 1051)).check,
                ReadCheck::Lost
            );
        }

        /// w1 acknowledged, then a delete [20, 40] races w2 [30, 50]: either
        /// may have come last, so nothing and v2 are both legal; a serial
        /// judgement calls nothing lost.
        #[test]
        fn a_delete_racing_a_write_may_win_or_lose() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            s.write_acked(v1, t(b, 10));
            s.begin_delete(t(b, 20));
            let v2 = s.begin_write(t(b, 30), TTL);
            s.delete_acked(t(b, 40));
            s.write_acked(v2, t(b, 50));
            assert_eq!(s.acked_version(), Some(2));
            let mut swept = s.clone();
            let gone = judge_concurrent(&mut swept, None, t(b, 60), t(b, 61));
            assert_eq!(gone.check, ReadCheck::Nothing);
            // A sweep that finds nothing does not condemn v2 either.
            let tally = judge_writes(&mut swept, &gone, None, at(t(b, 61)));
            assert_eq!(tally.lost, 0, "{tally:?}");
            let kept = judge_concurrent(&mut s.clone(), Some(&val(2)), t(b, 60), t(b, 61));
            assert_eq!(kept.check, ReadCheck::Durable);
            assert_eq!(check(&mut s.clone(), None, t(b, 61)), ReadCheck::Lost);
            // A write acknowledged before the delete was sent and found
            // after it is resurrected, overlap or not.
            let mut r = SessionState::default();
            let v1 = r.begin_write(t(b, 0), TTL);
            r.write_acked(v1, t(b, 10));
            r.begin_delete(t(b, 20));
            r.delete_acked(t(b, 30));
            let back = judge_concurrent(&mut r, Some(&val(1)), t(b, 40), t(b, 41));
            assert_eq!(back.check, ReadCheck::Resurrected);
        }

        /// A delete in flight may have landed: nothing is legal, and
        /// nothing is adopted (its writes are not made indeterminate) until
        /// its answer comes; one that failed is adopted as before.
        #[test]
        fn a_delete_in_flight_may_have_landed() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            s.write_acked(v1, t(b, 10));
            let through = s.begin_delete(t(b, 20));
            let r = judge_concurrent(&mut s, None, t(b, 25), t(b, 26));
            assert_eq!(r.check, ReadCheck::Nothing);
            assert_eq!(s.writes[0].fate, Fate::Unjudged, "not adopted");
            assert_eq!(s.acked_version(), Some(1));
            s.delete_acked_through(t(b, 30), through);
            assert_eq!(s.deleted_through, 1);
            // Failed instead: adopted, its writes indeterminate.
            let mut f = SessionState::default();
            let v1 = f.begin_write(t(b, 0), TTL);
            f.write_acked(v1, t(b, 10));
            f.begin_delete(t(b, 20));
            f.delete_failed();
            let r = judge_concurrent(&mut f, None, t(b, 1025), t(b, 1026));
            assert_eq!(r.check, ReadCheck::Indeterminate);
            assert_eq!(f.writes[0].fate, Fate::Indeterminate);
        }

        /// w1 sent at 0 and still in flight when w2 [5, 10] is
        /// acknowledged; w1 lands late and times out at 1000. Found later,
        /// it is indeterminate, not adopted over w2, and w2 is not lost.
        #[test]
        fn a_failed_write_sent_before_a_newer_one_was_acknowledged_may_land_last() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            let v2 = s.begin_write(t(b, 5), TTL);
            s.write_acked(v2, t(b, 10));
            s.write_failed(v1);
            let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 1100), t(b, 1101));
            assert_eq!(r.check, ReadCheck::Indeterminate);
            assert_eq!(s.acked_version(), Some(2), "not adopted over v2");
            let tally = judge_writes(&mut s, &r, None, at(t(b, 1101)));
            assert_eq!((tally.lost, tally.durable), (0, 1), "{tally:?}");
        }

        /// w1 [0, 10] and w2 [5, 15] overlap, w3 [20, 30] follows; the
        /// store rolls back to v1. v1 is stale, w3 is lost, but w2 may have
        /// been overwritten by w1 legitimately: not lost.
        #[test]
        fn a_rollback_condemns_only_what_came_after_the_version_found() {
            let b = Instant::now();
            let mut s = SessionState::default();
            let v1 = s.begin_write(t(b, 0), TTL);
            let v2 = s.begin_write(t(b, 5), TTL);
            s.write_acked(v1, t(b, 10));
            s.write_acked(v2, t(b, 15));
            let v3 = s.begin_write(t(b, 20), TTL);
            s.write_acked(v3, t(b, 30));
            let r = judge_concurrent(&mut s, Some(&val(1)), t(b, 40), t(b, 41));
            assert_eq!(r.check, ReadCheck::Stale);
            let tally = judge_writes(&mut s, &r, None, at(t(b, 41)));
            assert_eq!((tally.lost, tally.durable), (1, 2), "{tally:?}");
        }

        /// Without overlap the real-time judgement is the serial one.
        #[test]
        fn serial_histories_are_judged_alike() {
            let b = Instant::now();
            let mut s = SessionState::default();
            for i in 0..3u64 {
                let v = s.begin_write(t(b, i * 20), TTL);
                s.write_acked(v, t(b, i * 20 + 10));
            }
            for seen in [
                Some(val(1)),
                Some(val(2)),
                Some(val(3)),
                None,
                Some("x".into()),
            ] {
                let serial = judge(&mut s.clone(), seen.as_deref(), t(b, 100)).check;
                let rt =
                    judge_concurrent(&mut s.clone(), seen.as_deref(), t(b, 90), t(b, 100)).check;
                assert_eq!(serial, rt, "{seen:?}");
            }
        }
    }
}
