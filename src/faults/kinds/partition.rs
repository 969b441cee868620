//! `partition`: hold every byte on the link (one direction or both) until
//! healed. On the peer link of a cluster node: cut it off the cluster bus
//! and replication, while clients still reach it.

use crate::fabric::proxy::Toxics;
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, link};
use crate::topology::Node;
use crate::yaml::Problems;

/// Which way a partition holds bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Way {
    #[default]
    Both,
    /// Client → node only.
    Up,
    /// Node → client only.
    Down,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub way: Way,
}

impl Behaviour for Partition {
    const KIND: FaultKind = FaultKind::Partition;
    const HEALS: bool = true;
    const LINK: bool = true;
    const HEALED_AT_END: bool = true;
    const NEEDS: Needs = Needs {
        power_loss_fs: false,
        proxies: true,
    };
    const FIELDS: &'static [&'static str] = &["direction"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let way = match s.direction.as_deref() {
            None | Some("both") => Way::Both,
            Some("up") => Way::Up,
            Some("down") => Way::Down,
            Some(other) => {
                c.at(
                    &format!("{path}.direction"),
                    format!(
                        "unknown direction `{other}`, expected both, up (client → node) or down"
                    ),
                );
                Way::Both
            }
        };
        Partition { way }
    }

    /// A primary cut off from its peers: a failover's loss.
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
                let way = match self.way {
                    Way::Both => "both ways",
                    Way::Up => "client → node",
                    Way::Down => "node → client",
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
        match self.way {
            Way::Both => {
                t.block_up = true;
                t.block_down = true;
            }
            Way::Up => t.block_up = true,
            Way::Down => t.block_down = true,
        }
    }

    fn label(&self) -> String {
        let way = match self.way {
            Way::Both => "both",
            Way::Up => "one-way",
            Way::Down => "down",
        };
        format!("partition {way}")
    }
}
