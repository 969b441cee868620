//! `resume`: SIGCONT (`docker unpause`); ends the pauses of the processes.

use nix::sys::signal::Signal;

use crate::faults::behaviour::{Behaviour, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, process};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Resume;

impl Behaviour for Resume {
    const KIND: FaultKind = FaultKind::Resume;
    const SAID: &'static str = "was thawed (SIGCONT)";
    const HEALS: bool = false;
    const LINK: bool = false;
    const HEALED_AT_END: bool = false;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const ENDS: Option<FaultKind> = Some(FaultKind::Pause);

    fn from_spec(_: &mut Problems<'_>, _: &str, _: &TimelineSpec) -> Self {
        Resume
    }

    /// Any node sessiondrill runs.
    fn applies(_node: &Node) -> Result<(), String> {
        Ok(())
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        budget::nothing(node)
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        (true, false)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        for &i in cx.nodes {
            process::resume(&mut cx.dep.nodes[i])?;
        }
        Ok(process::how(&cx.handles(), Signal::SIGCONT))
    }
}
