//! Node processes implemented by sessiondrill itself, run as hidden
//! subcommands of the same binary so they can be crashed and restarted
//! like any other node.

pub mod dax;
pub mod dynamodb;
mod http;
mod serve;
