//! Removing what a drill wrote on systems it does not run (issue 20), at
//! the end of every run — also one the user cut short (Ctrl-C ends the
//! load, then comes here). Redis keys go by SCAN of the run's prefix
//! ([`crate::provision::external::remove_run_keys`]); memcached and
//! DynamoDB cannot list keys cheaply, so the item of every session id the
//! run could use (below `workload.sessions`) is read and, where there is
//! one, deleted, through the strategy's own store.

use futures::StreamExt;

use crate::provision::Deployment;
use crate::provision::external::{EXCHANGE, Removed, remove_run_keys};
use crate::report::ExternalCleanup;
use crate::scenario::Scenario;
use crate::store::dynamodb::{DynamoBackend, DynamoStore};
use crate::store::memcached::{MemcachedStore, Server};
use crate::store::{Backend, SessionStore, StrategyKind, namespace};
use crate::topology::{DynamoEngine, Node, NodeKind};

/// How many sessions a cleanup works on at once.
const CONCURRENCY: usize = 16;

/// Every external node's cleanup, in topology order.
pub(super) async fn run(scenario: &Scenario, run_id: &str, d: &Deployment) -> Vec<ExternalCleanup> {
    let tag = run_id.rsplit('-').next().unwrap_or(run_id);
    let sessions = scenario.workload.sessions;
    let mut out = Vec::new();
    for node in scenario.topology.nodes.iter() {
        if node.external.is_none() {
            continue;
        }
        let done = remove(node, d, tag, sessions, &scenario.strategies).await;
        let (removed, left, error) = match done {
            Ok(Removed {
                removed,
                left,
                error,
            }) => (removed, left, error),
            Err(e) => (0, 0, Some(e)),
        };
        out.push(ExternalCleanup {
            node: node.name.clone(),
            removed,
            left,
            error,
        });
    }
    out
}

async fn remove(
    node: &Node,
    d: &Deployment,
    tag: &str,
    sessions: u64,
    strategies: &[StrategyKind],
) -> Result<Removed, String> {
    // Each strategy that used this kind of store wrote under its own
    // namespace.
    let using = |b: Backend| strategies.iter().copied().filter(move |k| k.uses(b));
    let handles: Vec<_> = d
        .nodes
        .iter()
        .filter(|h| h.info.node == node.name)
        .collect();
    match &node.kind {
        NodeKind::Redis(_) | NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_) => {
            remove_run_keys(node, &handles, tag).await
        }
        NodeKind::Memcached(_) => {
            // Directly, never through a link proxy a fault may still hold;
            // in the order the strategy shards over.
            let servers: Vec<Server> = handles
                .iter()
                .map(|h| Server {
                    host: h.info.host.clone(),
                    port: h.info.port,
                    name: h.info.host.clone(),
                })
                .collect();
            let tls = handles.first().and_then(|h| h.client_tls.clone());
            let mut total = Removed::default();
            for kind in using(Backend::Memcached) {
                let ns = namespace(tag, kind);
                let store =
                    MemcachedStore::new(&servers, &ns, CONCURRENCY, EXCHANGE).with_tls(tls.clone());
                total.add(remove_sessions(&store, sessions).await);
            }
            Ok(total)
        }
        NodeKind::Dynamodb(db) => {
            let DynamoEngine::Endpoint { url } = &db.engine else {
                return Err("not an endpoint".into());
            };
            let table = db.tables.first().ok_or("no table")?;
            let mut total = Removed::default();
            for kind in using(Backend::Dynamodb) {
                let store = DynamoStore {
                    backend: DynamoBackend::new(url, &db.region, table, EXCHANGE).await,
                    namespace: namespace(tag, kind),
                };
                total.add(remove_sessions(&store, sessions).await);
            }
            Ok(total)
        }
        NodeKind::Dax(_) => Err("a dax node is never external".into()),
    }
}

/// Delete session ids `0..sessions` from `store` (each read first, so that
/// only those there are counted), then read each again: removed and left.
/// A session that fails is counted and the others go on.
async fn remove_sessions(store: &dyn SessionStore, sessions: u64) -> Removed {
    let mut done = Removed::default();
    let mut failed = 0u64;
    let mut first: Option<String> = None;
    for removing in [true, false] {
        let mut found = futures::stream::iter(0..sessions)
            .map(|id| async move {
                let there = store.get(id).await.map_err(|e| e.to_string())?.is_some();
                if there && removing {
                    store.delete(id).await.map_err(|e| e.to_string())?;
                }
                Ok::<_, String>(there)
            })
            .buffer_unordered(CONCURRENCY);
        while let Some(there) = found.next().await {
            match there {
                Ok(true) if removing => done.removed += 1,
                Ok(true) => done.left += 1,
                Ok(false) => {}
                Err(e) => {
                    failed += 1;
                    first.get_or_insert(e);
                }
            }
        }
    }
    if let Some(e) = first {
        done.error = Some(format!("{failed} reads or deletes failed (the first: {e})"));
    }
    done
}
