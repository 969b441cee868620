//! The last measured answer of each scenario on this machine, for the
//! picker: `$SESSIONDRILL_HOME/answers/<scenario>.json`, written when a
//! drill ends with its own timeline (not a control run without faults),
//! from the report's own numbers ([`crate::report::words::answer`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::provision::Home;
use crate::report::Report;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Answer {
    pub scenario: String,
    pub started_unix_ms: u64,
    pub duration_ms: u64,
    /// Did the drill pass (every expectation, every fault fired)?
    pub ok: bool,
    pub lines: Vec<String>,
}

/// A scenario name as a file name: anything but letters, digits, `.`,
/// `_` and `-` becomes `_`, and it never starts with a dot.
fn file(home: &Home, scenario: &str) -> PathBuf {
    let mut name: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    home.root.join("answers").join(format!("{name}.json"))
}

/// Keep `report` as its scenario's last answer.
pub fn save(home: &Home, report: &Report) -> std::io::Result<()> {
    let path = file(home, &report.scenario);
    if let Some(dir) = path.parent() {
        crate::provision::rundir::private_dir(dir)?;
    }
    let a = Answer {
        scenario: report.scenario.clone(),
        started_unix_ms: report.started_unix_ms,
        duration_ms: report.duration_ms,
        ok: report.ok,
        lines: crate::report::words::answer(report),
    };
    let json = serde_json::to_vec_pretty(&a).map_err(std::io::Error::other)?;
    super::write_atomically(&path, &json)
}

/// The last answer kept for `scenario`, if any (and readable).
pub fn load(home: &Home, scenario: &str) -> Option<Answer> {
    let bytes = std::fs::read(file(home, scenario)).ok()?;
    serde_json::from_slice(&bytes)
        .ok()
        .filter(|a: &Answer| a.scenario == scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_per_scenario_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home {
            root: dir.path().to_path_buf(),
        };
        let mut r: Report =
            serde_json::from_str(include_str!("../../tests/data/minimal-report.json")).unwrap();
        r.scenario = "../odd name".into();
        assert_eq!(load(&home, &r.scenario), None);
        save(&home, &r).unwrap();
        let a = load(&home, &r.scenario).unwrap();
        assert_eq!(a.ok, r.ok);
        // Inside the home, whatever the name.
        assert!(dir.path().join("answers/_.._odd_name.json").is_file());
        // Another scenario's file is not taken for this one.
        assert_eq!(load(&home, "other"), None);
    }
}
