//! Engine events (load started, fault injected, failover observed, …):
//! a lossless log, separate from samples.

use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Milliseconds since the run started.
    pub t_ms: u64,
    pub kind: String,
    /// The node concerned, or empty.
    pub node: String,
    pub message: String,
}

/// A shared, append-only event log with a common time origin.
#[derive(Debug, Clone)]
pub struct EventLog {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl EventLog {
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            events: Arc::default(),
        }
    }

    /// The time origin of every event.
    pub fn origin(&self) -> Instant {
        self.start
    }

    pub fn push(&self, kind: &str, node: &str, message: impl Into<String>) {
        let e = Event {
            t_ms: self.start.elapsed().as_millis() as u64,
            kind: kind.to_string(),
            node: node.to_string(),
            message: message.into(),
        };
        tracing::info!(t_ms = e.t_ms, kind = %e.kind, node = %e.node, "{}", e.message);
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    pub fn all(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
