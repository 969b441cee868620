//! Read-modify-write updates: what most session middleware does — read
//! the session, change it, write it back. Each update adds one token (its
//! version) to the session ([`super::value::with_token`]), so an update
//! another one overwrote without having seen it is visible as a missing
//! token ([`crate::check::updates`]). Three flavours per store:
//!
//! - **blind**: read, then write whatever was computed (GET then SET,
//!   GetItem then PutItem) — two overlapping updates of one session both
//!   read the same value and the second write drops the first's change;
//! - **optimistic**: read, then write only if the session is still what
//!   was read (a compare-and-set script; a `ConditionExpression`), else
//!   read again and retry — every refused write is a *conflict*, counted;
//! - **atomic**: one server-side operation appends the token (a script;
//!   `UpdateItem` with `list_append`) — nothing to lose, nothing to retry.
//!
//! Every write (a create too) is an update: nothing overwrites a session
//! without carrying its tokens forward, except a delete.

pub mod dynamodb;
pub mod redis;

use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{ErrorClass, OpError};

/// How an update changes a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Blind,
    Optimistic,
    Atomic,
}

impl Flavour {
    /// The client's policy in one line: the flavour, the application's
    /// work per update, the store's client.
    pub fn describe(self, work: std::time::Duration, client: &str) -> String {
        let flavour = match self {
            Flavour::Blind => "blind read-modify-write (read, then write back)",
            Flavour::Optimistic => {
                "optimistic read-modify-write (write only if unchanged since the read, else retry)"
            }
            Flavour::Atomic => "atomic update (one server-side operation)",
        };
        format!(
            "{flavour}; {} ms of work per update; {client}",
            work.as_millis()
        )
    }
}

/// Attempts of an optimistic update before it gives up (a `conflict`
/// error): every one read a session another update changed before the
/// write.
pub const ATTEMPTS: u32 = 10;

/// The refused conditional writes of optimistic updates.
#[derive(Debug, Default)]
pub struct Conflicts(AtomicU64);

impl Conflicts {
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The application's work on a session before it writes it back
/// (`workload.update_work`): between the read and the write, or before an
/// atomic update.
pub async fn work(d: std::time::Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// The error of an optimistic update that lost every attempt.
pub fn gave_up() -> OpError {
    OpError::new(
        ErrorClass::Conflict,
        format!("the session changed under every one of {ATTEMPTS} attempts"),
    )
}

/// The error for a value the workload did not make (no version), or a
/// session that holds something other than an update's value.
fn not_ours() -> OpError {
    OpError::new(
        ErrorClass::Other,
        "not a session kept by updates (no version or no tokens)",
    )
}
