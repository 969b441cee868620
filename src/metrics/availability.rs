//! Unavailability: from the first failed operation to the first success
//! after it (intended start to completion), per strategy.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Availability {
    open_since: Option<Instant>,
    pub total: Duration,
    /// Closed windows, relative to the run start: (from, to).
    pub windows: Vec<(Duration, Duration)>,
}

impl Availability {
    pub fn failure(&mut self, intended: Instant) {
        match self.open_since {
            Some(t) if t <= intended => {}
            _ => self.open_since = Some(intended),
        }
    }

    /// A success of an operation meant to start at `intended`, done at `end`.
    pub fn success(&mut self, intended: Instant, end: Instant, run_start: Instant) {
        if let Some(since) = self.open_since
            && intended >= since
        {
            self.close(since, end, run_start);
        }
    }

    /// Close an outage still open when the load stops.
    pub fn finish(&mut self, at: Instant, run_start: Instant) {
        if let Some(since) = self.open_since {
            self.close(since, at, run_start);
        }
    }

    fn close(&mut self, since: Instant, end: Instant, run_start: Instant) {
        let d = end.saturating_duration_since(since);
        self.total += d;
        self.windows.push((
            since.saturating_duration_since(run_start),
            end.saturating_duration_since(run_start),
        ));
        self.open_since = None;
    }

    pub fn is_down(&self) -> bool {
        self.open_since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_runs_from_first_failure_to_first_later_success() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut a = Availability::default();
        a.success(ms(0), ms(1), t0);
        a.failure(ms(100));
        a.failure(ms(150));
        // A success of an op that started before the outage does not end it.
        a.success(ms(90), ms(160), t0);
        assert!(a.is_down());
        a.success(ms(400), ms(420), t0);
        assert_eq!(a.total, Duration::from_millis(320));
        assert_eq!(
            a.windows,
            vec![(Duration::from_millis(100), Duration::from_millis(420))]
        );
        a.failure(ms(500));
        a.finish(ms(600), t0);
        assert_eq!(a.total, Duration::from_millis(420));
    }
}
