//! The fabric the nodes run on, which faults change the settings of:
//! loopback ports, the TCP proxy on every link, and the power-loss
//! filesystem under every data directory. Provisioning creates them and
//! process handles own them; nothing here knows of faults or nodes.

pub mod ports;
pub mod powerfs;
pub mod proxy;
