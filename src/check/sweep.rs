//! A sweep: read every session that was ever written and judge it — the
//! session as it is now, and every acknowledged write not judged yet. The
//! final sweep runs after the load stops; checkpoints run one after a fault
//! has done its work, with the load paused, so that what the fault destroyed
//! is counted before later load can write over it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Mutex;

use super::ledger::{Fate, Judged, SessionState};
use super::{ReadCheck, judge, judge_concurrent, judge_writes, remember_read, unverify};
use crate::store::{SessionStore, value};

/// Reads in flight at once during a sweep.
const CONCURRENCY: usize = 64;

/// Sessions that could not be read before a sweep may give up on the store
/// (when they are more than those it could read).
const GIVE_UP: usize = 2 * CONCURRENCY;

/// Acknowledged writes by fate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteTally {
    pub durable: u64,
    pub lost: u64,
    pub stale: u64,
    pub indeterminate: u64,
    pub expired: u64,
    /// Not judged for good: the last sweep that tried could not read their
    /// session (or, behind a cache, the store of record).
    pub unverified: u64,
}

impl WriteTally {
    pub fn add(&mut self, fate: Fate, n: u64) {
        match fate {
            Fate::Durable => self.durable += n,
            Fate::Lost => self.lost += n,
            Fate::Stale => self.stale += n,
            Fate::Indeterminate => self.indeterminate += n,
            Fate::Expired => self.expired += n,
            Fate::Unjudged => self.unverified += n,
        }
    }

    pub fn merge(&mut self, o: &WriteTally) {
        self.durable += o.durable;
        self.lost += o.lost;
        self.stale += o.stale;
        self.indeterminate += o.indeterminate;
        self.expired += o.expired;
        self.unverified += o.unverified;
    }

    pub fn total(&self) -> u64 {
        self.durable + self.lost + self.stale + self.indeterminate + self.expired + self.unverified
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SweepResult {
    pub checked: u64,
    pub verdicts: BTreeMap<ReadCheck, u64>,
    /// Sessions that could not be read (the store kept failing).
    pub unverified: u64,
    /// Of the lost / stale sessions, those the store of record (behind a
    /// cache) holds at the acknowledged version or newer: the cache's doing.
    pub lost_from_cache: u64,
    pub stale_from_cache: u64,
    /// Acknowledged writes this sweep judged, by fate.
    pub writes: WriteTally,
    /// Read-modify-write updates this sweep proved lost (not proven
    /// before).
    pub lost_updates: u64,
    /// When its first read succeeded: the store answered again.
    #[serde(skip)]
    pub first_read: Option<Instant>,
    /// Ids of lost sessions (for tests and drill-down).
    #[serde(skip)]
    pub lost_ids: Vec<u64>,
    #[serde(skip)]
    pub stale_ids: Vec<u64>,
    /// Every read that was judged: (session, sent, answered, the version
    /// found), for the operation history.
    #[serde(skip)]
    pub reads: Vec<(u64, Instant, Instant, Option<u64>)>,
}

impl SweepResult {
    pub fn count(&self, c: ReadCheck) -> u64 {
        self.verdicts.get(&c).copied().unwrap_or(0)
    }
}

/// How patient a sweep is with a store that does not answer.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// Per read.
    pub timeout: Duration,
    /// Reads of one session before it counts as unverified (the n-th waits
    /// n × 100 ms after the one before).
    pub attempts: u32,
    /// The whole sweep: sessions not read by then are unverified (a
    /// checkpoint holds the load meanwhile).
    pub limit: Option<Duration>,
    /// Operations on a session may overlap (concurrency per session): the
    /// session's writes may have landed in any order among those that
    /// overlapped, and a checkpoint's read may meet writes in flight, so
    /// reads are judged by real-time order.
    pub overlaps: bool,
}

/// What a sweep is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The checkpoint after fault N: what it finds is charged to N.
    Checkpoint(usize),
    /// Before a fault acts, the load held (a flush, requests overlapping):
    /// what its reads legally saw is remembered, so that a version they
    /// saw overwritten may not come back, and nothing else changes
    /// ([`super::remember_read`]) — what they find wrong is the
    /// checkpoint's after the fault to judge, as it was before.
    ReadFirst,
    /// The final sweep: what it finds is charged to the fault that
    /// explains it.
    Final,
}

/// What the store of record holds, when a cache is in front of it.
enum Source {
    /// No cache: what the read found is the store's state.
    NoCache,
    /// The version it holds (`None`: nothing).
    Holds(Option<u64>),
    /// It did not answer: the writes cannot be judged now.
    Unreadable,
}

/// Read the store of record behind the cache, a few times: a failed read
/// proves nothing either way.
async fn source(store: &dyn SessionStore, id: u64, p: Patience) -> Source {
    for attempt in 0..p.attempts {
        match tokio::time::timeout(p.timeout, store.read_source(id)).await {
            Ok(None) => return Source::NoCache,
            Ok(Some(Ok(v))) => {
                return Source::Holds(v.as_deref().and_then(value::version_of));
            }
            _ => tokio::time::sleep(Duration::from_millis(100 * (attempt as u64 + 1))).await,
        }
    }
    Source::Unreadable
}

/// What one session's read came to.
struct Verdict {
    check: ReadCheck,
    from_cache: bool,
    writes: WriteTally,
    lost_updates: u64,
    /// When the read was sent and answered, and the version it found.
    invoked: Instant,
    at: Instant,
    found: Option<u64>,
}

async fn judge_one(
    store: &dyn SessionStore,
    state: &mut SessionState,
    id: u64,
    p: Patience,
    purpose: Purpose,
) -> Option<Verdict> {
    for attempt in 0..p.attempts {
        let invoked = Instant::now();
        let read = tokio::time::timeout(p.timeout, store.get(id)).await;
        let Ok(Ok(v)) = read else {
            tokio::time::sleep(Duration::from_millis(100 * (attempt as u64 + 1))).await;
            continue;
        };
        let at = Instant::now();
        let fault = match purpose {
            Purpose::Checkpoint(f) => Some(f),
            Purpose::Final => None,
            Purpose::ReadFirst => {
                return Some(Verdict {
                    check: remember_read(state, v.as_deref(), invoked, at),
                    from_cache: false,
                    writes: WriteTally::default(),
                    lost_updates: 0,
                    invoked,
                    at,
                    found: v.as_deref().and_then(value::version_of),
                });
            }
        };
        let reading = if p.overlaps {
            judge_concurrent(state, v.as_deref(), invoked, at)
        } else {
            judge(state, v.as_deref(), at)
        };
        let judged = Judged { at, fault };
        let disagrees = matches!(reading.check, ReadCheck::Lost | ReadCheck::Stale);
        let src = if disagrees {
            source(store, id, p).await
        } else {
            Source::NoCache
        };
        let (source_holds, writes) = match src {
            Source::NoCache => (None, judge_writes(state, &reading, None, judged)),
            Source::Holds(h) => (h, judge_writes(state, &reading, Some(h), judged)),
            Source::Unreadable => (
                None,
                WriteTally {
                    unverified: unverify(state),
                    ..WriteTally::default()
                },
            ),
        };
        // After the writes' fates: one this sweep judged lost (a fault's)
        // is not an update another overwrote.
        let lost_updates =
            super::updates::proven_by_read(state, reading.check, v.as_deref(), invoked, at);
        let from_cache = disagrees
            && state
                .acked_version()
                .is_some_and(|v| source_holds.is_some_and(|h| h >= v));
        return Some(Verdict {
            check: reading.check,
            from_cache,
            writes,
            lost_updates,
            invoked,
            at,
            found: v.as_deref().and_then(value::version_of),
        });
    }
    None
}

/// Read and judge every session of `ledger` that was ever written (or,
/// reading first, only read them).
pub async fn sweep(
    store: Arc<dyn SessionStore>,
    ledger: Arc<Vec<Mutex<SessionState>>>,
    patience: Patience,
    purpose: Purpose,
) -> SweepResult {
    let ids: Vec<u64> = {
        let mut ids = Vec::new();
        for (i, s) in ledger.iter().enumerate() {
            if s.lock().await.touched() {
                ids.push(i as u64);
            }
        }
        ids
    };
    // Past GIVE_UP unreadable sessions, when they outnumber the readable
    // ones, the store is taken for dead and the rest are not tried (a
    // sweep of a node that is gone would otherwise wait out every read);
    // likewise past the patience's limit.
    let deadline = patience.limit.map(|l| Instant::now() + l);
    let tally = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let reads = futures::stream::iter(ids)
        .map(|id| {
            let store = store.clone();
            let ledger = ledger.clone();
            let tally = tally.clone();
            async move {
                // The session is locked for the read and the verdict, so no
                // operation can change it in between. A read that fails is
                // retried: the sweep wants the store's state, not a
                // transient error.
                let mut state = ledger[id as usize].lock().await;
                let (read, unread) = (&tally.0, &tally.1);
                let dead = unread.load(Ordering::Relaxed) >= GIVE_UP
                    && unread.load(Ordering::Relaxed) > read.load(Ordering::Relaxed);
                let late = deadline.is_some_and(|d| Instant::now() >= d);
                let judged = if dead || late {
                    None
                } else {
                    let limit = deadline.map_or(Duration::MAX, |d| d - Instant::now());
                    tokio::time::timeout(
                        limit,
                        judge_one(&*store, &mut state, id, patience, purpose),
                    )
                    .await
                    .ok()
                    .flatten()
                };
                let unverified = match judged {
                    Some(_) => {
                        read.fetch_add(1, Ordering::Relaxed);
                        0
                    }
                    None => {
                        unread.fetch_add(1, Ordering::Relaxed);
                        // Reading first judges nothing, and unverifies
                        // nothing either.
                        match purpose {
                            Purpose::ReadFirst => 0,
                            Purpose::Checkpoint(_) | Purpose::Final => unverify(&mut state),
                        }
                    }
                };
                (id, judged, unverified)
            }
        })
        .buffer_unordered(CONCURRENCY);
    let results: Vec<(u64, Option<Verdict>, u64)> = reads.collect().await;
    let mut out = SweepResult::default();
    for (id, judged, unverified) in results {
        out.checked += 1;
        out.writes.unverified += unverified;
        let Some(j) = judged else {
            out.unverified += 1;
            continue;
        };
        out.first_read = Some(out.first_read.map_or(j.at, |f| f.min(j.at)));
        out.reads.push((id, j.invoked, j.at, j.found));
        *out.verdicts.entry(j.check).or_default() += 1;
        out.writes.merge(&j.writes);
        out.lost_updates += j.lost_updates;
        match j.check {
            ReadCheck::Lost => {
                out.lost_ids.push(id);
                out.lost_from_cache += j.from_cache as u64;
            }
            ReadCheck::Stale => {
                out.stale_ids.push(id);
                out.stale_from_cache += j.from_cache as u64;
            }
            _ => {}
        }
    }
    out.lost_ids.sort_unstable();
    out.stale_ids.sort_unstable();
    out
}
