//! `bandwidth`: limit the link to so many bytes per second, each way.

use crate::fabric::proxy::Toxics;
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, link};
use crate::topology::Node;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Bandwidth {
    pub bytes_per_s: u64,
}

impl Behaviour for Bandwidth {
    const KIND: FaultKind = FaultKind::Bandwidth;
    const SAID: &'static str = "got a narrower link";
    const HEALS: bool = true;
    const STOPS_PROCESSES: bool = false;
    const LINK: bool = true;
    const HEALED_AT_END: bool = true;
    const NEEDS: Needs = Needs::PROXIES;
    const FIELDS: &'static [&'static str] = &["bandwidth"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let bytes_per_s = match s.bandwidth.as_ref().map(bytes_per_second) {
            Some(Ok(b)) => b,
            Some(Err(e)) => {
                c.at(&format!("{path}.bandwidth"), e);
                0
            }
            None => {
                c.at(
                    &format!("{path}.fault"),
                    "bandwidth needs `bandwidth`, e.g. `bandwidth: 100kb/s`",
                );
                0
            }
        };
        Bandwidth { bytes_per_s }
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
                "bandwidth {} B/s on the {} of {name}",
                self.bytes_per_s,
                link::which(cx.peers)
            )
        })
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        link::mend(cx, i, Self::KIND)
    }

    fn toxics(&self, t: &mut Toxics) {
        t.bandwidth = Some(self.bytes_per_s);
    }

    fn label(&self) -> String {
        format!("{} B/s", self.bytes_per_s)
    }
}

/// `5000`, `100kb/s`, `1mb/s`.
fn bytes_per_second(v: &serde_yaml::Value) -> Result<u64, String> {
    let text = match v {
        serde_yaml::Value::Number(n) => {
            return n
                .as_u64()
                .filter(|&b| b > 0)
                .ok_or_else(|| format!("{n}: expected a positive number of bytes per second"));
        }
        serde_yaml::Value::String(s) => s.trim().to_ascii_lowercase(),
        _ => return Err("expected bytes per second like 100kb/s".into()),
    };
    let t = text.strip_suffix("/s").unwrap_or(&text);
    let (num, mult) = if let Some(n) = t.strip_suffix("mb") {
        (n, 1_000_000.0)
    } else if let Some(n) = t.strip_suffix("kb") {
        (n, 1_000.0)
    } else if let Some(n) = t.strip_suffix('b') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok((x * mult).round().max(1.0) as u64),
        _ => Err(format!(
            "{text:?}: expected bytes per second like 5000, 100kb/s, 1mb/s"
        )),
    }
}
