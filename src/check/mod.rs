//! The checker: what a read proves about the acknowledged writes, live and
//! in the final sweep that reads every session after the load stops.
//!
//! - durable: the last acknowledged version is readable;
//! - lost: acknowledged, not expired, not deleted, and missing;
//! - stale: an older version than the one acknowledged;
//! - resurrected: deleted (acknowledged), yet back;
//! - indeterminate: a write or delete that failed or timed out turned out
//!   to have landed — counted apart, never as lost.

mod sweep;

use std::time::{Duration, Instant};

pub use sweep::{SweepResult, sweep};

use crate::metrics::ledger::{Acked, SessionState};
use crate::store::value;

/// A session closer than this to its expiry is not judged: it may expire
/// between the read and the check.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadCheck {
    Durable,
    Missing,
    Stale,
    Resurrected,
    Indeterminate,
    /// Nothing to judge: never acknowledged, or absent as expected.
    Nothing,
}

/// Judge one read of a session against its ledger entry. When an uncertain
/// write or delete is found to have landed, the ledger adopts it.
pub fn judge(state: &mut SessionState, observed: Option<&str>, now: Instant) -> ReadCheck {
    let observed_version = observed.map(|v| value::version_of(v).unwrap_or(0));
    match (state.acked, observed_version) {
        (Some(Acked::Write { expires_at, .. }), _) if expires_at <= now + EXPIRY_MARGIN => {
            ReadCheck::Nothing
        }
        (Some(Acked::Write { version, .. }), Some(r)) if r == version => ReadCheck::Durable,
        // A write that failed or timed out (possibly older than the last
        // acknowledged one, if it landed late) is what the store holds.
        (_, Some(r)) if state.uncertain_write(r).is_some() => {
            let u = state.uncertain_write(r).expect("checked above");
            state.adopt_write(u);
            ReadCheck::Indeterminate
        }
        (Some(Acked::Write { version, .. }), Some(r)) if r < version => ReadCheck::Stale,
        // Newer than anything acknowledged and not a known uncertain write:
        // cannot come from this run's ledger; treat as durable (not a loss).
        (Some(Acked::Write { .. }), Some(_)) => ReadCheck::Durable,
        (Some(Acked::Write { .. }), None) if state.uncertain_delete.is_some() => {
            state.adopt_delete();
            ReadCheck::Indeterminate
        }
        (Some(Acked::Write { .. }), None) => ReadCheck::Missing,
        (Some(Acked::Delete { .. }), Some(_)) => ReadCheck::Resurrected,
        (Some(Acked::Delete { .. }), None) => ReadCheck::Nothing,
        (None, _) => ReadCheck::Nothing,
    }
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

    #[test]
    fn classifies_reads() {
        let now = Instant::now();
        let mut s = state_with(3, now);
        assert_eq!(judge(&mut s, Some(&val(3)), now), ReadCheck::Durable);
        assert_eq!(judge(&mut s, Some(&val(2)), now), ReadCheck::Stale);
        assert_eq!(judge(&mut s, None, now), ReadCheck::Missing);
        s.delete_acked(now);
        assert_eq!(judge(&mut s, None, now), ReadCheck::Nothing);
        assert_eq!(judge(&mut s, Some(&val(3)), now), ReadCheck::Resurrected);
    }

    #[test]
    fn an_uncertain_write_that_landed_is_indeterminate_not_lost_and_adopted() {
        let now = Instant::now();
        let mut s = state_with(3, now);
        let v = s.begin_write(now, Duration::from_secs(600));
        assert_eq!(v, 4);
        assert_eq!(judge(&mut s, Some(&val(4)), now), ReadCheck::Indeterminate);
        assert_eq!(s.acked_version(), Some(4));
        assert_eq!(judge(&mut s, Some(&val(4)), now), ReadCheck::Durable);
    }

    #[test]
    fn a_late_landing_older_write_is_indeterminate_not_stale() {
        let now = Instant::now();
        let mut s = SessionState::default();
        let ttl = Duration::from_secs(600);
        let v1 = s.begin_write(now, ttl);
        s.write_acked(v1, now);
        // v2 times out, v3 is acknowledged, then v2 lands.
        let _v2 = s.begin_write(now, ttl);
        let v3 = s.begin_write(now, ttl);
        s.write_acked(v3, now);
        assert_eq!(judge(&mut s, Some(&val(2)), now), ReadCheck::Indeterminate);
        assert_eq!(s.acked_version(), Some(2));
        // v1 was acknowledged and overwritten: reading it now is stale.
        assert_eq!(judge(&mut s, Some(&val(1)), now), ReadCheck::Stale);
    }

    #[test]
    fn a_late_landing_delete_is_indeterminate_not_lost() {
        let now = Instant::now();
        let mut s = state_with(2, now);
        s.begin_delete(now);
        let v = s.begin_write(now, Duration::from_secs(600));
        s.write_acked(v, now);
        assert_eq!(judge(&mut s, None, now), ReadCheck::Indeterminate);
        assert_eq!(judge(&mut s, None, now), ReadCheck::Nothing);
    }

    #[test]
    fn expiring_sessions_are_not_judged() {
        let now = Instant::now();
        let mut s = SessionState::default();
        let v = s.begin_write(now, Duration::from_secs(1));
        s.write_acked(v, now);
        assert_eq!(judge(&mut s, None, now), ReadCheck::Nothing);
    }
}
