//! One file per fault kind, each a [`Behaviour`](super::behaviour::Behaviour)
//! and one variant of [`FaultAction`](super::FaultAction).
//!
//! - processes: [`Kill`], [`Restart`], [`Pause`], [`Resume`], [`PowerLoss`];
//! - server commands: [`Failover`], [`Flush`], [`Evict`];
//! - links (the proxy): [`Latency`], [`Bandwidth`], [`Partition`],
//!   [`Reset`], [`Timeout`], [`Throttle`].

mod bandwidth;
mod evict;
mod failover;
mod flush;
mod kill;
mod latency;
mod partition;
mod pause;
mod power_loss;
mod reset;
mod restart;
mod resume;
mod throttle;
mod timeout;

pub use bandwidth::Bandwidth;
pub use evict::{DEFAULT_POLICY, Evict, POLICIES, Saved};
pub use failover::{Failover, sentinel_master_name};
pub use flush::Flush;
pub use kill::Kill;
pub use latency::Latency;
pub use partition::{Partition, Way};
pub use pause::Pause;
pub use power_loss::{PowerLoss, UNSYNCED_GRACE};
pub use reset::Reset;
pub use restart::Restart;
pub use resume::Resume;
pub use throttle::Throttle;
pub use timeout::Timeout;
