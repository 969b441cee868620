//! Reading YAML files into typed specs with errors that name file, line,
//! column and field path. Shared by topologies and scenarios.

mod load;
mod positions;
mod problem;
mod problems;
mod scaled;
mod share;

pub use load::{SourceText, parse_spec};
pub use positions::{Pos, Positions};
pub use problem::{FileError, Problem};
pub use problems::{MAX_DURATION, Problems, parse_duration};
pub use scaled::scaled;
pub use share::share;
