//! The open-loop load generator: one task of the runtime issues every
//! strategy's operations at their intended start times, on time to the
//! microsecond (`clock.rs`): it sleeps on a timer with nanosecond
//! resolution, hands each operation to the runtime a little before it is
//! due ([`Lead`]), and the task starts at its intended time. An operation
//! starts at its intended time whether or not earlier ones have finished;
//! one already late (the machine was busy, its strategy had its maximum of
//! operations outstanding) is issued at once, in order, and its lag is
//! recorded. Latency is measured from the intended start, so neither the
//! generator's delay nor a stalled server is hidden (no coordinated
//! omission).
//!
//! Why not a tokio timer: its wheel has a 1 ms resolution, which put ~1 ms
//! of the generator into every latency it measured. Why a task and not a
//! thread of its own (the first on-time generator): each hand-over from
//! that thread woke a parked runtime worker, a context switch per
//! operation on top of the thread's own wake-up; the task is woken by the
//! runtime's I/O driver on a worker, and the operations it spawns start on
//! that worker (docs/PERFORMANCE.md has the before and after). For stores
//! with light clients the runtime is the load's own, one thread
//! (`load_thread.rs`).

use std::iter::Peekable;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::clock::{Lead, MAX_LEAD, PreciseSleep};
use super::control::{Hold, LoadControl};
use super::op::{self, OpCtx};
use super::rng::SplitMix;
use super::scheduler::{Schedule, Sessions};
use crate::metrics::OpKind;

/// The longest the generator sleeps before looking again at a stop, a
/// pause, or a strategy waiting for room.
const LOOK_AGAIN: Duration = Duration::from_millis(5);

/// The most operations the generator issues before it lets its worker run
/// others: one far behind schedule (after a stall) catches up in bursts,
/// not in one turn that holds a worker of two.
const BURST: usize = 256;

/// One strategy's stream of operations.
pub struct Lane {
    pub ctx: Arc<OpCtx>,
    pub schedule: Schedule,
    pub sessions: Sessions,
    pub rng: SplitMix,
    /// Room for the operations it may have outstanding.
    pub gate: Arc<Semaphore>,
}

struct Running {
    ctx: Arc<OpCtx>,
    next: Peekable<Schedule>,
    sessions: Sessions,
    rng: SplitMix,
    gate: Arc<Semaphore>,
}

impl Running {
    /// When its next operation is due (after `load_start`), if any.
    fn due(&mut self, load_start: Instant) -> Option<Instant> {
        self.next.peek().map(|&(_, offset)| load_start + offset)
    }
}

/// Drive every lane from `load_start` for its schedule's length, or until
/// `control` stops the load. Intended starts that fall in a pause are
/// skipped. Returns when the last operation has been issued (not
/// finished); dropping the future stops the generator. An error when the
/// generator could not start or died (a panic): the load ended early, and
/// the run must say so rather than report a shorter load as the drill.
pub async fn drive(
    lanes: Vec<Lane>,
    load_start: Instant,
    control: LoadControl,
) -> Result<(), String> {
    let quit = control.stopped().child_token();
    let _stop_on_drop = quit.clone().drop_guard();
    let hold = control.watch_hold();
    supervised(generate(lanes, load_start, hold, quit))
        .await
        .map_err(|e| format!("the load generator {e}"))
}

/// Run `body` as a task of its own and wait for it; why it did not
/// finish, if it did not (a panic is an error, not a shorter load).
/// Dropping the future aborts the task.
async fn supervised(
    body: impl Future<Output = Result<(), String>> + Send + 'static,
) -> Result<(), String> {
    let task = tokio::spawn(body);
    let _abort_on_drop = AbortOnDrop(task.abort_handle());
    match task.await {
        Ok(ended) => ended,
        Err(e) if e.is_panic() => {
            let panic = e.into_panic();
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(format!("died: {why}"))
        }
        Err(_) => Err("was cancelled".into()),
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn generate(
    lanes: Vec<Lane>,
    load_start: Instant,
    mut hold: watch::Receiver<Hold>,
    quit: CancellationToken,
) -> Result<(), String> {
    let lead = Arc::new(Lead::new());
    let timer = PreciseSleep::new().map_err(|e| format!("could not make its timer: {e}"))?;
    let mut lanes: Vec<Running> = lanes
        .into_iter()
        .map(|l| Running {
            ctx: l.ctx,
            next: l.schedule.peekable(),
            sessions: l.sessions,
            rng: l.rng,
            gate: l.gate,
        })
        .collect();
    while !quit.is_cancelled() {
        if hold.borrow_and_update().any() {
            let resumed = tokio::select! {
                r = hold.wait_for(|h| !h.any()) => r.is_ok(),
                _ = quit.cancelled() => false,
            };
            if !resumed {
                return Ok(());
            }
            // Intended starts that fell in the pause are skipped, not
            // fired in a burst.
            let resumed = Instant::now();
            for r in &mut lanes {
                while r.due(load_start).is_some_and(|t| t < resumed) {
                    r.next.next();
                }
            }
            continue;
        }
        let now = Instant::now();
        let mut next_look: Option<Instant> = None;
        let mut burst = BURST;
        for r in &mut lanes {
            if let Some(t) = issue_due(r, load_start, now, &lead, &hold, &mut burst) {
                next_look = Some(next_look.map_or(t, |n| n.min(t)));
            }
        }
        if burst == 0 {
            tokio::task::yield_now().await;
            continue;
        }
        let Some(next) = next_look else {
            return Ok(()); // every schedule is over
        };
        timer
            .until(next.min(Instant::now() + LOOK_AGAIN))
            .await
            .map_err(|e| format!("lost its timer: {e}"))?;
    }
    Ok(())
}

/// Issue every operation of `r` due to be handed over by `now` (its
/// intended start less the lead), in order, at most `burst` of them (less
/// what it issued). When it should be looked at again: when its next is
/// due, at once when the burst is spent, or soon if it is out of room;
/// `None` when its schedule is over.
fn issue_due(
    r: &mut Running,
    load_start: Instant,
    now: Instant,
    lead: &Arc<Lead>,
    hold: &watch::Receiver<Hold>,
    burst: &mut usize,
) -> Option<Instant> {
    loop {
        let intended = r.due(load_start)?;
        let hand_over = intended.checked_sub(lead.get()).unwrap_or(intended);
        if hand_over > now {
            return Some(hand_over);
        }
        if *burst == 0 {
            return Some(now);
        }
        let Ok(permit) = r.gate.clone().try_acquire_owned() else {
            // Out of room: this lane waits (late, and its lag says so);
            // the others go on.
            return Some(now + Duration::from_millis(1));
        };
        let (op, _) = r.next.next()?;
        if !hold.borrow().lets(op::changes(&r.ctx, op)) {
            // What changes the store held alone (a node started again,
            // not yet read by its checkpoint): skipped like every start in
            // a pause.
            drop(permit);
            continue;
        }
        let id = r.sessions.pick(&mut r.rng);
        // Only a hand-over on schedule teaches the lead: one the generator
        // issued late because a strategy was out of room, or the machine
        // stalled it, says nothing about the hand-over's own delay.
        let teach = (now <= hand_over + MAX_LEAD).then(|| lead.clone());
        let task = Task {
            ctx: r.ctx.clone(),
            op,
            id,
            intended,
            hold: hold.clone(),
        };
        tokio::spawn(task.run(teach, permit));
        *burst -= 1;
    }
}

/// One operation handed over to the runtime.
struct Task {
    ctx: Arc<OpCtx>,
    op: OpKind,
    id: u64,
    intended: Instant,
    hold: watch::Receiver<Hold>,
}

impl Task {
    async fn run(self, teach: Option<Arc<Lead>>, permit: OwnedSemaphorePermit) {
        if let Some(lead) = teach {
            lead.learn(Instant::now(), self.intended);
        }
        Lead::until(self.intended).await;
        // Handed over before the load (or its writes) was held, meant for
        // after: skipped, like every intended start that falls in a pause.
        if !self.hold.borrow().lets(op::changes(&self.ctx, self.op)) {
            return;
        }
        op::run(self.ctx, self.op, self.id, self.intended).await;
        drop(permit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_generator_that_dies_is_an_error_not_a_short_load() {
        assert_eq!(supervised(async { Ok(()) }).await, Ok(()));
        let died = supervised(async { panic!("out of lanes") }).await;
        assert_eq!(died, Err("died: out of lanes".to_string()));
        let n = 7;
        let died = supervised(async move { panic!("lane {n}") }).await;
        assert_eq!(died, Err("died: lane 7".to_string()));
    }
}
