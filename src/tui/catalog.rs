//! The scenario picker's catalogue: every file in `topologies/`, scenarios
//! first. (A bare topology opens with the default load:
//! [`crate::scenario::load_any`].)

use std::path::{Path, PathBuf};

use crate::drill::answers::{self, Answer};
use crate::provision::Home;
use crate::scenario::Document;
#[cfg(test)]
use crate::store::StrategyKind;
use crate::topology::Topology;

/// One file the picker offers.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    /// The file's name without `.yaml`.
    pub name: String,
    /// The scenario's `name:` (its answers are kept under it).
    pub scenario_name: String,
    /// A scenario (load, timeline, expectations) or a bare topology.
    pub is_scenario: bool,
    pub description: String,
    pub question: Option<String>,
    /// The exam question it belongs to: its group in the picker.
    pub exam: Option<String>,
    /// What the seed claims: "seed 000: Redis: sub-millisecond …".
    pub claim: Option<String>,
    /// What it measured the last time it ran on this machine.
    pub answer: Option<Answer>,
    /// Why the file cannot be opened, if it cannot.
    pub error: Option<String>,
}

/// Drills without an exam question.
pub const MORE: &str = "More drills";
/// Bare topologies.
pub const TOPOLOGIES: &str = "Topologies: live faults from the keyboard, default load";

impl Entry {
    /// Does it match the picker's filter (every word of it, any case)?
    pub fn matches(&self, filter: &str) -> bool {
        let hay = format!(
            "{} {} {} {} {}",
            self.name,
            self.description,
            self.question.as_deref().unwrap_or(""),
            self.exam.as_deref().unwrap_or(""),
            self.claim.as_deref().unwrap_or("")
        )
        .to_lowercase();
        filter
            .split_whitespace()
            .all(|w| hay.contains(&w.to_lowercase()))
    }

    /// Its group heading.
    pub fn group(&self) -> &str {
        match (&self.exam, self.is_scenario) {
            (Some(e), true) => e,
            (None, true) => MORE,
            (_, false) => TOPOLOGIES,
        }
    }
}

/// The entries that match `filter` under their group headings: the exam
/// questions in their own order (by their leading number), then the
/// drills without one, then the bare topologies. Indices into `entries`.
pub fn groups(entries: &[Entry], filter: &str) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if !e.matches(filter) {
            continue;
        }
        match out.iter_mut().find(|(g, _)| g == e.group()) {
            Some((_, v)) => v.push(i),
            None => out.push((e.group().to_string(), vec![i])),
        }
    }
    let rank = |g: &str| -> (u8, u64, String) {
        if g == MORE {
            return (1, 0, String::new());
        }
        if g == TOPOLOGIES {
            return (2, 0, String::new());
        }
        let n = g
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(u64::MAX);
        (0, n, g.to_string())
    };
    out.sort_by_key(|(g, _)| rank(g));
    out
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

/// Every `.yaml` file of `dir`: scenarios first, then topologies, by name;
/// each scenario with its last answer kept in `home`, if any.
pub fn list(dir: &Path, home: Option<&Home>) -> Vec<Entry> {
    let Ok(files) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = files
        .flatten()
        .map(|f| f.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|path| entry(&path))
        .collect();
    if let Some(home) = home {
        for e in entries.iter_mut().filter(|e| e.is_scenario) {
            e.answer = answers::load(home, &e.scenario_name);
        }
    }
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
            scenario_name: s.name.clone(),
            is_scenario: true,
            description: s.description.clone().unwrap_or_default(),
            question: s.question.clone(),
            exam: s.exam.clone(),
            claim: s
                .claim
                .as_ref()
                .map(|c| format!("seed {}: {}", c.seed, c.says)),
            answer: None,
            error: None,
        },
        Ok(Document::Topology(t)) => Entry {
            path: path.to_path_buf(),
            scenario_name: stem.clone(),
            name: stem,
            is_scenario: false,
            description: topology_summary(&t),
            question: None,
            exam: None,
            claim: None,
            answer: None,
            error: None,
        },
        Err(e) => Entry {
            path: path.to_path_buf(),
            scenario_name: stem.clone(),
            name: stem,
            is_scenario: false,
            description: String::new(),
            question: None,
            exam: None,
            claim: None,
            answer: None,
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
        let entries = list(&shipped(), None);
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

    #[test]
    fn drills_are_grouped_by_their_exam_question_in_order_and_filtered() {
        let entries = list(&shipped(), None);
        let groups = groups(&entries, "");
        let names: Vec<&str> = groups.iter().map(|(g, _)| g.as_str()).collect();
        // The twelve exam questions of docs/scenarios.md, by number, then
        // the rest, then the bare topologies.
        assert_eq!(names.len(), 14, "{names:#?}");
        for (i, g) in names[..12].iter().enumerate() {
            assert!(g.starts_with(&format!("{}. ", i + 1)), "{names:#?}");
        }
        assert_eq!(&names[12..], &[MORE, TOPOLOGIES]);
        // Every file is under exactly one heading.
        assert_eq!(
            groups.iter().map(|(_, v)| v.len()).sum::<usize>(),
            entries.len()
        );
        let durable = &groups[0].1;
        assert!(
            durable
                .iter()
                .any(|&i| entries[i].name == "aof-everysec-power-loss")
        );
        // A typed word keeps what mentions it, under the same headings.
        let only = super::groups(&entries, "Sentinel FROZEN");
        assert_eq!(only.len(), 1, "{only:#?}");
        assert!(only[0].0.starts_with("4. "));
        assert_eq!(entries[only[0].1[0]].name, "sentinel-frozen-primary");
        assert!(super::groups(&entries, "no-such-word").is_empty());
    }
}
