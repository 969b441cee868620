//! `reset`: close every open connection on the link at once.

use crate::faults::behaviour::{Behaviour, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, link};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Reset;

impl Behaviour for Reset {
    const KIND: FaultKind = FaultKind::Reset;
    const SAID: &'static str = "had its connections reset";
    const HEALS: bool = false;
    const HEALED_AT_END: bool = true;
    const STOPS_PROCESSES: bool = false;
    const LINK: bool = true;
    const NEEDS: Needs = Needs::PROXIES;

    fn from_spec(_: &mut Problems<'_>, _: &str, _: &TimelineSpec) -> Self {
        Reset
    }

    /// Any node sessiondrill runs.
    fn applies(_node: &Node) -> Result<(), String> {
        Ok(())
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(_node: &Node, _peers: bool) -> Budget {
        budget::link()
    }

    fn checkpoints(roles: bool, peers: bool) -> (bool, bool) {
        (false, roles && peers)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let mut said = Vec::new();
        for &i in cx.nodes {
            let node = &cx.dep.nodes[i];
            link::proxy(node, cx.peers)?.reset();
            said.push(format!(
                "every connection on the {} of {} reset",
                link::which(cx.peers),
                node.info.name
            ));
        }
        Ok(said.join("; "))
    }
}
