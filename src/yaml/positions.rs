//! Where each key and value of a YAML document sits, by dotted path.
//!
//! serde_yaml reports the location of *its* errors, but not of the values it
//! accepted; semantic checks (quorum > sentinels, a field that does not apply
//! to a node kind, duplicate keys) need those positions too. yaml-rust2's
//! marked event stream gives them without a second data model.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, col: 1 };

    fn from_marker(m: Marker) -> Self {
        Pos {
            line: m.line().max(1),
            col: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Pos>,
    value: Pos,
}

/// A key that appears twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub path: String,
    pub first: Pos,
    pub second: Pos,
}

/// The deepest nesting of mappings and sequences a file may have.
pub const MAX_DEPTH: usize = 64;

/// A character no value of ours may hold: C0 and C1 controls (an escape
/// sequence in a name would set the terminal's title or clear the screen),
/// DEL, and the bidirectional overrides that make text read other than it
/// is. Tabs and line breaks are text.
fn unprintable(ch: char) -> bool {
    (ch.is_control() && ch != '\t' && ch != '\n')
        || matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn too_deep() -> String {
    format!("nested deeper than {MAX_DEPTH} levels (a topology or a scenario needs fewer than 10)")
}

/// Why a file could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
    /// A YAML syntax error (libyaml may say it better); otherwise a limit
    /// of ours, said as it is.
    pub syntax: bool,
}

#[derive(Debug, Default)]
pub struct Positions {
    entries: HashMap<String, Entry>,
    /// Child keys of each mapping path, in document order.
    children: HashMap<String, Vec<(String, Pos)>>,
    pub duplicates: Vec<Duplicate>,
}

impl Positions {
    /// Index the first document of `text`, one event at a time (yaml-rust2's
    /// own loader recurses once per level: 3 000 nested `- ` overflowed the
    /// stack and aborted the process). Nesting deeper than [`MAX_DEPTH`] and
    /// an alias used as a key are refused here, before serde_yaml reads the
    /// file; a syntax error is returned with its position.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let mut depth = 0usize;
        loop {
            let (ev, mark) = parser.next_token().map_err(|e| {
                // The scanner reads ahead and has a nesting limit of its own.
                let deep = e.info().contains("recursion limit");
                ParseError {
                    pos: Pos::from_marker(*e.marker()),
                    message: if deep {
                        too_deep()
                    } else {
                        e.info().to_string()
                    },
                    syntax: !deep,
                }
            })?;
            let refuse = |message: String| ParseError {
                pos: Pos::from_marker(mark),
                message,
                syntax: false,
            };
            match ev {
                Event::DocumentEnd | Event::StreamEnd => break,
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(refuse(too_deep()));
                    }
                }
                Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
                Event::Scalar(ref s, ..) => {
                    if let Some(ch) = s.chars().find(|&ch| unprintable(ch)) {
                        return Err(refuse(format!(
                            "contains the control character U+{:04X}: names and texts reach the terminal and the reports as they are",
                            ch as u32
                        )));
                    }
                }
                Event::Alias(_) if builder.expects_key() => {
                    return Err(refuse(
                        "an alias (`*name`) cannot be a key: write the key out (an aliased key hides duplicates)"
                            .into(),
                    ));
                }
                _ => {}
            }
            builder.on_event(ev, mark);
        }
        Ok(builder.out)
    }

    /// Position of the key `path` (or of its value when it has no key, e.g.
    /// a sequence item or the document root).
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.key.unwrap_or(e.value))
    }

    pub fn value(&self, path: &str) -> Option<Pos> {
        self.entries.get(path).map(|e| e.value)
    }

    /// The best position to blame for `path`: its key, else the closest
    /// ancestor that exists, else the start of the document.
    pub fn blame(&self, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(pos) = self.key(p) {
                return pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.key("").unwrap_or(Pos::START),
            }
        }
    }

    /// Keys of the mapping at `path`, in document order.
    pub fn keys_of(&self, path: &str) -> &[(String, Pos)] {
        self.children.get(path).map(Vec::as_slice).unwrap_or(&[])
    }
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, Pos)>,
        seen: HashSet<String>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    out: Positions,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Builder {
    /// A node (scalar or collection start) arrived: work out its path, or
    /// consume it as a mapping key. Returns the path when it is a value.
    fn node(&mut self, scalar: Option<&str>, pos: Pos) -> Option<String> {
        match self.stack.last_mut() {
            None => {
                self.out.entries.insert(
                    String::new(),
                    Entry {
                        key: None,
                        value: pos,
                    },
                );
                Some(String::new())
            }
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                self.out.entries.insert(
                    p.clone(),
                    Entry {
                        key: None,
                        value: pos,
                    },
                );
                Some(p)
            }
            Some(Frame::Map { path, key, seen }) => match key.take() {
                None => {
                    // This node is a key. Complex (non-scalar) keys get a
                    // placeholder name; they are rejected later by serde.
                    let mut name = scalar.unwrap_or("?").to_string();
                    let full = join(path, &name);
                    if !seen.insert(name.clone()) {
                        // Index the repeated entry apart so it does not mix
                        // into the first one's children.
                        name.push_str("#dup");
                        let first = self.out.key(&full).unwrap_or(pos);
                        self.out.duplicates.push(Duplicate {
                            path: full,
                            first,
                            second: pos,
                        });
                    } else {
                        self.out
                            .children
                            .entry(path.clone())
                            .or_default()
                            .push((name.clone(), pos));
                    }
                    *key = Some((name, pos));
                    None
                }
                Some((name, key_pos)) => {
                    let full = join(path, &name);
                    self.out.entries.entry(full.clone()).or_insert(Entry {
                        key: Some(key_pos),
                        value: pos,
                    });
                    Some(full)
                }
            },
        }
    }
}

impl Builder {
    /// The next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match ev {
            Event::Scalar(ref s, ..) => {
                self.node(Some(s), pos);
            }
            Event::Alias(_) => {
                self.node(None, pos);
            }
            Event::MappingStart(..) => {
                let path = self.node(None, pos).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Map {
                    path,
                    key: None,
                    seen: HashSet::new(),
                });
            }
            Event::SequenceStart(..) => {
                let path = self.node(None, pos).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_values_and_duplicates() {
        let text = "name: x\nnodes:\n  a:\n    kind: redis\n  a:\n    kind: memcached\nlist:\n  - 1\n  - two\n";
        let p = Positions::parse(text).unwrap();
        assert_eq!(p.key("name"), Some(Pos { line: 1, col: 1 }));
        assert_eq!(p.value("name"), Some(Pos { line: 1, col: 7 }));
        assert_eq!(p.key("nodes.a.kind"), Some(Pos { line: 4, col: 5 }));
        assert_eq!(p.value("list[1]"), Some(Pos { line: 9, col: 5 }));
        assert_eq!(p.duplicates.len(), 1);
        assert_eq!(p.duplicates[0].path, "nodes.a");
        assert_eq!(p.duplicates[0].second, Pos { line: 5, col: 3 });
        let keys: Vec<_> = p.keys_of("nodes.a").iter().map(|k| k.0.as_str()).collect();
        assert_eq!(keys, ["kind"]);
        assert_eq!(p.blame("nodes.a.missing"), Pos { line: 3, col: 3 });
    }

    #[test]
    fn syntax_error_has_position() {
        let err = Positions::parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1 && err.syntax, "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused_where_it_goes_too_deep_not_with_a_stack_overflow() {
        for text in [
            "- ".repeat(100_000),
            "[".repeat(100_000),
            (0..200)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>(),
        ] {
            let err = Positions::parse(&text).unwrap_err();
            assert!(!err.syntax, "{err:?}");
            assert!(err.message.contains("nested deeper than 64"), "{err:?}");
        }
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Positions::parse(&ok).is_ok());
        let over = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        let err = Positions::parse(&over).unwrap_err();
        assert_eq!(
            err.pos,
            Pos {
                line: 1,
                col: MAX_DEPTH + 1
            }
        );
    }

    #[test]
    fn an_aliased_key_is_refused() {
        let err = Positions::parse("a: &n x\nnodes:\n  x: 1\n  *n : 2\n").unwrap_err();
        assert!(err.message.contains("alias"), "{err:?}");
        assert_eq!(err.pos.line, 4);
        // As a value an alias is fine.
        assert!(Positions::parse("a: &n x\nb: *n\n").is_ok());
    }

    #[test]
    fn control_characters_in_values_are_refused_where_they_are() {
        let err = Positions::parse("name: ok\nnodes:\n  a: { kind: \"re\\edis\" }\n").unwrap_err();
        assert!(err.message.contains("U+001B"), "{err:?}");
        assert_eq!(err.pos.line, 3);
        let err = Positions::parse("description: \"abc\\u202Edef\"\n").unwrap_err();
        assert!(err.message.contains("U+202E"), "{err:?}");
        assert!(Positions::parse("description: |\n  two\n  lines\twith a tab\n").is_ok());
    }
}
