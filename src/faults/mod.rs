//! Failure injection that is physically real: a fault is one named break
//! with a target and an optional duration after which it heals itself.
//!
//! - [`kinds`]: one file per kind (processes, server commands, links),
//!   each a [`behaviour::Behaviour`], and the registry: [`FaultAction`]
//!   holds them all and derives [`FaultKind`];
//! - the [`Injector`] applies faults to a running deployment (the scenario
//!   timeline and the dashboard call it) and keeps their records;
//!   [`timeline`] schedules them; [`followup`] takes the checkpoints that
//!   count what they destroyed; [`budget`] says what each may destroy.

pub mod behaviour;
pub mod budget;
pub mod followup;
mod injector;
mod join;
pub mod kinds;
pub mod link;
pub mod process;
mod record;
pub mod spec;
pub mod target;
pub mod timeline;

use std::time::Duration;

pub use followup::FollowUp;
pub use injector::{ActiveFault, FaultError, FaultRecord, Injector};
pub use kinds::{FaultAction, FaultKind};

/// One fault to inject: what ([`FaultAction`]) and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub action: FaultAction,
    /// A process (`cache-0`), a node group (`cache`: its primary or only
    /// server), or a role (`cache.primary`, `cache.replica`).
    pub target: String,
    /// Heal after this long (restart, resume…), for kinds that heal.
    pub duration: Option<Duration>,
    /// A link fault on the peer link (replication and Sentinel traffic to
    /// the node) instead of the client link.
    pub peers: bool,
}

impl Fault {
    /// `action` on `target`, until healed, on the client link.
    pub fn new(action: FaultAction, target: &str) -> Self {
        Self {
            action,
            target: target.to_string(),
            duration: None,
            peers: false,
        }
    }

    pub fn kind(&self) -> FaultKind {
        self.action.kind()
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind().name(), self.target)?;
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
