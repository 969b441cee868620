//! Topologies: YAML spec types, defaults, validation into domain types.

mod model;
mod spec;
mod validate;

use std::path::Path;

pub use model::*;
pub use spec::TopologySpec;
pub use validate::validate_at;

use crate::yaml::{FileError, SourceText, parse_spec};

impl Topology {
    /// Read and validate a topology file.
    pub fn load(path: &Path) -> Result<Topology, FileError> {
        Self::parse(&SourceText::read(path)?)
    }

    /// Validate topology text; `src.path` is used in messages.
    pub fn parse(src: &SourceText) -> Result<Topology, FileError> {
        let (spec, positions) = parse_spec::<TopologySpec>(src)?;
        validate::validate(spec, &positions, src)
    }

    /// Total local processes the topology starts.
    pub fn process_count(&self) -> usize {
        self.nodes.iter().map(|n| n.kind.process_count()).sum()
    }
}

#[cfg(test)]
mod tests;
