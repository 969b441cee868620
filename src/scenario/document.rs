//! A file in `topologies/` is a topology or a scenario: told apart by
//! whether it has a workload or strategies.

use std::path::Path;

use super::Scenario;
use crate::topology::Topology;
use crate::yaml::{FileError, SourceText};

/// A file in `topologies/`: a topology or a scenario (which has a workload).
pub enum Document {
    Topology(Topology),
    Scenario(Box<Scenario>),
}

impl Document {
    pub fn load(path: &Path) -> Result<Document, FileError> {
        let src = SourceText::read(path)?;
        let is_scenario = serde_yaml::from_str::<serde_yaml::Value>(&src.text)
            .ok()
            .and_then(|v| {
                v.as_mapping()
                    .map(|m| m.contains_key("workload") || m.contains_key("strategies"))
            })
            .unwrap_or(false);
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
