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
//! And an update counts as lost only when the value holds the token of an
//! update sent before it was acknowledged — one that may have read the
//! session without it (the update that dropped it, or one from the history
//! it was dropped from). A flush or a restart that took the whole session
//! leaves only updates sent after it, hence after every update it wiped was
//! acknowledged: that is a loss of writes, which the sweeps count, not of
//! updates.

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
    // When the earliest-sent update the value holds was sent.
    let history = found
        .iter()
        .filter_map(|&t| {
            state
                .acked_write(t)
                .map(|w| w.issued)
                .or_else(|| state.uncertain_write(t).map(|u| u.issued))
        })
        .min();
    let delete_may_follow = delete_may_follow(state);
    let mut lost = 0;
    for w in &mut state.writes {
        let owed = w.token != Token::Lost
            // Acknowledged before the read was sent: it had landed.
            && w.at < invoked
            // No delete sent after it was issued, or still landing when
            // it was: none may have removed it.
            && w.version > reach
            && !delete_may_follow(w.issued)
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
        } else if history.is_some_and(|h| h < w.at) {
            // The value holds an update sent before it was acknowledged:
            // it was dropped by an update that had not seen it, not wiped
            // with everything before it.
            w.token = Token::Lost;
            lost += 1;
        }
    }
    lost
}

/// Could a delete sent before `issued` have landed after it? The last one
/// sent, if it was acknowledged after then, or is still uncertain (in
/// flight, or failed and not yet superseded by a newer acknowledged write,
/// as the ledger supersedes it). A delete sent after it is
/// `deletes_reach`'s.
fn delete_may_follow(state: &SessionState) -> impl Fn(Instant) -> bool + use<> {
    let sent = state.last_delete_issued;
    let uncertain = state
        .uncertain_delete
        .is_some_and(|d| Some(d.issued) == sent);
    let acked_at = match (state.last_delete_acked, state.acked_delete_issued) {
        // The acknowledged delete is the last one sent.
        (Some(at), Some(issued)) if Some(issued) == sent => Some(at),
        _ => None,
    };
    move |issued| {
        sent.is_some_and(|s| s < issued) && (uncertain || acked_at.is_some_and(|at| at > issued))
    }
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

    /// A session with one update `p` acknowledged at 1 ms: the history
    /// the later updates build on.
    fn with_history(t: Instant) -> (SessionState, u64) {
        let mut s = SessionState::default();
        let p = s.begin_write(t, TTL);
        s.write_acked(p, at(t, 1));
        (s, p)
    }

    /// Two updates both read the session before either wrote: the second
    /// to land overwrote the first's token.
    #[test]
    fn an_update_overwritten_by_one_that_never_saw_it_is_lost_once() {
        let t = Instant::now();
        let (mut s, p) = with_history(t);
        let a = s.begin_write(at(t, 10), TTL);
        let b = s.begin_write(at(t, 11), TTL);
        s.write_acked(a, at(t, 15));
        s.write_acked(b, at(t, 16));
        // b's value, without a's token.
        assert_eq!(judge_updates(&mut s, &[p, b], at(t, 20), at(t, 21)), 1);
        assert_eq!(s.writes[1].token, Token::Lost);
        assert_eq!(judge_updates(&mut s, &[p, b], at(t, 30), at(t, 31)), 0);
        assert_eq!(tokens(&s), (2, 1), "p and b found, a lost");
        // Both tokens there: nothing lost.
        let (mut s, p) = with_history(t);
        let a = s.begin_write(at(t, 10), TTL);
        let b = s.begin_write(at(t, 11), TTL);
        s.write_acked(a, at(t, 15));
        s.write_acked(b, at(t, 16));
        assert_eq!(judge_updates(&mut s, &[p, a, b], at(t, 20), at(t, 21)), 0);
        assert_eq!(tokens(&s), (3, 0));
    }

    /// An update that read the session before the others landed and wrote
    /// it back long after: everything acknowledged meanwhile is lost, even
    /// with no older history in the value — it was sent before they were
    /// acknowledged.
    #[test]
    fn a_slow_update_from_an_empty_session_drops_what_landed_meanwhile() {
        let t = Instant::now();
        let mut s = SessionState::default();
        let c = s.begin_write(t, TTL);
        let y = s.begin_write(at(t, 3), TTL);
        s.write_acked(c, at(t, 5));
        let w = s.begin_write(at(t, 10), TTL);
        s.write_acked(w, at(t, 12));
        s.write_acked(y, at(t, 300));
        assert_eq!(judge_updates(&mut s, &[y], at(t, 310), at(t, 311)), 2);
        assert_eq!(tokens(&s), (1, 2));
    }

    /// A flush (or a restart without persistence) takes the whole session:
    /// the next updates start afresh, and what came before them is gone —
    /// writes the sweeps count lost, not updates another overwrote.
    #[test]
    fn a_session_wiped_with_its_history_loses_writes_not_updates() {
        let t = Instant::now();
        let (mut s, _p) = with_history(t);
        let a = s.begin_write(at(t, 10), TTL);
        s.write_acked(a, at(t, 15));
        // Flushed at 20 ms; b reads nothing and writes only its own token.
        let b = s.begin_write(at(t, 25), TTL);
        s.write_acked(b, at(t, 30));
        assert_eq!(judge_updates(&mut s, &[b], at(t, 40), at(t, 41)), 0);
        assert_eq!(tokens(&s), (1, 0));
    }

    /// Found once is not safe for good: an update that read the session
    /// before it landed may still write over it.
    #[test]
    fn a_token_found_and_missed_later_is_lost() {
        let t = Instant::now();
        let (mut s, p) = with_history(t);
        let a = s.begin_write(at(t, 10), TTL);
        let b = s.begin_write(at(t, 11), TTL);
        s.write_acked(a, at(t, 12));
        assert_eq!(judge_updates(&mut s, &[p, a], at(t, 13), at(t, 14)), 0);
        assert_eq!(s.writes[1].token, Token::Found);
        s.write_acked(b, at(t, 16));
        assert_eq!(judge_updates(&mut s, &[p, b], at(t, 17), at(t, 18)), 1);
        assert_eq!(tokens(&s), (2, 1));
    }

    /// A read sent before an update was acknowledged may not see it yet.
    #[test]
    fn an_update_acknowledged_after_the_read_was_sent_is_not_owed() {
        let t = Instant::now();
        let (mut s, p) = with_history(t);
        let a = s.begin_write(at(t, 10), TTL);
        s.write_acked(a, at(t, 15));
        assert_eq!(judge_updates(&mut s, &[p], at(t, 14), at(t, 16)), 0);
        assert_eq!(judge_updates(&mut s, &[p], at(t, 16), at(t, 17)), 1);
    }

    /// A delete sent after an update was issued may have removed it
    /// (whether it was acknowledged, failed or is in flight); so may one
    /// sent before it and still in flight, or acknowledged only after it was
    /// sent. A failed one an acknowledged update superseded excuses nothing
    /// more (the ledger's rule: the checker does not give the store the
    /// benefit of a doubt it cannot check).
    #[test]
    fn a_delete_that_may_have_come_after_an_update_excuses_its_token() {
        let t = Instant::now();
        let (mut s, p) = with_history(t);
        let a = s.begin_write(at(t, 10), TTL);
        s.write_acked(a, at(t, 15));
        s.begin_delete(at(t, 16));
        s.delete_failed();
        let b = s.begin_write(at(t, 17), TTL);
        s.write_acked(b, at(t, 18));
        assert_eq!(judge_updates(&mut s, &[p, b], at(t, 20), at(t, 21)), 0);
        // b superseded the failed delete: it is owed.
        assert_eq!(judge_updates(&mut s, &[p], at(t, 20), at(t, 21)), 1);
        // A delete still in flight when b was acknowledged: b is excused.
        let (mut s, p) = with_history(t);
        s.begin_delete(at(t, 10));
        let b = s.begin_write(at(t, 11), TTL);
        s.write_acked(b, at(t, 12));
        assert_eq!(judge_updates(&mut s, &[p], at(t, 20), at(t, 21)), 0);
        // A delete in flight when c was sent, acknowledged after it.
        let (mut s, p) = with_history(t);
        s.begin_delete(at(t, 10));
        let c = s.begin_write(at(t, 11), TTL);
        s.write_acked(c, at(t, 12));
        s.delete_acked_through(at(t, 13), 1);
        assert_eq!(judge_updates(&mut s, &[p], at(t, 20), at(t, 21)), 0);
        // One acknowledged before the update was sent excuses nothing.
        let (mut s, p) = with_history(t);
        s.begin_delete(at(t, 10));
        s.delete_acked(at(t, 11));
        let d = s.begin_write(at(t, 12), TTL);
        s.write_acked(d, at(t, 13));
        assert_eq!(judge_updates(&mut s, &[p], at(t, 20), at(t, 21)), 1);
    }

    /// An update whose session may have expired is not owed.
    #[test]
    fn an_update_whose_session_may_have_expired_is_not_owed() {
        let t = Instant::now();
        let (mut s, p) = with_history(t);
        let a = s.begin_write(at(t, 10), Duration::from_secs(3));
        s.write_acked(a, at(t, 15));
        assert_eq!(judge_updates(&mut s, &[p], at(t, 20), at(t, 1500)), 0);
        assert_eq!(s.writes[1].token, Token::Unchecked);
        assert_eq!(judge_updates(&mut s, &[p], at(t, 20), at(t, 900)), 1);
    }

    /// An uncertain update (timed out) is owed nothing: it may never have
    /// landed. A write a sweep judged lost is the fault's, not an update's.
    #[test]
    fn uncertain_updates_and_judged_losses_are_not_lost_updates() {
        let t = Instant::now();
        let (mut s, p) = with_history(t);
        let a = s.begin_write(at(t, 10), TTL);
        s.write_failed(a);
        let b = s.begin_write(at(t, 11), TTL);
        s.write_acked(b, at(t, 12));
        s.writes[1].fate = crate::check::ledger::Fate::Lost;
        assert_eq!(judge_updates(&mut s, &[p], at(t, 20), at(t, 21)), 0);
    }
}
