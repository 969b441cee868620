//! The glue between the fault timeline and the load: the engine's hooks
//! that inject the timeline during the load, heal what should heal before
//! the final sweep, and record every entry the load ended before as a
//! fault that did not fire. Here, not in `faults` or `workload`, so that
//! neither of them knows the other.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::faults::timeline::{expand, run};
use crate::faults::{Injector, TimelineEntry};

/// The engine hooks that run a timeline: inject during the load, heal what
/// should heal before the final sweep, and record every entry the load
/// ended before as a fault that did not fire.
pub struct TimelineHooks {
    pub injector: Arc<Injector>,
    pub entries: Vec<TimelineEntry>,
    started: AtomicUsize,
    load_start: std::sync::Mutex<Option<Instant>>,
}

impl TimelineHooks {
    pub fn new(injector: Arc<Injector>, entries: Vec<TimelineEntry>) -> Self {
        Self {
            injector,
            entries,
            started: AtomicUsize::new(0),
            load_start: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl crate::workload::RunHooks for TimelineHooks {
    async fn load_started(&self, at: Instant, duration: Duration, stopped: CancellationToken) {
        *self.load_start.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
        run(
            self.injector.clone(),
            self.entries.clone(),
            at,
            duration,
            &self.started,
            stopped,
        )
        .await;
    }

    async fn before_sweep(&self) {
        self.injector.heal_pending().await;
        let start = *self.load_start.lock().unwrap_or_else(|p| p.into_inner());
        let Some(start) = start else { return };
        let missed = expand(&self.entries)
            .into_iter()
            .skip(self.started.load(Ordering::SeqCst));
        for (at, fault) in missed {
            self.injector.record_failed(
                &fault,
                start + at,
                format!(
                    "never injected: the load ended before {}",
                    humantime::format_duration(at)
                ),
            );
        }
    }
}
