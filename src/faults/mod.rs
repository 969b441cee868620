//! Failure injection that is physically real: a fault is one named break
//! with a target and an optional duration after which it heals itself.
//!
//! - process faults: `kill`, `restart`, `pause`/`resume` ([`process`]),
//!   `power-loss` ([`power_loss`], over the power-loss filesystem of
//!   [`crate::fabric::powerfs`]);
//! - server commands: `failover` ([`failover`]), `flush` ([`flush`]);
//! - the [`Injector`] applies faults to a running deployment (the scenario
//!   timeline and the dashboard call it); [`timeline`] schedules them;
//!   [`followup`] takes the checkpoints that count what they destroyed.

pub mod budget;
pub mod evict;
pub mod failover;
pub mod flush;
pub mod followup;
mod injector;
pub mod link;
pub mod power_loss;
pub mod process;
mod record;
pub mod target;
pub mod timeline;

use std::time::Duration;

pub use followup::FollowUp;
pub use injector::{ActiveFault, FaultError, FaultRecord, Injector};

/// What breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL; with a duration, restarted on the same data afterwards.
    Kill,
    /// SIGKILL and start again at once on the same port and data.
    Restart,
    /// SIGSTOP; with a duration, SIGCONT afterwards.
    Pause,
    /// SIGCONT.
    Resume,
    /// SIGKILL and drop every byte the node had not fsynced; with a
    /// duration, restarted on what survived.
    PowerLoss,
    /// `SENTINEL FAILOVER` (replicated) or `CLUSTER FAILOVER` (cluster).
    Failover,
    /// `FLUSHALL` (Redis) or `flush_all` (memcached).
    Flush,
    /// Shrink Redis's `maxmemory` (allkeys-lru) so it evicts sessions; with
    /// a duration, the previous settings come back.
    Evict,
    /// Delay every chunk on the client link by `latency` ± `jitter`.
    Latency,
    /// Limit the client link to `bandwidth` bytes/s per direction.
    Bandwidth,
    /// Hold every byte on the client link (one direction or both) until
    /// healed.
    Partition,
    /// Close every open client connection at once.
    Reset,
    /// toxiproxy's `timeout`: drop every byte on the link; close each
    /// connection `close_after` later (never, if zero).
    Timeout,
    /// Answer a `share` of DynamoDB requests with
    /// ProvisionedThroughputExceededException (or a 5xx).
    Throttle,
}

impl FaultKind {
    pub const ALL: [FaultKind; 14] = [
        FaultKind::Kill,
        FaultKind::Restart,
        FaultKind::Pause,
        FaultKind::Resume,
        FaultKind::PowerLoss,
        FaultKind::Failover,
        FaultKind::Flush,
        FaultKind::Evict,
        FaultKind::Latency,
        FaultKind::Bandwidth,
        FaultKind::Partition,
        FaultKind::Reset,
        FaultKind::Timeout,
        FaultKind::Throttle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Restart => "restart",
            FaultKind::Pause => "pause",
            FaultKind::Resume => "resume",
            FaultKind::PowerLoss => "power-loss",
            FaultKind::Failover => "failover",
            FaultKind::Flush => "flush",
            FaultKind::Evict => "evict",
            FaultKind::Latency => "latency",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::Partition => "partition",
            FaultKind::Reset => "reset",
            FaultKind::Timeout => "timeout",
            FaultKind::Throttle => "throttle",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Does a duration (auto-heal) mean anything for this kind?
    pub fn heals(self) -> bool {
        matches!(
            self,
            FaultKind::Kill
                | FaultKind::Pause
                | FaultKind::PowerLoss
                | FaultKind::Evict
                | FaultKind::Latency
                | FaultKind::Bandwidth
                | FaultKind::Partition
                | FaultKind::Timeout
                | FaultKind::Throttle
        )
    }

    /// Does it act on a link (the proxy) rather than a process?
    pub fn is_link(self) -> bool {
        matches!(
            self,
            FaultKind::Latency
                | FaultKind::Bandwidth
                | FaultKind::Partition
                | FaultKind::Reset
                | FaultKind::Timeout
                | FaultKind::Throttle
        )
    }
}

/// One fault to inject.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    /// A process (`cache-0`), a node group (`cache`: its primary or only
    /// server), or a role (`cache.primary`, `cache.replica`).
    pub target: String,
    /// Heal after this long (restart, resume).
    pub duration: Option<Duration>,
    /// `failover` mode for clusters: `force` or `takeover`.
    pub mode: Option<String>,
    /// `evict`: the `maxmemory` to set, e.g. `1mb`.
    pub maxmemory: Option<String>,
    /// `evict`: the `maxmemory-policy` meanwhile (default `allkeys-lru`).
    pub policy: Option<String>,
    /// `power-loss`: fall only once the node has gone this long without an
    /// fsync (waiting at most this + 2 s), i.e. with this much at risk.
    pub unsynced: Option<Duration>,
    /// Parameters of link faults.
    pub link: LinkParams,
}

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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkParams {
    pub latency: Duration,
    pub jitter: Duration,
    /// Bytes per second.
    pub bandwidth: u64,
    pub way: Way,
    /// Share of requests throttled, 0..=1.
    pub share: f64,
    /// `timeout`: close connections this long after the fault (zero: never).
    pub close_after: Duration,
    /// HTTP status of a throttled request: 400 (throughput exceeded) or 5xx.
    pub status: u16,
    /// Act on the peer link (replication and Sentinel traffic to the
    /// node) instead of the client link.
    pub peers: bool,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.name(), self.target)?;
        if let Some(d) = self.duration {
            write!(f, " for {}", humantime::format_duration(d))?;
        }
        Ok(())
    }
}

/// A fault at a time of the load, possibly repeated.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// Offset from the start of the timed load.
    pub at: Duration,
    pub fault: Fault,
    /// Inject again every `every`, `times` times in all.
    pub repeat: Option<(Duration, u32)>,
    /// Where the entry is written (for errors that name it).
    pub pos: crate::yaml::Pos,
}

impl TimelineEntry {
    /// When its last injection is due (`None`: beyond any duration).
    pub fn last_at(&self) -> Option<Duration> {
        match self.repeat {
            Some((every, times)) => every
                .checked_mul(times.saturating_sub(1))
                .and_then(|d| d.checked_add(self.at)),
            None => Some(self.at),
        }
    }

    /// Why it does not fit in a load of length `load`, if it does not: a
    /// fault that would never fire tests nothing.
    pub fn misfit(&self, load: Duration) -> Option<String> {
        let load_s = humantime::format_duration(load);
        if self.at >= load {
            return Some(format!(
                "`{}` at {} does not fit in the {load_s} load: it would never fire",
                self.fault,
                humantime::format_duration(self.at)
            ));
        }
        match self.last_at() {
            Some(last) if last < load => None,
            Some(last) => Some(format!(
                "the last repeat of `{}` ({}) does not fit in the {load_s} load: it would never fire",
                self.fault,
                humantime::format_duration(last)
            )),
            None => Some(format!(
                "the repeats of `{}` do not fit in any load",
                self.fault
            )),
        }
    }
}
