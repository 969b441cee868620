//! Timing to the microsecond for the load generator.
//!
//! tokio's timer wheel has a 1 ms resolution: an operation meant for
//! 10.0003 s started at 10.001 s or later, and that millisecond was in
//! every latency the tool measured. Two parts replace it:
//!
//! - [`PreciseSleep`]: the generator's own thread asks the kernel for an
//!   absolute `CLOCK_MONOTONIC` deadline (`clock_nanosleep`, with the
//!   thread's timer slack cut from the default 50 µs to 1 ns);
//! - [`Lead`]: waking a thread and handing a task to a runtime worker
//!   takes tens of µs on this kind of machine (measured: a median of
//!   ~25 µs each), so the generator hands each operation over about that
//!   much before its intended start, and a task that arrives early waits
//!   out what is left ([`Lead::until`], yielding to the worker's other
//!   tasks, not blocking them). The lead follows the hand-over delay it
//!   observes: it grows when operations arrive late and shrinks when they
//!   arrive early.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::time::{ClockId, ClockNanosleepFlags, clock_gettime, clock_nanosleep};

/// The most the generator hands an operation over early.
pub const MAX_LEAD: Duration = Duration::from_micros(200);

/// Steps of the lead per operation: up when one arrived late, down when
/// one arrived early. With down three times up it settles where three
/// quarters arrive a little late (the 25th percentile of the hand-over
/// delay): an early arrival waits on a worker, and at 20 000 ops/s on two
/// cores that waiting cost more in the tails than it saved (measured: lag
/// p99 201 µs and 30.8 s of CPU against 235 µs and 35.3 s with the 75th
/// percentile; p50 22 against 12 µs; docs/PERFORMANCE.md).
const UP: u64 = 1_000;
const DOWN: u64 = 3_000;

/// How long before its intended start the generator hands an operation to
/// the runtime, in nanoseconds; shared by the generator and its tasks.
#[derive(Debug)]
pub struct Lead(AtomicU64);

impl Lead {
    pub fn new() -> Self {
        Self(AtomicU64::new(30_000))
    }

    pub fn get(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }

    /// A task for `intended` arrived on a worker at `arrived`: late means
    /// the lead was too short, early that it was long enough.
    pub fn learn(&self, arrived: Instant, intended: Instant) {
        let late = arrived > intended;
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |lead| {
                Some(if late {
                    (lead + UP).min(MAX_LEAD.as_nanos() as u64)
                } else {
                    lead.saturating_sub(DOWN)
                })
            });
    }

    /// On a worker: wait for `intended`, letting the worker's other tasks
    /// run meanwhile (each turn is one pass of the runtime's scheduler, a
    /// few µs).
    pub async fn until(intended: Instant) {
        while Instant::now() < intended {
            tokio::task::yield_now().await;
        }
    }
}

impl Default for Lead {
    fn default() -> Self {
        Self::new()
    }
}

/// Sleeping to the microsecond on a plain thread.
pub struct PreciseSleep;

impl PreciseSleep {
    /// For the calling thread: sets its timer slack (best effort: without
    /// it the kernel may add up to 50 µs to every sleep, which the lead
    /// then absorbs).
    pub fn new() -> Self {
        let _ = nix::sys::prctl::set_timerslack(1);
        Self
    }

    /// Return at `deadline` or a little after it (at once if it has
    /// passed).
    pub fn until(&self, deadline: Instant) {
        let now = Instant::now();
        if deadline <= now {
            return;
        }
        let Ok(mono) = clock_gettime(ClockId::CLOCK_MONOTONIC) else {
            std::thread::sleep(deadline - now);
            return;
        };
        // `Instant` reads CLOCK_MONOTONIC on Linux; the reading and `now`
        // are a few ns apart, which moves the wake-up by that much.
        let target = mono + (deadline - now).into();
        while let Err(nix::errno::Errno::EINTR) = clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            ClockNanosleepFlags::TIMER_ABSTIME,
            &target,
        ) {}
    }
}

impl Default for PreciseSleep {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_never_ends_before_its_deadline() {
        let s = PreciseSleep::new();
        for i in 0..200u64 {
            let deadline = Instant::now() + Duration::from_micros(20 + i * 7);
            s.until(deadline);
            assert!(Instant::now() >= deadline);
        }
        let t = Instant::now();
        s.until(t);
        assert!(t.elapsed() < Duration::from_millis(5));
    }

    #[test]
    fn the_lead_settles_where_three_quarters_arrive_late() {
        let lead = Lead::new();
        let t = Instant::now() + Duration::from_secs(1);
        // Hand-over delays spread evenly over 0..100 µs: the lead the
        // generator settles on is their 25th percentile.
        for i in 0..40_000u64 {
            let delay = Duration::from_micros(i * 37 % 100);
            let issued = t - lead.get();
            lead.learn(issued + delay, t);
        }
        let got = lead.get().as_micros();
        assert!((20..=30).contains(&got), "{got} µs");
        // Bounded both ways.
        for _ in 0..1000 {
            lead.learn(t + Duration::from_secs(1), t);
        }
        assert_eq!(lead.get(), MAX_LEAD);
        for _ in 0..1000 {
            lead.learn(t - Duration::from_secs(1), t);
        }
        assert_eq!(lead.get(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_task_waits_for_its_intended_start() {
        let intended = Instant::now() + Duration::from_micros(300);
        Lead::until(intended).await;
        assert!(Instant::now() >= intended);
    }
}
