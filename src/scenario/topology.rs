//! A scenario's `topology:` — a file next to the scenario, or inline
//! (validated where it is written, so errors point into the scenario).

use std::path::Path;

use crate::topology::{Topology, TopologySpec, validate_at};
use crate::yaml::{FileError, Problem, Problems, SourceText};

/// The scenario's topology: a file next to the scenario, or inline.
pub(super) fn topology(
    c: &mut Problems<'_>,
    src: &SourceText,
    v: &serde_yaml::Value,
) -> Result<Topology, FileError> {
    match v {
        serde_yaml::Value::String(rel) => {
            let path = src.path.parent().unwrap_or(Path::new(".")).join(rel);
            // Only a YAML file: a scenario naming /etc/passwd or
            // /proc/self/environ would have its errors quote them.
            if !path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
            {
                return Err(FileError::single(
                    &src.path,
                    Problem::new(
                        c.pos("topology"),
                        "topology",
                        format!("topology file {rel:?} must be a .yaml or .yml file"),
                    ),
                ));
            }
            if !path.is_file() {
                return Err(FileError::single(
                    &src.path,
                    Problem::new(
                        c.pos("topology"),
                        "topology",
                        format!("topology file {} does not exist", path.display()),
                    ),
                ));
            }
            Topology::load(&path)
        }
        serde_yaml::Value::Mapping(_) => {
            let spec: TopologySpec = serde_yaml::from_value(v.clone()).map_err(|e| {
                FileError::single(
                    &src.path,
                    Problem::new(
                        c.pos("topology"),
                        "topology",
                        format!("inline topology: {e}"),
                    ),
                )
            })?;
            validate_at(spec, c.positions(), src, "topology")
        }
        _ => Err(FileError::single(
            &src.path,
            Problem::new(
                c.pos("topology"),
                "topology",
                "topology must be a file name (relative to this file) or an inline topology mapping",
            ),
        )),
    }
}
