//! `add-replica`: a spare server of the cluster (`spares: N`) joins it
//! under load and becomes a replica of the master the target names
//! (`target: cache` is a live master; `cache-1` that process), as
//! `redis-cli --cluster add-node --cluster-slave` does it: `CLUSTER MEET`,
//! gossip, `CLUSTER REPLICATE`, then a full copy of the master's data
//! while the load goes on. It ends when the replica's link is up and its
//! sync is over; how long that took is the drill's number.

use std::time::{Duration, Instant};

use crate::faults::FaultKind;
use crate::faults::behaviour::{Behaviour, Finished, Mend, Needs, Strike};
use crate::faults::budget::Budget;
use crate::faults::join;
use crate::faults::spec::TimelineSpec;
use crate::provision::redis::probe::info_field;
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddReplica {
    /// Once the new replica has its master's data.
    done: Finished,
}

impl Behaviour for AddReplica {
    const KIND: FaultKind = FaultKind::AddReplica;
    const SAID: &'static str = "had a new replica join the cluster";
    // It ends by itself once the replica is in sync.
    const HEALS: bool = true;
    const LINK: bool = false;
    const HEALED_AT_END: bool = true;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        join::refuse_duration(c, path, s, "add-replica");
        AddReplica::default()
    }

    fn applies(node: &Node) -> Result<(), String> {
        join::needs_a_spare(node, "add-replica")
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(_node: &Node, _peers: bool) -> Budget {
        Budget::new(
            "a replica joining: its master forks and sends it a full copy under load; nothing acknowledged may be lost",
            Some(0.0),
        )
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        (false, false)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let Some(&master) = cx.nodes.first() else {
            return Err("no master named to replicate".into());
        };
        let m = &cx.dep.nodes[master];
        let probe = m.redis_probe();
        let view: String = probe.query(redis::cmd("CLUSTER").arg("NODES")).await?;
        let Some(master_id) = join::myself(&view).filter(|m| m.master).map(|m| m.id) else {
            return Err(format!(
                "{} is not a master now: add-replica's target must be one",
                m.info.name
            ));
        };
        let master_name = m.info.name.clone();
        let joining = join::meet(cx.dep, master).await?;
        let said = format!("{master_name} met {} to join as its replica", joining.name);
        cx.ends = Some(self.done.track(async move {
            let known = joining.known().await?;
            let keys: u64 = probe.query(&redis::cmd("DBSIZE")).await?;
            let asked = Instant::now();
            joining
                .spare
                .query::<()>(redis::cmd("CLUSTER").arg("REPLICATE").arg(&master_id))
                .await
                .map_err(|e| format!("{} would not replicate {master_name}: {e}", joining.name))?;
            loop {
                let repl = joining.spare.info("replication").await?;
                if info_field(&repl, "master_link_status") == Some("up")
                    && info_field(&repl, "master_sync_in_progress") == Some("0")
                {
                    break;
                }
                if Instant::now() > joining.deadline.max(asked + SYNC) {
                    return Err(format!(
                        "{} had no copy of {master_name}'s data {:.1} s after it was asked to replicate it",
                        joining.name,
                        asked.elapsed().as_secs_f64()
                    ));
                }
                tokio::time::sleep(join::LOOK).await;
            }
            let synced = asked.elapsed();
            // What it holds now, beside what its master held before.
            let copied: u64 = joining.spare.query(&redis::cmd("DBSIZE")).await?;
            Ok(format!(
                "{} joined in {} ms and was a replica of {master_name} with its data ({copied} keys; its master had {keys} when asked) {} ms after CLUSTER REPLICATE (looked at every {} ms)",
                joining.name,
                known.as_millis(),
                synced.as_millis(),
                join::LOOK.as_millis()
            ))
        }));
        Ok(said)
    }

    async fn heal(&self, _cx: &mut Mend<'_>, _i: usize) -> Result<String, String> {
        self.done.heal(
            "the new replica has its master's data",
            "the new replica had not synced",
        )
    }
}

/// How long a full sync may take after `CLUSTER REPLICATE`.
const SYNC: Duration = Duration::from_secs(60);
