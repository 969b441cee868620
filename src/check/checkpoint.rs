//! Checkpoints: once a fault has done its work, the engine holds the load,
//! reads every session of the strategies on the fault's nodes and records
//! exactly which acknowledged writes are gone — before later load can write
//! over them and wash the loss out. The fault side asks ([`Checkpoints`]);
//! the engine answers (`workload::checkpoint`). Before a flush it also asks
//! for a read of every session whose requests overlap ([`Ask::ReadFirst`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::WriteTally;

/// One checkpoint, as the report shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The fault (index into the report's `faults`) it was taken for.
    pub fault: usize,
    /// Why then: "healed", "failover observed", …
    pub why: String,
    /// When the load was held (or, after a node was started again, its
    /// writes alone: the reads went on until the checkpoint read), and when
    /// it resumed (ms since the run start).
    pub at_ms: u64,
    pub resumed_ms: u64,
    /// Per strategy swept.
    pub strategies: IndexMap<String, CheckpointTally>,
}

/// What one strategy's sweep at a checkpoint found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckpointTally {
    pub checked: u64,
    /// Sessions missing / older than acknowledged at that moment.
    pub missing: u64,
    pub stale: u64,
    /// Sessions it could not read.
    pub unverified: u64,
    /// Acknowledged writes judged at this checkpoint, by fate.
    pub writes: WriteTally,
    /// When its first read succeeded (ms since the run start): until then
    /// the store may still have been unreachable, and the hold does not
    /// hide that from unavailability.
    #[serde(default)]
    pub first_read_ms: Option<u64>,
}

/// What the fault side asks of the engine, in the order asked.
pub enum Ask {
    Checkpoint(Request),
    /// Before a fault acts (the load held and drained): read every session
    /// of the strategies on `groups` whose requests overlap, so that what
    /// the fault takes back is a version a read had seen. Nothing is
    /// judged (`check::Purpose::ReadFirst`). `done` when read.
    ReadFirst {
        groups: Vec<String>,
        done: oneshot::Sender<()>,
    },
}

/// A request for a checkpoint.
pub struct Request {
    pub fault: usize,
    /// The topology nodes (groups) the fault hit: strategies using any of
    /// them are swept.
    pub groups: Vec<String>,
    pub why: String,
    /// How long to wait, with the load held, before reading: time for the
    /// clients to follow a new primary.
    pub settle: Duration,
    /// The load the fault side holds for it ([`Checkpoints::hold`]): the
    /// checkpoint counts its hold from then and lets it go when done (or
    /// at once if there is nothing to read). Dropped with the request —
    /// an engine that fails or goes away lets the load go.
    pub held: Option<Held>,
    pub done: oneshot::Sender<Option<Checkpoint>>,
}

/// How the fault side holds the load at once, without waiting for the
/// checkpoint's turn: installed by the engine that owns the load.
#[derive(Clone, Default)]
pub struct HoldHook(Arc<OnceLock<Hold>>);

/// `hold(scope, true)` holds once more, `hold(scope, false)` lets go once.
type Hold = Box<dyn Fn(Scope, bool) + Send + Sync>;

/// What a hold keeps from being issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every operation.
    Load,
    /// The writes alone: reads go on (a node started again is read while
    /// it loads its data).
    Writes,
}

impl std::fmt::Debug for HoldHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "HoldHook(installed)"
        } else {
            "HoldHook(none)"
        })
    }
}

impl HoldHook {
    /// Hold (`true`) or let go once (`false`). False when no engine has
    /// installed the hook (nothing was held).
    pub fn set(&self, scope: Scope, on: bool) -> bool {
        match self.0.get() {
            Some(hold) => {
                hold(scope, on);
                true
            }
            None => false,
        }
    }
}

/// How the fault side waits, the load held, for the operations already in
/// flight to end: installed by the engine that owns the load.
#[derive(Clone, Default)]
pub struct DrainHook(Arc<OnceLock<Drain>>);

type Drain = Box<dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

impl std::fmt::Debug for DrainHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DrainHook")
    }
}

/// The engine's side of the channel: the requests, and where to install
/// the hold and the drain.
pub struct Requests {
    pub rx: mpsc::UnboundedReceiver<Ask>,
    hold: HoldHook,
    drain: DrainHook,
    serving: Arc<AtomicBool>,
}

impl Requests {
    /// `hold(scope, true)` holds once more, `hold(scope, false)` lets go
    /// once.
    pub fn install_hold(&self, hold: impl Fn(Scope, bool) + Send + Sync + 'static) {
        let _ = self.hold.0.set(Box::new(hold));
    }

    /// Asks are answered from now on (`true`: the load is about to run),
    /// or no longer (`false`). Until then a read first is not waited for:
    /// a flush keyed during a prefill would otherwise wait for all of it.
    pub fn serving(&self, on: bool) {
        self.serving.store(on, Ordering::SeqCst);
    }

    /// `drain()` ends when no operation is in flight (or gives up).
    pub fn install_drain(
        &self,
        drain: impl Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync + 'static,
    ) {
        let _ = self.drain.0.set(Box::new(drain));
    }
}

/// Where the fault side asks for checkpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    tx: mpsc::UnboundedSender<Ask>,
    hold: HoldHook,
    drain: DrainHook,
    serving: Arc<AtomicBool>,
}

pub fn channel() -> (Checkpoints, Requests) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (hold, drain) = (HoldHook::default(), DrainHook::default());
    let serving = Arc::new(AtomicBool::new(false));
    (
        Checkpoints {
            tx,
            hold: hold.clone(),
            drain: drain.clone(),
            serving: serving.clone(),
        },
        Requests {
            rx,
            hold,
            drain,
            serving,
        },
    )
}

/// The load held ahead of a checkpoint not yet asked for
/// ([`Checkpoints::hold`]): it lets go when dropped — by the checkpoint
/// once it has read, or at once when the fault failed, whoever held it
/// was cancelled, or the engine dropped the request.
#[must_use = "dropping it lets the load go"]
#[derive(Debug)]
pub struct Held {
    hook: HoldHook,
    since: Instant,
    scope: Scope,
}

impl Held {
    /// When the load was held.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// What it holds.
    pub fn scope(&self) -> Scope {
        self.scope
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.hook.set(self.scope, false);
    }
}

impl Checkpoints {
    /// Hold the load now, for a checkpoint about to be asked for: no
    /// operation is issued from here until the checkpoint has read every
    /// session, so none can land on what a fault left and wash its losses
    /// out. `None` if there is no load to hold.
    pub fn hold(&self) -> Option<Held> {
        self.hold_scope(Scope::Load)
    }

    /// Hold the writes alone now, for a checkpoint about to be asked for:
    /// reads go on until the checkpoint holds the whole load to read (they
    /// do not change what a fault left; a rate limit's reads, which admit,
    /// are held with the writes). `None` if there is no load to hold.
    pub fn hold_writes(&self) -> Option<Held> {
        self.hold_scope(Scope::Writes)
    }

    fn hold_scope(&self, scope: Scope) -> Option<Held> {
        self.hold.set(scope, true).then(|| Held {
            hook: self.hold.clone(),
            since: Instant::now(),
            scope,
        })
    }

    /// With the load held: wait until the operations already in flight
    /// have ended, so that a fault acting now meets none of them (a write
    /// sent before a flush and done after it would stand in for the
    /// writes the flush destroyed).
    pub async fn drained(&self) {
        if let Some(drain) = self.drain.0.get() {
            drain().await;
        }
    }

    /// The load held and drained, before a fault acts: have the engine
    /// read every session of the strategies on `groups` whose requests
    /// overlap, and wait until it has (at once if no engine answers asks
    /// yet, or any more).
    pub async fn read_first(&self, groups: Vec<String>) {
        if !self.serving.load(Ordering::SeqCst) {
            return;
        }
        let (done, read) = oneshot::channel();
        if self.tx.send(Ask::ReadFirst { groups, done }).is_ok() {
            let _ = read.await;
        }
    }

    /// Ask for a checkpoint and wait for it; `None` when the load is over
    /// (the final sweep will judge instead) or the engine is gone. A
    /// `held` load is the checkpoint's to let go.
    pub async fn take(
        &self,
        fault: usize,
        groups: Vec<String>,
        why: impl Into<String>,
        settle: Duration,
        held: Option<Held>,
    ) -> Option<Checkpoint> {
        let (done, answer) = oneshot::channel();
        let sent = self.tx.send(Ask::Checkpoint(Request {
            fault,
            groups,
            why: why.into(),
            settle,
            held,
            done,
        }));
        if sent.is_err() {
            return None; // the request, dropped, lets the load go
        }
        answer.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI32;

    #[tokio::test]
    async fn a_hold_ahead_is_let_go_when_no_engine_will_take_the_checkpoint() {
        let (checkpoints, requests) = channel();
        // No engine installed a hold: there is nothing to hold.
        assert!(checkpoints.hold().is_none());
        let holds = Arc::new(AtomicI32::new(0));
        let h = holds.clone();
        requests.install_hold(move |_, on| {
            h.fetch_add(if on { 1 } else { -1 }, Ordering::SeqCst);
        });
        let held = checkpoints.hold();
        assert!(held.is_some());
        assert_eq!(holds.load(Ordering::SeqCst), 1);
        // The engine is gone: asking for the checkpoint lets go.
        drop(requests);
        let got = checkpoints
            .take(0, vec![], "gone", Duration::ZERO, held)
            .await;
        assert!(got.is_none());
        assert_eq!(holds.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_hold_is_let_go_when_its_holder_is_cancelled_and_kept_while_its_request_lives() {
        let (checkpoints, mut requests) = channel();
        let holds = Arc::new(AtomicI32::new(0));
        let h = holds.clone();
        requests.install_hold(move |_, on| {
            h.fetch_add(if on { 1 } else { -1 }, Ordering::SeqCst);
        });
        // A fault holds ahead and is cancelled before it asks.
        let cancelled = {
            let c = checkpoints.clone();
            tokio::spawn(async move {
                let _held = c.hold();
                std::future::pending::<()>().await;
            })
        };
        while holds.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        cancelled.abort();
        let _ = cancelled.await;
        assert_eq!(holds.load(Ordering::SeqCst), 0);
        // Handed to a checkpoint, the hold lives as long as its request:
        // the engine lets go when done, and so does an engine that drops
        // the request (it failed, or the load is over).
        let held = checkpoints.hold();
        let asked = tokio::spawn({
            let c = checkpoints.clone();
            async move { c.take(0, vec![], "kept", Duration::ZERO, held).await }
        });
        let Some(Ask::Checkpoint(request)) = requests.rx.recv().await else {
            panic!("a checkpoint was asked for");
        };
        assert!(request.held.is_some());
        assert_eq!(holds.load(Ordering::SeqCst), 1);
        drop(request);
        assert!(asked.await.unwrap().is_none());
        assert_eq!(holds.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn reading_first_waits_for_the_engine_and_not_for_one_that_is_gone() {
        let (checkpoints, mut requests) = channel();
        // Not serving yet (a prefill): nothing is asked, nothing waited for.
        let limit = Duration::from_secs(5);
        tokio::time::timeout(limit, checkpoints.read_first(vec!["cache".into()]))
            .await
            .expect("waited for an engine not serving yet");
        assert!(requests.rx.try_recv().is_err());
        requests.serving(true);
        let asked = tokio::spawn({
            let c = checkpoints.clone();
            async move { c.read_first(vec!["cache".into()]).await }
        });
        let Some(Ask::ReadFirst { groups, done }) = requests.rx.recv().await else {
            panic!("a read first was asked for");
        };
        assert_eq!(groups, ["cache"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!asked.is_finished(), "it returned before the engine read");
        done.send(()).unwrap();
        asked.await.unwrap();
        // An engine that drops the request, or is gone: no wait.
        let asked = tokio::spawn({
            let c = checkpoints.clone();
            async move { c.read_first(vec![]).await }
        });
        drop(requests.rx.recv().await);
        tokio::time::timeout(limit, asked).await.unwrap().unwrap();
        drop(requests);
        tokio::time::timeout(limit, checkpoints.read_first(vec![]))
            .await
            .expect("waited for an engine that is gone");
    }

    #[tokio::test]
    async fn a_fault_held_ahead_waits_for_the_drain_the_engine_installed() {
        let (checkpoints, requests) = channel();
        // None installed: nothing to wait for.
        checkpoints.drained().await;
        let drained = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = drained.clone();
        requests.install_drain(move || {
            let d = d.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                d.store(true, Ordering::SeqCst);
            })
        });
        checkpoints.drained().await;
        assert!(drained.load(Ordering::SeqCst));
    }
}
