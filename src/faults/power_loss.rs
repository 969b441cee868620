//! `power-loss`: SIGKILL the node, then make its data directory hold only
//! what it had fsynced (see [`crate::fabric::powerfs`]). A plain `kill` loses nothing
//! that reached the kernel; this is the difference the drill shows.

use std::time::{Duration, Instant};

use crate::fabric::powerfs::LossSummary;
use crate::provision::NodeHandle;

/// How long a power loss with `unsynced` waits beyond it for the node to go
/// that long without an fsync (with `appendfsync always` it never does).
pub const UNSYNCED_GRACE: Duration = Duration::from_secs(2);

/// Wait until nothing has been fsynced on `node`'s data directory for
/// `at_least` (at most `at_least` + [`UNSYNCED_GRACE`]): the moment when
/// that much of the node's writes would be lost. How long it waited.
pub async fn wait_unsynced(node: &NodeHandle, at_least: Duration) -> Duration {
    let start = Instant::now();
    while let Some(since) = node.fs.as_ref().and_then(|fs| fs.since_last_sync()) {
        if since >= at_least || start.elapsed() >= at_least + UNSYNCED_GRACE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

/// Cut the power: what was discarded, and how long the node had gone
/// without an fsync when it was cut.
pub fn inject(node: &mut NodeHandle) -> Result<(LossSummary, Option<Duration>), String> {
    let name = node.info.name.clone();
    if node.fs.is_none() {
        return Err(format!(
            "{name}: its data directory is not on the power-loss filesystem \
             (FUSE unavailable, or the run was started without it)"
        ));
    }
    let unsynced_for = node.fs.as_ref().and_then(|fs| fs.since_last_sync());
    super::process::kill(node)?;
    let fs = node.fs.as_mut().expect("checked above");
    // Unmounting and repairing the data directory blocks (up to seconds
    // without root): keep it off the runtime's workers where possible.
    let mut cut = || fs.power_loss();
    let result = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(cut),
        _ => cut(),
    };
    result
        .map(|summary| (summary, unsynced_for))
        .map_err(|e| format!("{name}: discarding unsynced data: {e}"))
}
