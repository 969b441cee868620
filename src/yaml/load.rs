use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::{FileError, Pos, Positions, Problem};

/// The text of a YAML file together with the path used in messages.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub path: PathBuf,
    pub text: String,
}

impl SourceText {
    /// Read `path`; a missing file, a directory or an empty file is an error
    /// that names the file.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let fail = |msg: String| FileError::single(path, Problem::new(Pos::START, "", msg));
        if path.is_dir() {
            return Err(fail(
                "is a directory, not a YAML file (name a file inside it)".into(),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            text,
        })
    }

    pub fn inline(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// Deserialize a spec and index its positions. Problems come back as a
/// [`FileError`] naming line, column and field path.
pub fn parse_spec<T: DeserializeOwned>(src: &SourceText) -> Result<(T, Positions), FileError> {
    let fail = |p: Problem| FileError::single(&src.path, p);
    if src.text.trim().is_empty() {
        return Err(fail(Problem::new(
            Pos::START,
            "",
            "the file is empty (expected a YAML mapping)",
        )));
    }
    let positions = Positions::parse(&src.text).map_err(|(pos, msg)| {
        // Prefer libyaml's account of a syntax error (through serde_yaml):
        // it points at the offending token rather than where scanning gave up.
        let problem = match serde_yaml::from_str::<serde_yaml::Value>(&src.text) {
            Err(e) => {
                let mut p = serde_problem(&e);
                p.message = format!("invalid YAML: {}", p.message);
                p
            }
            Ok(_) => Problem::new(pos, "", format!("invalid YAML: {msg}")),
        };
        fail(problem)
    })?;
    if !positions.duplicates.is_empty() {
        let problems = positions
            .duplicates
            .iter()
            .map(|d| {
                Problem::new(
                    d.second,
                    d.path.clone(),
                    format!(
                        "duplicate key `{}` (first defined at line {})",
                        d.path.rsplit('.').next().unwrap_or(&d.path),
                        d.first.line
                    ),
                )
            })
            .collect();
        return Err(FileError {
            file: src.path.clone(),
            problems,
        });
    }
    let spec = serde_yaml::from_str::<T>(&src.text).map_err(|e| fail(serde_problem(&e)))?;
    Ok((spec, positions))
}

/// Turn serde_yaml's "path: message at line L column C" into a [`Problem`].
fn serde_problem(e: &serde_yaml::Error) -> Problem {
    let pos = e
        .location()
        .map(|l| Pos {
            line: l.line(),
            col: l.column(),
        })
        .unwrap_or(Pos::START);
    let mut msg = e.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    let (path, message) = match msg.split_once(": ") {
        Some((p, m)) if !p.contains(' ') && !p.is_empty() => (p.to_string(), m.to_string()),
        _ => (String::new(), msg),
    };
    Problem::new(pos, path, message)
}
