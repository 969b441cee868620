//! Before the load: every strategy's connections opened
//! ([`crate::store::SessionStore::warm`]) on the runtime the load runs on,
//! so that its first operations do not count our connection set-up as the
//! store's latency. Within one operation's timeout: past it the load
//! starts anyway, and the operations that find a connection missing open
//! it (and count it). Not when the drill is already stopping (a failed
//! prefill).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::StrategyRun;
use crate::events::EventLog;

/// Open every strategy's connections before the load, within `limit`; the
/// event log says so when some are not (the first operations open them,
/// and that counts in their latency).
pub(super) async fn warm(
    strategies: &[StrategyRun],
    limit: Duration,
    stopped: &CancellationToken,
    events: &EventLog,
) {
    if stopped.is_cancelled() {
        return;
    }
    let all = futures::future::join_all(strategies.iter().map(|s| s.store.warm()));
    let said = tokio::select! {
        done = tokio::time::timeout(limit, all) => match done {
            Ok(each) => {
                let open: usize = each.iter().map(|w| w.open).sum();
                let wanted: usize = each.iter().map(|w| w.wanted).sum();
                (open < wanted).then(|| {
                    format!(
                        "{} of {} connections could not be opened before the load: its first operations try again, and count it",
                        wanted - open,
                        wanted
                    )
                })
            }
            Err(_) => Some(format!(
                "the connections were not all open within the operation timeout ({} ms): the load's first operations open the rest, and count it",
                limit.as_millis()
            )),
        },
        () = stopped.cancelled() => None,
    };
    if let Some(message) = said {
        events.push("warm-up", "", message);
    }
}
