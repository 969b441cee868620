//! `add-master`: a spare server of the cluster (`spares: N`) joins it
//! under load, as `redis-cli --cluster add-node` does it: `CLUSTER MEET`,
//! then gossip spreads it to every node. It is a master without slots: a
//! `reshard` after it moves slots to it (the master with the fewest), as
//! a team scaling out does in two steps. Clients see nothing of the join
//! itself; they meet the new master through `MOVED` once it owns slots.

use crate::faults::FaultKind;
use crate::faults::behaviour::{Behaviour, Finished, Mend, Needs, Strike};
use crate::faults::budget::Budget;
use crate::faults::join;
use crate::faults::spec::TimelineSpec;
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddMaster {
    /// Once every node knows the newcomer.
    done: Finished,
}

impl Behaviour for AddMaster {
    const KIND: FaultKind = FaultKind::AddMaster;
    const SAID: &'static str = "had a new master join the cluster";
    // It ends by itself once the cluster knows the newcomer.
    const HEALS: bool = true;
    const LINK: bool = false;
    const HEALED_AT_END: bool = true;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        join::refuse_duration(c, path, s, "add-master");
        AddMaster::default()
    }

    fn applies(node: &Node) -> Result<(), String> {
        join::needs_a_spare(node, "add-master")
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(_node: &Node, _peers: bool) -> Budget {
        Budget::new(
            "a node joining the cluster: no slot changes hands, nothing acknowledged may be lost",
            Some(0.0),
        )
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        (false, false)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let Some(&introducer) = cx.nodes.first() else {
            return Err("no process of the cluster to introduce the spare".into());
        };
        let joining = join::meet(cx.dep, introducer).await?;
        let said = format!(
            "{} met {} to join as a master",
            cx.dep.nodes[introducer].info.name, joining.name
        );
        cx.ends = Some(self.done.track(async move {
            let took = joining.known().await?;
            Ok(format!(
                "{} (127.0.0.1:{}) joined as a master without slots: the {} other nodes that answered knew it {} ms after the meeting (looked at every {} ms)",
                joining.name,
                joining.port,
                joining.members.len(),
                took.as_millis(),
                join::LOOK.as_millis()
            ))
        }));
        Ok(said)
    }

    async fn heal(&self, _cx: &mut Mend<'_>, _i: usize) -> Result<String, String> {
        self.done.heal(
            "the cluster knows its new master",
            "the new master had not joined",
        )
    }
}
