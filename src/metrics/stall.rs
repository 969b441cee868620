//! The longest a session waited for a successful operation.
//!
//! One operation's latency is capped by `op_timeout`: a 6 s freeze with a
//! 1 s timeout shows as latencies of 1 s. What a user of the session saw
//! is longer: every request failed (each next one a retry, as a web
//! application's user would) until one succeeded. A stall runs from the
//! intended start of a session's first failed operation to the end of the
//! operation that ended it: the successful one, if it was already in
//! flight while the session was still failing (the user was still
//! waiting), else the last failed one (the session then sat idle: idle
//! time between a session's operations is not waiting, so a stall is
//! never longer than the outage plus one operation). Failures more than
//! [`RETRY_WITHIN`] apart are separate stalls. A successful
//! operation on its own is a stall as long as its latency.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A failure sent within this of the previous one's answer continues the
/// session's stall (a user retrying); later, a new one begins.
pub const RETRY_WITHIN: Duration = Duration::from_secs(1);

/// A session's failing stretch so far.
#[derive(Debug, Clone, Copy)]
struct Stretch {
    since: Instant,
    until: Instant,
}

/// The longest stall of one strategy.
#[derive(Debug, Clone)]
pub struct Stalls {
    start: Instant,
    open: HashMap<u64, Stretch>,
    longest: Option<(Instant, Duration)>,
}

impl Stalls {
    /// For a run that started at `start`.
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            open: HashMap::new(),
            longest: None,
        }
    }

    /// Operation on `session`, meant to start at `intended`, answered at
    /// `end`, succeeded or not. Answers of one session arrive in about
    /// the order they were sent.
    pub fn record(&mut self, session: u64, intended: Instant, end: Instant, ok: bool) {
        match (self.open.get_mut(&session), ok) {
            (None, true) => self.consider(intended, end),
            (None, false) => {
                self.open.insert(
                    session,
                    Stretch {
                        since: intended,
                        until: end,
                    },
                );
            }
            // Sent more than [`RETRY_WITHIN`] after the stretch's last
            // failure came back: the session sat idle in between, and that
            // is not waiting.
            (Some(s), false) if intended > s.until + RETRY_WITHIN => {
                let (since, until) = (s.since, s.until);
                *s = Stretch {
                    since: intended,
                    until: end,
                };
                self.consider(since, until);
            }
            (Some(s), false) => {
                s.since = s.since.min(intended);
                s.until = s.until.max(end);
            }
            (Some(s), true) => {
                let s = *s;
                self.open.remove(&session);
                if intended <= s.until {
                    self.consider(s.since, end.max(s.until));
                } else {
                    self.consider(s.since, s.until);
                    self.consider(intended, end);
                }
            }
        }
    }

    fn consider(&mut self, from: Instant, to: Instant) {
        let d = to.saturating_duration_since(from);
        if self.longest.is_none_or(|(_, l)| d > l) {
            self.longest = Some((from, d));
        }
    }

    /// The longest stall, and when it began (since the run start),
    /// counting the stretches still failing when the run ended up to
    /// their last answer.
    pub fn longest(&self) -> Option<(Duration, Duration)> {
        let open = self
            .open
            .values()
            .map(|s| (s.since, s.until.saturating_duration_since(s.since)));
        let (at, d) = self
            .longest
            .into_iter()
            .chain(open)
            .reduce(|a, b| if b.1 > a.1 { b } else { a })?;
        Some((at.saturating_duration_since(self.start), d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_freeze_longer_than_the_timeout_is_one_stall() {
        // Session 1 asks every 100 ms; the store freezes from 0 to 3 s and
        // every request times out after 1 s, one after another.
        let t0 = Instant::now();
        let mut s = Stalls::new(t0);
        for i in 0..3 {
            let intended = t0 + ms(100 * i);
            s.record(1, intended, t0 + ms(1000 * (i + 1)), false);
        }
        // The fourth was waiting when the store thawed.
        s.record(1, t0 + ms(300), t0 + ms(3005), true);
        assert_eq!(s.longest(), Some((ms(0), ms(3005))));
    }

    #[test]
    fn fast_failures_count_the_time_the_session_kept_failing() {
        // Refused at once, every 100 ms for 2 s, then a success 100 ms on.
        let t0 = Instant::now();
        let mut s = Stalls::new(t0);
        for i in 0..20 {
            let at = t0 + ms(100 * i);
            s.record(7, at, at + ms(1), false);
        }
        s.record(7, t0 + ms(2000), t0 + ms(2002), true);
        // From the first failure to the last: the idle 99 ms before the
        // success are not waiting, the success's own 2 ms are a stall of
        // their own.
        assert_eq!(s.longest(), Some((ms(0), ms(1901))));
    }

    #[test]
    fn healthy_operations_stall_for_their_latency_and_sessions_are_apart() {
        let t0 = Instant::now();
        let mut s = Stalls::new(t0);
        s.record(1, t0, t0 + ms(3), true);
        s.record(2, t0, t0 + ms(40), false);
        s.record(1, t0 + ms(10), t0 + ms(12), true);
        assert_eq!(
            s.longest(),
            Some((ms(0), ms(40))),
            "session 2's open failure"
        );
        s.record(2, t0 + ms(500), t0 + ms(505), true);
        assert_eq!(s.longest(), Some((ms(0), ms(40))));
        s.record(3, t0 + ms(600), t0 + ms(650), true);
        assert_eq!(s.longest(), Some((ms(600), ms(50))));
        assert_eq!(Stalls::new(t0).longest(), None);
    }

    #[test]
    fn two_failures_apart_are_two_stalls_not_the_time_between() {
        let t0 = Instant::now();
        let mut s = Stalls::new(t0);
        s.record(9, t0, t0 + ms(500), false);
        s.record(9, t0 + ms(30_000), t0 + ms(30_500), false);
        s.record(9, t0 + ms(31_000), t0 + ms(31_001), true);
        assert_eq!(s.longest(), Some((ms(0), ms(500))));
    }
}
