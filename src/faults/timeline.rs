//! The scenario's fault timeline: each entry injected at its offset from the
//! start of the timed load (repeats expanded), each in its own task so a
//! slow restart does not delay the next entry's start time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use super::{Fault, Injector, TimelineEntry};

/// Every injection of the timeline, in time order.
pub fn expand(entries: &[TimelineEntry]) -> Vec<(Duration, Fault)> {
    let mut out = Vec::new();
    for e in entries {
        let (every, times) = e.repeat.unwrap_or((Duration::ZERO, 1));
        for k in 0..times.max(1) {
            let Some(at) = every.checked_mul(k).and_then(|d| d.checked_add(e.at)) else {
                break;
            };
            out.push((at, e.fault.clone()));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// Inject the timeline's faults during a load of length `load`, starting at
/// `load_start`; entries past the end of the load, or due after `stopped`
/// (the load ended early), are not injected. Each injection started is
/// counted in `started`. Returns when every injection started has finished.
pub async fn run(
    injector: Arc<Injector>,
    entries: Vec<TimelineEntry>,
    load_start: Instant,
    load: Duration,
    started: &AtomicUsize,
    stopped: CancellationToken,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (at, fault) in expand(&entries) {
        if at >= load {
            break;
        }
        let due = load_start + at;
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = stopped.cancelled() => break,
        }
        started.fetch_add(1, Ordering::SeqCst);
        let inj = injector.clone();
        tasks.spawn(async move {
            if let Err(e) = inj.inject(fault.clone()).await {
                inj.events().push("fault-failed", "", e.to_string());
                if !e.recorded {
                    inj.record_failed(&fault, due, e.reason);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::kinds::{Flush, Pause};
    use crate::faults::{FaultAction, FaultKind};

    #[test]
    fn repeats_are_expanded_in_time_order() {
        let f = |action| Fault::new(action, "cache");
        let entries = vec![
            TimelineEntry {
                at: Duration::from_secs(1),
                fault: f(FaultAction::Pause(Pause)),
                repeat: Some((Duration::from_secs(2), 3)),
                pos: crate::yaml::Pos::START,
            },
            TimelineEntry {
                at: Duration::from_secs(2),
                fault: f(FaultAction::Flush(Flush)),
                repeat: None,
                pos: crate::yaml::Pos::START,
            },
        ];
        let at: Vec<(u64, FaultKind)> = expand(&entries)
            .into_iter()
            .map(|(t, f)| (t.as_secs(), f.kind()))
            .collect();
        assert_eq!(
            at,
            vec![
                (1, FaultKind::Pause),
                (2, FaultKind::Flush),
                (3, FaultKind::Pause),
                (5, FaultKind::Pause)
            ]
        );
    }
}
