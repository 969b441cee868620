//! The open-loop schedule: each operation kind is a stream of intended
//! start times at its rate, and the sessions they pick. The generator
//! (`generator.rs`) issues them on time.

use std::time::Duration;

use tokio::sync::Semaphore;

use super::rng::SplitMix;
use crate::metrics::OpKind;
use crate::scenario::{Hot, Rates};

/// Operations in flight per strategy before the scheduler waits (the wait
/// still counts as latency, from the intended start).
pub const MAX_IN_FLIGHT: usize = 20_000;

/// Wait until no operation of any of `gates` (one per strategy, each with
/// [`MAX_IN_FLIGHT`] permits) is in flight, or `limit` has passed: every
/// gate at once, under one deadline — one after the other, a slow strategy
/// would hold the next one's wait back. The permits go back at once.
pub async fn drain<'a>(gates: impl IntoIterator<Item = &'a Semaphore>, limit: Duration) {
    let all = gates
        .into_iter()
        .map(|gate| gate.acquire_many(MAX_IN_FLIGHT as u32));
    drop(tokio::time::timeout(limit, futures::future::join_all(all)).await);
}

/// Intended start times of every kind, merged in time order.
pub struct Schedule {
    streams: Vec<(OpKind, Duration, Duration)>,
    length: Duration,
}

impl Schedule {
    pub fn new(rates: &Rates, length: Duration) -> Self {
        let kinds = [
            (OpKind::Create, rates.create),
            (OpKind::Read, rates.read),
            (OpKind::Update, rates.update),
            (OpKind::Delete, rates.delete),
        ];
        let active: Vec<_> = kinds.into_iter().filter(|(_, r)| *r > 0.0).collect();
        let n = active.len() as f64;
        let streams = active
            .into_iter()
            .enumerate()
            .filter_map(|(i, (k, r))| {
                // A rate so low that its interval does not fit a Duration
                // has no operation in any run.
                let interval = Duration::try_from_secs_f64(1.0 / r).ok()?;
                // Stagger the streams so their first operations do not coincide.
                Some((k, interval, interval.mul_f64(i as f64 / n)))
            })
            .collect();
        Self { streams, length }
    }
}

impl Iterator for Schedule {
    type Item = (OpKind, Duration);

    fn next(&mut self) -> Option<Self::Item> {
        let (i, _) = self
            .streams
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, _, next))| *next)?;
        let (kind, interval, next) = &mut self.streams[i];
        if *next >= self.length {
            return None;
        }
        let at = *next;
        *next = next.checked_add(*interval).unwrap_or(Duration::MAX);
        Some((*kind, at))
    }
}

/// The sessions the scheduler picks from.
#[derive(Debug, Clone, Copy)]
pub struct Sessions {
    pub count: u64,
    pub hot: Option<Hot>,
}

impl Sessions {
    /// A session id: without skew any of them alike; with it, one of the
    /// hot ids (the lowest) with probability `hot.traffic`, else one of
    /// the rest.
    pub fn pick(&self, rng: &mut SplitMix) -> u64 {
        let Some(h) = self.hot else {
            return rng.below(self.count);
        };
        let hot = h.ids(self.count);
        let cold = self.count - hot;
        let roll = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if roll < h.traffic || cold == 0 {
            rng.below(hot)
        } else {
            hot + rng.below(cold)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_has_the_right_counts_in_time_order() {
        let rates = Rates {
            create: 10.0,
            read: 100.0,
            update: 0.0,
            delete: 1.0,
        };
        let ops: Vec<_> = Schedule::new(&rates, Duration::from_secs(2)).collect();
        let count = |k| ops.iter().filter(|(o, _)| *o == k).count();
        assert_eq!(count(OpKind::Create), 20);
        assert_eq!(count(OpKind::Read), 200);
        assert_eq!(count(OpKind::Update), 0);
        assert_eq!(count(OpKind::Delete), 2);
        assert!(ops.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!(ops.iter().all(|(_, t)| *t < Duration::from_secs(2)));
    }

    #[test]
    fn hot_sessions_take_their_share_of_the_operations() {
        let s = Sessions {
            count: 1000,
            hot: Some(Hot {
                sessions: 0.05,
                traffic: 0.5,
            }),
        };
        let mut rng = SplitMix::new(7);
        let picks: Vec<u64> = (0..100_000).map(|_| s.pick(&mut rng)).collect();
        let hot = picks.iter().filter(|&&id| id < 50).count() as f64 / 1e5;
        assert!((0.48..0.52).contains(&hot), "{hot}");
        assert!(picks.iter().all(|&id| id < 1000));
        // Without skew: every id alike, the same draws as before skew existed.
        let plain = Sessions {
            count: 1000,
            hot: None,
        };
        let (mut a, mut b) = (SplitMix::new(7), SplitMix::new(7));
        assert!((0..100).all(|_| plain.pick(&mut a) == b.below(1000)));
    }

    #[test]
    fn absurdly_low_rates_do_not_panic() {
        for r in [1e-25, 1e-19, f64::MIN_POSITIVE] {
            let rates = Rates {
                create: r,
                read: 1.0,
                update: r,
                delete: 0.0,
            };
            let ops: Vec<_> = Schedule::new(&rates, Duration::from_secs(3)).collect();
            assert_eq!(ops.iter().filter(|(o, _)| *o == OpKind::Read).count(), 3);
        }
    }
}
