use std::path::{Path, PathBuf};

use std::io::Read;

use serde::de::DeserializeOwned;

use super::{FileError, Pos, Positions, Problem};

/// The largest file `validate`, `run` and the dashboard read: a topology
/// or a scenario is a few KiB; a bound keeps a wrong file (a log, a
/// device) from taking memory, and libyaml's worst cases from taking
/// minutes.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The text of a YAML file together with the path used in messages.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub path: PathBuf,
    pub text: String,
}

impl SourceText {
    /// Read `path`; a missing file, a directory, anything but a regular
    /// file (a FIFO would block, `/dev/zero` never end), a file over
    /// [`MAX_BYTES`] or one that is not UTF-8 is an error that names the
    /// file (and, for bad bytes, where they are).
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let fail = |pos: Pos, msg: String| FileError::single(path, Problem::new(pos, "", msg));
        let meta =
            std::fs::metadata(path).map_err(|e| fail(Pos::START, format!("cannot read: {e}")))?;
        if meta.is_dir() {
            return Err(fail(
                Pos::START,
                "is a directory, not a YAML file (name a file inside it)".into(),
            ));
        }
        if !meta.is_file() {
            return Err(fail(
                Pos::START,
                "is not a regular file (a device, a FIFO or a socket): name a YAML file".into(),
            ));
        }
        let too_big = || {
            fail(
                Pos::START,
                format!(
                    "is larger than {} KiB: not a topology or a scenario (the largest shipped is under 4 KiB)",
                    MAX_BYTES / 1024
                ),
            )
        };
        if meta.len() > MAX_BYTES {
            return Err(too_big());
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| fail(Pos::START, format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(too_big()); // it grew while we read it
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            fail(
                pos_of(e.as_bytes(), e.utf8_error().valid_up_to()),
                "is not UTF-8 text: YAML files must be UTF-8".into(),
            )
        })?;
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
    if src.text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(fail(Problem::new(
            Pos::START,
            "",
            "the file is empty (expected a YAML mapping)",
        )));
    }
    let positions = Positions::parse(&src.text).map_err(|e| {
        if !e.syntax {
            return fail(Problem::new(e.pos, "", e.message));
        }
        // Prefer libyaml's account of a syntax error (through serde_yaml):
        // it points at the offending token rather than where scanning gave up.
        let problem = match serde_yaml::from_str::<serde_yaml::Value>(&src.text) {
            Err(se) => {
                let mut p = serde_problem(&se, &src.text);
                p.message = format!("invalid YAML: {}", p.message);
                p
            }
            Ok(_) => Problem::new(e.pos, "", format!("invalid YAML: {}", e.message)),
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
    let spec =
        serde_yaml::from_str::<T>(&src.text).map_err(|e| fail(serde_problem(&e, &src.text)))?;
    Ok((spec, positions))
}

/// Line and column (1-based, in characters) of byte `offset` of `text`.
fn pos_of(text: &[u8], offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Pos {
        line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
        col: 1 + String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count(),
    }
}

/// The longest quoted value a message repeats: the position says where
/// the rest is, and a file that is not YAML at all (a password file named
/// as a topology) is not printed whole.
const QUOTE_CHARS: usize = 40;

/// `msg` with every value quoted in `"…"` (with `\"` escapes) or in
/// backticks cut short at [`QUOTE_CHARS`] characters.
fn shorten_quotes(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(400));
    let mut open: Option<char> = None;
    let mut n = 0usize;
    let mut escaped = false;
    for ch in msg.chars() {
        let Some(delim) = open else {
            out.push(ch);
            if ch == '"' || ch == '`' {
                open = Some(ch);
                n = 0;
                escaped = false;
            }
            continue;
        };
        if ch == delim && !escaped {
            open = None;
            out.push(ch);
            continue;
        }
        escaped = !escaped && ch == '\\' && delim == '"';
        if n < QUOTE_CHARS {
            out.push(ch);
        } else if n == QUOTE_CHARS {
            out.push('…');
        }
        n += 1;
    }
    out
}

/// `pos`, or the end of `text` if it is past it: libyaml puts the end of a
/// file without a final line break on the line after the last.
fn within(pos: Pos, text: &str) -> Pos {
    let lines: Vec<&str> = text.split('\n').collect();
    match lines.get(pos.line.wrapping_sub(1)) {
        Some(l) if pos.col <= l.chars().count() + 1 => pos,
        Some(l) => Pos {
            line: pos.line,
            col: l.chars().count() + 1,
        },
        None => Pos {
            line: lines.len(),
            col: lines.last().map_or(0, |l| l.chars().count()) + 1,
        },
    }
}

/// Turn serde_yaml's "path: message at line L column C" into a [`Problem`]
/// at a position inside `text`, quoting at most [`QUOTE_CHARS`] of a value.
fn serde_problem(e: &serde_yaml::Error, text: &str) -> Problem {
    let mut msg = e.to_string();
    let mut pos = e
        .location()
        .map(|l| Pos {
            line: l.line(),
            col: l.column(),
        })
        .unwrap_or(Pos::START);
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    // libyaml's reader errors say where as a byte offset, with a location
    // of 1:1 ("control characters are not allowed at position 7").
    if let Some(at) = msg.rfind(" at position ")
        && let Ok(offset) = msg[at + 13..].trim().parse::<usize>()
    {
        pos = pos_of(text.as_bytes(), offset);
        msg.truncate(at);
    }
    let msg = shorten_quotes(&msg);
    let (path, message) = match msg.split_once(": ") {
        Some((p, m)) if !p.contains(' ') && !p.is_empty() => (p.to_string(), m.to_string()),
        _ => (String::new(), msg),
    };
    Problem::new(within(pos, text), path, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_quoted_value_is_cut_short() {
        let long =
            "root:x:0:0:root:/root:/bin/bash daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin";
        let msg = format!("invalid type: string \"{long}\", expected struct TopologySpec");
        let short = shorten_quotes(&msg);
        assert!(!short.contains("nologin"), "{short}");
        assert!(
            short.contains("\"root:x:0:0:root:/root:/bin/bash daemon:x…\", expected struct"),
            "{short}"
        );
        assert_eq!(
            shorten_quotes("unknown field `x`, expected \"a\""),
            "unknown field `x`, expected \"a\""
        );
        // An escaped quote inside the value does not end it.
        let inner = format!(
            "invalid type: string \"a\\\"{}\", expected x",
            "b".repeat(100)
        );
        let short = shorten_quotes(&inner);
        assert!(short.ends_with("…\", expected x"), "{short}");
        // Backticks too (a 10 000-character key).
        let key = format!(
            "unknown field `{}`, expected one of `name`",
            "k".repeat(10_000)
        );
        let short = shorten_quotes(&key);
        assert!(short.len() < 120, "{short}");
        assert!(short.ends_with("…`, expected one of `name`"), "{short}");
    }
}
