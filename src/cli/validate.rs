use std::path::PathBuf;

use crate::scenario::Document;

/// `validate FILE...` (topologies and scenarios): 0 when every file is
/// valid, else 2.
pub fn run(files: &[PathBuf]) -> u8 {
    let mut bad = 0;
    for f in files {
        match Document::load(f) {
            Ok(Document::Topology(t)) => println!(
                "{}: ok (topology {}: {} nodes, {} processes)",
                f.display(),
                t.name,
                t.nodes.len(),
                t.process_count()
            ),
            Ok(Document::Scenario(s)) => println!(
                "{}: ok (scenario {}: strategies {} on topology {})",
                f.display(),
                s.name,
                s.strategies
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.topology.name
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad == 0 { 0 } else { 2 }
}
