//! What every fault kind must say about itself, in its own file (see
//! [`super::kinds`]): what it applies to, what provisioning must build for
//! it, how it is injected and healed, what it may destroy, and which
//! checkpoints count that.

use crate::fabric::powerfs::LossSummary;
use crate::fabric::proxy::Toxics;
use crate::faults::budget::Budget;
use crate::faults::spec::TimelineSpec;
use crate::provision::Deployment;
use crate::topology::Node;
use crate::yaml::Problems;

use super::FaultKind;

/// What provisioning must build for a kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// Data directories on the power-loss filesystem.
    pub power_loss_fs: bool,
    /// Clients (and peers) through proxies.
    pub proxies: bool,
}

impl Needs {
    pub const NOTHING: Needs = Needs {
        power_loss_fs: false,
        proxies: false,
    };
    /// Link faults: every link through a proxy.
    pub const PROXIES: Needs = Needs {
        power_loss_fs: false,
        proxies: true,
    };
    /// Data directories on the power-loss filesystem.
    pub const POWER_LOSS_FS: Needs = Needs {
        power_loss_fs: true,
        proxies: false,
    };
}

/// A fault that ends by itself (a cloud experiment reaching a final
/// state): resolves then, with what ended it, or why it did not work.
pub type Ends = std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send>>;

/// Whether a fault that ends by itself ([`Ends`]) got to its end: set when
/// its end succeeds, read by its heal (the injector heals a copy of the
/// fault, so the flag is shared). Not one of the fault's parameters: equal
/// whatever it holds.
#[derive(Debug, Clone, Default)]
pub struct Finished(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl PartialEq for Finished {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Finished {
    /// A fresh flag for this injection, and `end` as the fault's [`Ends`],
    /// setting it when it succeeds.
    pub fn track(
        &mut self,
        end: impl std::future::Future<Output = Result<String, String>> + Send + 'static,
    ) -> Ends {
        *self = Self::default();
        let flag = self.0.clone();
        Box::pin(async move {
            let r = end.await;
            if r.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            r
        })
    }

    /// The heal of a fault that ends by itself: `done` when it finished,
    /// else `unfinished` as the error.
    pub fn heal(&self, done: &str, unfinished: &str) -> Result<String, String> {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            Ok(done.into())
        } else {
            Err(unfinished.into())
        }
    }
}

/// What a fault made outside this machine before the load, to remove
/// after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// A FIS experiment template the run created from the scenario's body.
    FisTemplate { id: String },
}

impl Leftover {
    /// Remove it; what was done, in words.
    pub async fn remove(&self, aws: &crate::topology::Aws) -> Result<String, String> {
        match self {
            Leftover::FisTemplate { id } => crate::cloud::fis::Fis::new(aws)
                .await
                .delete_template(id)
                .await
                .map(|()| format!("experiment template {id} deleted")),
        }
    }
}

/// What a check before the load works with.
pub struct BeforeLoad<'a> {
    pub aws: &'a crate::topology::Aws,
    pub run_id: &'a str,
    /// The entry's duration.
    pub duration: Option<std::time::Duration>,
}

/// What an injection works on: the deployment, the processes the target
/// resolved to, and what it tells the record.
pub struct Strike<'a> {
    pub dep: &'a mut Deployment,
    /// Indexes into `dep.nodes`.
    pub nodes: &'a [usize],
    pub names: &'a [String],
    /// On the peer link rather than the client link.
    pub peers: bool,
    /// `power-loss`: what the filesystem discarded.
    pub discarded: Option<LossSummary>,
    /// `power-loss`: how long the node had gone without an fsync.
    pub unsynced_ms: Option<u64>,
    /// The run's event log, for what a service says while the fault holds.
    pub events: &'a crate::events::EventLog,
    /// Set by a fault that ends by itself.
    pub ends: Option<Ends>,
}

impl Strike<'_> {
    /// The processes struck.
    pub fn handles(&self) -> Vec<&crate::provision::ProcessHandle> {
        self.nodes.iter().map(|&i| &self.dep.nodes[i]).collect()
    }
}

/// What a heal works on, one process at a time.
pub struct Mend<'a> {
    pub dep: &'a mut Deployment,
    pub peers: bool,
    /// The other link faults still holding on the same link, whose
    /// toxics stay.
    pub still: &'a [super::FaultAction],
}

/// A fault kind. Constants and associated functions describe the kind;
/// methods act with its parameters.
// Dispatched by `match` on the concrete kinds (`action.rs`), so whether
// the futures are `Send` is known at each call: no bound is needed here.
#[allow(async_fn_in_trait)]
pub trait Behaviour: Sized {
    const KIND: FaultKind;
    /// What it did to the processes it hit, in plain words after their
    /// names ("cache-0 lost power"): the first half of the sentence the
    /// dashboard and the report say about it.
    const SAID: &'static str;
    /// Does a duration mean anything (it holds until healed)?
    const HEALS: bool;
    /// Acts on a link (a proxy) rather than a process or a server.
    const LINK: bool;
    /// Healed at the end of the load even without a duration, before the
    /// final sweep.
    const HEALED_AT_END: bool;
    /// Can leave processes dead when it fails half-way.
    const STOPS_PROCESSES: bool;
    /// Has happened only once a replica is promoted (else the run fails).
    const MUST_PROMOTE: bool = false;
    /// Its nodes are read before it acts, the load held and drained, for
    /// the strategies whose requests on a session overlap: their writes
    /// are judged by real-time order, and a write the fault takes back is
    /// proven gone only if a read had seen it. Only for a kind whose nodes
    /// answer before it acts (not `resume`: the node is frozen).
    const READ_FIRST: bool = false;
    /// Ends the faults of this kind on the same processes.
    const ENDS: Option<FaultKind> = None;
    /// What provisioning must build for it (forget the power-loss
    /// filesystem and the fault fails only at run time: no default).
    const NEEDS: Needs;
    /// Its own YAML fields (`latency`, `share`…): any other kind's field
    /// on it is an error.
    const FIELDS: &'static [&'static str] = &[];
    /// Handed to a cloud's fault engine (FIS, ElastiCache): for external
    /// nodes only, and its own `applies` says which.
    const CLOUD: bool = false;

    /// Its parameters from the YAML entry at `path` (`timeline[3]`).
    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self;

    /// Can it hit `node`? (Whether it names a node at all, and whether
    /// sessiondrill owns its processes, is checked before.)
    fn applies(node: &Node) -> Result<(), String>;

    /// What it may destroy on `node`, by the node's configuration.
    fn budget(node: &Node, peers: bool) -> Budget;

    /// Checkpoints that count what it destroyed: (at once, when a replica
    /// is promoted), on a node with roles (Sentinel, cluster) or not. A
    /// kind that heals gets one when it heals too.
    fn checkpoints(roles: bool, peers: bool) -> (bool, bool);

    /// Can it destroy writes acknowledged before it? A fault on the client
    /// link delays or fails requests but cannot take back what a server
    /// acknowledged.
    fn can_destroy(peers: bool) -> bool {
        !Self::LINK || peers
    }

    /// Can writes acknowledged while it holds be destroyed by it?
    fn destroys_while_in_force(peers: bool) -> bool;

    /// Check (and create) what it needs outside this machine, before the
    /// load starts: a failure here is the user's (exit 2). What it created,
    /// to remove after the run.
    async fn before_load(&mut self, _cx: &BeforeLoad<'_>) -> Result<Vec<Leftover>, String> {
        Ok(Vec::new())
    }

    /// Wait for the moment to strike, before anything is observed.
    async fn prepare(&self, _dep: &Deployment, _nodes: &[usize]) {}

    /// Strike; what was done, in words. It may keep what a heal needs in
    /// `self`.
    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String>;

    /// End what it started outside this machine (stop an experiment and
    /// wait for it), before the heal: with the load still going and the
    /// deployment not held, so that a slow service neither pauses the
    /// load nor blocks other faults. What was done, if anything.
    async fn wind_down(&self, _aws: &crate::topology::Aws) -> Result<Option<String>, String> {
        Ok(None)
    }

    /// Heal process `i`; what was done, in words.
    async fn heal(&self, _cx: &mut Mend<'_>, _i: usize) -> Result<String, String> {
        Ok(String::new())
    }

    /// What it adds to a link's toxics (link faults).
    fn toxics(&self, _t: &mut Toxics) {}

    /// The dashboard's short word for it while it holds.
    fn label(&self) -> String {
        Self::KIND.name().to_string()
    }
}
