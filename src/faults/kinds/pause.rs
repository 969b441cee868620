//! `pause`: SIGSTOP (`docker pause`); with a duration, SIGCONT afterwards.

use nix::sys::signal::Signal;

use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, process};
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Pause;

impl Behaviour for Pause {
    const KIND: FaultKind = FaultKind::Pause;
    const SAID: &'static str = "was frozen (SIGSTOP)";
    const HEALS: bool = true;
    const LINK: bool = false;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const HEALED_AT_END: bool = true;

    fn from_spec(_: &mut Problems<'_>, _: &str, _: &TimelineSpec) -> Self {
        Pause
    }

    /// Any node sessiondrill runs.
    fn applies(_node: &Node) -> Result<(), String> {
        Ok(())
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        budget::cut_off_primary(node).unwrap_or_else(|| match node.kind {
            NodeKind::Dax(_) => budget::dax_cache(),
            NodeKind::Redis(_)
            | NodeKind::RedisReplicated(_)
            | NodeKind::RedisCluster(_)
            | NodeKind::Dynamodb(_)
            | NodeKind::Memcached(_) => budget::nothing(node),
        })
    }

    fn checkpoints(roles: bool, _peers: bool) -> (bool, bool) {
        (false, roles)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        for &i in cx.nodes {
            process::pause(&mut cx.dep.nodes[i])?;
        }
        Ok(process::how(&cx.handles(), Signal::SIGSTOP))
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        process::resume(&mut cx.dep.nodes[i]).map(|_| "resumed".to_string())
    }
}
