//! `reshard`: move `slots` hash slots (default 1 000) from the cluster's
//! master with the most to the one with the fewest, under load, the way
//! `redis-cli --cluster reshard` does it: per slot, `SETSLOT IMPORTING` on
//! the destination and `MIGRATING` on the source, `MIGRATE` its keys in
//! batches, then `SETSLOT NODE` on every master. Clients meet `ASK` while
//! a slot moves and `MOVED` after.
//!
//! Written here rather than run through `redis-cli --cluster reshard`: the
//! steps are the same few commands, and over the run's own connections
//! (its password, never on a command line) the fault reports what it
//! moved, slot by slot, as it goes.

use std::time::Instant;

use crate::faults::FaultKind;
use crate::faults::behaviour::{Behaviour, Finished, Mend, Needs, Strike};
use crate::faults::budget::Budget;
use crate::faults::spec::TimelineSpec;
use crate::provision::ProcessHandle;
use crate::provision::redis::probe::RedisProbe;
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

/// Keys per `MIGRATE`.
const KEYS_PER_MIGRATE: usize = 100;

/// How long one `MIGRATE` may take, ms: within the reply timeout of the
/// connection that sends it, so that a slow one fails on both sides.
const MIGRATE_TIMEOUT_MS: u64 = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Reshard {
    pub slots: u32,
    /// Once every slot moved.
    done: Finished,
}

impl Behaviour for Reshard {
    const KIND: FaultKind = FaultKind::Reshard;
    const SAID: &'static str = "had hash slots moved to another master";
    // It ends by itself when the last slot has moved: the load runs
    // through the move, and the checkpoint comes when it ends.
    const HEALS: bool = true;
    const LINK: bool = false;
    const HEALED_AT_END: bool = true;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const FIELDS: &'static [&'static str] = &["slots"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let slots = s.slots.unwrap_or(1000);
        if !(1..=16_383).contains(&slots) {
            c.at(
                &format!("{path}.slots"),
                "slots must be between 1 and 16383 (the source keeps at least one)",
            );
        }
        if s.duration.is_some() {
            c.at(
                &format!("{path}.duration"),
                "reshard ends when its last slot has moved: it takes no duration (one would stop it halfway)",
            );
        }
        Reshard {
            slots,
            done: Finished::default(),
        }
    }

    fn applies(node: &Node) -> Result<(), String> {
        match &node.kind {
            NodeKind::RedisCluster(c) if c.shards >= 2 && !c.server.tls => Ok(()),
            NodeKind::RedisCluster(c) if c.server.tls => Err(format!(
                "reshard moves keys with MIGRATE, which does not speak TLS here; `{}` is a TLS cluster",
                node.name
            )),
            NodeKind::RedisCluster(_) => Err(format!(
                "reshard needs at least two masters; `{}` has one",
                node.name
            )),
            NodeKind::Redis(_)
            | NodeKind::RedisReplicated(_)
            | NodeKind::Dynamodb(_)
            | NodeKind::Dax(_)
            | NodeKind::Memcached(_) => Err(format!(
                "reshard moves a cluster's slots; `{}` is not a redis-cluster",
                node.name
            )),
        }
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(_node: &Node, _peers: bool) -> Budget {
        Budget::new(
            "online resharding: every key moves with MIGRATE while clients follow ASK and MOVED; nothing acknowledged may be lost",
            Some(0.0),
        )
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        // Its checkpoint is when it ends (it heals).
        (false, false)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let Some(&target) = cx.nodes.first() else {
            return Err("no process of the cluster to reshard".into());
        };
        // Every process of the cluster (the target names one of them).
        let group = cx.dep.nodes[target].info.node.clone();
        let masters: Vec<&ProcessHandle> = cx
            .dep
            .nodes
            .iter()
            .filter(|n| n.info.node == group)
            .collect();
        let first = &cx.dep.nodes[target];
        let started = Instant::now();
        let view: String = first
            .redis_probe()
            .query(redis::cmd("CLUSTER").arg("NODES"))
            .await?;
        if let Some(l) = view.lines().find(|l| l.contains('[')) {
            return Err(format!(
                "a slot is already being moved (as redis-cli refuses to, not resharding over it): {l}"
            ));
        }
        let mut nodes = parse_nodes(&view);
        let in_cluster: std::collections::HashSet<String> =
            nodes.iter().map(|n| n.id.clone()).collect();
        nodes.retain(|n| n.master && !n.failed && n.port != 0);
        nodes.sort_by_key(|n| std::cmp::Reverse(n.slots.len()));
        let (Some(src), Some(dst)) = (nodes.first(), nodes.last()) else {
            return Err("CLUSTER NODES names no master".into());
        };
        if src.id == dst.id {
            return Err("only one master holds slots".into());
        }
        let moving: Vec<u16> = src
            .slots
            .iter()
            .rev()
            .take(self.slots as usize)
            .copied()
            .collect();
        if moving.len() < self.slots as usize {
            return Err(format!(
                "the master with the most slots has {}, fewer than the {} asked for",
                src.slots.len(),
                self.slots
            ));
        }
        // The run's processes by their cluster id; a spare still alone is
        // not in the cluster and takes no part.
        let mut by_id = std::collections::HashMap::new();
        let mut unknown = Vec::new();
        let mut members: Vec<&ProcessHandle> = Vec::new();
        for m in &masters {
            let name = &m.info.name;
            match m
                .redis_probe()
                .query::<String>(redis::cmd("CLUSTER").arg("MYID"))
                .await
            {
                Ok(id) if in_cluster.contains(&id) => {
                    by_id.insert(id, *m);
                    members.push(*m);
                }
                Ok(_) => {}
                Err(e) => {
                    unknown.push(format!("{name}: {e}"));
                    members.push(*m);
                }
            }
        }
        let (Some(from), Some(to)) = (by_id.get(&src.id), by_id.get(&dst.id)) else {
            return Err(format!(
                "the masters CLUSTER NODES names ({} and {}) are not among this run's {} process(es) {}",
                src.id,
                dst.id,
                masters.len(),
                unknown.join("; ")
            ));
        };
        let access = first.redis.clone().unwrap_or_default();
        // What the cluster had sent of redirections before the move.
        let everyone: Vec<RedisProbe> = members.iter().map(|m| m.redis_probe()).collect();
        let before = redirections(&everyone).await;
        let plan = Move {
            slots: moving,
            from: from.redis_probe(),
            to: to.redis_probe(),
            others: members
                .iter()
                .filter(|m| !std::ptr::eq(**m, *from) && !std::ptr::eq(**m, *to))
                .map(|m| m.redis_probe())
                .collect(),
            src: src.clone(),
            dst: dst.clone(),
            user: access.user.clone(),
            password: access.password.clone(),
            everyone,
            before,
        };
        let said = format!(
            "moving {} slots from {}:{} to {}:{}",
            plan.slots.len(),
            src.host,
            src.port,
            dst.host,
            dst.port
        );
        cx.ends = Some(self.done.track(plan.run(started)));
        Ok(said)
    }

    async fn heal(&self, _cx: &mut Mend<'_>, _i: usize) -> Result<String, String> {
        self.done
            .heal("every slot moved", "the resharding had not finished")
    }
}

/// The move, planned: what runs while the load goes on.
struct Move {
    slots: Vec<u16>,
    from: RedisProbe,
    to: RedisProbe,
    /// The cluster's other processes, told where each slot went.
    others: Vec<RedisProbe>,
    src: ClusterNode,
    dst: ClusterNode,
    user: Option<String>,
    password: String,
    /// Every process of the cluster, and the `MOVED` and `ASK` replies
    /// they had sent before the move.
    everyone: Vec<RedisProbe>,
    before: Result<[u64; 2], String>,
}

impl Move {
    async fn run(self, started: Instant) -> Result<String, String> {
        let mut keys_moved = 0usize;
        for &slot in &self.slots {
            if let Err(e) = self.one(slot, &mut keys_moved).await {
                // Not left half-moved: both back to stable, and said.
                let stable = |p: &RedisProbe| {
                    let p = p.clone();
                    async move {
                        p.query::<String>(
                            redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("STABLE"),
                        )
                        .await
                    }
                };
                let (a, b) = tokio::join!(stable(&self.from), stable(&self.to));
                return Err(format!(
                    "slot {slot} failed to move from {}:{} to {}:{} ({e}); {} — after {keys_moved} keys",
                    self.src.host,
                    self.src.port,
                    self.dst.host,
                    self.dst.port,
                    if a.is_ok() && b.is_ok() {
                        "set stable again on both".to_string()
                    } else {
                        format!("could not set it stable again: {a:?} {b:?}")
                    }
                ));
            }
        }
        // The move's own proof: every slot is the destination's now, and
        // none is left between two masters.
        let view: String = self.to.query(redis::cmd("CLUSTER").arg("NODES")).await?;
        if let Some(l) = view.lines().find(|l| l.contains('[')) {
            return Err(format!(
                "a slot is still being moved after the last one: {l}"
            ));
        }
        let owned: std::collections::HashSet<u16> = parse_nodes(&view)
            .into_iter()
            .filter(|n| n.id == self.dst.id)
            .flat_map(|n| n.slots)
            .collect();
        if let Some(s) = self.slots.iter().find(|s| !owned.contains(s)) {
            return Err(format!(
                "slot {s} is not {}:{}'s after the move",
                self.dst.host, self.dst.port
            ));
        }
        let elapsed = started.elapsed().as_secs_f64();
        // The redirections the clients were sent meanwhile, as the servers
        // count them (the client follows them without telling).
        let sent = match (self.before.clone(), redirections(&self.everyone).await) {
            (Ok([m0, a0]), Ok([m1, a1])) => format!(
                "; the cluster sent {} MOVED and {} ASK redirections meanwhile (INFO errorstats)",
                m1.saturating_sub(m0),
                a1.saturating_sub(a0)
            ),
            (Err(e), _) | (_, Err(e)) => format!("; redirections not counted: {e}"),
        };
        Ok(format!(
            "moved {} slots ({keys_moved} keys) from {}:{} to {}:{} in {elapsed:.1} s{sent}",
            self.slots.len(),
            self.src.host,
            self.src.port,
            self.dst.host,
            self.dst.port,
        ))
    }

    /// Move `slot`: IMPORTING, MIGRATING, its keys, then its owner.
    async fn one(&self, slot: u16, keys_moved: &mut usize) -> Result<(), String> {
        {
            setslot(&self.to, slot, "IMPORTING", &self.src.id).await?;
            setslot(&self.from, slot, "MIGRATING", &self.dst.id).await?;
            loop {
                let keys: Vec<String> = self
                    .from
                    .query(
                        redis::cmd("CLUSTER")
                            .arg("GETKEYSINSLOT")
                            .arg(slot)
                            .arg(KEYS_PER_MIGRATE),
                    )
                    .await?;
                if keys.is_empty() {
                    break;
                }
                let mut m = redis::cmd("MIGRATE");
                m.arg(&self.dst.host)
                    .arg(self.dst.port)
                    .arg("")
                    .arg(0)
                    .arg(MIGRATE_TIMEOUT_MS);
                match &self.user {
                    Some(u) => m.arg("AUTH2").arg(u).arg(&self.password),
                    None if !self.password.is_empty() => m.arg("AUTH").arg(&self.password),
                    None => &mut m,
                };
                m.arg("KEYS").arg(&keys);
                let _: String = self.from.query(&m).await?;
                *keys_moved += keys.len();
            }
            // The destination first, so that no master points back.
            setslot(&self.to, slot, "NODE", &self.dst.id).await?;
            setslot(&self.from, slot, "NODE", &self.dst.id).await?;
            for other in &self.others {
                // A replica refuses; a master that misses it learns it
                // from the gossip.
                let _ = setslot(other, slot, "NODE", &self.dst.id).await;
            }
        }
        Ok(())
    }
}

async fn setslot(node: &RedisProbe, slot: u16, how: &str, id: &str) -> Result<(), String> {
    let ok: String = node
        .query(
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg(how)
                .arg(id),
        )
        .await?;
    if ok == "OK" { Ok(()) } else { Err(ok) }
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone, PartialEq)]
struct ClusterNode {
    id: String,
    host: String,
    port: u16,
    master: bool,
    failed: bool,
    slots: Vec<u16>,
}

fn parse_nodes(text: &str) -> Vec<ClusterNode> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let addr = f[1].split('@').next()?;
            let (host, port) = addr.rsplit_once(':')?;
            let flags = f[2];
            let mut slots = Vec::new();
            for r in &f[8..] {
                if r.starts_with('[') {
                    continue; // a slot being moved
                }
                let (a, b) = r.split_once('-').unwrap_or((r, r));
                let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) else {
                    continue;
                };
                slots.extend(a..=b.min(16_383));
            }
            Some(ClusterNode {
                id: f[0].to_string(),
                host: host.to_string(),
                port: port.parse().ok()?,
                master: flags.contains("master"),
                // Failing, or not yet a member with an address.
                failed: flags.contains("fail")
                    || flags.contains("handshake")
                    || flags.contains("noaddr"),
                slots,
            })
        })
        .collect()
}

/// The `MOVED` and `ASK` replies `probes` have sent since they started,
/// summed: `INFO errorstats` (Redis 6.2+) counts error replies by their
/// first word.
async fn redirections(probes: &[RedisProbe]) -> Result<[u64; 2], String> {
    let mut sum = [0u64; 2];
    for p in probes {
        let info = p.info("errorstats").await?;
        let [moved, ask] = errorstats(&info);
        sum[0] += moved;
        sum[1] += ask;
    }
    Ok(sum)
}

/// `errorstat_MOVED:count=12` and `errorstat_ASK:count=3` of an
/// `INFO errorstats` answer (0 when absent: none sent yet).
fn errorstats(info: &str) -> [u64; 2] {
    let count = |name: &str| {
        info.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("errorstat_{name}:count=")))
            .and_then(|n| n.split(',').next()?.parse().ok())
            .unwrap_or(0)
    };
    [count("MOVED"), count("ASK")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_are_read_with_their_slots() {
        let text = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n\
                    b2 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922 [10923->-c3]\n\
                    c3 127.0.0.1:7002@17002 master,fail - 0 0 3 connected 10923-16383\n\
                    d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected\n";
        let n = parse_nodes(text);
        assert_eq!(n.len(), 4);
        assert_eq!(
            (n[0].port, n[0].slots.len(), n[0].master),
            (7000, 5461, true)
        );
        assert_eq!(n[1].slots.len(), 5462);
        assert!(n[2].failed && !n[3].master && n[3].slots.is_empty());
    }

    #[test]
    fn redirections_are_read_from_errorstats() {
        let info = "# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_MOVED:count=1234\r\nerrorstat_ASK:count=56\r\n";
        assert_eq!(errorstats(info), [1234, 56]);
        assert_eq!(errorstats("# Errorstats\r\n"), [0, 0]);
        assert_eq!(errorstats("errorstat_MOVEDX:count=9\r\n"), [0, 0]);
    }
}
