//! Every fault kind: one file each (a [`Behaviour`]), and the registry
//! that joins them — [`FaultAction`], which holds each kind's parameters,
//! and [`FaultKind`], its tag, derived from it. Whatever must be known of
//! every kind is reached through the `match`es below, so adding a kind is
//! its file, one `mod` line, one variant and one line in each `match` of
//! this file; the compiler names any of them forgotten.
//!
//! - processes: [`Kill`], [`Restart`], [`Pause`], [`Resume`], [`PowerLoss`];
//! - server commands: [`Failover`], [`Flush`], [`Evict`];
//! - a cluster's shape, under load: [`Reshard`], [`AddMaster`],
//!   [`AddReplica`];
//! - links (the proxy): [`Latency`], [`Bandwidth`], [`Partition`],
//!   [`Reset`], [`Timeout`], [`Throttle`];
//! - the clouds' fault engines, on external nodes: [`FisExperiment`],
//!   [`TestFailover`].

mod add_master;
mod add_replica;
mod bandwidth;
mod evict;
mod failover;
mod fis;
mod flush;
mod kill;
mod latency;
mod partition;
mod pause;
mod power_loss;
mod reset;
mod reshard;
mod restart;
mod resume;
mod test_failover;
mod throttle;
mod timeout;

pub use add_master::AddMaster;
pub use add_replica::AddReplica;
pub use bandwidth::Bandwidth;
pub use evict::{DEFAULT_POLICY, Evict, POLICIES, Saved};
pub use failover::{Failover, sentinel_master_name};
pub use fis::{FisExperiment, Template};
pub use flush::Flush;
pub use kill::Kill;
pub use latency::Latency;
pub use partition::Partition;
pub use pause::Pause;
pub use power_loss::{PowerLoss, UNSYNCED_GRACE};
pub use reset::Reset;
pub use reshard::Reshard;
pub use restart::Restart;
pub use resume::Resume;
pub use test_failover::TestFailover;
pub use throttle::Throttle;
pub use timeout::Timeout;

use strum::{EnumDiscriminants, IntoStaticStr, VariantArray};

use super::behaviour::{BeforeLoad, Behaviour, Leftover, Mend, Needs, Strike};
use super::budget::Budget;
use super::spec::TimelineSpec;
use crate::provision::Deployment;
use crate::topology::Node;
use crate::yaml::Problems;

/// One fault and its parameters.
#[derive(Debug, Clone, PartialEq, EnumDiscriminants)]
#[strum_discriminants(
    name(FaultKind),
    vis(pub),
    derive(Hash, serde::Serialize, VariantArray, IntoStaticStr),
    serde(rename_all = "kebab-case"),
    strum(serialize_all = "kebab-case")
)]
pub enum FaultAction {
    Kill(Kill),
    Restart(Restart),
    Pause(Pause),
    Resume(Resume),
    PowerLoss(PowerLoss),
    Failover(Failover),
    Flush(Flush),
    Evict(Evict),
    Latency(Latency),
    Bandwidth(Bandwidth),
    Partition(Partition),
    Reset(Reset),
    Timeout(Timeout),
    Throttle(Throttle),
    Fis(FisExperiment),
    TestFailover(TestFailover),
    Reshard(Reshard),
    AddMaster(AddMaster),
    AddReplica(AddReplica),
}

/// `$body` with `$T` the [`Behaviour`] type of kind `$kind`.
macro_rules! each_kind {
    ($kind:expr, $T:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use $crate::faults::kinds::*;
        match $kind {
            FaultKind::Kill => {
                type $T = Kill;
                $body
            }
            FaultKind::Restart => {
                type $T = Restart;
                $body
            }
            FaultKind::Pause => {
                type $T = Pause;
                $body
            }
            FaultKind::Resume => {
                type $T = Resume;
                $body
            }
            FaultKind::PowerLoss => {
                type $T = PowerLoss;
                $body
            }
            FaultKind::Failover => {
                type $T = Failover;
                $body
            }
            FaultKind::Flush => {
                type $T = Flush;
                $body
            }
            FaultKind::Evict => {
                type $T = Evict;
                $body
            }
            FaultKind::Latency => {
                type $T = Latency;
                $body
            }
            FaultKind::Bandwidth => {
                type $T = Bandwidth;
                $body
            }
            FaultKind::Partition => {
                type $T = Partition;
                $body
            }
            FaultKind::Reset => {
                type $T = Reset;
                $body
            }
            FaultKind::Timeout => {
                type $T = Timeout;
                $body
            }
            FaultKind::Throttle => {
                type $T = Throttle;
                $body
            }
            FaultKind::Fis => {
                type $T = FisExperiment;
                $body
            }
            FaultKind::TestFailover => {
                type $T = TestFailover;
                $body
            }
            FaultKind::Reshard => {
                type $T = Reshard;
                $body
            }
            FaultKind::AddMaster => {
                type $T = AddMaster;
                $body
            }
            FaultKind::AddReplica => {
                type $T = AddReplica;
                $body
            }
        }
    }};
}

/// `$body` with `$k` the kind's parameters in `$action`.
macro_rules! each_action {
    ($action:expr, $k:ident => $body:expr) => {
        match $action {
            FaultAction::Kill($k) => $body,
            FaultAction::Restart($k) => $body,
            FaultAction::Pause($k) => $body,
            FaultAction::Resume($k) => $body,
            FaultAction::PowerLoss($k) => $body,
            FaultAction::Failover($k) => $body,
            FaultAction::Flush($k) => $body,
            FaultAction::Evict($k) => $body,
            FaultAction::Latency($k) => $body,
            FaultAction::Bandwidth($k) => $body,
            FaultAction::Partition($k) => $body,
            FaultAction::Reset($k) => $body,
            FaultAction::Timeout($k) => $body,
            FaultAction::Throttle($k) => $body,
            FaultAction::Fis($k) => $body,
            FaultAction::TestFailover($k) => $body,
            FaultAction::Reshard($k) => $body,
            FaultAction::AddMaster($k) => $body,
            FaultAction::AddReplica($k) => $body,
        }
    };
}

impl FaultKind {
    pub const ALL: &'static [FaultKind] = <FaultKind as VariantArray>::VARIANTS;

    /// Its name in YAML, reports and the dashboard (`power-loss`).
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == s)
    }

    /// What it did, after the names of the processes it hit.
    pub fn said(self) -> &'static str {
        each_kind!(self, T => T::SAID)
    }

    /// Does a duration (auto-heal) mean anything for this kind?
    pub fn heals(self) -> bool {
        each_kind!(self, T => T::HEALS)
    }

    /// Does it act on a link (a proxy) rather than a process or a server?
    pub fn is_link(self) -> bool {
        each_kind!(self, T => T::LINK)
    }

    /// Is it handed to a cloud's fault engine (external nodes only)?
    pub fn is_cloud(self) -> bool {
        each_kind!(self, T => T::CLOUD)
    }

    /// What provisioning must build for it.
    pub fn needs(self) -> Needs {
        each_kind!(self, T => T::NEEDS)
    }

    /// Is it healed at the end of the load even without a duration?
    pub fn healed_at_end(self) -> bool {
        each_kind!(self, T => T::HEALED_AT_END)
    }

    /// Can it leave processes dead when it fails half-way?
    pub fn stops_processes(self) -> bool {
        each_kind!(self, T => T::STOPS_PROCESSES)
    }

    /// Are its nodes read before it acts (see `Behaviour::READ_FIRST`)?
    pub fn reads_first(self) -> bool {
        each_kind!(self, T => T::READ_FIRST)
    }

    /// Must a replica be promoted for it to have happened?
    pub fn must_promote(self) -> bool {
        each_kind!(self, T => T::MUST_PROMOTE)
    }

    /// Does injecting it end the faults of another kind on the same
    /// processes (`resume` ends pauses)?
    pub fn ends(self) -> Option<FaultKind> {
        each_kind!(self, T => T::ENDS)
    }

    /// Can it hit topology node `node`? (Whether it names one at all, and
    /// whether sessiondrill owns its processes, is checked before.)
    pub fn applies(self, node: &Node) -> Result<(), String> {
        each_kind!(self, T => T::applies(node))
    }

    /// What it may destroy on `node`, by the node's configuration.
    pub fn budget(self, node: &Node, peers: bool) -> Budget {
        each_kind!(self, T => T::budget(node, peers))
    }

    /// Checkpoints it needs: (at once, when a replica is promoted), on a
    /// node with roles (`roles`) or not.
    pub fn checkpoints(self, roles: bool, peers: bool) -> (bool, bool) {
        each_kind!(self, T => T::checkpoints(roles, peers))
    }

    /// Can it destroy writes acknowledged before it?
    pub fn can_destroy(self, peers: bool) -> bool {
        each_kind!(self, T => T::can_destroy(peers))
    }

    /// Can writes acknowledged while it holds be destroyed by it?
    pub fn destroys_while_in_force(self, peers: bool) -> bool {
        each_kind!(self, T => T::destroys_while_in_force(peers))
    }

    /// The YAML fields of its own (`latency`, `share`…).
    pub fn fields(self) -> &'static [&'static str] {
        each_kind!(self, T => T::FIELDS)
    }
}

impl FaultAction {
    /// The parameters of a `kind` fault from its YAML entry at `path`.
    pub fn from_spec(kind: FaultKind, c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        use FaultAction as A;
        match kind {
            FaultKind::Kill => A::Kill(Kill::from_spec(c, path, s)),
            FaultKind::Restart => A::Restart(Restart::from_spec(c, path, s)),
            FaultKind::Pause => A::Pause(Pause::from_spec(c, path, s)),
            FaultKind::Resume => A::Resume(Resume::from_spec(c, path, s)),
            FaultKind::PowerLoss => A::PowerLoss(PowerLoss::from_spec(c, path, s)),
            FaultKind::Failover => A::Failover(Failover::from_spec(c, path, s)),
            FaultKind::Flush => A::Flush(Flush::from_spec(c, path, s)),
            FaultKind::Evict => A::Evict(Evict::from_spec(c, path, s)),
            FaultKind::Latency => A::Latency(Latency::from_spec(c, path, s)),
            FaultKind::Bandwidth => A::Bandwidth(Bandwidth::from_spec(c, path, s)),
            FaultKind::Partition => A::Partition(Partition::from_spec(c, path, s)),
            FaultKind::Reset => A::Reset(Reset::from_spec(c, path, s)),
            FaultKind::Timeout => A::Timeout(Timeout::from_spec(c, path, s)),
            FaultKind::Throttle => A::Throttle(Throttle::from_spec(c, path, s)),
            FaultKind::Fis => A::Fis(FisExperiment::from_spec(c, path, s)),
            FaultKind::TestFailover => A::TestFailover(TestFailover::from_spec(c, path, s)),
            FaultKind::Reshard => A::Reshard(Reshard::from_spec(c, path, s)),
            FaultKind::AddMaster => A::AddMaster(AddMaster::from_spec(c, path, s)),
            FaultKind::AddReplica => A::AddReplica(AddReplica::from_spec(c, path, s)),
        }
    }

    pub fn kind(&self) -> FaultKind {
        self.into()
    }

    /// Check (and create) what it needs outside this machine before the
    /// load; what it created.
    pub async fn before_load(&mut self, cx: &BeforeLoad<'_>) -> Result<Vec<Leftover>, String> {
        each_action!(self, k => k.before_load(cx).await)
    }

    /// Wait for the moment to strike.
    pub async fn prepare(&self, dep: &Deployment, nodes: &[usize]) {
        each_action!(self, k => k.prepare(dep, nodes).await)
    }

    /// Strike; what was done, in words.
    pub async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        each_action!(self, k => k.inject(cx).await)
    }

    /// End what it started outside this machine, before the heal.
    pub async fn wind_down(&self, aws: &crate::topology::Aws) -> Result<Option<String>, String> {
        each_action!(self, k => k.wind_down(aws).await)
    }

    /// Heal process `i`; what was done, in words.
    pub async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        each_action!(self, k => k.heal(cx, i).await)
    }

    /// The dashboard's short word for it while it holds (`+50 ms`).
    pub fn label(&self) -> String {
        each_action!(self, k => k.label())
    }

    /// Add what it does to a link to `t` (link faults only).
    pub fn toxics(&self, t: &mut crate::fabric::proxy::Toxics) {
        each_action!(self, k => k.toxics(t))
    }
}
