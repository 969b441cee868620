//! The one collector of what is wrong with a file being validated: each
//! problem at the position of its field path, all of them reported
//! together (sorted by line), never only the first.

use std::path::Path;
use std::time::Duration;

use super::{FileError, Pos, Positions, Problem};

/// The longest duration a file or an option may give: a drill means
/// nothing past it, and much longer ones overflow the clock's arithmetic
/// (`workload.ttl: 300000000000y` made every operation panic).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A duration like `500ms` or `30m`, at most [`MAX_DURATION`] (zero allowed:
/// the caller says whether it is).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        Ok(_) => Err(format!(
            "{s:?} is longer than a year (365d), the most a drill takes"
        )),
        Err(e) => Err(format!(
            "{e}: expected a duration like 500ms, 20s, 30m; got {s:?}"
        )),
    }
}

pub struct Problems<'a> {
    positions: &'a Positions,
    found: Vec<Problem>,
}

impl<'a> Problems<'a> {
    pub fn new(positions: &'a Positions) -> Self {
        Self {
            positions,
            found: Vec::new(),
        }
    }

    pub fn positions(&self) -> &'a Positions {
        self.positions
    }

    /// Where field `path` is written (or its nearest written parent).
    pub fn pos(&self, path: &str) -> Pos {
        self.positions.blame(path)
    }

    /// Something wrong with field `path`.
    pub fn at(&mut self, path: &str, message: impl Into<String>) {
        let pos = self.positions.blame(path);
        self.found.push(Problem::new(pos, path, message));
    }

    /// How many so far (to tell whether a part added any).
    pub fn count(&self) -> usize {
        self.found.len()
    }

    /// A duration like `500ms`, longer than zero and at most
    /// [`MAX_DURATION`]; 1 s (after a problem) when it is not one.
    pub fn duration(&mut self, path: &str, s: &str) -> Duration {
        match parse_duration(s) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                self.at(path, "must be longer than zero");
                Duration::from_secs(1)
            }
            Err(e) => {
                self.at(path, e);
                Duration::from_secs(1)
            }
        }
    }

    /// `Ok` when nothing was found; otherwise every problem of `file`, in
    /// the order they are written.
    pub fn finish(mut self, file: &Path) -> Result<(), FileError> {
        if self.found.is_empty() {
            return Ok(());
        }
        self.found.sort_by_key(|p| (p.pos.line, p.pos.col));
        Err(FileError {
            file: file.to_path_buf(),
            problems: self.found,
        })
    }
}
