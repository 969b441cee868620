//! Watching a running deployment: each process's state, live role and
//! replication offset (polled by the [`observer`], which also emits the
//! events it sees: a node down or up, a failover), and what a primary's
//! replicas lag behind it. Observing never changes anything; faults and the
//! dashboard read what it saw.

pub mod node_status;
pub mod observer;
pub mod replication;
pub mod roles;
