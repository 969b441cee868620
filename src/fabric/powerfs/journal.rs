//! Durability bookkeeping: per file the length its last fsync covered, and
//! the namespace changes (creates, renames, unlinks) no fsync has covered yet.
//!
//! Only metadata operations and fsyncs come here; reads and writes never do.
//! The lock is held for map and vector updates only, never across I/O.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use nix::fcntl::AtFlags;
use nix::unistd::{UnlinkatFlags, linkat, unlinkat};

use super::inode::Inode;

/// Hidden directory inside the backing directory (never visible through the
/// mount) holding hard links to what renames and unlinks displaced, until a
/// directory fsync commits them or a power loss puts them back.
pub(super) const GRAVEYARD: &str = ".powerfs-graveyard";

/// An inode kept alive in the graveyard under `name`.
#[derive(Debug)]
pub(super) struct Grave {
    pub name: OsString,
    pub ino: u64,
}

/// A namespace change not yet durable. Directories are held by descriptor,
/// so undoing works even if they were renamed since.
#[derive(Debug)]
pub(super) enum Change {
    /// A new name for `ino` (create, mkdir, symlink, link).
    Created {
        dir: Arc<Inode>,
        name: OsString,
        ino: u64,
    },
    Renamed {
        from: Arc<Inode>,
        from_name: OsString,
        to: Arc<Inode>,
        to_name: OsString,
        ino: u64,
        /// What the rename replaced, if anything.
        displaced: Option<Grave>,
    },
    /// `RENAME_EXCHANGE`.
    Exchanged {
        a: Arc<Inode>,
        a_name: OsString,
        b: Arc<Inode>,
        b_name: OsString,
    },
    Unlinked {
        dir: Arc<Inode>,
        name: OsString,
        grave: Grave,
    },
}

impl Change {
    /// Does an fsync of directory `dir` make this change durable? (A new
    /// directory's own fsync also commits its entry, as a file's does.)
    fn committed_by_dir(&self, dir: u64) -> bool {
        match self {
            Change::Created { dir: d, ino, .. } => d.backing_ino == dir || *ino == dir,
            Change::Renamed { from, to, .. } => from.backing_ino == dir || to.backing_ino == dir,
            Change::Exchanged { a, b, .. } => a.backing_ino == dir || b.backing_ino == dir,
            Change::Unlinked { dir: d, .. } => d.backing_ino == dir,
        }
    }

    fn grave(self) -> Option<Grave> {
        match self {
            Change::Renamed { displaced, .. } => displaced,
            Change::Unlinked { grave, .. } => Some(grave),
            Change::Created { .. } | Change::Exchanged { .. } => None,
        }
    }
}

/// What a power loss has to undo.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Backing inode of each regular file written through the mount → the
    /// length its last fsync covered (its length when first opened for
    /// writing if never fsynced; 0 if created through the mount).
    pub durable_len: HashMap<u64, u64>,
    /// Oldest first.
    pub changes: Vec<Change>,
    /// Graveyard links per inode (not shown in link counts).
    hidden: HashMap<u64, u32>,
}

pub(super) struct Journal {
    graveyard: OwnedFd,
    next_grave: AtomicU64,
    /// Number of graveyard links; lets `hidden_links` skip the lock when 0.
    hidden_total: AtomicUsize,
    pending: Mutex<Pending>,
    /// When a file or directory was last fsynced through the mount (or
    /// the mount was made).
    last_sync: Mutex<Instant>,
    /// The power is off: fsyncs from now on make nothing durable (the
    /// process using the mount may take a moment to be killed).
    cut: AtomicBool,
}

impl Journal {
    /// `graveyard`: an `O_PATH` descriptor of the (empty) graveyard directory.
    pub fn new(graveyard: OwnedFd) -> Self {
        Self {
            graveyard,
            next_grave: AtomicU64::new(1),
            hidden_total: AtomicUsize::new(0),
            pending: Mutex::new(Pending::default()),
            last_sync: Mutex::new(Instant::now()),
            cut: AtomicBool::new(false),
        }
    }

    /// When anything was last fsynced through the mount.
    pub fn last_sync(&self) -> Instant {
        *self.last_sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The moment of the power loss: no fsync succeeds after it.
    pub fn cut_power(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    pub fn power_is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    fn note_sync(&self) {
        *self.last_sync.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    pub fn graveyard(&self) -> &OwnedFd {
        &self.graveyard
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A file is about to be written: what it holds now counts as durable
    /// unless we already know better.
    pub fn track(&self, ino: u64, len: u64) {
        self.lock().durable_len.entry(ino).or_insert(len);
    }

    /// A file of length `len` is being truncated to `new_len`: whatever
    /// comes back beyond `new_len` later is new, unsynced data. False once
    /// the power is cut: the truncation must not happen (it would destroy
    /// what was durable at the cut).
    #[must_use]
    pub fn truncating(&self, ino: u64, len: u64, new_len: u64) -> bool {
        if self.power_is_cut() {
            return false;
        }
        let mut p = self.lock();
        let d = p.durable_len.entry(ino).or_insert(len);
        *d = (*d).min(new_len);
        true
    }

    /// fsync/fdatasync of `ino` covered its first `len` bytes, and its
    /// creation. False if the power was cut before it could be recorded:
    /// the fsync must then fail (it never completed), or the caller would
    /// acknowledge what the power loss throws away.
    #[must_use]
    pub fn synced(&self, ino: u64, len: u64) -> bool {
        if self.power_is_cut() {
            return false;
        }
        self.note_sync();
        let mut p = self.lock();
        p.durable_len.insert(ino, len);
        p.changes
            .retain(|c| !matches!(c, Change::Created { ino: i, .. } if *i == ino));
        true
    }

    /// A regular file was created through the mount: nothing of it is
    /// durable yet, not even its name.
    pub fn created_file(&self, dir: Arc<Inode>, name: &OsStr, ino: u64) {
        let mut p = self.lock();
        p.durable_len.insert(ino, 0);
        p.changes.push(Change::Created {
            dir,
            name: name.to_owned(),
            ino,
        });
    }

    /// A directory, symlink or hard link was created.
    pub fn created(&self, dir: Arc<Inode>, name: &OsStr, ino: u64) {
        self.lock().changes.push(Change::Created {
            dir,
            name: name.to_owned(),
            ino,
        });
    }

    pub fn renamed(
        &self,
        from: Arc<Inode>,
        from_name: &OsStr,
        to: Arc<Inode>,
        to_name: &OsStr,
        ino: u64,
        displaced: Option<Grave>,
    ) {
        self.lock().changes.push(Change::Renamed {
            from,
            from_name: from_name.to_owned(),
            to,
            to_name: to_name.to_owned(),
            ino,
            displaced,
        });
    }

    pub fn exchanged(&self, a: Arc<Inode>, a_name: &OsStr, b: Arc<Inode>, b_name: &OsStr) {
        self.lock().changes.push(Change::Exchanged {
            a,
            a_name: a_name.to_owned(),
            b,
            b_name: b_name.to_owned(),
        });
    }

    pub fn unlinked(&self, dir: Arc<Inode>, name: &OsStr, grave: Grave) {
        self.lock().changes.push(Change::Unlinked {
            dir,
            name: name.to_owned(),
            grave,
        });
    }

    /// fsync of directory `dir`: its pending changes are durable now; the
    /// graveyard links they kept are released. False if the power was cut
    /// (as [`Journal::synced`]).
    #[must_use]
    pub fn dir_synced(&self, dir: u64) -> bool {
        if self.power_is_cut() {
            return false;
        }
        self.note_sync();
        let graves: Vec<Grave> = {
            let mut p = self.lock();
            let (done, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut p.changes)
                .into_iter()
                .partition(|c| c.committed_by_dir(dir));
            p.changes = kept;
            let graves: Vec<Grave> = done.into_iter().filter_map(Change::grave).collect();
            for g in &graves {
                forget_hidden(&mut p.hidden, g.ino);
            }
            graves
        };
        self.hidden_total.fetch_sub(graves.len(), Ordering::Relaxed);
        for g in graves {
            let _ = unlinkat(
                &self.graveyard,
                g.name.as_os_str(),
                UnlinkatFlags::NoRemoveDir,
            );
        }
        true
    }

    /// Keep `name` in `dir` (inode `ino`, not a directory) alive in the
    /// graveyard before it is unlinked or renamed over. `None` if the link
    /// could not be made; the change then cannot be undone.
    pub fn bury(&self, dir: &Inode, name: &OsStr, ino: u64) -> Option<Grave> {
        let grave = OsString::from(self.next_grave.fetch_add(1, Ordering::Relaxed).to_string());
        match linkat(
            &dir.fd,
            name,
            &self.graveyard,
            grave.as_os_str(),
            AtFlags::empty(),
        ) {
            Ok(()) => {
                *self.lock().hidden.entry(ino).or_insert(0) += 1;
                self.hidden_total.fetch_add(1, Ordering::Relaxed);
                Some(Grave { name: grave, ino })
            }
            Err(e) => {
                tracing::debug!(?name, %e, "powerfs: cannot keep a displaced file; not undoable");
                None
            }
        }
    }

    /// The operation `bury` prepared for failed: drop the link again.
    pub fn unbury(&self, grave: Grave) {
        forget_hidden(&mut self.lock().hidden, grave.ino);
        self.hidden_total.fetch_sub(1, Ordering::Relaxed);
        let _ = unlinkat(
            &self.graveyard,
            grave.name.as_os_str(),
            UnlinkatFlags::NoRemoveDir,
        );
    }

    /// Graveyard links of `ino`, to subtract from its link count.
    pub fn hidden_links(&self, ino: u64) -> u32 {
        if self.hidden_total.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.lock().hidden.get(&ino).copied().unwrap_or(0)
    }

    /// Everything not yet durable, leaving the journal empty.
    pub fn take(&self) -> Pending {
        self.hidden_total.store(0, Ordering::Relaxed);
        std::mem::take(&mut *self.lock())
    }
}

fn forget_hidden(hidden: &mut HashMap<u64, u32>, ino: u64) {
    if let Some(n) = hidden.get_mut(&ino) {
        *n -= 1;
        if *n == 0 {
            hidden.remove(&ino);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use fuser::FileType;
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;

    use super::*;

    fn dir(path: &Path, backing_ino: u64) -> Arc<Inode> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
        Arc::new(Inode {
            fd: open(path, flags, Mode::empty()).unwrap(),
            backing_ino,
            kind: FileType::Directory,
        })
    }

    #[test]
    fn a_directory_fsync_commits_only_its_own_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (dir(tmp.path(), 10), dir(tmp.path(), 20));
        let j = Journal::new(open(tmp.path(), OFlag::O_PATH, Mode::empty()).unwrap());
        j.created_file(a.clone(), OsStr::new("f"), 1);
        j.created_file(b.clone(), OsStr::new("g"), 2);
        j.renamed(
            a.clone(),
            OsStr::new("x"),
            b.clone(),
            OsStr::new("y"),
            3,
            None,
        );
        j.created(b.clone(), OsStr::new("sub"), 30);

        assert!(j.dir_synced(10));
        let names = |j: &Journal| -> Vec<String> {
            j.lock()
                .changes
                .iter()
                .map(|c| match c {
                    Change::Created { name, .. } => name.to_string_lossy().into_owned(),
                    _ => "(not a create)".into(),
                })
                .collect()
        };
        assert_eq!(names(&j), ["g", "sub"]);
        // fsync of a new directory commits its own entry; of a file, its.
        assert!(j.dir_synced(30));
        assert!(j.synced(2, 5));
        assert!(names(&j).is_empty());
        assert_eq!(j.take().durable_len, HashMap::from([(1, 0), (2, 5)]));
    }

    #[test]
    fn truncation_lowers_the_durable_length_and_tracking_keeps_it() {
        let tmp = tempfile::tempdir().unwrap();
        let j = Journal::new(open(tmp.path(), OFlag::O_PATH, Mode::empty()).unwrap());
        j.track(7, 100);
        j.track(7, 150);
        assert!(j.truncating(7, 150, 40));
        assert!(j.truncating(8, 90, 200));
        assert_eq!(j.take().durable_len, HashMap::from([(7, 40), (8, 90)]));
    }
}
