//! Provider docker: the engine, and the image of every program the
//! topology runs, ready before anything starts.

use super::{ProvisionError, docker};
use crate::topology::{DynamoEngine, NodeKind, Topology};

/// The engine, and the image of every program the topology runs, ready
/// before anything starts (images are built or pulled here).
pub(super) async fn containers(
    topology: &Topology,
    node_binary: &std::path::Path,
) -> Result<(std::sync::Arc<docker::Engine>, Images), ProvisionError> {
    let engine = docker::Engine::connect().map_err(|e| {
        ProvisionError::Docker(format!(
            "no Docker engine reachable: {e} (start one, e.g. ./scripts/dockerd.sh start, \
             and set DOCKER_HOST)"
        ))
    })?;
    let swept = docker::orphans::sweep(&engine);
    if swept > 0 {
        tracing::info!(
            swept,
            "removed containers of sessiondrill runs that were killed"
        );
    }
    let mut images = Images::new();
    for n in topology.nodes.iter().filter(|n| n.external.is_none()) {
        let families: &[docker::Family] = match &n.kind {
            NodeKind::Redis(_) | NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_) => {
                &[docker::Family::Redis]
            }
            NodeKind::Memcached(_) => &[docker::Family::Memcached],
            NodeKind::Dynamodb(d) => match d.engine {
                DynamoEngine::Embedded { .. } => &[docker::Family::Node],
                DynamoEngine::Endpoint { .. } => &[],
            },
            NodeKind::Dax(_) => &[docker::Family::Node],
        };
        for &f in families {
            let key = (f, n.image.clone());
            if images.contains_key(&key) {
                continue;
            }
            let image = docker::images::resolve(&engine, f, n.image.as_deref(), node_binary)
                .await
                .map_err(|e| ProvisionError::Docker(format!("node `{}`: {e}", n.name)))?;
            tracing::debug!(node = %n.name, %image, "image");
            images.insert(key, image);
        }
    }
    Ok((engine, images))
}

pub(super) type Images = std::collections::HashMap<(docker::Family, Option<String>), String>;
