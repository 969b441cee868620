//! A mounted power-loss filesystem as a handle: mount, power cut, unmount
//! (also on drop).

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use fuser::{BackgroundSession, Config, MountOption, SessionACL};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use super::LossSummary;
use super::fs::TrackingFs;
use super::fusermount::{force_unmount, helpers_of, lazy_unmount, reap};
use super::journal::{GRAVEYARD, Journal};
use super::{restore, stragglers};

/// FUSE worker threads: an fsync in progress must not hold up writes.
const THREADS: usize = 4;

/// How long the session may take to end after the unmount. Immediate as
/// root (the connection is aborted); without root the kernel waits until
/// nothing uses the filesystem any more.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// One mounted pass-through filesystem: `mountpoint` shows `backing`.
pub struct PowerFs {
    backing: PathBuf,
    mountpoint: PathBuf,
    live: Option<Live>,
}

/// One FUSE session.
struct Live {
    session: BackgroundSession,
    journal: Arc<Journal>,
    /// The `fusermount3` process that unmounts if we die.
    helper: Option<Pid>,
}

impl std::fmt::Debug for PowerFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerFs")
            .field("backing", &self.backing)
            .field("mountpoint", &self.mountpoint)
            .field("mounted", &self.live.is_some())
            .finish()
    }
}

impl PowerFs {
    /// Mount; `backing` and `mountpoint` directories exist (create them if
    /// not). The FUSE server runs on its own threads, never on a tokio
    /// runtime. Mounted with auto-unmount: a SIGKILLed sessiondrill leaves
    /// no dead mount behind.
    pub fn mount(backing: &Path, mountpoint: &Path) -> io::Result<PowerFs> {
        private_dir(backing)?;
        prepare_mountpoint(mountpoint)?;
        let backing = backing.canonicalize()?;
        let mountpoint = mountpoint.canonicalize()?;
        if backing.starts_with(&mountpoint) || mountpoint.starts_with(&backing) {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "backing directory {} and mountpoint {} must not contain each other",
                    backing.display(),
                    mountpoint.display()
                ),
            ));
        }
        let live = start(&backing, &mountpoint)?;
        Ok(PowerFs {
            backing,
            mountpoint,
            live: Some(live),
        })
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    pub fn backing(&self) -> &Path {
        &self.backing
    }

    /// How long since anything was last fsynced through this mount (or it
    /// was mounted): what a power loss now would put at risk.
    pub fn since_last_sync(&self) -> Option<Duration> {
        self.live.as_ref().map(|l| l.journal.last_sync().elapsed())
    }

    /// The moment of a power loss, before the process using the mount is
    /// killed (killing a container takes long enough for an fsync to
    /// land): from now on every fsync fails with EIO and makes nothing
    /// durable, so nothing is acknowledged on the strength of one. (With
    /// the power really gone it would never return; Redis exits on a
    /// failed fsync under `appendfsync always`.)
    pub fn cut_power(&self) {
        if let Some(l) = &self.live {
            l.journal.cut_power();
        }
    }

    /// Simulate a power loss (cut at [`PowerFs::cut_power`] if that was
    /// called, otherwise now). Precondition: the process using the mount has
    /// been SIGKILLed and reaped. Unmounts, makes the backing directory hold
    /// exactly what was durable, mounts again at the same mountpoint (a
    /// fresh session: no page cache of the old contents survives) and says
    /// what was discarded.
    pub fn power_loss(&mut self) -> io::Result<LossSummary> {
        let live = self
            .live
            .take()
            .ok_or_else(|| io::Error::new(ErrorKind::NotConnected, "not mounted"))?;
        let journal = live.journal.clone();
        let held = stragglers::held_files(&self.mountpoint);
        stop(live, &self.mountpoint)?;
        let summary = restore::power_cut(&self.backing, &journal, &held)?;
        drop(journal);
        self.live = Some(start(&self.backing, &self.mountpoint)?);
        Ok(summary)
    }

    /// Unmount (also done on drop).
    pub fn unmount(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let Some(live) = self.live.take() else {
            return;
        };
        match stop(live, &self.mountpoint) {
            // A clean unmount keeps everything, as a process crash would.
            Ok(()) => {
                let _ = fs::remove_dir_all(self.backing.join(GRAVEYARD));
            }
            Err(e) => tracing::warn!(%e, "powerfs: unmount"),
        }
    }
}

impl Drop for PowerFs {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A dead mount of a crashed run answers "Transport endpoint is not
/// connected"; detach it first.
fn prepare_mountpoint(mountpoint: &Path) -> io::Result<()> {
    if let Err(e) = fs::metadata(mountpoint)
        && e.raw_os_error() == Some(nix::errno::Errno::ENOTCONN as i32)
    {
        lazy_unmount(mountpoint)?;
    }
    private_dir(mountpoint)
}

/// A directory (and its missing parents) only this user can enter: what
/// the nodes keep is nobody else's to read.
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn start(backing: &Path, mountpoint: &Path) -> io::Result<Live> {
    // A graveyard left by a crash holds nothing anyone still needs.
    let graveyard = backing.join(GRAVEYARD);
    if fs::symlink_metadata(&graveyard).is_ok() {
        fs::remove_dir_all(&graveyard)?;
    }
    private_dir(&graveyard)?;
    let o_path = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let journal = Arc::new(Journal::new(open(&graveyard, o_path, Mode::empty())?));
    let root = open(backing, o_path, Mode::empty())?;
    let fs = TrackingFs::new(root, journal.clone())?;

    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("sessiondrill".into()),
        MountOption::Subtype("powerfs".into()),
        MountOption::AutoUnmount,
        MountOption::DefaultPermissions,
    ];
    // Auto-unmount needs allow_other (root, or user_allow_other).
    config.acl = SessionACL::RootAndOwner;
    config.n_threads = Some(THREADS);
    config.clone_fd = true;

    let earlier = helpers_of(mountpoint);
    let session = fuser::spawn_mount(fs, mountpoint, &config)?;
    let helper = helpers_of(mountpoint)
        .into_iter()
        .find(|p| !earlier.contains(p));
    Ok(Live {
        session,
        journal,
        helper,
    })
}

/// Cut the connection, detach the mount and wait until the session has
/// ended, so the backing directory is ours alone. Anything still using the
/// mount sees errors from now on, as after a power cut.
fn stop(live: Live, mountpoint: &Path) -> io::Result<()> {
    let Live {
        session,
        journal,
        helper,
    } = live;
    drop(journal);
    let detached = force_unmount(mountpoint);
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("powerfs-stop".into())
        .spawn(move || {
            let _ = tx.send(session.join());
        })?;
    match rx.recv_timeout(RELEASE_TIMEOUT) {
        Ok(ended) => {
            if let Err(e) = ended {
                tracing::debug!(%e, "powerfs: session ended with an error");
            }
            // The helper exits once the session dropped its socket.
            if let Some(pid) = helper {
                reap(pid, Duration::from_secs(2));
            }
            Ok(())
        }
        Err(_) => Err(io::Error::new(
            ErrorKind::TimedOut,
            format!(
                "{} is still in use {} s after unmounting{}",
                mountpoint.display(),
                RELEASE_TIMEOUT.as_secs(),
                detached
                    .err()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
        )),
    }
}
