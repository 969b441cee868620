//! Directories: open, list, fsync. A directory fsync is what commits
//! creates, renames and unlinks inside it.

use std::fs::{self, File};
use std::os::unix::fs::DirEntryExt;
use std::sync::Mutex;

use fuser::{Errno, FileType, INodeNo};
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;

use super::fs::{Res, TrackingFs, io_errno, is_graveyard};
use super::handles::{DirEntry, OpenDir};
use super::inode::{errno, proc_path};

impl TrackingFs {
    pub(super) fn open_dir(&self, ino: INodeNo) -> Res<u64> {
        let inode = self.inodes.get(ino)?;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = openat(&inode.fd, ".", flags, Mode::empty()).map_err(errno)?;
        Ok(self.dirs.insert(OpenDir {
            dir: File::from(fd),
            backing_ino: inode.backing_ino,
            listing: Mutex::new(Vec::new()),
        }))
    }

    /// Entries from `offset` on, each with its index. The listing is taken
    /// afresh whenever reading starts over at offset 0.
    pub(super) fn list_from(
        &self,
        ino: INodeNo,
        fh: u64,
        offset: u64,
    ) -> Res<Vec<(u64, DirEntry)>> {
        let d = self.dirs.get(fh)?;
        let mut listing = d.listing.lock().unwrap_or_else(|e| e.into_inner());
        if offset == 0 {
            *listing = self.list(ino, &d.dir)?;
        }
        Ok(listing
            .iter()
            .cloned()
            .enumerate()
            .skip(offset as usize)
            .map(|(i, e)| (i as u64, e))
            .collect())
    }

    fn list(&self, ino: INodeNo, dir: &File) -> Res<Vec<DirEntry>> {
        let dot = |name: &str| DirEntry {
            ino: ino.0,
            kind: FileType::Directory,
            name: name.into(),
        };
        let mut out = vec![dot("."), dot("..")];
        for entry in fs::read_dir(proc_path(dir)).map_err(io_errno)? {
            let entry = entry.map_err(io_errno)?;
            let name = entry.file_name();
            if is_graveyard(ino, &name) {
                continue;
            }
            let kind = entry
                .file_type()
                .ok()
                .and_then(FileType::from_std)
                .unwrap_or(FileType::RegularFile);
            out.push(DirEntry {
                ino: self.inodes.fuse_ino(entry.ino()),
                kind,
                name,
            });
        }
        Ok(out)
    }

    pub(super) fn sync_dir(&self, fh: u64, datasync: bool) -> Res<()> {
        let d = self.dirs.get(fh)?;
        let synced = if datasync {
            d.dir.sync_data()
        } else {
            d.dir.sync_all()
        };
        synced.map_err(io_errno)?;
        if !self.journal.dir_synced(d.backing_ino) {
            return Err(Errno::EIO);
        }
        Ok(())
    }
}
