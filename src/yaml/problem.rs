use std::fmt;
use std::path::{Path, PathBuf};

use super::Pos;

/// One thing wrong with a file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    /// Dotted field path, e.g. `nodes.cache.quorum`; empty for the document.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(pos: Pos, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pos,
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in one file. Displays one line per problem:
/// `FILE:LINE:COL: what is wrong (field path)`.
#[derive(Debug, Clone, thiserror::Error)]
pub struct FileError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl FileError {
    pub fn single(file: &Path, problem: Problem) -> Self {
        Self {
            file: file.to_path_buf(),
            problems: vec![problem],
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                p.pos.line,
                p.pos.col,
                p.message
            )?;
            if !p.path.is_empty() {
                write!(f, " ({})", p.path)?;
            }
        }
        Ok(())
    }
}
