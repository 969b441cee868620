//! Kernel passthrough (Linux 6.9+, as root): reads, writes and `mmap` of an
//! open file go from the kernel straight to the backing file, with no round
//! trip through this process. fsync still comes here, and fsync is all the
//! journal needs. Without it (no root, older kernel) every read and write is
//! a `pread`/`pwrite` in [`super::files`].
//!
//! The kernel wants one backing id per inode while any handle of it is open:
//! ids are shared per inode and dropped with the last handle.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use fuser::{BackingId, InitFlags, KernelConfig};

/// Environment variable: when set, every read and write goes through this
/// process (for comparing, and for testing that path as root).
pub const NO_PASSTHROUGH: &str = "SESSIONDRILL_POWERFS_NO_PASSTHROUGH";

#[derive(Default)]
struct Ids {
    /// Open handle → (backing inode, its id).
    by_fh: HashMap<u64, (u64, Arc<BackingId>)>,
    by_inode: HashMap<u64, Weak<BackingId>>,
}

#[derive(Default)]
pub(super) struct KernelPassthrough {
    enabled: bool,
    ids: Mutex<Ids>,
}

impl KernelPassthrough {
    fn lock(&self) -> MutexGuard<'_, Ids> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ask the kernel for passthrough during `init`; registering backing
    /// files needs CAP_SYS_ADMIN. [`NO_PASSTHROUGH`] set: never.
    pub fn negotiate(&mut self, config: &mut KernelConfig) {
        self.enabled = std::env::var_os(NO_PASSTHROUGH).is_none()
            && nix::unistd::geteuid().is_root()
            && config.add_capabilities(InitFlags::FUSE_PASSTHROUGH).is_ok()
            && config.set_max_stack_depth(2).is_ok();
    }

    /// The backing id for handle `fh` of backing inode `ino`; `register`
    /// makes one if the inode has none. `None`: serve this handle ourselves.
    pub fn attach(
        &self,
        fh: u64,
        ino: u64,
        register: impl FnOnce() -> io::Result<BackingId>,
    ) -> Option<Arc<BackingId>> {
        if !self.enabled {
            return None;
        }
        let mut ids = self.lock();
        let id = match ids.by_inode.get(&ino).and_then(Weak::upgrade) {
            Some(id) => id,
            None => match register() {
                Ok(id) => {
                    let id = Arc::new(id);
                    ids.by_inode.insert(ino, Arc::downgrade(&id));
                    id
                }
                Err(e) => {
                    tracing::debug!(%e, "powerfs: no kernel passthrough for this file");
                    return None;
                }
            },
        };
        ids.by_fh.insert(fh, (ino, id.clone()));
        Some(id)
    }

    /// Handle `fh` was released; the last handle of an inode drops its id.
    pub fn release(&self, fh: u64) {
        let mut ids = self.lock();
        if let Some((ino, id)) = ids.by_fh.remove(&fh)
            && Arc::strong_count(&id) == 1
        {
            ids.by_inode.remove(&ino);
        }
    }

    /// The session is over and the kernel has dropped every id with the
    /// connection: forget them without asking it to close any.
    pub fn forget_all(&mut self) {
        let ids = std::mem::take(&mut *self.lock());
        drop(ids.by_inode);
        for (_, (_, id)) in ids.by_fh {
            if let Ok(id) = Arc::try_unwrap(id) {
                id.into_raw();
            }
        }
    }
}
