//! The power cut itself: with the mount stopped, make the backing directory
//! hold only what was durable.
//!
//! Order: undo the pending namespace changes newest first (each undo checks
//! the name still refers to the inode it expects, and is skipped otherwise),
//! then cut every tracked file back to its durable length (and give files
//! a straggler still holds a fresh inode), then empty the graveyard.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, RenameFlags, renameat2};
use nix::sys::stat::{FileStat, SFlag, fstatat};
use nix::unistd::{UnlinkatFlags, linkat, unlinkat};

use super::LossSummary;
use super::inode::Inode;
use super::journal::{Change, GRAVEYARD, Journal};

/// `held`: backing inodes some process still has open (see
/// [`super::stragglers`]).
pub(super) fn power_cut(
    backing: &Path,
    journal: &Journal,
    held: &HashSet<u64>,
) -> io::Result<LossSummary> {
    let pending = journal.take();
    let graveyard = journal.graveyard();
    let mut summary = LossSummary::default();
    for change in pending.changes.into_iter().rev() {
        undo(change, graveyard, &mut summary);
    }
    let root_dev = fs::metadata(backing)?.dev();
    let mut walk = Walk {
        dev: root_dev,
        durable_len: &pending.durable_len,
        held,
        seen: HashSet::new(),
    };
    walk.cut_back(backing, true, &mut summary)?;
    clear_dir(&backing.join(GRAVEYARD))?;
    Ok(summary)
}

fn stat_at(dir: &Inode, name: &std::ffi::OsStr) -> Option<FileStat> {
    fstatat(&dir.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW).ok()
}

fn is_dir(st: &FileStat) -> bool {
    st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits()
}

fn undo(change: Change, graveyard: &OwnedFd, s: &mut LossSummary) {
    match change {
        Change::Created { dir, name, ino } => {
            let Some(st) = stat_at(&dir, &name).filter(|st| st.st_ino == ino) else {
                return;
            };
            let removed = if is_dir(&st) {
                fs::remove_dir_all(dir.proc_path().join(&name)).is_ok()
            } else {
                unlinkat(&dir.fd, name.as_os_str(), UnlinkatFlags::NoRemoveDir).is_ok()
            };
            if removed {
                s.files_removed += 1;
                if !is_dir(&st) && st.st_nlink <= 1 {
                    s.bytes_discarded += st.st_size as u64;
                }
            }
        }
        Change::Renamed {
            from,
            from_name,
            to,
            to_name,
            ino,
            displaced,
        } => {
            if stat_at(&to, &to_name).is_none_or(|st| st.st_ino != ino) {
                return;
            }
            let back = renameat2(
                &to.fd,
                to_name.as_os_str(),
                &from.fd,
                from_name.as_os_str(),
                RenameFlags::RENAME_NOREPLACE,
            );
            if back.is_err() {
                return;
            }
            s.renames_undone += 1;
            if let Some(g) = displaced {
                let _ = linkat(
                    graveyard,
                    g.name.as_os_str(),
                    &to.fd,
                    to_name.as_os_str(),
                    AtFlags::empty(),
                );
            }
        }
        Change::Exchanged {
            a,
            a_name,
            b,
            b_name,
        } => {
            let swapped = renameat2(
                &a.fd,
                a_name.as_os_str(),
                &b.fd,
                b_name.as_os_str(),
                RenameFlags::RENAME_EXCHANGE,
            );
            if swapped.is_ok() {
                s.renames_undone += 1;
            }
        }
        Change::Unlinked { dir, name, grave } => {
            let free = matches!(
                fstatat(&dir.fd, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW),
                Err(Errno::ENOENT)
            );
            if free
                && linkat(
                    graveyard,
                    grave.name.as_os_str(),
                    &dir.fd,
                    name.as_os_str(),
                    AtFlags::empty(),
                )
                .is_ok()
            {
                s.unlinks_undone += 1;
            }
        }
    }
}

struct Walk<'a> {
    dev: u64,
    durable_len: &'a HashMap<u64, u64>,
    held: &'a HashSet<u64>,
    /// Inodes done (hard links are visited once).
    seen: HashSet<u64>,
}

impl Walk<'_> {
    /// Truncate every tracked regular file under `dir` to its durable
    /// length; re-home held ones.
    fn cut_back(&mut self, dir: &Path, top: bool, s: &mut LossSummary) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if top && entry.file_name() == GRAVEYARD {
                continue;
            }
            let meta = entry.metadata()?;
            if meta.dev() != self.dev {
                continue;
            }
            if meta.is_dir() {
                self.cut_back(&entry.path(), false, s)?;
                continue;
            }
            if !meta.is_file() || !self.seen.insert(meta.ino()) {
                continue;
            }
            if let Some(&durable) = self.durable_len.get(&meta.ino())
                && meta.len() > durable
            {
                fs::OpenOptions::new()
                    .write(true)
                    .open(entry.path())?
                    .set_len(durable)?;
                s.files_truncated += 1;
                s.bytes_discarded += meta.len() - durable;
            }
            if self.held.contains(&meta.ino()) {
                rehome(&entry.path())?;
            }
        }
        Ok(())
    }
}

/// Replace `path` by a copy of itself: writes through descriptors still
/// open on the old inode no longer reach it.
fn rehome(path: &Path) -> io::Result<()> {
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(path.file_name().unwrap_or_default());
    tmp_name.push(".powerfs-copy");
    let tmp = path.with_file_name(tmp_name);
    fs::copy(path, &tmp)?;
    fs::rename(&tmp, path)
}

/// Remove everything inside `dir`, keeping `dir`.
pub(super) fn clear_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
