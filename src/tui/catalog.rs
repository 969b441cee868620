//! The scenario picker's catalogue: every file in `topologies/`, scenarios
//! first. (A bare topology opens with the default load:
//! [`crate::scenario::load_any`].)

use std::path::{Path, PathBuf};

use crate::scenario::Document;
#[cfg(test)]
use crate::store::StrategyKind;
use crate::topology::Topology;

/// One file the picker offers.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub name: String,
    /// A scenario (load, timeline, expectations) or a bare topology.
    pub is_scenario: bool,
    pub description: String,
    pub question: Option<String>,
    /// Why the file cannot be opened, if it cannot.
    pub error: Option<String>,
}

/// Where the scenarios are: `$SESSIONDRILL_SCENARIOS`, else `./topologies`,
/// else `topologies/` of the source tree the binary was built in.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SESSIONDRILL_SCENARIOS") {
        return PathBuf::from(d);
    }
    let here = PathBuf::from("topologies");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies")
}

/// Every `.yaml` file of `dir`: scenarios first, then topologies, by name.
pub fn list(dir: &Path) -> Vec<Entry> {
    let Ok(files) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = files
        .flatten()
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|path| entry(&path))
        .collect();
    entries.sort_by(|a, b| (!a.is_scenario, &a.name).cmp(&(!b.is_scenario, &b.name)));
    entries
}

fn entry(path: &Path) -> Entry {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match Document::load(path) {
        Ok(Document::Scenario(s)) => Entry {
            path: path.to_path_buf(),
            name: stem,
            is_scenario: true,
            description: s.description.clone().unwrap_or_default(),
            question: s.question.clone(),
            error: None,
        },
        Ok(Document::Topology(t)) => Entry {
            path: path.to_path_buf(),
            name: stem,
            is_scenario: false,
            description: topology_summary(&t),
            question: None,
            error: None,
        },
        Err(e) => Entry {
            path: path.to_path_buf(),
            name: stem,
            is_scenario: false,
            description: String::new(),
            question: None,
            error: Some(e.to_string()),
        },
    }
}

fn topology_summary(t: &Topology) -> String {
    let nodes: Vec<String> = t
        .nodes
        .iter()
        .map(|n| format!("{} ({})", n.name, n.kind.name()))
        .collect();
    format!(
        "topology: {}; live faults with the default load",
        nodes.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies")
    }

    #[test]
    fn every_shipped_file_is_offered_and_opens() {
        let entries = list(&shipped());
        assert!(entries.len() > 20, "{}", entries.len());
        assert!(entries.iter().all(|e| e.error.is_none()), "{entries:?}");
        // Scenarios come first.
        let first_topology = entries.iter().position(|e| !e.is_scenario).unwrap();
        assert!(entries[first_topology..].iter().all(|e| !e.is_scenario));
        for e in &entries {
            let s = crate::scenario::load_any(&e.path).unwrap();
            assert!(!s.strategies.is_empty(), "{}", e.name);
        }
    }

    #[test]
    fn a_bare_topology_gets_one_strategy_per_store() {
        let s = crate::scenario::load_any(&shipped().join("hybrid.yaml")).unwrap();
        assert_eq!(
            s.strategies,
            vec![
                StrategyKind::Redis,
                StrategyKind::Dynamodb,
                StrategyKind::WriteThrough
            ]
        );
        assert!(s.timeline.is_empty() && s.expectations.is_empty());
        let s = crate::scenario::load_any(&shipped().join("standalone-aof-everysec.yaml")).unwrap();
        assert_eq!(s.strategies, vec![StrategyKind::Redis]);
    }
}
