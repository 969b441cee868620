//! `latency`: delay every chunk on the link by `latency` ± `jitter` — the
//! answers (node → client), or with `direction: up` the requests, which
//! jitter then reorders between connections.

use std::time::Duration;

use crate::fabric::proxy::Toxics;
use crate::fabric::proxy::toxics::Direction;
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::{TimelineSpec, within_a_day};
use crate::faults::{FaultKind, link};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    pub latency: Duration,
    pub jitter: Duration,
    /// The bytes delayed: `Down` (the answers, default) or `Up` (the
    /// requests).
    pub direction: Direction,
}

impl Behaviour for Latency {
    const KIND: FaultKind = FaultKind::Latency;
    const SAID: &'static str = "got a slower link";
    const HEALS: bool = true;
    const STOPS_PROCESSES: bool = false;
    const LINK: bool = true;
    const HEALED_AT_END: bool = true;
    const NEEDS: Needs = Needs::PROXIES;
    const FIELDS: &'static [&'static str] = &["latency", "jitter", "direction"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let latency = match &s.latency {
            Some(l) => within_a_day(c, &format!("{path}.latency"), l),
            None => {
                c.at(
                    &format!("{path}.fault"),
                    "latency needs `latency`, e.g. `latency: 50ms`",
                );
                Duration::ZERO
            }
        };
        let jitter = s
            .jitter
            .as_ref()
            .map(|j| within_a_day(c, &format!("{path}.jitter"), j))
            .unwrap_or_default();
        let direction = match s.direction.as_deref() {
            None | Some("down") => Direction::Down,
            Some("up") => Direction::Up,
            Some(other) => {
                c.at(
                    &format!("{path}.direction"),
                    format!(
                        "unknown direction `{other}` for latency, expected down (the answers, default) or up (the requests)"
                    ),
                );
                Direction::Down
            }
        };
        Latency {
            latency,
            jitter,
            direction,
        }
    }

    /// Any node sessiondrill runs.
    fn applies(_node: &Node) -> Result<(), String> {
        Ok(())
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        false
    }

    fn budget(_node: &Node, _peers: bool) -> Budget {
        budget::link()
    }

    fn checkpoints(roles: bool, peers: bool) -> (bool, bool) {
        (false, roles && peers)
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        link::strike(cx, self, |name| {
            format!(
                "latency {} ms ± {} ms on the {} of {name}{}",
                self.latency.as_millis(),
                self.jitter.as_millis(),
                link::which(cx.peers),
                match self.direction {
                    Direction::Up => " (requests)",
                    Direction::Down => "",
                }
            )
        })
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        link::mend(cx, i, Self::KIND)
    }

    fn toxics(&self, t: &mut Toxics) {
        t.latency = self.latency;
        t.jitter = self.jitter;
        t.latency_direction = self.direction;
    }

    fn label(&self) -> String {
        format!("+{} ms", self.latency.as_millis())
    }
}
