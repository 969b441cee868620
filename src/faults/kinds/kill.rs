//! `kill`: SIGKILL (`docker kill`); with a duration, restarted on the same
//! data afterwards.

use nix::sys::signal::Signal;

use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, process};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Kill;

impl Behaviour for Kill {
    const KIND: FaultKind = FaultKind::Kill;
    const SAID: &'static str = "was killed (SIGKILL)";
    const HEALS: bool = true;
    const LINK: bool = false;
    const HEALED_AT_END: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const STOPS_PROCESSES: bool = true;

    fn from_spec(_: &mut Problems<'_>, _: &str, _: &TimelineSpec) -> Self {
        Kill
    }

    /// Any node sessiondrill runs.
    fn applies(_node: &Node) -> Result<(), String> {
        Ok(())
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(node: &Node, _peers: bool) -> Budget {
        budget::cut_off_primary(node).unwrap_or_else(|| budget::crash(node))
    }

    fn checkpoints(roles: bool, _peers: bool) -> (bool, bool) {
        (false, roles)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        for &i in cx.nodes {
            process::kill(&mut cx.dep.nodes[i])?;
        }
        Ok(process::how(&cx.handles(), Signal::SIGKILL))
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        process::restart_in(cx.dep, i).await
    }
}
