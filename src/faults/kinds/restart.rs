//! `restart`: SIGKILL and start again at once, on the same port and data.

use crate::faults::behaviour::{Behaviour, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, process};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Restart;

impl Behaviour for Restart {
    const KIND: FaultKind = FaultKind::Restart;
    const SAID: &'static str = "was restarted";
    const HEALS: bool = false;
    const LINK: bool = false;
    const HEALED_AT_END: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const STOPS_PROCESSES: bool = true;

    fn from_spec(_: &mut Problems<'_>, _: &str, _: &TimelineSpec) -> Self {
        Restart
    }

    /// Any node sessiondrill runs.
    fn applies(_node: &Node) -> Result<(), String> {
        Ok(())
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        budget::crash(node)
    }

    fn checkpoints(roles: bool, _peers: bool) -> (bool, bool) {
        (true, roles)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let mut took = Vec::new();
        for (&i, name) in cx.nodes.iter().zip(cx.names) {
            process::kill(&mut cx.dep.nodes[i])?;
            let (nodes, spawner) = cx.dep.nodes_and_spawner();
            let t = process::start_again(&mut nodes[i], spawner).await?;
            took.push(format!("{name} answered after {} ms", t.as_millis()));
        }
        Ok(format!("restarted: {}", took.join(", ")))
    }
}
