//! Bringing a spare server into a live Redis Cluster, as `redis-cli
//! --cluster add-node` does: `CLUSTER MEET` sent to a member, then the
//! cluster's gossip spreads the newcomer to every other node. Shared by
//! `add-master` (it stays a master without slots: `reshard` gives it
//! some) and `add-replica` (it then replicates a master).
//!
//! The spare runs from `up` on (`spares: N` on the cluster), alone: what
//! the drill rehearses is the joining under load, not a process start.

use std::time::{Duration, Instant};

use super::spec::TimelineSpec;
use crate::provision::redis::probe::{RedisProbe, info_field};
use crate::provision::{Deployment, Role};
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

/// The time between two looks at the cluster (and at a new replica's
/// sync): what its times are measured to.
pub const LOOK: Duration = Duration::from_millis(20);

/// How long gossip may take to spread a newcomer to every node (each node
/// pings a few others every 100 ms, and a newcomer's handshake rides on
/// those pings).
const GOSSIP: Duration = Duration::from_secs(15);

/// A spare, met by a member, on its way in.
pub struct Joining {
    pub name: String,
    pub spare: RedisProbe,
    pub id: String,
    /// The client port it announces (what MOVED names).
    pub port: u16,
    /// Every process of the cluster that answered when it was met, by
    /// name (one down then is not waited for: the others tell it).
    pub members: Vec<(String, RedisProbe)>,
    pub started: Instant,
    pub deadline: Instant,
}

/// Meet the group's first spare still alone with the cluster through
/// `introducer` (a process of the cluster, by index).
pub async fn meet(dep: &Deployment, introducer: usize) -> Result<Joining, String> {
    let first = &dep.nodes[introducer];
    let group = first.info.node.clone();
    let mut spare = None;
    let mut members = Vec::new();
    for n in dep.nodes.iter().filter(|n| n.info.node == group) {
        let probe = n.redis_probe();
        let Ok(info) = probe
            .query::<String>(redis::cmd("CLUSTER").arg("INFO"))
            .await
        else {
            continue; // down: neither a member to wait for nor a spare to take
        };
        let known = info_field(&info, "cluster_known_nodes");
        if n.info.role == Role::Spare && known == Some("1") {
            if spare.is_none() {
                spare = Some((n.info.name.clone(), probe));
            }
        } else {
            members.push((n.info.name.clone(), probe));
        }
    }
    if !members.iter().any(|(n, _)| *n == first.info.name) {
        return Err(format!(
            "{} is not in the cluster (a spare, or down): it cannot bring another in",
            first.info.name
        ));
    }
    let Some((name, spare)) = spare else {
        return Err(format!(
            "`{group}` has no spare left alone to bring in (`spares:` on the cluster gives add-master and add-replica one each)"
        ));
    };
    let view: String = spare.query(redis::cmd("CLUSTER").arg("NODES")).await?;
    let Myself { id, port, bus, .. } = myself(&view)
        .ok_or_else(|| format!("{name} does not name itself in CLUSTER NODES: {view}"))?;
    let started = Instant::now();
    crate::provision::redis::cluster::meet(&first.redis_probe(), port, bus)
        .await
        .map_err(|e| format!("{} would not meet {name}: {e}", first.info.name))?;
    Ok(Joining {
        name,
        spare,
        id,
        port,
        members,
        started,
        deadline: started + GOSSIP,
    })
}

impl Joining {
    /// Wait until every member that answered knows the newcomer as a
    /// connected node and it knows at least as many nodes, none of them
    /// still in a handshake; how long it took from the meeting (to the
    /// [`LOOK`] between looks). A look that fails (a busy or paused node)
    /// is tried again until the deadline.
    pub async fn known(&self) -> Result<Duration, String> {
        let want = self.members.len() + 1;
        loop {
            let mut missing = Vec::new();
            for (name, m) in &self.members {
                match m.query::<String>(redis::cmd("CLUSTER").arg("NODES")).await {
                    Ok(view) if knows(&view, &self.id) => {}
                    Ok(_) => missing.push(name.clone()),
                    Err(e) => missing.push(format!("{name} ({e})")),
                }
            }
            let own = self
                .spare
                .query::<String>(redis::cmd("CLUSTER").arg("NODES"))
                .await
                .unwrap_or_default();
            let settled = own.lines().filter(|l| !l.trim().is_empty()).count() >= want
                && !own.contains("handshake")
                && !own.contains("noaddr");
            if missing.is_empty() && settled {
                return Ok(self.started.elapsed());
            }
            if Instant::now() > self.deadline {
                return Err(format!(
                    "{} was not known to the whole cluster after {:.1} s: not to {}{}",
                    self.name,
                    self.started.elapsed().as_secs_f64(),
                    if missing.is_empty() {
                        "itself".to_string()
                    } else {
                        missing.join(", ")
                    },
                    if settled {
                        ""
                    } else {
                        " (its own view not settled)"
                    }
                ));
            }
            tokio::time::sleep(LOOK).await;
        }
    }
}

/// A node as it names itself in `CLUSTER NODES`.
#[derive(Debug, PartialEq)]
pub struct Myself {
    pub id: String,
    /// The client and bus ports it announces.
    pub port: u16,
    pub bus: u16,
    pub master: bool,
}

/// The `myself` line of a `CLUSTER NODES` answer.
pub fn myself(text: &str) -> Option<Myself> {
    let l = text.lines().find(|l| {
        l.split_whitespace()
            .nth(2)
            .is_some_and(|f| f.split(',').any(|f| f == "myself"))
    })?;
    let mut f = l.split_whitespace();
    let id = f.next()?.to_string();
    let addr = f.next()?.split(',').next()?;
    let master = f.next()?.split(',').any(|f| f == "master");
    let (host_port, bus) = addr.split_once('@')?;
    let (_, port) = host_port.rsplit_once(':')?;
    Some(Myself {
        id,
        port: port.parse().ok()?,
        bus: bus.parse().ok()?,
        master,
    })
}

/// Does this `CLUSTER NODES` view have node `id` as a connected member
/// (not in handshake, not failing)?
fn knows(view: &str, id: &str) -> bool {
    view.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 8
            && f[0] == id
            && !f[2]
                .split(',')
                .any(|x| matches!(x, "handshake" | "noaddr" | "fail" | "fail?"))
            && f[7] == "connected"
    })
}

/// `duration` would mean nothing: the join ends when it has happened.
pub fn refuse_duration(c: &mut Problems<'_>, path: &str, s: &TimelineSpec, kind: &str) {
    if s.duration.is_some() {
        c.at(
            &format!("{path}.duration"),
            format!("{kind} ends when the spare has joined: it takes no duration"),
        );
    }
}

/// A redis-cluster with a spare for it to bring in.
pub fn needs_a_spare(node: &Node, kind: &str) -> Result<(), String> {
    match &node.kind {
        NodeKind::RedisCluster(c) if c.spares >= 1 => Ok(()),
        NodeKind::RedisCluster(_) => Err(format!(
            "{kind} brings a spare server into the cluster; `{}` has none (add `spares: 1`)",
            node.name
        )),
        NodeKind::Redis(_)
        | NodeKind::RedisReplicated(_)
        | NodeKind::Dynamodb(_)
        | NodeKind::Dax(_)
        | NodeKind::Memcached(_) => Err(format!(
            "{kind} adds a node to a cluster; `{}` is not a redis-cluster",
            node.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_names_itself_and_its_ports() {
        let alone = "f0e1 127.0.0.1:7006@17006 myself,master - 0 0 0 connected\n";
        let me = |id: &str, port, bus, master| Myself {
            id: id.into(),
            port,
            bus,
            master,
        };
        assert_eq!(myself(alone), Some(me("f0e1", 7006, 17006, true)));
        // Before a MEET without an announced address the host is empty.
        let bare = "ab12 :7007@17007,host myself,slave f0e1 0 0 0 connected\n";
        assert_eq!(myself(bare), Some(me("ab12", 7007, 17007, false)));
        assert_eq!(myself("garbage"), None);
    }

    #[test]
    fn a_member_knows_a_newcomer_only_once_it_is_connected() {
        let id = "f0e1";
        let shaking = "f0e1 127.0.0.1:7006@17006 handshake - 0 0 0 disconnected\n";
        let joined = "f0e1 127.0.0.1:7006@17006 master - 0 1700 0 connected\n";
        let failing = "f0e1 127.0.0.1:7006@17006 master,fail? - 0 1700 0 connected\n";
        assert!(!knows(shaking, id));
        assert!(knows(joined, id));
        assert!(!knows(failing, id));
        assert!(!knows(joined, "other"));
    }
}
