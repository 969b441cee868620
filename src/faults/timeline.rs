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
