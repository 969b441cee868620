//! The power-loss filesystem: a pass-through FUSE mount over a node's data
//! directory that remembers what the node made durable, so a simulated power
//! loss can throw away everything else.
//!
//! # What survives a [`PowerFs::power_loss`]
//!
//! - **File contents**: per file, the *durable length* is its length when
//!   it was last `fsync`ed or `fdatasync`ed through the mount (its length at
//!   first open if it was never synced, 0 if it was created through the
//!   mount). A power loss cuts the file back to that length. A truncation
//!   lowers the durable length at once.
//! - **New names** (create, mkdir, symlink, link) survive only if an fsync
//!   of the parent directory, or of the new file (or directory) itself,
//!   came after them; otherwise they are removed (a directory with all it
//!   holds).
//! - **Renames and unlinks** not yet covered by an fsync of the directory
//!   they touched (either one, for a rename across directories) are undone:
//!   the name goes back, and what a rename replaced or an unlink removed
//!   comes back from a hidden graveyard directory in the backing directory
//!   (hard links made just before; never visible through the mount). A
//!   directory fsync commits its changes and frees their graveyard links.
//!   Undos run newest first; one whose name no longer refers to the inode it
//!   expects is skipped (the change is kept).
//!
//! # Where it is approximate
//!
//! - Exact for append-only files (Redis AOF, SQLite WAL, which is what the
//!   nodes depend on). **In-place overwrites** of the durable region are
//!   kept even if never synced, and a truncation is treated as durable: both
//!   err on the durable side (a real power loss could lose or revert them).
//!   Holding unsynced writes in memory, as LazyFS does, would be exact.
//! - `rmdir` is never undone, and a rename over an existing directory does
//!   not bring that directory back.
//! - fsync of a file commits its creation, and fsync of a new directory
//!   commits its own entry, as on ext4 (POSIX asks for the parent too).
//! - Only files written through the mount are tracked; what the backing
//!   directory held at mount time is durable.
//! - Without root the connection cannot be aborted: the unmount is lazy, and
//!   a power loss waits (10 s at most) until no process uses the mount.
//!
//! # Mechanics
//!
//! Writes go straight to the backing file: as root on Linux 6.9+ through
//! kernel passthrough (no round trip through this process; set
//! [`NO_PASSTHROUGH`] to turn it off), otherwise by `pwrite` on a
//! descriptor per open handle. Both are write-through without `direct_io`,
//! so shared `mmap` works and a `kill -9` loses nothing that reached the
//! kernel. The FUSE server runs on its own threads, never on a runtime.
//!
//! A power loss aborts the FUSE connection and detaches the mount (requests
//! in flight fail, as after a real power cut), repairs the backing
//! directory, and mounts a fresh session (no page cache survives). Files a
//! straggler process still holds open or mapped get a fresh inode, so what
//! it writes later cannot reach the repaired directory.
//!
//! Mounts use auto-unmount (a SIGKILLed sessiondrill leaves no dead mount),
//! and [`sweep_stale_mounts`] clears leftovers of crashed runs.

mod backing;
mod dirs;
mod files;
mod fs;
mod fusermount;
mod handles;
mod inode;
mod journal;
mod mount;
mod namespace;
mod restore;
mod stragglers;

pub use backing::NO_PASSTHROUGH;
pub use fusermount::{available, fuse_mounts_under, sweep_stale_mounts};
pub use mount::PowerFs;

/// What a power loss discarded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LossSummary {
    /// Files cut back to their durable length.
    pub files_truncated: u64,
    /// Bytes cut off those files, plus the contents of removed files.
    pub bytes_discarded: u64,
    /// Names created and never made durable, removed.
    pub files_removed: u64,
    /// Renames (and exchanges) put back.
    pub renames_undone: u64,
    /// Unlinked files brought back.
    pub unlinks_undone: u64,
}

impl LossSummary {
    /// Add what another power loss (another node's) discarded.
    pub fn add(&mut self, s: &LossSummary) {
        self.files_truncated += s.files_truncated;
        self.bytes_discarded += s.bytes_discarded;
        self.files_removed += s.files_removed;
        self.renames_undone += s.renames_undone;
        self.unlinks_undone += s.unlinks_undone;
    }
}
