//! Live control of the load: pause and resume it (the dashboard's `space`),
//! hold it while a checkpoint reads every session, or end it early (finish
//! the drill now), or hold only what changes the stores while a node
//! started again loads its data. While paused or held no operation is
//! issued (or none that changes a store) and the
//! intended start times that fall in the pause are skipped, not queued:
//! resuming does not fire a burst, and nothing is measured for time the
//! load was not running. Every pause is remembered, so availability can
//! leave it out.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::events::EventLog;

/// Who holds the load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hold {
    /// The user paused it.
    pub user: bool,
    /// Checkpoints holding it (one is reading every session; a fault may
    /// hold it ahead of its own).
    pub checkpoint: u32,
    /// Heals holding only the writes until their checkpoint: a node
    /// started again is read while it loads its data (clients meet
    /// `LOADING`), but nothing is written over what the fault left before
    /// the checkpoint has read it. Not a pause: the reads are measured.
    pub writes: u32,
}

impl Hold {
    /// Is the whole load held (no operation issued)?
    pub fn any(self) -> bool {
        self.user || self.checkpoint > 0
    }

    /// May an operation be issued now: one that changes a session
    /// (`write`: a write or a delete), or a read?
    pub fn lets(self, write: bool) -> bool {
        let writes_held = write && self.writes > 0;
        !(self.any() || writes_held)
    }
}

/// A pause: its start, and its end once resumed.
type Pause = (Instant, Option<Instant>);

#[derive(Debug, Clone)]
pub struct LoadControl {
    hold: Arc<watch::Sender<Hold>>,
    /// Every pause (either kind).
    pauses: Arc<Mutex<Vec<Pause>>>,
    stop: CancellationToken,
    events: EventLog,
    /// The bulk prefill's progress, for the command line and the
    /// dashboard.
    bulk: Arc<crate::store::bulk::Progress>,
}

impl LoadControl {
    pub fn new(events: EventLog) -> Self {
        Self {
            hold: Arc::new(watch::channel(Hold::default()).0),
            pauses: Arc::default(),
            stop: CancellationToken::new(),
            events,
            bulk: Arc::default(),
        }
    }

    /// Bulk sessions written so far, of how many (0 of 0: none asked for).
    pub fn bulk_progress(&self) -> (u64, u64) {
        self.bulk.get()
    }

    pub(super) fn bulk(&self) -> &crate::store::bulk::Progress {
        &self.bulk
    }

    /// Paused by the user?
    pub fn is_paused(&self) -> bool {
        self.hold.borrow().user
    }

    /// Held by a checkpoint?
    pub fn is_checking(&self) -> bool {
        self.hold.borrow().checkpoint > 0
    }

    /// Change who holds the load; a pause starts or ends with it. Both
    /// under the watch's lock, so two changes at once cannot leave a pause
    /// open.
    fn set(&self, change: impl FnOnce(&mut Hold)) -> bool {
        self.hold.send_if_modified(|h| {
            let before = *h;
            change(h);
            if before.any() != h.any() {
                let mut p = self.pauses.lock().unwrap_or_else(|p| p.into_inner());
                if h.any() {
                    p.push((Instant::now(), None));
                } else if let Some(last) = p.last_mut() {
                    last.1 = Some(Instant::now());
                }
            }
            before != *h
        })
    }

    /// Pause or resume; says so in the event log. Returns the new state.
    pub fn set_paused(&self, paused: bool) -> bool {
        if self.set(|h| h.user = paused) {
            let (kind, msg) = if paused {
                ("load-paused", "load paused: no new operations")
            } else {
                ("load-resumed", "load resumed")
            };
            self.events.push(kind, "", msg);
        }
        paused
    }

    pub fn toggle(&self) -> bool {
        self.set_paused(!self.is_paused())
    }

    /// Hold the load for a checkpoint once more (or let go once).
    pub(crate) fn hold_for_checkpoint(&self, on: bool) {
        self.set(|h| once_more(&mut h.checkpoint, on));
    }

    /// Hold the writes alone once more (or let go once): see
    /// [`Hold::writes`].
    pub(crate) fn hold_writes(&self, on: bool) {
        self.set(|h| once_more(&mut h.writes, on));
    }

    /// End the timed load now; the drain and the sweep follow as usual.
    pub fn stop(&self) {
        if !self.stop.is_cancelled() {
            self.events
                .push("load-ended", "", "load ended early on request");
        }
        self.stop.cancel();
        self.set_paused(false);
    }

    /// Stop without a word: the drill is being dropped (or is over).
    pub fn abandon(&self) {
        self.stop.cancel();
        self.set(|h| *h = Hold::default());
    }

    pub fn stopped(&self) -> &CancellationToken {
        &self.stop
    }

    pub(crate) fn watch_hold(&self) -> watch::Receiver<Hold> {
        self.hold.subscribe()
    }

    /// Every pause so far, a pause still running ending now.
    pub fn pauses(&self) -> Vec<(Instant, Instant)> {
        let now = Instant::now();
        self.pauses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|&(a, b)| (a, b.unwrap_or(now)))
            .collect()
    }
}

/// Count a holder in (`on`) or out; never below none.
fn once_more(holders: &mut u32, on: bool) {
    *holders = if on {
        holders.saturating_add(1)
    } else {
        holders.saturating_sub(1)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_does_not_resume_a_load_the_user_paused() {
        let c = LoadControl::new(EventLog::new(Instant::now()));
        c.set_paused(true);
        c.hold_for_checkpoint(true);
        c.hold_for_checkpoint(false);
        assert!(c.is_paused());
        assert!(c.watch_hold().borrow().any());
        c.set_paused(false);
        assert!(!c.watch_hold().borrow().any());
        // One pause from the user's pause to the resume, not two.
        assert_eq!(c.pauses().len(), 1);
        c.hold_for_checkpoint(true);
        assert!(c.is_checking() && !c.is_paused());
        c.hold_for_checkpoint(false);
        assert_eq!(c.pauses().len(), 2);
    }

    #[test]
    fn a_fault_holding_ahead_of_its_checkpoint_is_not_let_go_by_another() {
        let c = LoadControl::new(EventLog::new(Instant::now()));
        // A checkpoint reading while a flush holds the load ahead of its
        // own: the first one's end does not release the second's hold.
        c.hold_for_checkpoint(true);
        c.hold_for_checkpoint(true);
        c.hold_for_checkpoint(false);
        assert!(c.is_checking());
        assert!(c.watch_hold().borrow().any());
        c.hold_for_checkpoint(false);
        assert!(!c.is_checking());
        // One pause for the whole stretch, and no underflow.
        c.hold_for_checkpoint(false);
        assert!(!c.watch_hold().borrow().any());
        assert_eq!(c.pauses().len(), 1);
    }

    #[test]
    fn writes_held_alone_let_reads_through_and_are_no_pause() {
        let c = LoadControl::new(EventLog::new(Instant::now()));
        c.hold_writes(true);
        let h = *c.watch_hold().borrow();
        assert!(h.lets(false) && !h.lets(true) && !h.any());
        // The checkpoint holds everything on top, then lets go of both.
        c.hold_for_checkpoint(true);
        assert!(!c.watch_hold().borrow().lets(false));
        c.hold_for_checkpoint(false);
        c.hold_writes(false);
        let h = *c.watch_hold().borrow();
        assert!(h.lets(false) && h.lets(true));
        // Only the checkpoint's own hold was a pause.
        assert_eq!(c.pauses().len(), 1);
        c.hold_writes(false);
        assert_eq!(c.watch_hold().borrow().writes, 0);
    }
}
