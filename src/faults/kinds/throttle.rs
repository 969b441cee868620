//! `throttle`: answer a `share` of DynamoDB requests with
//! ProvisionedThroughputExceededException (HTTP 400) or a 5xx.

use crate::fabric::proxy::{Throttle as Throttling, Toxics};
use crate::faults::behaviour::{Behaviour, Mend, Needs, Strike};
use crate::faults::budget::{self, Budget};
use crate::faults::spec::TimelineSpec;
use crate::faults::{FaultKind, link};
use crate::topology::{Node, NodeKind};
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Throttle {
    /// Share of requests, 0..=1.
    pub share: f64,
    /// 400 (throughput exceeded) or a 5xx.
    pub status: u16,
}

impl Behaviour for Throttle {
    const KIND: FaultKind = FaultKind::Throttle;
    const SAID: &'static str = "throttled requests";
    const HEALS: bool = true;
    const STOPS_PROCESSES: bool = false;
    const LINK: bool = true;
    const HEALED_AT_END: bool = true;
    const NEEDS: Needs = Needs::PROXIES;
    const FIELDS: &'static [&'static str] = &["share", "status"];

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let share = match s.share.as_ref().map(crate::yaml::share) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                c.at(&format!("{path}.share"), e);
                0.0
            }
            None => {
                c.at(
                    &format!("{path}.fault"),
                    "throttle needs `share`, e.g. `share: 30%`",
                );
                0.0
            }
        };
        let status = match s.status {
            None => 400,
            Some(st) if st == 400 || (500..600).contains(&st) => st,
            Some(st) => {
                c.at(
                    &format!("{path}.status"),
                    format!("status {st}: expected 400 (throughput exceeded) or a 5xx"),
                );
                400
            }
        };
        Throttle { share, status }
    }

    fn applies(node: &Node) -> Result<(), String> {
        match node.kind {
            NodeKind::Dynamodb(_) => Ok(()),
            NodeKind::Redis(_)
            | NodeKind::RedisReplicated(_)
            | NodeKind::RedisCluster(_)
            | NodeKind::Dax(_)
            | NodeKind::Memcached(_) => Err(format!(
                "throttle applies to DynamoDB; `{}` is {}",
                node.name,
                node.kind.name()
            )),
        }
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
        for &i in cx.nodes {
            let node = &cx.dep.nodes[i];
            if !link::proxy(node, cx.peers)?.http {
                return Err(format!(
                    "{} does not speak DynamoDB's HTTP: throttle applies to DynamoDB nodes",
                    node.info.name
                ));
            }
        }
        link::strike(cx, self, |name| {
            format!(
                "{:.0} % of requests to {name} answered with HTTP {}",
                self.share * 100.0,
                self.status
            )
        })
    }

    async fn heal(&self, cx: &mut Mend<'_>, i: usize) -> Result<String, String> {
        link::mend(cx, i, Self::KIND)
    }

    fn toxics(&self, t: &mut Toxics) {
        t.throttle = Some(Throttling {
            share: self.share,
            status: self.status,
        });
    }

    fn label(&self) -> String {
        format!("throttle {:.0}%", self.share * 100.0)
    }
}
