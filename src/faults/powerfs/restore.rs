//! The power cut itself: with the mount stopped, make the backing directory
//! hold only what was durable.
//!
//! Order: undo the pending namespace changes newest first (each undo checks
//! the name still refers to the inode it expects, and is skipped otherwise),
//! then cut every tracked file back to its durable length, then empty the
//! graveyard.

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

pub(super) fn power_cut(backing: &Path, journal: &Journal) -> io::Result<LossSummary> {
    let pending = journal.take();
    let graveyard = journal.graveyard();
    let mut summary = LossSummary::default();
    for change in pending.changes.into_iter().rev() {
        undo(change, graveyard, &mut summary);
    }
    let root_dev = fs::metadata(backing)?.dev();
    let mut seen = HashSet::new();
    cut_back(
        backing,
        true,
        root_dev,
        &pending.durable_len,
        &mut seen,
        &mut summary,
    )?;
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

/// Truncate every tracked regular file under `dir` to its durable length.
fn cut_back(
    dir: &Path,
    top: bool,
    dev: u64,
    durable_len: &HashMap<u64, u64>,
    seen: &mut HashSet<u64>,
    s: &mut LossSummary,
) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if top && entry.file_name() == GRAVEYARD {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.dev() != dev {
            continue;
        }
        if meta.is_dir() {
            cut_back(&entry.path(), false, dev, durable_len, seen, s)?;
        } else if meta.is_file() && seen.insert(meta.ino()) {
            let Some(&durable) = durable_len.get(&meta.ino()) else {
                continue;
            };
            if meta.len() > durable {
                fs::OpenOptions::new()
                    .write(true)
                    .open(entry.path())?
                    .set_len(durable)?;
                s.files_truncated += 1;
                s.bytes_discarded += meta.len() - durable;
            }
        }
    }
    Ok(())
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
