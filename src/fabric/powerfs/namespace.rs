//! Names: lookup, create, mkdir, symlink, link, unlink, rmdir, rename.
//! Every change is recorded in the journal before the kernel hears back, so
//! the journal's order is the order the node saw.

use std::ffi::OsStr;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use fuser::{Errno, FileAttr, INodeNo};
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, RenameFlags, openat, renameat2};
use nix::sys::stat::{FchmodatFlags, FileStat, Mode, SFlag, fchmod, fchmodat, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, linkat, symlinkat, unlinkat};

use super::files::{backing_flags, writable};
use super::fs::{Res, TrackingFs, is_graveyard};
use super::handles::OpenFile;
use super::inode::{Inode, attr, errno};

impl TrackingFs {
    /// Look `name` up (counting a kernel lookup); attributes and backing
    /// inode number.
    fn entry(&self, parent: &Inode, name: &OsStr) -> Res<(FileAttr, u64)> {
        let (ino, st) = self.inodes.lookup(parent, name)?;
        let hidden = self.journal.hidden_links(st.st_ino);
        Ok((attr(ino, &st, hidden), st.st_ino))
    }

    /// The directory a new name goes into.
    fn new_name_in(&self, parent: INodeNo, name: &OsStr) -> Res<Arc<Inode>> {
        if is_graveyard(parent, name) {
            return Err(Errno::EPERM);
        }
        self.inodes.get(parent)
    }

    pub(super) fn lookup_entry(&self, parent: INodeNo, name: &OsStr) -> Res<FileAttr> {
        if is_graveyard(parent, name) {
            return Err(Errno::ENOENT);
        }
        let dir = self.inodes.get(parent)?;
        Ok(self.entry(&dir, name)?.0)
    }

    /// Attributes, the new handle and the backing inode.
    pub(super) fn create_file(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> Res<(FileAttr, u64, u64)> {
        let dir = self.new_name_in(parent, name)?;
        let mode = Mode::from_bits_truncate(mode & 0o7777);
        let oflags = backing_flags(flags);
        let excl = oflags | OFlag::O_CREAT | OFlag::O_EXCL;
        let (fd, created) = match openat(&dir.fd, name, excl, mode) {
            Ok(fd) => {
                // Our own umask must not narrow what the node asked for.
                let _ = fchmod(&fd, mode);
                (fd, true)
            }
            Err(nix::Error::EEXIST) if flags & OFlag::O_EXCL.bits() == 0 => {
                let fd = openat(&dir.fd, name, oflags, Mode::empty()).map_err(errno)?;
                (fd, false)
            }
            Err(e) => return Err(errno(e)),
        };
        let (attr, backing) = self.entry(&dir, name)?;
        if created {
            self.journal.created_file(dir, name, backing);
        } else if writable(flags) {
            self.journal.track(backing, attr.size);
        }
        let fh = self.files.insert(OpenFile {
            file: File::from(fd),
            backing_ino: backing,
        });
        Ok((attr, fh, backing))
    }

    pub(super) fn make_dir(&self, parent: INodeNo, name: &OsStr, mode: u32) -> Res<FileAttr> {
        let dir = self.new_name_in(parent, name)?;
        let mode = Mode::from_bits_truncate(mode & 0o7777);
        mkdirat(&dir.fd, name, mode).map_err(errno)?;
        let _ = fchmodat(&dir.fd, name, mode, FchmodatFlags::FollowSymlink);
        let (attr, backing) = self.entry(&dir, name)?;
        self.journal.created(dir, name, backing);
        Ok(attr)
    }

    pub(super) fn make_symlink(
        &self,
        parent: INodeNo,
        name: &OsStr,
        target: &Path,
    ) -> Res<FileAttr> {
        let dir = self.new_name_in(parent, name)?;
        symlinkat(target, &dir.fd, name).map_err(errno)?;
        let (attr, backing) = self.entry(&dir, name)?;
        self.journal.created(dir, name, backing);
        Ok(attr)
    }

    pub(super) fn make_link(&self, ino: INodeNo, parent: INodeNo, name: &OsStr) -> Res<FileAttr> {
        let target = self.inodes.get(ino)?;
        let dir = self.new_name_in(parent, name)?;
        linkat(
            AT_FDCWD,
            &target.proc_path(),
            &dir.fd,
            name,
            AtFlags::AT_SYMLINK_FOLLOW,
        )
        .map_err(errno)?;
        let (attr, backing) = self.entry(&dir, name)?;
        self.journal.created(dir, name, backing);
        Ok(attr)
    }

    pub(super) fn remove_file(&self, parent: INodeNo, name: &OsStr) -> Res<()> {
        if is_graveyard(parent, name) {
            return Err(Errno::ENOENT);
        }
        let dir = self.inodes.get(parent)?;
        let st = stat_at(&dir, name)?;
        let grave = self.journal.bury(&dir, name, st.st_ino);
        if let Err(e) = unlinkat(&dir.fd, name, UnlinkatFlags::NoRemoveDir) {
            if let Some(g) = grave {
                self.journal.unbury(g);
            }
            return Err(errno(e));
        }
        if let Some(g) = grave {
            self.journal.unlinked(dir, name, g);
        }
        Ok(())
    }

    /// Not undoable: a power loss keeps a removed directory removed.
    pub(super) fn remove_dir(&self, parent: INodeNo, name: &OsStr) -> Res<()> {
        if is_graveyard(parent, name) {
            return Err(Errno::ENOENT);
        }
        let dir = self.inodes.get(parent)?;
        unlinkat(&dir.fd, name, UnlinkatFlags::RemoveDir).map_err(errno)
    }

    pub(super) fn rename_entry(
        &self,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: u32,
    ) -> Res<()> {
        if is_graveyard(parent, name) {
            return Err(Errno::ENOENT);
        }
        let to = self.new_name_in(newparent, newname)?;
        let from = self.inodes.get(parent)?;
        let flags = RenameFlags::from_bits(flags).ok_or(Errno::EINVAL)?;
        let st = stat_at(&from, name)?;
        if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            renameat2(&from.fd, name, &to.fd, newname, flags).map_err(errno)?;
            self.journal.exchanged(from, name, to, newname);
            return Ok(());
        }
        let displaced = if flags.contains(RenameFlags::RENAME_NOREPLACE) {
            None
        } else {
            match stat_at(&to, newname) {
                Ok(old) if old.st_ino != st.st_ino && !is_dir(&old) => {
                    self.journal.bury(&to, newname, old.st_ino)
                }
                _ => None,
            }
        };
        if let Err(e) = renameat2(&from.fd, name, &to.fd, newname, flags) {
            if let Some(g) = displaced {
                self.journal.unbury(g);
            }
            return Err(errno(e));
        }
        self.journal
            .renamed(from, name, to, newname, st.st_ino, displaced);
        Ok(())
    }
}

fn stat_at(dir: &Inode, name: &OsStr) -> Res<FileStat> {
    fstatat(&dir.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(errno)
}

fn is_dir(st: &FileStat) -> bool {
    st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits()
}
