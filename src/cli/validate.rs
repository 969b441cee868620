use std::path::PathBuf;

use crate::topology::Topology;

/// `validate FILE...`: 0 when every file is valid, else 2.
pub fn run(files: &[PathBuf]) -> u8 {
    let mut bad = 0;
    for f in files {
        match Topology::load(f) {
            Ok(t) => println!(
                "{}: ok ({}: {} nodes, {} processes)",
                f.display(),
                t.name,
                t.nodes.len(),
                t.process_count()
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad == 0 { 0 } else { 2 }
}
