//! A scenario's `targets:` — the topology node each backend its
//! strategies reach uses: named, or the first node of a kind that serves it.

use super::spec::ScenarioSpec;
use crate::store::{Backend, StrategyKind, Targets};
use crate::topology::Topology;
use crate::yaml::Problems;

pub(super) fn targets(
    c: &mut Problems<'_>,
    spec: &ScenarioSpec,
    t: &Topology,
    strategies: &[StrategyKind],
) -> Targets {
    for key in spec.targets.keys() {
        if Backend::parse(key).is_none() {
            c.at(
                &format!("targets.{key}"),
                format!(
                    "unknown target `{key}`, expected {}",
                    Backend::ALL.map(Backend::name).join(", ")
                ),
            );
        }
    }
    let mut out = Targets::default();
    for backend in Backend::ALL {
        let name = backend.name();
        let needed = strategies.iter().any(|s| s.uses(backend));
        let path = format!("targets.{name}");
        let found = match spec.targets.get(name) {
            Some(node) => match t.nodes.iter().find(|n| &n.name == node) {
                Some(n) if backend.served_by(n.kind.kind_name()) => Some(node.clone()),
                Some(n) => {
                    c.at(
                        &path,
                        format!(
                            "node `{node}` is a {} node, not a {name} node",
                            n.kind.name()
                        ),
                    );
                    None
                }
                None => {
                    c.at(&path, format!("the topology has no node `{node}`"));
                    None
                }
            },
            None => {
                let found = t
                    .nodes
                    .iter()
                    .find(|n| backend.served_by(n.kind.kind_name()))
                    .map(|n| n.name.clone());
                if needed && found.is_none() {
                    c.at(
                        "strategies",
                        format!(
                            "a strategy here needs a {name} node, and topology `{}` has none",
                            t.name
                        ),
                    );
                }
                found
            }
        };
        out.set(backend, found);
    }
    out
}
