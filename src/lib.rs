//! sessiondrill: failure drills on session stores, on real local topologies.
//!
//! The domain (topology, provisioning, faults, workload, metrics) lives here
//! and never depends on the terminal; the CLI in `main.rs` is one consumer.

pub mod bench;
pub mod check;
pub mod cli;
pub mod cloud;
pub mod cost;
pub mod drill;
pub mod dynamo;
pub mod events;
pub mod fabric;
pub mod faults;
pub mod metrics;
pub mod nodes;
pub mod observe;
pub mod provision;
pub mod report;
pub mod scenario;
pub mod store;
pub mod topology;
pub mod tui;
pub mod workload;
pub mod yaml;
