//! `flush`: empty a cache — `FLUSHALL` on a Redis server (on a replicated
//! group, the primary; it replicates), `flush_all` on memcached, both
//! caches of a DAX node.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fabric::ports::HOST;
use crate::faults::FaultKind;
use crate::faults::behaviour::{Behaviour, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::provision::ProcessHandle;
use crate::topology::KindName;
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Flush;

impl Behaviour for Flush {
    const KIND: FaultKind = FaultKind::Flush;
    const SAID: &'static str = "had its data flushed";
    const HEALS: bool = false;
    const LINK: bool = false;
    const HEALED_AT_END: bool = false;
    const STOPS_PROCESSES: bool = false;
    const READ_FIRST: bool = true;
    const NEEDS: Needs = Needs::NOTHING;

    fn from_spec(_: &mut Problems<'_>, _: &str, _: &TimelineSpec) -> Self {
        Flush
    }

    fn applies(node: &Node) -> Result<(), String> {
        match node.kind {
            NodeKind::Redis(_)
            | NodeKind::RedisReplicated(_)
            | NodeKind::RedisCluster(_)
            | NodeKind::Memcached(_)
            | NodeKind::Dax(_) => Ok(()),
            NodeKind::Dynamodb(_) => {
                Err(format!("flush empties a cache; `{}` is not one", node.name))
            }
        }
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        match node.kind {
            NodeKind::Redis(_) | NodeKind::RedisReplicated(_) | NodeKind::RedisCluster(_) => {
                Budget::new("flush: every session in the cache", None)
            }
            NodeKind::Dax(_) => budget::dax_cache(),
            NodeKind::Memcached(_) | NodeKind::Dynamodb(_) => budget::crash(node),
        }
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        (true, false)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        for &i in cx.nodes {
            bounded(&cx.dep.nodes[i]).await?;
        }
        Ok(format!("flushed {}", cx.names.join(", ")))
    }
}

/// Bounded: a paused node must not hang the run (the deployment is locked
/// while a fault is injected).
async fn bounded(node: &ProcessHandle) -> Result<(), String> {
    tokio::time::timeout(std::time::Duration::from_secs(2), flush(node))
        .await
        .unwrap_or_else(|_| Err(format!("{} did not answer within 2 s", node.info.name)))
}

async fn flush(node: &ProcessHandle) -> Result<(), String> {
    let port = node.info.port;
    match node.info.kind {
        KindName::Memcached => {
            let mut s = tokio::net::TcpStream::connect((HOST, port))
                .await
                .map_err(|e| e.to_string())?;
            s.write_all(b"flush_all\r\n")
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 16];
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if buf[..n].starts_with(b"OK") {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&buf[..n]).into_owned())
            }
        }
        KindName::Dax => {
            crate::nodes::dax::probe::flush(port, std::time::Duration::from_secs(2)).await
        }
        KindName::Redis | KindName::RedisReplicated | KindName::RedisCluster => {
            if node.info.role.is_sentinel() {
                return Err(format!(
                    "{} is a Sentinel: it holds no sessions",
                    node.info.name
                ));
            }
            let ok: String = node.redis_probe().query(&redis::cmd("FLUSHALL")).await?;
            if ok == "OK" { Ok(()) } else { Err(ok) }
        }
        KindName::Dynamodb => Err(format!(
            "flush empties a cache; {} is DynamoDB",
            node.info.name
        )),
    }
}
