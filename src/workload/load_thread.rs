//! The thread the load engine runs on when every store of the run has a
//! light client (Redis, memcached; see [`for_load`]): a single-threaded
//! runtime of its own. The prefill, the generator, the operations it
//! spawns, the connections they open, the aggregator of their samples, the
//! checkpoints and the final sweep share one thread and hand each other
//! work without waking another (measured: on two cores, the hand-over
//! between the main runtime's two workers cost the drill's open loop
//! 17–27 µs per operation; docs/PERFORMANCE.md, "The load on a thread of
//! its own"). The rest of the drill — the timeline's faults, the observer,
//! the link proxies, the dashboard — stays on the main runtime and does
//! not take turns with the load.
//!
//! The runtime lives as long as the process: the connections the engine
//! opened are driven by it, and are used by whoever holds the store.
//! `SESSIONDRILL_LOAD_THREAD=0` runs every load on the main runtime (for
//! comparisons).

use std::sync::OnceLock;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::store::{Backend, StrategyKind};

static LOAD: OnceLock<Option<Handle>> = OnceLock::new();

/// The load's runtime; `None` when turned off or it could not start (the
/// load then runs on the caller's runtime, as it did before).
fn handle() -> Option<Handle> {
    LOAD.get_or_init(|| {
        let off = std::env::var("SESSIONDRILL_LOAD_THREAD").is_ok_and(|v| v == "0");
        if off {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("sessiondrill-load".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::warn!("the load's runtime did not start: {e}");
                        let _ = tx.send(None);
                        return;
                    }
                };
                let _ = tx.send(Some(rt.handle().clone()));
                rt.block_on(std::future::pending::<()>());
            });
        match spawned {
            Ok(_) => rx.recv().ok().flatten(),
            Err(e) => {
                tracing::warn!("the load's thread did not start: {e}");
                None
            }
        }
    })
    .clone()
}

/// Where a load of `strategies` runs: the load's thread when every store
/// they reach has a light client, the caller's runtime (`None`) when one
/// goes over HTTP. A DynamoDB or DAX request costs its client far more CPU
/// (signing, JSON, HTTP) than a Redis command, and one thread then queues
/// the operations behind each other: measured on `all-strategies-baseline`
/// (four strategies, three through DynamoDB), the Redis p50 was 0.59-0.68
/// ms on the load's thread against 0.44-0.49 ms on the two workers.
pub fn for_load(strategies: &[StrategyKind]) -> Option<Handle> {
    let light = strategies
        .iter()
        .flat_map(|s| s.backends())
        .all(|b| match b {
            Backend::Redis | Backend::Memcached => true,
            Backend::Dynamodb | Backend::Dax => false,
        });
    if light { handle() } else { None }
}

/// Spawn `task` on `place` (the caller's runtime when `None`).
pub fn spawn<F>(place: &Option<Handle>, task: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match place {
        Some(h) => h.spawn(task),
        None => tokio::spawn(task),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_load_through_http_stays_on_the_callers_runtime() {
        use StrategyKind::*;
        for heavy in [
            vec![Dynamodb],
            vec![Redis, Dax],
            vec![WriteThrough],
            vec![Memcached, CacheAside],
        ] {
            assert!(for_load(&heavy).is_none(), "{heavy:?}");
        }
        // Light clients only: the load's thread (unless turned off), which
        // runs what it is given on a thread that is not this one.
        let place = for_load(&[Redis, Memcached, RedisLock]);
        if std::env::var("SESSIONDRILL_LOAD_THREAD").is_ok_and(|v| v == "0") {
            assert!(place.is_none());
            return;
        }
        assert!(place.is_some());
        let here = std::thread::current().id();
        let there = spawn(&place, async { std::thread::current().id() })
            .await
            .unwrap();
        assert_ne!(here, there);
        let name = spawn(&place, async {
            std::thread::current().name().map(str::to_string)
        })
        .await
        .unwrap();
        assert_eq!(name.as_deref(), Some("sessiondrill-load"));
    }
}
