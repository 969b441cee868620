//! What a link does to the bytes crossing it, per direction. Changed live
//! through a `watch` channel: connections in flight pick changes up without
//! being dropped (toxiproxy's model).

use std::net::IpAddr;
use std::time::Duration;

/// Which way bytes travel: `Up` is client → node, `Down` node → client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Up,
    #[default]
    Down,
}

/// DynamoDB throttling: answer a share of requests with an error instead of
/// forwarding them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// 0.0..=1.0
    pub share: f64,
    /// 400 = ProvisionedThroughputExceededException, 5xx = InternalServerError.
    pub status: u16,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Toxics {
    /// Added to every round trip, with `jitter`, on the bytes going
    /// `latency_direction` (node → client by default: the answers; client
    /// → node delays the requests, which jitter can then reorder between
    /// connections).
    pub latency: Duration,
    pub jitter: Duration,
    pub latency_direction: Direction,
    /// Bytes per second, per direction; `None` = unlimited.
    pub bandwidth: Option<u64>,
    /// Hold bytes going up (client → node) until healed.
    pub block_up: bool,
    /// Hold bytes going down (node → client) until healed.
    pub block_down: bool,
    /// Bumped to reset (RST) every open connection.
    pub reset_generation: u64,
    /// toxiproxy's `timeout`: drop every byte (not hold it) and close each
    /// connection this long after the toxic was set (zero: never close).
    pub timeout: Option<Duration>,
    pub throttle: Option<Throttle>,
    /// Cluster bus: hold connections opened from these addresses (both
    /// ways; each cluster node connects from its own), so one node can be
    /// cut off from the bus of every other node.
    pub blocked_senders: Vec<IpAddr>,
}

impl Toxics {
    pub fn blocked(&self, d: Direction) -> bool {
        match d {
            Direction::Up => self.block_up,
            Direction::Down => self.block_down,
        }
    }

    /// Is a connection from `sender` held?
    pub fn holds_sender(&self, sender: Option<IpAddr>) -> bool {
        sender.is_some_and(|s| self.blocked_senders.contains(&s))
    }

    pub fn is_clean(&self) -> bool {
        Toxics {
            reset_generation: self.reset_generation,
            ..Toxics::default()
        } == *self
    }
}
