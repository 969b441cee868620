//! Lost updates: sessions kept by read-modify-write updates carry one token
//! per update (its version, [`crate::store::value::tokens_of`]). An update
//! acknowledged before a read was sent must have its token in what the read
//! found — every later update read the session after it and carried it
//! forward — unless a delete may have removed the session since, or the
//! session may have expired. A token missing otherwise is an update another
//! update overwrote without having seen it: a lost update.
//!
//! Only reads that found a legal value are judged here (durable, or an
//! uncertain write that landed): a value a fault rolled back or a cache
//! served stale is the write-level checker's ([`super::judge_writes`]).

use std::time::Instant;

use super::ledger::{SessionState, Token};
use super::{EXPIRY_MARGIN, ReadCheck};
use crate::store::value;

/// The lost updates a read sent at `invoked` proves, having found
/// `observed` and been judged `check`: only a legal value's tokens are
/// judged, and only a value written by updates has any.
pub fn proven_by_read(
    state: &mut SessionState,
    check: ReadCheck,
    observed: Option<&str>,
    invoked: Instant,
    now: Instant,
) -> u64 {
    match (check, observed.and_then(value::tokens_of)) {
        (ReadCheck::Durable | ReadCheck::Indeterminate, Some(tokens)) => {
            judge_updates(state, &tokens, invoked, now)
        }
        _ => 0,
    }
}

/// Judge the `tokens` a read sent at `invoked` and answered at `now`
/// found; mark every acknowledged update it proves lost, and return how
/// many it proved (each update is proven lost once).
pub fn judge_updates(
    state: &mut SessionState,
    tokens: &[u64],
    invoked: Instant,
    now: Instant,
) -> u64 {
    let mut found = tokens.to_vec();
    found.sort_unstable();
    let reach = state.deletes_reach;
    let mut lost = 0;
    for w in &mut state.writes {
        let owed = w.token != Token::Lost
            // Acknowledged before the read was sent: it had landed.
            && w.at < invoked
            // No delete sent after it was issued: none may have removed it.
            && w.version > reach
            // Its session may not have expired (a later update renews the
            // expiry, but one lost may not have).
            && w.expires_at > now + EXPIRY_MARGIN
            // A fault's loss, already judged by a sweep, is not an update's.
            && !w.fate.is_final();
        if !owed {
            continue;
        }
        if found.binary_search(&w.version).is_ok() {
            w.token = Token::Found;
        } else {
            w.token = Token::Lost;
            lost += 1;
        }
    }
    lost
}

/// Updates in this session whose token reads found (and none later
/// missed), and updates proven lost.
pub fn tokens(state: &SessionState) -> (u64, u64) {
    let count = |t| state.writes.iter().filter(|w| w.token == t).count() as u64;
    (count(Token::Found), count(Token::Lost))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    const TTL: Duration = Duration::from_secs(600);

    fn at(t: Instant, ms: u64) -> Instant {
        t + Duration::from_millis(ms)
    }

    /// Two updates both read the session before either wrote: the second
    /// to land overwrote the first's token.
    #[test]
    fn an_update_overwritten_by_one_that_never_saw_it_is_lost_once() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let a = s.begin_write(at(t, 0), TTL);
        let b = s.begin_write(at(t, 1), TTL);
        s.write_acked(a, at(t, 5));
        s.write_acked(b, at(t, 6));
        // b's value, without a's token.
        assert_eq!(judge_updates(&mut s, &[b], at(t, 10), at(t, 11)), 1);
        assert_eq!(s.writes[0].token, Token::Lost);
        assert_eq!(judge_updates(&mut s, &[b], at(t, 20), at(t, 21)), 0);
        assert_eq!(tokens(&s), (1, 1), "b found, a lost");
        // Both tokens there: nothing lost.
        let mut s = SessionState::default();
        let a = s.begin_write(at(t, 0), TTL);
        let b = s.begin_write(at(t, 1), TTL);
        s.write_acked(a, at(t, 5));
        s.write_acked(b, at(t, 6));
        assert_eq!(judge_updates(&mut s, &[a, b], at(t, 10), at(t, 11)), 0);
        assert_eq!(tokens(&s), (2, 0));
    }

    /// Found once is not safe for good: an update that read the session
    /// before it landed may still write over it.
    #[test]
    fn a_token_found_and_missed_later_is_lost() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let a = s.begin_write(at(t, 0), TTL);
        let b = s.begin_write(at(t, 1), TTL);
        s.write_acked(a, at(t, 2));
        assert_eq!(judge_updates(&mut s, &[a], at(t, 3), at(t, 4)), 0);
        assert_eq!(s.writes[0].token, Token::Found);
        s.write_acked(b, at(t, 6));
        assert_eq!(judge_updates(&mut s, &[b], at(t, 7), at(t, 8)), 1);
        assert_eq!(tokens(&s), (1, 1));
    }

    /// A read sent before an update was acknowledged may not see it yet.
    #[test]
    fn an_update_acknowledged_after_the_read_was_sent_is_not_owed() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let a = s.begin_write(at(t, 0), TTL);
        s.write_acked(a, at(t, 5));
        assert_eq!(judge_updates(&mut s, &[], at(t, 4), at(t, 6)), 0);
        assert_eq!(judge_updates(&mut s, &[], at(t, 6), at(t, 7)), 1);
    }

    /// A delete sent after an update was issued may have removed it
    /// (whether it was acknowledged, failed or is in flight).
    #[test]
    fn a_delete_after_an_update_excuses_its_token() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let a = s.begin_write(at(t, 0), TTL);
        s.write_acked(a, at(t, 5));
        s.begin_delete(at(t, 6));
        s.delete_failed();
        let b = s.begin_write(at(t, 7), TTL);
        s.write_acked(b, at(t, 8));
        assert_eq!(judge_updates(&mut s, &[b], at(t, 10), at(t, 11)), 0);
        // …but not the updates sent after it.
        assert_eq!(judge_updates(&mut s, &[], at(t, 10), at(t, 11)), 1);
        assert_eq!(s.writes[1].token, Token::Lost);
    }

    /// An update whose session may have expired is not owed.
    #[test]
    fn an_update_whose_session_may_have_expired_is_not_owed() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let a = s.begin_write(at(t, 0), Duration::from_secs(3));
        s.write_acked(a, at(t, 5));
        assert_eq!(judge_updates(&mut s, &[], at(t, 10), at(t, 1500)), 0);
        assert_eq!(s.writes[0].token, Token::Unchecked);
        assert_eq!(judge_updates(&mut s, &[], at(t, 10), at(t, 900)), 1);
    }

    /// An uncertain update (timed out) is owed nothing: it may never have
    /// landed. A write a sweep judged lost is the fault's, not an update's.
    #[test]
    fn uncertain_updates_and_judged_losses_are_not_lost_updates() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let a = s.begin_write(at(t, 0), TTL);
        s.write_failed(a);
        let b = s.begin_write(at(t, 1), TTL);
        s.write_acked(b, at(t, 2));
        s.writes[0].fate = crate::check::ledger::Fate::Lost;
        assert_eq!(judge_updates(&mut s, &[], at(t, 10), at(t, 11)), 0);
    }
}
