//! File contents and attributes: open, read, write, fsync, setattr,
//! fallocate. Reads and writes are `pread`/`pwrite` on the handle's own
//! descriptor and never touch the journal; fsync records the durable length.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::time::UNIX_EPOCH;

use fuser::{Errno, FileAttr, FileHandle, FileType, INodeNo, TimeOrNow};
use nix::fcntl::{AT_FDCWD, AtFlags, FallocateFlags, OFlag, fallocate, open};
use nix::sys::stat::{FchmodatFlags, Mode, UtimensatFlags, fchmodat, fstat, utimensat};
use nix::sys::statvfs::{Statvfs, fstatvfs};
use nix::sys::time::TimeSpec;
use nix::unistd::{AccessFlags, Gid, Uid, access, fchownat};

use super::fs::{Res, TrackingFs, io_errno};
use super::handles::OpenFile;
use super::inode::{Inode, attr, errno};

/// Flags for opening the backing file. The kernel already did creation,
/// truncation and `O_APPEND` positioning; the backing descriptor must honour
/// the offsets it sends.
pub(super) fn backing_flags(flags: i32) -> OFlag {
    let handled = OFlag::O_CREAT
        | OFlag::O_EXCL
        | OFlag::O_NOCTTY
        | OFlag::O_TRUNC
        | OFlag::O_APPEND
        | OFlag::O_DIRECT
        | OFlag::O_NOFOLLOW
        | OFlag::O_PATH;
    (OFlag::from_bits_truncate(flags) - handled) | OFlag::O_CLOEXEC
}

pub(super) fn writable(flags: i32) -> bool {
    flags & OFlag::O_ACCMODE.bits() != OFlag::O_RDONLY.bits()
}

fn time_spec(t: Option<TimeOrNow>) -> TimeSpec {
    match t {
        None => TimeSpec::UTIME_OMIT,
        Some(TimeOrNow::Now) => TimeSpec::UTIME_NOW,
        Some(TimeOrNow::SpecificTime(t)) => {
            TimeSpec::from(t.duration_since(UNIX_EPOCH).unwrap_or_default())
        }
    }
}

impl TrackingFs {
    pub(super) fn attr_of(&self, ino: INodeNo, fh: Option<FileHandle>) -> Res<FileAttr> {
        let st = match fh.and_then(|fh| self.files.get(fh.0).ok()) {
            Some(h) => fstat(&h.file).map_err(errno)?,
            None => self.inodes.get(ino)?.stat()?,
        };
        Ok(attr(ino.0, &st, self.journal.hidden_links(st.st_ino)))
    }

    pub(super) fn set_attr(
        &self,
        ino: INodeNo,
        fh: Option<FileHandle>,
        mode: Option<u32>,
        (uid, gid): (Option<u32>, Option<u32>),
        size: Option<u64>,
        (atime, mtime): (Option<TimeOrNow>, Option<TimeOrNow>),
    ) -> Res<FileAttr> {
        let inode = self.inodes.get(ino)?;
        let symlink = inode.kind == FileType::Symlink;
        if let Some(mode) = mode.filter(|_| !symlink) {
            let mode = Mode::from_bits_truncate(mode & 0o7777);
            fchmodat(
                AT_FDCWD,
                &inode.proc_path(),
                mode,
                FchmodatFlags::FollowSymlink,
            )
            .map_err(errno)?;
        }
        if uid.is_some() || gid.is_some() {
            fchownat(
                &inode.fd,
                "",
                uid.map(Uid::from_raw),
                gid.map(Gid::from_raw),
                AtFlags::AT_EMPTY_PATH,
            )
            .map_err(errno)?;
        }
        if let Some(size) = size {
            self.truncate(&inode, fh, size)?;
        }
        if (atime.is_some() || mtime.is_some()) && !symlink {
            utimensat(
                AT_FDCWD,
                &inode.proc_path(),
                &time_spec(atime),
                &time_spec(mtime),
                UtimensatFlags::FollowSymlink,
            )
            .map_err(errno)?;
        }
        self.attr_of(ino, fh)
    }

    fn truncate(&self, inode: &Inode, fh: Option<FileHandle>, size: u64) -> Res<()> {
        let handle = fh.and_then(|fh| self.files.get(fh.0).ok());
        let reopened;
        let file: &File = match &handle {
            Some(h) => &h.file,
            None => {
                reopened = OpenOptions::new()
                    .write(true)
                    .open(inode.proc_path())
                    .map_err(io_errno)?;
                &reopened
            }
        };
        let len = file.metadata().map_err(io_errno)?.len();
        if !self.journal.truncating(inode.backing_ino, len, size) {
            return Err(Errno::EIO);
        }
        file.set_len(size).map_err(io_errno)
    }

    pub(super) fn read_link(&self, ino: INodeNo) -> Res<std::ffi::OsString> {
        let inode = self.inodes.get(ino)?;
        nix::fcntl::readlinkat(&inode.fd, "").map_err(errno)
    }

    /// The new handle and the backing inode.
    pub(super) fn open_file(&self, ino: INodeNo, flags: i32) -> Res<(u64, u64)> {
        let inode = self.inodes.get(ino)?;
        let fd = open(&inode.proc_path(), backing_flags(flags), Mode::empty()).map_err(errno)?;
        let file = File::from(fd);
        if writable(flags) {
            let len = file.metadata().map_err(io_errno)?.len();
            self.journal.track(inode.backing_ino, len);
        }
        let fh = self.files.insert(OpenFile {
            file,
            backing_ino: inode.backing_ino,
        });
        Ok((fh, inode.backing_ino))
    }

    pub(super) fn read_at(&self, fh: u64, offset: u64, size: u32) -> Res<Vec<u8>> {
        let h = self.files.get(fh)?;
        let mut buf = vec![0u8; size as usize];
        let mut n = 0;
        while n < buf.len() {
            match h.file.read_at(&mut buf[n..], offset + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io_errno(e)),
            }
        }
        buf.truncate(n);
        Ok(buf)
    }

    pub(super) fn write_at(&self, fh: u64, offset: u64, data: &[u8]) -> Res<u32> {
        let h = self.files.get(fh)?;
        h.file.write_all_at(data, offset).map_err(io_errno)?;
        Ok(data.len() as u32)
    }

    /// The length is taken before syncing: bytes written while the sync
    /// runs are not known to be covered.
    pub(super) fn sync_file(&self, fh: u64, datasync: bool) -> Res<()> {
        let h = self.files.get(fh)?;
        let len = h.file.metadata().map_err(io_errno)?.len();
        let synced = if datasync {
            h.file.sync_data()
        } else {
            h.file.sync_all()
        };
        synced.map_err(io_errno)?;
        if !self.journal.synced(h.backing_ino, len) {
            return Err(Errno::EIO);
        }
        Ok(())
    }

    pub(super) fn allocate(&self, fh: u64, offset: u64, length: u64, mode: i32) -> Res<()> {
        // Hole punching and collapsing destroy data: not after the cut.
        if self.journal.power_is_cut() {
            return Err(Errno::EIO);
        }
        let h = self.files.get(fh)?;
        let (offset, length) = (
            i64::try_from(offset).map_err(|_| Errno::EFBIG)?,
            i64::try_from(length).map_err(|_| Errno::EFBIG)?,
        );
        fallocate(
            &h.file,
            FallocateFlags::from_bits_truncate(mode),
            offset,
            length,
        )
        .map_err(errno)
    }

    pub(super) fn stat_fs(&self) -> Res<Statvfs> {
        let root = self.inodes.get(INodeNo::ROOT)?;
        fstatvfs(&root.fd).map_err(errno)
    }

    pub(super) fn check_access(&self, ino: INodeNo, mask: i32) -> Res<()> {
        let inode = self.inodes.get(ino)?;
        access(&inode.proc_path(), AccessFlags::from_bits_truncate(mask)).map_err(errno)
    }
}
