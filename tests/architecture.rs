//! The module map of docs/DESIGN.md, enforced: each top-level module of
//! `src/` may name (`crate::x`) only modules of lower layers, and only the
//! two faces may use the terminal crates. Reads the source text, so a
//! forbidden import fails here with its file and line, whatever compiles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lowest first. A module may use modules of strictly lower layers only.
const LAYERS: &[&[&str]] = &[
    // Foundations: YAML errors, the event log, the DynamoDB client, the
    // fabric (ports, the TCP proxy, the power-loss filesystem).
    &["yaml", "events", "dynamo", "fabric"],
    // What a topology is; our own node programs (the DAX node); the clouds'
    // fault engines (FIS, ElastiCache); the cost model and its prices.
    &["topology", "nodes", "cloud", "cost"],
    // Bringing a topology up: processes, containers, their handles.
    &["provision"],
    // How the application keeps sessions; watching running processes.
    &["store", "observe"],
    // The ledger and the checker.
    &["check"],
    // Samples, histograms, snapshots.
    &["metrics"],
    // Breaking things.
    &["faults"],
    // A scenario: topology + strategies + workload + timeline + expect.
    &["scenario"],
    // The load engine.
    &["workload"],
    // The report.
    &["report"],
    // One running drill, shared by both faces.
    &["drill"],
    // Faces: benchmarks, the dashboard, the command line (top).
    &["bench"],
    &["tui"],
    &["cli"],
];

/// Only these may use the terminal crates.
const FACES: &[&str] = &["tui", "cli"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line: without a `//` comment (doc comments name other
/// modules in links, which is not a dependency). A `//` right after a `:`
/// is a URL in a string (`redis://…`), not a comment.
fn code(line: &str) -> &str {
    let mut from = 0;
    while let Some(i) = line[from..].find("//") {
        let at = from + i;
        if at == 0 || !line[..at].ends_with(':') {
            return &line[..at];
        }
        from = at + 2;
    }
    line
}

/// The module names at the start of `rest` (what follows `crate::`):
/// `faults::Fault` → faults; `{faults::Fault, store::{a, b}}` → faults,
/// store.
fn heads(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    // The top-level items of the group, up to its closing brace.
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(ident(&group[start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(ident(&group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// Every `crate::x` a line names, grouped imports included.
fn named_modules(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        out.extend(heads(rest).into_iter().filter(|n| !n.is_empty()));
    }
    out
}

/// (file:line, what is wrong) for every import against the map under `src`.
fn violations(src: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if ["lib", "main"].contains(&module.as_str()) {
            continue;
        }
        let Some(mine) = layer_of(&module) else {
            out.push((
                rel.display().to_string(),
                format!("module `{module}` is not on the map"),
            ));
            continue;
        };
        let text = std::fs::read_to_string(&f).expect("readable");
        for (n, line) in text.lines().enumerate() {
            let line = code(line);
            let at = format!("src/{}:{}", rel.display(), n + 1);
            for used in named_modules(line) {
                if used == module {
                    continue;
                }
                match layer_of(&used) {
                    None => out.push((at.clone(), format!("`crate::{used}` is not on the map"))),
                    Some(theirs) if theirs >= mine => out.push((
                        at.clone(),
                        format!("`{module}` (layer {mine}) uses `{used}` (layer {theirs})"),
                    )),
                    Some(_) => {}
                }
            }
            if !FACES.contains(&module.as_str())
                && (line.contains("ratatui::") || line.contains("crossterm::"))
            {
                out.push((at.clone(), format!("`{module}` uses the terminal")));
            }
        }
    }
    out
}

#[test]
fn modules_import_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports against the module map (docs/DESIGN.md):\n{}",
        found
            .iter()
            .map(|(at, what)| format!("{at}: {what}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_top_level_module_is_on_the_map_once() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for l in LAYERS {
        for m in *l {
            *seen.entry(m).or_default() += 1;
        }
    }
    for m in &declared {
        assert_eq!(
            seen.get(m),
            Some(&1),
            "`{m}` must be on the map exactly once"
        );
    }
    assert_eq!(
        seen.len(),
        declared.len(),
        "the map names a module lib.rs does not declare"
    );
}

/// The check itself can fail: a fabric file that reaches up into faults,
/// a topology file that reaches into provision, a domain file that draws.
#[test]
fn a_forbidden_import_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    let write = |p: &str, text: &str| {
        let p = src.join(p);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "fabric/mod.rs",
        "use crate::faults::Fault; // a fault in the fabric\n",
    );
    write("topology/mod.rs", "fn f() { crate::provision::up(); }\n");
    write("metrics/mod.rs", "use ratatui::Frame;\n");
    write(
        "faults/mod.rs",
        "use crate::fabric::proxy::Proxy;\n/// [`crate::tui`] in a comment is no import\n",
    );
    // Hidden in a group, or after a URL in a string.
    write(
        "store/mod.rs",
        "use crate::{topology::Node, faults::{Fault, FaultKind}};\n",
    );
    write(
        "check/mod.rs",
        "let u = \"redis://x\"; let f = crate::report::build;\n",
    );
    let found = violations(src);
    let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(
        at,
        [
            "src/check/mod.rs:1",
            "src/fabric/mod.rs:1",
            "src/metrics/mod.rs:1",
            "src/store/mod.rs:1",
            "src/topology/mod.rs:1"
        ],
        "{found:?}"
    );
    assert!(found[3].1.contains("`faults`"), "{found:?}");
}
