//! `power-loss`: SIGKILL the node, then make its data directory hold only
//! what it had fsynced (see [`crate::fabric::powerfs`]); with a duration,
//! restarted on what survived. A plain `kill` loses nothing that reached
//! the kernel; this is the difference the drill shows.

use std::time::{Duration, Instant};

use crate::fabric::powerfs::LossSummary;
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, process};
use crate::provision::{Deployment, ProcessHandle};
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

/// How long a power loss with `unsynced` waits beyond it for the node to go
/// that long without an fsync (with `appendfsync always` it never does).
pub const UNSYNCED_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq)]
pub struct PowerLoss {
    /// Fall only once the node has gone this long without an fsync
    /// (waiting at most this + [`UNSYNCED_GRACE`]), i.e. with this much at
    /// risk.
    pub unsynced: Option<Duration>,
}

impl Behaviour for PowerLoss {
    const KIND: FaultKind = FaultKind::PowerLoss;
    const SAID: &'static str = "lost power";
    const HEALS: bool = true;
    const LINK: bool = false;
    // Always followed by a restart: without one, the sweep could prove
    // nothing about what survived.
    const HEALED_AT_END: bool = true;
    const STOPS_PROCESSES: bool = true;
    const NEEDS: Needs = Needs::POWER_LOSS_FS;
    const FIELDS: &'static [&'static str] = &["unsynced"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let unsynced = s.unsynced.as_ref().map(|u| {
            let p = format!("{path}.unsynced");
            let d = c.duration(&p, u);
            if d > Duration::from_secs(60) {
                c.at(&p, format!("at most 60s; got {u:?}"));
            }
            d
        });
        PowerLoss { unsynced }
    }

    fn applies(node: &Node) -> Result<(), String> {
        match node.kind {
            NodeKind::Memcached(_) => Err(format!(
                "`{}` is memcached: it keeps nothing on disk, a power loss is a kill",
                node.name
            )),
            NodeKind::Redis(_)
            | NodeKind::RedisReplicated(_)
            | NodeKind::RedisCluster(_)
            | NodeKind::Dynamodb(_)
            | NodeKind::Dax(_) => Ok(()),
        }
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        budget::cut_off_primary(node).unwrap_or_else(|| match budget::redis_server(node) {
            Some(s) => budget::power_loss(s),
            None => budget::nothing(node),
        })
    }

    fn checkpoints(roles: bool, _peers: bool) -> (bool, bool) {
        (false, roles)
    }

    /// With `unsynced`, the fault's time is when it falls.
    async fn prepare(&self, dep: &Deployment, nodes: &[usize]) {
        if let (Some(at_least), Some(&i)) = (self.unsynced, nodes.first()) {
            wait_unsynced(&dep.nodes[i], at_least).await;
        }
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let mut total = LossSummary::default();
        let mut unsynced = Vec::new();
        // One moment for every node: their power goes before the first is
        // killed and repaired (which may take seconds).
        let cut_at: Vec<Option<Duration>> = cx
            .nodes
            .iter()
            .map(|&i| cut_power(&cx.dep.nodes[i]))
            .collect();
        for (&i, unsynced_for) in cx.nodes.iter().zip(cut_at) {
            let (s, since) = cut(&mut cx.dep.nodes[i], unsynced_for)?;
            total.add(&s);
            if let Some(d) = since {
                unsynced.push(format!("{} ms", d.as_millis()));
                let ms = d.as_millis() as u64;
                cx.unsynced_ms = Some(cx.unsynced_ms.map_or(ms, |m| m.max(ms)));
            }
        }
        let m = format!(
            "power lost on {}: {} bytes not fsynced discarded ({} files cut, {} removed; {} after the last fsync)",
            cx.names.join(", "),
            total.bytes_discarded,
            total.files_truncated,
            total.files_removed,
            unsynced.join(", "),
        );
        cx.discarded = Some(total);
        Ok(m)
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        process::restart_in(cx.dep, i).await
    }
}

/// Wait until nothing has been fsynced on `node`'s data directory for
/// `at_least` (at most `at_least` + [`UNSYNCED_GRACE`]): the moment when
/// that much of the node's writes would be lost. How long it waited.
pub async fn wait_unsynced(node: &ProcessHandle, at_least: Duration) -> Duration {
    let start = Instant::now();
    while let Some(since) = node.fs.as_ref().and_then(|fs| fs.since_last_sync()) {
        if since >= at_least || start.elapsed() >= at_least + UNSYNCED_GRACE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

/// The moment the power goes on `node`: from now on nothing it fsyncs is
/// durable. How long it had gone without an fsync.
fn cut_power(node: &ProcessHandle) -> Option<Duration> {
    node.fs.as_ref().and_then(|fs| {
        fs.cut_power();
        fs.since_last_sync()
    })
}

/// Kill the node whose power was cut ([`cut_power`], `unsynced_for`
/// after its last fsync) and keep only what was durable: what was
/// discarded, and `unsynced_for`.
fn cut(
    node: &mut ProcessHandle,
    unsynced_for: Option<Duration>,
) -> Result<(LossSummary, Option<Duration>), String> {
    let name = node.info.name.clone();
    if node.fs.is_none() {
        return Err(format!(
            "{name}: its data directory is not on the power-loss filesystem \
             (FUSE unavailable, or the run was started without it)"
        ));
    }
    process::kill(node)?;
    let Some(fs) = node.fs.as_mut() else {
        return Err(format!("{name}: its power-loss filesystem is gone"));
    };
    // Unmounting and repairing the data directory blocks (up to seconds
    // without root): keep it off the runtime's workers where possible.
    let mut cut = || fs.power_loss();
    let result = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(cut),
        _ => cut(),
    };
    result
        .map(|summary| (summary, unsynced_for))
        .map_err(|e| format!("{name}: discarding unsynced data: {e}"))
}
