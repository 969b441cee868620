//! Open file and directory handles: the `fh` the kernel passes back on every
//! read, write, fsync and readdir.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use fuser::{Errno, FileType};

/// A file opened through the mount: its own descriptor on the backing file,
/// so reads and writes are plain `pread`/`pwrite` with no shared state.
#[derive(Debug)]
pub(super) struct OpenFile {
    pub file: File,
    pub backing_ino: u64,
}

/// An open directory: a real descriptor (for `fsync`) and the listing taken
/// when reading starts at offset 0.
#[derive(Debug)]
pub(super) struct OpenDir {
    pub dir: File,
    pub backing_ino: u64,
    pub listing: Mutex<Vec<DirEntry>>,
}

#[derive(Debug, Clone)]
pub(super) struct DirEntry {
    pub ino: u64,
    pub kind: FileType,
    pub name: OsString,
}

/// Handles of one kind, numbered from 1.
pub(super) struct Handles<T> {
    next: AtomicU64,
    map: RwLock<HashMap<u64, Arc<T>>>,
}

impl<T> Handles<T> {
    pub fn new() -> Self {
        Self {
            next: AtomicU64::new(1),
            map: RwLock::new(HashMap::new()),
        }
    }

    pub fn insert(&self, value: T) -> u64 {
        let fh = self.next.fetch_add(1, Ordering::Relaxed);
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fh, Arc::new(value));
        fh
    }

    pub fn get(&self, fh: u64) -> Result<Arc<T>, Errno> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fh)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    pub fn remove(&self, fh: u64) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fh);
    }
}
