//! sessiondrill: failure drills on session stores, on real local topologies.
//!
//! The domain (topology, provisioning, faults, workload, metrics) lives here
//! and never depends on the terminal; the CLI in `main.rs` is one consumer.

pub mod cli;
pub mod dynamo;
pub mod nodes;
pub mod provision;
pub mod topology;
pub mod yaml;
