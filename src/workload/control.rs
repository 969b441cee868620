//! Live control of the load: pause and resume it (the dashboard's `space`),
//! or end it early (finish the drill now). While paused no operation is
//! issued and the intended start times that fall in the pause are skipped,
//! not queued: resuming does not fire a burst, and nothing is measured for
//! time the user chose not to load.

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::events::EventLog;

#[derive(Debug, Clone)]
pub struct LoadControl {
    paused: Arc<watch::Sender<bool>>,
    stop: CancellationToken,
    events: EventLog,
}

impl LoadControl {
    pub fn new(events: EventLog) -> Self {
        Self {
            paused: Arc::new(watch::channel(false).0),
            stop: CancellationToken::new(),
            events,
        }
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Pause or resume; says so in the event log. Returns the new state.
    pub fn set_paused(&self, paused: bool) -> bool {
        let changed = self.paused.send_if_modified(|p| {
            let changed = *p != paused;
            *p = paused;
            changed
        });
        if changed {
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
        self.paused.send_replace(false);
    }

    pub fn stopped(&self) -> &CancellationToken {
        &self.stop
    }

    pub(crate) fn watch_paused(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }
}
