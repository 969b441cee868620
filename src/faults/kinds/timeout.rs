//! `timeout` (toxiproxy's name): drop every byte on the link; close each
//! connection `close_after` later (never, if not given).

use std::time::Duration;

use crate::fabric::proxy::Toxics;
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::{TimelineSpec, within_a_day};
use crate::faults::{FaultKind, link};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Timeout {
    /// Zero: never.
    pub close_after: Duration,
}

impl Behaviour for Timeout {
    const KIND: FaultKind = FaultKind::Timeout;
    const SAID: &'static str = "stopped answering on its link";
    const HEALS: bool = true;
    const STOPS_PROCESSES: bool = false;
    const LINK: bool = true;
    const HEALED_AT_END: bool = true;
    const NEEDS: Needs = Needs::PROXIES;
    const FIELDS: &'static [&'static str] = &["close_after"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let close_after = s
            .close_after
            .as_ref()
            .map(|a| within_a_day(c, &format!("{path}.close_after"), a))
            .unwrap_or_default();
        Timeout { close_after }
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
            let which = link::which(cx.peers);
            if self.close_after.is_zero() {
                format!("every byte on the {which} of {name} dropped")
            } else {
                format!(
                    "every byte on the {which} of {name} dropped; connections closed after {} ms",
                    self.close_after.as_millis()
                )
            }
        })
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        link::mend(cx, i, Self::KIND)
    }

    fn toxics(&self, t: &mut Toxics) {
        t.timeout = Some(self.close_after);
    }
}
