//! The fabric the nodes run on, which faults change the settings of:
//! loopback ports, the TCP proxy on every link, and the power-loss
//! filesystem under every data directory; and the run's certificate
//! authority for nodes that speak TLS. Provisioning creates them and
//! process handles own them; nothing here knows of faults or nodes.

pub mod ports;
pub mod powerfs;
pub mod proxy;
pub mod tls;
pub mod tls_client;
