//! A file in `topologies/` is a topology or a scenario: told apart by
//! whether it has a workload or strategies.

use std::path::Path;

use super::Scenario;
use crate::topology::Topology;
use crate::yaml::{FileError, Positions, SourceText};

/// A file in `topologies/`: a topology or a scenario (which has a workload).
pub enum Document {
    Topology(Topology),
    Scenario(Box<Scenario>),
}

impl Document {
    pub fn load(path: &Path) -> Result<Document, FileError> {
        let src = SourceText::read(path)?;
        // From the top-level keys alone (a file that cannot be indexed is
        // reported by either parser, with the same position).
        let is_scenario = Positions::parse(&src.text).is_ok_and(|p| {
            p.keys_of("")
                .iter()
                .any(|(k, _)| k == "workload" || k == "strategies")
        });
        if is_scenario {
            Scenario::parse(&src).map(|s| Document::Scenario(Box::new(s)))
        } else {
            Topology::parse(&src).map(Document::Topology)
        }
    }

    /// The topology to provision.
    pub fn topology(&self) -> &Topology {
        match self {
            Document::Topology(t) => t,
            Document::Scenario(s) => &s.topology,
        }
    }
}
