//! The inode table: one `O_PATH` descriptor per backing file the kernel
//! currently knows, so renames never invalidate anything we hold.
//!
//! FUSE inode numbers are the backing inode numbers, except that the root is
//! 1 (as FUSE requires) and a backing inode numbered 1 takes the root's
//! number instead. Within one backing filesystem that mapping is a bijection,
//! so `readdir` can report the same numbers `stat` does.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{Errno, FileAttr, FileType, INodeNo};
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};

/// One backing file, directory or symlink.
#[derive(Debug)]
pub(super) struct Inode {
    /// `O_PATH | O_NOFOLLOW`: usable as a directory fd for `*at` calls, for
    /// `fstat`, and reopenable through `/proc/self/fd`.
    pub fd: OwnedFd,
    pub backing_ino: u64,
    pub kind: FileType,
}

impl Inode {
    /// `/proc/self/fd/N`: reopens the inode itself (the magic link).
    pub fn proc_path(&self) -> PathBuf {
        proc_path(&self.fd)
    }

    pub fn stat(&self) -> Result<FileStat, Errno> {
        fstat(&self.fd).map_err(errno)
    }
}

pub(super) fn proc_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

struct Entry {
    inode: Arc<Inode>,
    /// Lookups the kernel has not forgotten yet.
    nlookup: u64,
}

pub(super) struct InodeTable {
    root_backing: u64,
    map: RwLock<HashMap<u64, Entry>>,
}

impl InodeTable {
    pub fn new(root: OwnedFd) -> std::io::Result<Self> {
        let st = fstat(&root)?;
        let root_backing = st.st_ino;
        let inode = Arc::new(Inode {
            fd: root,
            backing_ino: root_backing,
            kind: FileType::Directory,
        });
        let mut map = HashMap::new();
        map.insert(INodeNo::ROOT.0, Entry { inode, nlookup: 1 });
        Ok(Self {
            root_backing,
            map: RwLock::new(map),
        })
    }

    /// The FUSE number of a backing inode.
    pub fn fuse_ino(&self, backing: u64) -> u64 {
        if backing == self.root_backing {
            INodeNo::ROOT.0
        } else if backing == INodeNo::ROOT.0 {
            self.root_backing
        } else {
            backing
        }
    }

    pub fn get(&self, ino: INodeNo) -> Result<Arc<Inode>, Errno> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(&ino.0)
            .map(|e| e.inode.clone())
            .ok_or(Errno::ESTALE)
    }

    /// Look `name` up in `parent` on the backing side and count one kernel
    /// lookup of it. Returns the FUSE number and fresh attributes.
    pub fn lookup(&self, parent: &Inode, name: &OsStr) -> Result<(u64, FileStat), Errno> {
        let st = fstatat(&parent.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(errno)?;
        let ino = self.fuse_ino(st.st_ino);
        {
            let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = map.get_mut(&ino) {
                e.nlookup += 1;
                return Ok((ino, st));
            }
        }
        let fd = openat(
            &parent.fd,
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        // Stat the descriptor itself: the name may have moved meanwhile.
        let st = fstat(&fd).map_err(errno)?;
        let ino = self.fuse_ino(st.st_ino);
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.entry(ino)
            .and_modify(|e| e.nlookup += 1)
            .or_insert_with(|| Entry {
                inode: Arc::new(Inode {
                    fd,
                    backing_ino: st.st_ino,
                    kind: kind_of(st.st_mode),
                }),
                nlookup: 1,
            });
        Ok((ino, st))
    }

    pub fn forget(&self, ino: u64, n: u64) {
        if ino == INodeNo::ROOT.0 {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get_mut(&ino) {
            e.nlookup = e.nlookup.saturating_sub(n);
            if e.nlookup == 0 {
                map.remove(&ino);
            }
        }
    }
}

pub(super) fn errno(e: nix::Error) -> Errno {
    Errno::from_i32(e as i32)
}

pub(super) fn kind_of(mode: u32) -> FileType {
    match SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFDIR => FileType::Directory,
        SFlag::S_IFLNK => FileType::Symlink,
        SFlag::S_IFIFO => FileType::NamedPipe,
        SFlag::S_IFSOCK => FileType::Socket,
        SFlag::S_IFCHR => FileType::CharDevice,
        SFlag::S_IFBLK => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}

/// FUSE attributes of a backing stat; `hidden_links` (graveyard links kept
/// for undoing unlinks) are not shown in the link count.
pub(super) fn attr(ino: u64, st: &FileStat, hidden_links: u32) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: st.st_size as u64,
        blocks: st.st_blocks as u64,
        atime: time(st.st_atime, st.st_atime_nsec),
        mtime: time(st.st_mtime, st.st_mtime_nsec),
        ctime: time(st.st_ctime, st.st_ctime_nsec),
        crtime: UNIX_EPOCH,
        kind: kind_of(st.st_mode),
        perm: (st.st_mode & 0o7777) as u16,
        nlink: (st.st_nlink as u32).saturating_sub(hidden_links),
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev as u32,
        blksize: st.st_blksize as u32,
        flags: 0,
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    let nanos = Duration::from_nanos(nsecs.clamp(0, 999_999_999) as u64);
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_times_are_before_the_epoch() {
        assert_eq!(
            time(-1, 500_000_000),
            UNIX_EPOCH - Duration::from_millis(500)
        );
        assert_eq!(time(2, 1), UNIX_EPOCH + Duration::new(2, 1));
    }

    #[test]
    fn root_and_inode_one_swap_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let root = nix::fcntl::open(dir.path(), OFlag::O_PATH, Mode::empty()).unwrap();
        let table = InodeTable::new(root).unwrap();
        let rb = table.root_backing;
        assert_eq!(table.fuse_ino(rb), 1);
        assert_eq!(table.fuse_ino(1), rb);
        assert_eq!(table.fuse_ino(rb + 7), rb + 7);
    }
}
