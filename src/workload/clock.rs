//! Timing to the microsecond for the load generator.
//!
//! tokio's timer wheel has a 1 ms resolution: an operation meant for
//! 10.0003 s started at 10.001 s or later, and that millisecond was in
//! every latency the tool measured. Two parts replace it:
//!
//! - [`PreciseSleep`]: the generator's task waits on a `timerfd` set to an
//!   absolute `CLOCK_MONOTONIC` deadline (an hrtimer the kernel fires to
//!   the nanosecond, without the 50 µs of timer slack a thread's sleep
//!   gets), delivered by the runtime's I/O driver like a socket. Written
//!   here over nix's `TimerFd` (already a dependency): the crates for it
//!   are small and little used (tokio-hrtime 0.1.6, last released
//!   2024-10) or register the fd with tokio's `AsyncFd::with_interest`,
//!   deprecated as unsound (tokio-timerfd 0.2.0);
//! - [`Lead`]: a worker parked in the I/O driver takes tens of µs to wake
//!   and run the generator on this kind of machine (measured without a
//!   lead: lag p50 48–50 µs at 20 000 ops/s), so the generator hands each
//!   operation over about that much before its intended start, and a task
//!   that arrives early waits out what is left ([`Lead::until`], yielding
//!   to the worker's other tasks, not blocking them). The lead follows the hand-over delay it
//!   observes: it grows when operations arrive late and shrinks when they
//!   arrive early.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::time::{ClockId, clock_gettime};

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

/// Sleeping to the microsecond inside the async runtime: a `timerfd` set
/// to an absolute `CLOCK_MONOTONIC` deadline (an hrtimer, no slack), whose
/// readiness the runtime's I/O driver delivers like a socket's. The task
/// that waits is woken on a runtime worker, so what it spawns starts there
/// without a hand-over to another thread.
pub struct PreciseSleep {
    fd: tokio::io::unix::AsyncFd<Tfd>,
}

struct Tfd(nix::sys::timerfd::TimerFd);

impl std::os::fd::AsRawFd for Tfd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

impl PreciseSleep {
    /// On a runtime with I/O enabled.
    pub fn new() -> std::io::Result<Self> {
        use nix::sys::timerfd::{ClockId as TfdClock, TimerFd, TimerFlags};
        let t = TimerFd::new(
            TfdClock::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the TimerFd owns its descriptor and closes it only when
        // dropped, which is after the AsyncFd that holds it deregisters it.
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(Tfd(t), tokio::io::Interest::READABLE)?
        };
        Ok(Self { fd })
    }

    /// Return at `deadline` or a little after it (at once if it has
    /// passed).
    pub async fn until(&self, deadline: Instant) -> std::io::Result<()> {
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        let now = Instant::now();
        if deadline <= now {
            // Behind schedule: no wait, but a turn for the worker's other
            // tasks once the task has used its budget, so that a generator
            // that never catches up cannot hold a worker for good.
            tokio::task::consume_budget().await;
            return Ok(());
        }
        let mono = clock_gettime(ClockId::CLOCK_MONOTONIC)?;
        let target = mono + (deadline - now).into();
        self.fd.get_ref().0.set(
            Expiration::OneShot(target),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        )?;
        loop {
            let mut ready = self.fd.readable().await?;
            let mut buf = [0u8; 8];
            match ready.try_io(|fd| {
                nix::unistd::read(&fd.get_ref().0, &mut buf).map_err(std::io::Error::from)
            }) {
                Ok(Ok(_)) => {
                    // Read empty (a one-shot timer): the next wait need
                    // not try a read first to learn it.
                    ready.clear_ready();
                    return Ok(());
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sleep_never_ends_before_its_deadline() {
        let s = PreciseSleep::new().unwrap();
        for i in 0..200u64 {
            let deadline = Instant::now() + Duration::from_micros(20 + i * 7);
            s.until(deadline).await.unwrap();
            assert!(Instant::now() >= deadline);
        }
        let t = Instant::now();
        s.until(t).await.unwrap();
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
