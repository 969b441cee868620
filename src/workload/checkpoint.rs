//! The engine's side of checkpoints (see [`crate::check::checkpoint`]):
//! hold the load, let the clients settle, let the operations in flight
//! finish, sweep the strategies on the fault's nodes, resume. One at a
//! time, while the load runs. And, asked before a flush, the read of the
//! sessions whose requests overlap that lets its checkpoint prove what it
//! took back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::Ledger;
use super::control::LoadControl;
use super::scheduler;
use crate::check::checkpoint::{Ask, Checkpoint, CheckpointTally, Request, Requests, Scope};
use crate::check::{self, Patience, Purpose, ReadCheck, SweepResult};
use crate::events::EventLog;
use crate::store::SessionStore;

/// The longest a checkpoint reads (the load held): sessions not read by
/// then are unverified, and the final sweep reads them again.
pub(super) const LIMIT: Duration = Duration::from_secs(10);

/// One strategy as a checkpoint sees it.
pub(super) struct Swept {
    /// Its index among the run's strategies.
    pub index: usize,
    pub name: String,
    /// The topology nodes its operations reach.
    pub groups: Vec<String>,
    pub store: Arc<dyn SessionStore>,
    pub ledger: Ledger,
    /// Its operations in flight (all permits: none).
    pub gate: Arc<Semaphore>,
    /// Fallbacks the checkpoints' own reads caused (not the load's).
    pub swept_fallbacks: Arc<AtomicU64>,
    /// Its operations on one session overlapped (concurrency per session,
    /// session strategies): judge by real-time order.
    pub overlaps: bool,
}

pub(super) struct Server {
    pub strategies: Vec<Swept>,
    pub control: LoadControl,
    pub events: EventLog,
    pub history: Option<Arc<super::history::History>>,
    pub patience: Patience,
    /// How long to wait for operations in flight before reading anyway.
    pub drain_limit: Duration,
    /// Each checkpoint as soon as it is taken, for whoever shows them live.
    pub taken: super::Taken,
}

impl Server {
    /// Answer requests until `over` (the load has ended); requests still
    /// queued then get no checkpoint (the final sweep judges instead).
    pub async fn serve(self, requests: Requests, over: CancellationToken) -> Vec<Checkpoint> {
        let mut requests = requests;
        requests.serving(true);
        let mut taken = Vec::new();
        loop {
            let req = tokio::select! {
                r = requests.rx.recv() => match r {
                    Some(r) => r,
                    None => break,
                },
                _ = over.cancelled() => break,
            };
            let mut req = match req {
                Ask::Checkpoint(req) => req,
                Ask::ReadFirst { groups, done } => {
                    self.read_first(&groups).await;
                    let _ = done.send(());
                    continue;
                }
            };
            let cp = self.take(&mut req).await;
            if let Some(c) = &cp {
                taken.push(c.clone());
                self.taken
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(c.clone());
            }
            let _ = req.done.send(cp);
        }
        // No read first is waited for from now on; one already asked is
        // answered below.
        requests.serving(false);
        requests.rx.close();
        while let Ok(r) = requests.rx.try_recv() {
            // Its hold, if any, goes with it.
            match r {
                Ask::Checkpoint(r) => drop(r.done.send(None)),
                Ask::ReadFirst { done, .. } => drop(done.send(())),
            }
        }
        taken
    }

    /// Before a fault on `groups` acts, the load held and drained by the
    /// fault side: read every session of the strategies there whose
    /// requests overlap, judging nothing ([`Purpose::ReadFirst`]). Their
    /// reads are judged by real-time order, where a version may legally
    /// come back until a read has seen a newer one: seen now, what the
    /// fault then takes back is proven gone at its checkpoint, however the
    /// load's own reads fell.
    async fn read_first(&self, groups: &[String]) {
        let read: Vec<&Swept> = self
            .strategies
            .iter()
            .filter(|s| s.overlaps && s.groups.iter().any(|g| groups.contains(g)))
            .collect();
        if read.is_empty() {
            return;
        }
        let results = self.read_all(&read, Purpose::ReadFirst).await;
        let said: Vec<String> = read
            .iter()
            .zip(results)
            .map(|(s, r)| {
                format!(
                    "{}: {} sessions read, {} unverified",
                    s.name, r.checked, r.unverified
                )
            })
            .collect();
        self.events.push(
            "checkpoint",
            "",
            format!(
                "read before the fault acts, the load held: {}",
                said.join("; ")
            ),
        );
    }

    /// Sweep `swept` at once, for `purpose`: the fallbacks their reads
    /// cause are the checker's, not the load's, and the reads go into the
    /// history.
    async fn read_all(&self, swept: &[&Swept], purpose: Purpose) -> Vec<SweepResult> {
        let fallbacks: Vec<u64> = swept.iter().map(|s| s.store.fallbacks()).collect();
        let results = futures::future::join_all(swept.iter().map(|s| {
            check::sweep(
                s.store.clone(),
                s.ledger.clone(),
                Patience {
                    overlaps: s.overlaps,
                    ..self.patience
                },
                purpose,
            )
        }))
        .await;
        for ((s, before), r) in swept.iter().zip(fallbacks).zip(&results) {
            let caused = s.store.fallbacks().saturating_sub(before);
            s.swept_fallbacks.fetch_add(caused, Ordering::Relaxed);
            if let Some(h) = &self.history {
                super::record_reads(h, s.index, purpose, r);
            }
        }
        results
    }

    async fn take(&self, req: &mut Request) -> Option<Checkpoint> {
        let swept: Vec<&Swept> = self
            .strategies
            .iter()
            .filter(|s| s.groups.iter().any(|g| req.groups.contains(g)))
            .collect();
        if swept.is_empty() {
            drop(req.held.take()); // nothing to read: let go
            return None;
        }
        let origin = self.events.origin();
        let ms = |t: Instant| t.saturating_duration_since(origin).as_millis() as u64;
        // Held by the fault side already (the request's guard), or now —
        // also when it held only the writes: the reads stop to read.
        let own_hold = req.held.as_ref().is_none_or(|h| h.scope() == Scope::Writes);
        if own_hold {
            self.control.hold_for_checkpoint(true);
        }
        // From when the load was held: the hold before the checkpoint's
        // turn (a restart, a queue of checkpoints) stays measured until the
        // first read succeeds, like the checkpoint's own.
        let at = req.held.as_ref().map_or_else(Instant::now, |h| h.since());
        self.events.push(
            "checkpoint",
            "",
            format!(
                "load held to read every session ({}): {}",
                swept
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                req.why
            ),
        );
        tokio::time::sleep(req.settle).await;
        scheduler::drain(swept.iter().map(|s| &*s.gate), self.drain_limit).await;
        let results = self.read_all(&swept, Purpose::Checkpoint(req.fault)).await;
        if own_hold {
            self.control.hold_for_checkpoint(false);
        }
        drop(req.held.take());
        let resumed = Instant::now();
        let mut strategies = indexmap::IndexMap::new();
        let mut said = Vec::new();
        for (s, r) in swept.iter().zip(results) {
            said.push(format!(
                "{}: {} acknowledged writes lost, {} stale ({} sessions read, {} unverified)",
                s.name, r.writes.lost, r.writes.stale, r.checked, r.unverified
            ));
            strategies.insert(
                s.name.clone(),
                CheckpointTally {
                    checked: r.checked,
                    missing: r.count(ReadCheck::Lost),
                    stale: r.count(ReadCheck::Stale),
                    unverified: r.unverified,
                    writes: r.writes,
                    first_read_ms: r.first_read.map(ms),
                },
            );
        }
        self.events.push(
            "checkpoint",
            "",
            format!(
                "{}; load resumed, its writes held {} ms",
                said.join("; "),
                (resumed - at).as_millis()
            ),
        );
        Some(Checkpoint {
            fault: req.fault,
            why: req.why.clone(),
            at_ms: ms(at),
            resumed_ms: ms(resumed),
            strategies,
        })
    }
}
