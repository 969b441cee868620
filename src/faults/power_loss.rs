//! `power-loss`: SIGKILL the node, then make its data directory hold only
//! what it had fsynced (see [`super::powerfs`]). A plain `kill` loses nothing
//! that reached the kernel; this is the difference the drill shows.

use super::powerfs::LossSummary;
use crate::provision::NodeHandle;

pub fn inject(node: &mut NodeHandle) -> Result<LossSummary, String> {
    let name = node.info.name.clone();
    if node.fs.is_none() {
        return Err(format!(
            "{name}: its data directory is not on the power-loss filesystem \
             (FUSE unavailable, or the run was started without it)"
        ));
    }
    super::process::kill(node)?;
    let fs = node.fs.as_mut().expect("checked above");
    // Unmounting and repairing the data directory blocks (up to seconds
    // without root): keep it off the runtime's workers where possible.
    let mut cut = || fs.power_loss();
    let result = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(cut),
        _ => cut(),
    };
    result.map_err(|e| format!("{name}: discarding unsynced data: {e}"))
}
