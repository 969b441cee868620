//! HDR histograms of latency, one per second of the run plus the total.
//!
//! A second's window starts small and grows with the largest value it
//! holds (hdrhistogram's auto-resize, the same 3 significant digits): 16 KB
//! while its values stay under 2 ms. Sized for a minute from the start, it
//! was 139 KB of counts zeroed page by page on the thread that records;
//! with one a second for the latency, the lag and each operation kind
//! (five or six), that was 0.7–0.8 MB a second per strategy and a stall of
//! 1.5–7 ms each second on the load's thread, in the tail of every latency
//! it measured (docs/PERFORMANCE.md, "The tail that was ours"). A second
//! whose values climb to many seconds (timeouts during a fault) still
//! grows its window step by step, to at most about twice the old size.

use hdrhistogram::Histogram;

/// Highest latency tracked: one minute, in microseconds.
const MAX_US: u64 = 60_000_000;

/// A whole run's histogram, sized for [`MAX_US`] once.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static bounds are valid")
}

/// A second's histogram: as large as its largest value needs.
fn window() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits are valid")
}

#[derive(Debug, Clone, Default)]
pub struct LatencyWindows {
    windows: Vec<Histogram<u64>>,
    total: LatencyTotal,
}

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub min: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            min: h.min(),
        }
    }
}

/// One histogram for the whole run, without windows: an operation
/// kind's latency (the report gives its percentiles, not its seconds).
#[derive(Debug, Clone)]
pub struct LatencyTotal(Histogram<u64>);

impl Default for LatencyTotal {
    fn default() -> Self {
        Self(histogram())
    }
}

impl LatencyTotal {
    pub fn record(&mut self, us: u64) {
        let _ = self.0.record(us.clamp(1, MAX_US));
    }

    pub fn total(&self) -> Percentiles {
        Percentiles::of(&self.0)
    }
}

impl LatencyWindows {
    /// Record `us` in the window of second `second` of the run.
    pub fn record(&mut self, second: usize, us: u64) {
        let us = us.clamp(1, MAX_US);
        while self.windows.len() <= second {
            self.windows.push(window());
        }
        let _ = self.windows[second].record(us);
        self.total.record(us);
    }

    pub fn total(&self) -> Percentiles {
        self.total.total()
    }

    pub fn window(&self, second: usize) -> Percentiles {
        self.windows
            .get(second)
            .map(Percentiles::of)
            .unwrap_or_default()
    }

    pub fn seconds(&self) -> usize {
        self.windows.len()
    }

    /// Percentiles of the operations meant to start in seconds `from..=to`
    /// of the run (whole seconds).
    pub fn span(&self, from: usize, to: usize) -> Percentiles {
        let mut h = histogram();
        for w in self.windows.iter().take(to.saturating_add(1)).skip(from) {
            let _ = h.add(w);
        }
        Percentiles::of(&h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_merges_exactly_its_seconds() {
        let mut l = LatencyWindows::default();
        for (second, us) in [(0, 100), (1, 5_000), (1, 7_000), (2, 9_000), (3, 200)] {
            l.record(second, us);
        }
        let s = l.span(1, 2);
        assert_eq!(s.count, 3);
        assert!((7_000..=7_010).contains(&s.p50), "{s:?}");
        assert!((8_990..=9_010).contains(&s.max), "{s:?}");
        assert_eq!(l.span(5, 9).count, 0);
        assert_eq!(l.span(0, usize::MAX).count, 5);
    }

    #[test]
    fn a_window_is_as_large_as_its_values_need() {
        let mut l = LatencyWindows::default();
        for us in [30, 45, 1_900] {
            l.record(0, us);
        }
        l.record(1, 2_500_000);
        // Under 2 ms: one eighth of the counts a minute needs (16 KB, not
        // 139 KB), allocated and zeroed each second of the run.
        let small = l.windows[0].distinct_values();
        let whole = l.total.0.distinct_values();
        assert!(small * 8 <= whole, "{small} of {whole}");
        // A large value grows its window, at the same resolution.
        assert!(l.windows[1].distinct_values() > small);
        assert!((2_500_000..=2_502_500).contains(&l.window(1).max));
        assert_eq!(l.window(0).p50, 45);
        // The largest value a window can hold (clamped to a minute) still
        // merges into a span.
        l.record(2, u64::MAX);
        let s = l.span(0, 2);
        assert_eq!(s.count, 5);
        assert!(s.max >= MAX_US, "{s:?}");
        let mut t = LatencyTotal::default();
        t.record(0);
        t.record(MAX_US * 2);
        assert_eq!(t.total().count, 2);
        assert_eq!(t.total().min, 1);
    }

    #[test]
    fn windows_and_total() {
        let mut l = LatencyWindows::default();
        for i in 1..=100 {
            l.record(0, i * 10);
        }
        l.record(2, 5_000);
        assert_eq!(l.seconds(), 3);
        assert_eq!(l.window(1).count, 0);
        // HDR reports the highest equivalent value: within 0.1 % at 3 digits.
        assert!((5_000..=5_005).contains(&l.window(2).max));
        let t = l.total();
        assert_eq!(t.count, 101);
        assert!((510..=511).contains(&t.p50), "{t:?}");
        assert!((5_000..=5_005).contains(&t.max), "{t:?}");
    }
}
