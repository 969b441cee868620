//! Write unavailability, per strategy: from the intended start of a failed
//! write to the intended start of the first write that succeeded after it —
//! the time during which a write sent would have failed. Time the load was
//! paused (by the user, or held for a checkpoint) is left out: nothing was
//! tried then. A window shorter than [`MIN_OUTAGE`] — a failed write among
//! successful ones, as under throttling — is a scattered error, not
//! unavailability (the report lists those as error windows).
//!
//! Samples arrive in completion order, not in intended order: a timed-out
//! operation reports its failure an op-timeout after it was meant to start,
//! when later operations may already have succeeded. So the intended starts
//! of the successes of the last [`HORIZON`] are remembered, a late failure
//! is closed by the first success meant to start after it, and windows are
//! kept as a union so that a late report never counts the same time twice.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How far back a late failure can be matched against earlier successes;
/// longer than any per-operation timeout.
pub const HORIZON: Duration = Duration::from_secs(60);

/// The shortest run of failed writes that counts as unavailability.
pub const MIN_OUTAGE: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct Availability {
    start: Instant,
    open_since: Option<Duration>,
    /// Intended starts (µs since `start`) of recent successes.
    recent: BTreeSet<u64>,
    /// Disjoint, sorted windows relative to `start`, however short.
    windows: Vec<(Duration, Duration)>,
}

impl Availability {
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            open_since: None,
            recent: BTreeSet::new(),
            windows: Vec::new(),
        }
    }

    fn rel(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.start)
    }

    pub fn failure(&mut self, intended: Instant) {
        let t = self.rel(intended);
        let us = t.as_micros() as u64;
        if let Some(&next) = self.recent.range(us..).next() {
            self.add_window(t, Duration::from_micros(next));
            return;
        }
        match self.open_since {
            Some(since) if since <= t => {}
            _ => self.open_since = Some(t),
        }
    }

    /// A success of an operation meant to start at `intended`, done at `end`.
    pub fn success(&mut self, intended: Instant, end: Instant) {
        let t = self.rel(intended);
        self.recent.insert(t.as_micros() as u64);
        if let Some(since) = self.open_since
            && t >= since
        {
            self.open_since = None;
            self.add_window(since, t);
        }
        // Forget successes beyond the horizon.
        let cutoff = self.rel(end).saturating_sub(HORIZON).as_micros() as u64;
        while self.recent.first().is_some_and(|&k| k < cutoff) {
            self.recent.pop_first();
        }
    }

    fn add_window(&mut self, from: Duration, to: Duration) {
        let to = to.max(from);
        self.windows.push((from, to));
        self.windows.sort_unstable();
        let mut merged: Vec<(Duration, Duration)> = Vec::with_capacity(self.windows.len());
        for &(a, b) in &self.windows {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.windows = merged;
    }

    /// Close an outage still open when the load stops.
    pub fn finish(&mut self, at: Instant) {
        if let Some(since) = self.open_since.take() {
            let end = self.rel(at);
            self.add_window(since, end);
        }
    }

    /// Keep only outages, with the paused intervals (relative to the start,
    /// sorted) left out: the report's windows.
    pub fn exclude(&mut self, pauses: &[(Duration, Duration)]) {
        self.windows = outages(&self.windows, pauses);
    }

    /// Every window, an open one up to now included.
    fn so_far(&self) -> Vec<(Duration, Duration)> {
        let mut windows = self.windows.clone();
        if let Some(since) = self.open_since {
            let now = self.start.elapsed();
            // The open outage may overlap a closed window only if a late
            // failure reopened it; count the part after the last window.
            let from = windows.last().map_or(since, |w| since.max(w.1.min(now)));
            windows.push((from, now.max(from)));
        }
        windows
    }

    /// Time unavailable so far: outages, the paused intervals left out.
    pub fn total_excluding(&self, pauses: &[(Duration, Duration)]) -> Duration {
        sum(&outages(&self.so_far(), pauses))
    }

    /// Total of every window so far, however short (before `exclude`).
    pub fn total(&self) -> Duration {
        sum(&self.so_far())
    }

    /// The windows relative to the run start, disjoint and sorted: after
    /// `exclude`, the outages.
    pub fn windows(&self) -> &[(Duration, Duration)] {
        &self.windows
    }

    pub fn is_down(&self) -> bool {
        self.open_since.is_some()
    }
}

fn sum(windows: &[(Duration, Duration)]) -> Duration {
    windows.iter().map(|(a, b)| *b - *a).sum()
}

/// The windows that are outages — at least [`MIN_OUTAGE`] outside the
/// paused intervals — with the paused intervals left out. (A window cut by
/// a pause into short pieces stays whole; one that is long only because a
/// pause stretched it is not an outage.)
fn outages(
    windows: &[(Duration, Duration)],
    pauses: &[(Duration, Duration)],
) -> Vec<(Duration, Duration)> {
    let mut out = Vec::new();
    for w in windows {
        let pieces = subtract(std::slice::from_ref(w), pauses);
        if sum(&pieces) >= MIN_OUTAGE {
            out.extend(pieces);
        }
    }
    out
}

/// `windows` minus `holes`, both sorted and disjoint.
pub fn subtract(
    windows: &[(Duration, Duration)],
    holes: &[(Duration, Duration)],
) -> Vec<(Duration, Duration)> {
    let mut out = Vec::with_capacity(windows.len());
    for &(mut a, b) in windows {
        for &(h0, h1) in holes {
            if h1 <= a || h0 >= b {
                continue;
            }
            if h0 > a {
                out.push((a, h0));
            }
            a = a.max(h1);
        }
        if a < b {
            out.push((a, b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn outage_runs_from_first_failure_to_first_later_success() {
        let t0 = Instant::now();
        let at = |n| t0 + ms(n);
        let mut a = Availability::new(t0);
        a.success(at(0), at(1));
        a.failure(at(100));
        a.failure(at(150));
        // A success of an op that started before the outage does not end it.
        a.success(at(90), at(160));
        assert!(a.is_down());
        a.success(at(400), at(420));
        assert_eq!(a.windows(), &[(ms(100), ms(400))]);
        a.failure(at(500));
        a.finish(at(600));
        assert_eq!(a.total(), ms(400));
    }

    #[test]
    fn a_late_timeout_is_closed_by_the_first_success_after_it() {
        let t0 = Instant::now();
        let at = |n| t0 + ms(n);
        let mut a = Availability::new(t0);
        // Ops at 101..=141 succeed quickly; the op at 100 times out and
        // reports a second later.
        for i in 0..5 {
            a.success(at(101 + i * 10), at(102 + i * 10));
        }
        a.failure(at(100));
        assert!(!a.is_down());
        assert_eq!(a.windows(), &[(ms(100), ms(101))]);
        // A second late failure inside the same window is not counted twice.
        a.failure(at(100));
        assert_eq!(a.total(), ms(1));
    }

    #[test]
    fn overlapping_windows_are_merged() {
        let t0 = Instant::now();
        let at = |n| t0 + ms(n);
        let mut a = Availability::new(t0);
        a.failure(at(100));
        a.success(at(200), at(205));
        a.success(at(300), at(310));
        // Late failures at 150 and 250: closed by the successes that
        // started at 200 and 300.
        a.failure(at(150));
        a.failure(at(250));
        assert_eq!(a.windows(), &[(ms(100), ms(200)), (ms(250), ms(300))]);
        assert_eq!(a.total(), ms(150));
    }

    #[test]
    fn paused_time_is_not_unavailable() {
        let t0 = Instant::now();
        let at = |n| t0 + ms(n);
        let mut a = Availability::new(t0);
        a.failure(at(100));
        a.success(at(1000), at(1010));
        a.failure(at(2000));
        a.success(at(2200), at(2210));
        // Paused from 300 to 800 and from 2100 to 2150.
        let pauses = [(ms(300), ms(800)), (ms(2100), ms(2150))];
        assert_eq!(a.total_excluding(&pauses), ms(400 + 150));
        a.exclude(&pauses);
        assert_eq!(
            a.windows(),
            &[
                (ms(100), ms(300)),
                (ms(800), ms(1000)),
                (ms(2000), ms(2100)),
                (ms(2150), ms(2200))
            ],
            "an outage cut by a pause into short pieces stays whole"
        );
    }

    /// Review of issue 15: one failed write just before a pause opened a
    /// window that only the pause made long.
    #[test]
    fn a_window_long_only_because_of_a_pause_is_not_an_outage() {
        let t0 = Instant::now();
        let at = |n| t0 + ms(n);
        let mut a = Availability::new(t0);
        a.failure(at(100));
        a.success(at(1010), at(1011));
        let pauses = [(ms(105), ms(1000))];
        assert_eq!(a.total_excluding(&pauses), Duration::ZERO);
        a.exclude(&pauses);
        assert_eq!(a.windows(), &[]);
    }

    /// Issue 15: under 30 % throttling every failed write opened a window
    /// closed by the next success; together they made seconds of
    /// "unavailability" while 70 % of writes succeeded.
    #[test]
    fn scattered_failed_writes_are_errors_not_unavailability() {
        let t0 = Instant::now();
        let at = |n| t0 + ms(n);
        let mut a = Availability::new(t0);
        // A write every 5 ms for 3 s, every third one failing.
        for i in 0..600u64 {
            if i % 3 == 0 {
                a.failure(at(i * 5));
            } else {
                a.success(at(i * 5), at(i * 5 + 1));
            }
        }
        assert!(a.total() > ms(500), "the raw windows add up");
        a.exclude(&[]);
        assert_eq!(a.total(), Duration::ZERO);
    }

    /// Review of issue 15: when writes come faster than they complete,
    /// windows closed at the next success's completion overlapped and
    /// merged scattered failures into one long "outage".
    #[test]
    fn scattered_failures_faster_than_the_latency_are_not_an_outage() {
        let t0 = Instant::now();
        let us = |n: u64| t0 + Duration::from_micros(n);
        let mut a = Availability::new(t0);
        // 1000 writes/s, each taking 5 ms, every third failing.
        for i in 0..3000u64 {
            if i % 3 == 0 {
                a.failure(us(i * 1000));
            } else {
                a.success(us(i * 1000), us(i * 1000 + 5000));
            }
        }
        a.exclude(&[]);
        assert_eq!(a.total(), Duration::ZERO, "{:?}", &a.windows()[..1]);
    }
}
