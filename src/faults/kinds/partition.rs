//! `partition`: hold every byte on the link (one direction or both) until
//! healed. On the peer link of a cluster node: cut it off the cluster bus
//! and replication, while clients still reach it.

use crate::fabric::proxy::{Direction, Toxics};
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, link};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// The one direction it holds, or both (`None`).
    pub direction: Option<Direction>,
}

impl Behaviour for Partition {
    const KIND: FaultKind = FaultKind::Partition;
    const SAID: &'static str = "was cut off";
    const HEALS: bool = true;
    const STOPS_PROCESSES: bool = false;
    const LINK: bool = true;
    const HEALED_AT_END: bool = true;
    const NEEDS: Needs = Needs::PROXIES;
    const FIELDS: &'static [&'static str] = &["direction"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let direction = match s.direction.as_deref() {
            None | Some("both") => None,
            Some("up") => Some(Direction::Up),
            Some("down") => Some(Direction::Down),
            Some(other) => {
                c.at(
                    &format!("{path}.direction"),
                    format!(
                        "unknown direction `{other}`, expected both, up (client → node) or down"
                    ),
                );
                None
            }
        };
        Partition { direction }
    }

    /// A primary cut off from its peers: a failover's loss.
    /// Any node sessiondrill runs.
    fn applies(_node: &Node) -> Result<(), String> {
        Ok(())
    }

    fn budget(node: &Node, peers: bool) -> Budget {
        if peers {
            budget::cut_off_primary(node).unwrap_or_else(|| budget::nothing(node))
        } else {
            budget::link()
        }
    }

    fn checkpoints(roles: bool, peers: bool) -> (bool, bool) {
        (false, roles && peers)
    }

    /// A primary cut off from its peers keeps accepting writes that a
    /// failover then discards.
    fn destroys_while_in_force(peers: bool) -> bool {
        peers
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let mut said = Vec::new();
        for &i in cx.nodes {
            let node = &cx.dep.nodes[i];
            said.push(if cx.peers && node.bus_proxy.is_some() {
                link::cluster_partition(&cx.dep.nodes, i, true)?
            } else {
                link::proxy(node, cx.peers)?.update(|t| self.toxics(t));
                let way = match self.direction {
                    None => "both ways",
                    Some(Direction::Up) => "client → node",
                    Some(Direction::Down) => "node → client",
                };
                format!(
                    "partition of the {} of {} ({way}), held until healed",
                    link::which(cx.peers),
                    node.info.name
                )
            });
        }
        Ok(said.join("; "))
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        if cx.peers && cx.dep.nodes[i].bus_proxy.is_some() {
            link::cluster_partition(&cx.dep.nodes, i, false)
        } else {
            link::mend(cx, i, Self::KIND)
        }
    }

    fn toxics(&self, t: &mut Toxics) {
        match self.direction {
            None => {
                t.block_up = true;
                t.block_down = true;
            }
            Some(Direction::Up) => t.block_up = true,
            Some(Direction::Down) => t.block_down = true,
        }
    }

    fn label(&self) -> String {
        let way = match self.direction {
            None => "both",
            Some(Direction::Up) => "one-way",
            Some(Direction::Down) => "down",
        };
        format!("partition {way}")
    }
}
