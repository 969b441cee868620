//! Topologies: YAML spec types, defaults, validation into domain types.

mod external;
mod external_table;
mod model;
mod spec;
mod users;
mod validate;
mod validate_aws;

use std::path::Path;

pub use model::*;
pub use spec::TopologySpec;
pub use validate::validate_at;

use crate::yaml::{FileError, SourceText, parse_spec};

static PROVIDER_OVERRIDE: std::sync::OnceLock<Provider> = std::sync::OnceLock::new();

/// `--provider` on the command line: every topology this process loads
/// runs on `p`, whatever its file says. Set once, before loading.
pub fn override_provider(p: Provider) {
    let _ = PROVIDER_OVERRIDE.set(p);
}

/// The provider the command line asked for, if any.
pub fn provider_override() -> Option<Provider> {
    PROVIDER_OVERRIDE.get().copied()
}

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

    /// The nodes sessiondrill does not run (`external:`), by name.
    pub fn external_nodes(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| n.external.is_some())
            .map(|n| n.name.as_str())
            .collect()
    }

    /// Total local processes the topology starts.
    pub fn process_count(&self) -> usize {
        self.nodes.iter().map(Node::process_count).sum()
    }
}

#[cfg(test)]
mod tests;
