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
pub mod updates;

use std::time::{Duration, Instant};

pub use sweep::{Patience, Purpose, SweepResult, WriteTally, sweep};

use crate::store::value;
use ledger::{Acked, Fate, Judged, Observed, SessionState};

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

/// A read sent at `invoked`, before a fault acts, that found `observed` at
/// `now` (operations may overlap): judged on a copy of the session, and
/// only what it legally saw is kept — later reads are held to it, as to a
/// load read's. Nothing else changes: no write is adopted from a cache
/// that is not the store of record, no delete, no fate. What it was judged
/// is returned, for the record.
pub fn remember_read(
    state: &mut SessionState,
    observed: Option<&str>,
    invoked: Instant,
    now: Instant,
) -> ReadCheck {
    let mut copy = state.clone();
    let reading = judge_concurrent(&mut copy, observed, invoked, now);
    if let Some(&o) = copy
        .observed
        .back()
        .filter(|o| o.invoked == invoked && o.answered == now)
    {
        state.observe(o);
    }
    reading.check
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
        // read was sent (the newest, or one concurrent with it), and no
        // earlier read had seen overwritten: a read answered before this
        // one was sent found another version, although this write was
        // acknowledged before that read was sent.
        Some(Some(r)) => {
            let w = state.acked_write(r)?;
            let seen_overwritten = state
                .observed
                .iter()
                .any(|o| o.version != r && o.answered < invoked && w.at < o.invoked);
            (!overwritten_before(state, w, invoked) && !seen_overwritten).then(|| durable(r, w.at))
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
        remember(state, &r, seen, invoked, now);
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
        (Some(invoked), _, _) => {
            remember(state, &serial, seen, invoked, now);
            serial
        }
        _ => serial,
    }
}

/// A read that may have overlapped others, sent at `invoked`, found a
/// version it was judged to have found legally: later reads are held to it.
fn remember(
    state: &mut SessionState,
    r: &Reading,
    seen: Option<Option<u64>>,
    invoked: Instant,
    now: Instant,
) {
    if let (ReadCheck::Durable | ReadCheck::Indeterminate, Some(Some(version))) = (r.check, seen) {
        state.observe(Observed {
            version,
            invoked,
            answered: now,
        });
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
    // Versions reads found after the write the session now holds had been
    // acknowledged: they came after it, so it did not overwrite them
    // legitimately, however they overlapped.
    let seen_after: Vec<u64> = match (reading.check, reading.landed_by) {
        (ReadCheck::Stale, Some(landed)) => state
            .observed
            .iter()
            .filter(|o| o.invoked > landed)
            .map(|o| o.version)
            .collect(),
        _ => Vec::new(),
    };
    for w in state.writes.iter_mut().rev() {
        // Sent before the write the read found had landed: it may have
        // been overwritten by it legitimately (concurrency per session).
        let overlapped =
            reading.landed_by.is_some_and(|t| w.issued <= t) && !seen_after.contains(&w.version);
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
mod tests;
