//! Where runs live: `$SESSIONDRILL_HOME/runs/<run_id>/` holds each run's
//! configs, data, logs and `state.json` (how `status` and `down` find it).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ProcessInfo;

/// The directory that holds all runs.
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
}

impl Home {
    /// `$SESSIONDRILL_HOME`, else `$XDG_STATE_HOME/sessiondrill`, else
    /// `~/.local/state/sessiondrill`, else a directory under /tmp.
    pub fn from_env() -> Self {
        let root = std::env::var_os("SESSIONDRILL_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("sessiondrill"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/sessiondrill"))
            })
            .unwrap_or_else(|| {
                // Not a shared name: another user could have made it first.
                let uid = nix::unistd::getuid();
                std::env::temp_dir().join(format!("sessiondrill-{uid}"))
            });
        Self { root }
    }

    /// Make sure the home can hold runs privately, before anything
    /// touches it: the home must be a directory of this user (made 0700 if
    /// missing; a link to one is fine, and an existing home's mode is left
    /// alone — it may be a repository or a home directory), and `runs/`
    /// must be this user's own directory, closed to others (0700). Run
    /// directories hold the runs' passwords, and `down` trusts what they
    /// say.
    pub fn prepare(&self) -> io::Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let me = nix::unistd::getuid().as_raw();
        let not_ours = |dir: &Path| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is not a directory of this user (uid {me})",
                    dir.display()
                ),
            )
        };
        private_dir(&self.root)?;
        let home = std::fs::metadata(&self.root)?;
        if !home.is_dir() || home.uid() != me {
            return Err(not_ours(&self.root));
        }
        let runs = self.runs();
        private_dir(&runs)?;
        let meta = std::fs::symlink_metadata(&runs)?;
        if !meta.is_dir() || meta.uid() != me {
            return Err(not_ours(&runs));
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(&runs, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }

    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// Create a fresh run directory for a topology called `name`, private
    /// to this user, in a home [`prepare`](Self::prepare)d first.
    pub fn new_run(&self, name: &str) -> io::Result<RunDir> {
        use std::os::unix::fs::DirBuilderExt;
        loop {
            let id = format!("{name}-{:08x}", rand::random::<u32>());
            let path = self.runs().join(&id);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    return Ok(RunDir {
                        id,
                        path,
                        keep: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// One run's directory; removed on drop unless `keep` is set.
#[derive(Debug)]
pub struct RunDir {
    pub id: String,
    pub path: PathBuf,
    pub keep: bool,
}

impl RunDir {
    /// `<run>/nodes/<process>`, created.
    pub fn node_dir(&self, process: &str) -> io::Result<PathBuf> {
        let d = self.path.join("nodes").join(process);
        private_dir(&d)?;
        Ok(d)
    }

    pub fn state_file(&self) -> PathBuf {
        self.path.join(STATE_FILE)
    }

    pub fn write_state(&self, state: &RunState) -> io::Result<()> {
        let tmp = self.path.join("state.json.tmp");
        write_private(&tmp, &serde_json::to_vec_pretty(state)?)?;
        std::fs::rename(tmp, self.state_file())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if self.keep {
            // Marks the directory as kept on purpose, so the next `up`
            // does not sweep it away as the leftover of a dead run.
            let _ = std::fs::write(self.path.join(KEPT_FILE), b"");
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Make `dir` and its missing parents, for this user only.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Write `path` readable by this user only (it may hold a password).
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

pub const KEPT_FILE: &str = "kept";

pub const STATE_FILE: &str = "state.json";

/// What `status` and `down` know about a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    pub topology: String,
    pub topology_file: Option<PathBuf>,
    /// True when the run was started with `up --detach`.
    pub detached: bool,
    /// The sessiondrill process that owns the nodes.
    pub owner_pid: u32,
    /// The owner's start time (clock ticks since boot), to tell it from a
    /// later process that reuses its pid.
    pub owner_start: u64,
    /// The owner's program (`/proc/PID/exe` when it started the run):
    /// whatever it is called — sessiondrill, a wrapper, a program using the
    /// library — `down` signals only that program.
    #[serde(default)]
    pub owner_exe: Option<PathBuf>,
    pub started_unix_ms: u128,
    pub ready: bool,
    pub nodes: Vec<ProcessInfo>,
}

impl RunState {
    pub fn read(dir: &Path) -> io::Result<Self> {
        let bytes = std::fs::read(dir.join(STATE_FILE))?;
        serde_json::from_slice(&bytes).map_err(io::Error::other)
    }

    /// Is the owning process still alive? Only a process that started
    /// when the state says, runs as this user and runs the program the
    /// state names counts: `down` signals it, and a state file could name
    /// any process (a forged one got an unrelated process killed).
    pub fn owner_alive(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let pid = self.owner_pid;
        process_start_time(pid) == Some(self.owner_start)
            && std::fs::metadata(format!("/proc/{pid}"))
                .is_ok_and(|m| m.uid() == nix::unistd::getuid().as_raw())
            // A state file without the program (written before it was
            // recorded, or forged without it) names nobody to signal.
            && self
                .owner_exe
                .as_ref()
                .is_some_and(|exe| exe_of(pid).is_some_and(|now| same_program(&now, exe)))
    }
}

/// The program process `pid` runs.
pub fn exe_of(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// `now` (a `/proc/PID/exe` link) is the program `then` named: the same
/// path, or the same path replaced since (a rebuilt binary reads
/// "PATH (deleted)").
fn same_program(now: &Path, then: &Path) -> bool {
    now == then
        || now
            .to_str()
            .and_then(|n| n.strip_suffix(" (deleted)"))
            .is_some_and(|n| Path::new(n) == then)
}

/// Field 22 of `/proc/PID/stat`: when the process started. `None` when there
/// is no such process (or it is a zombie).
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state).
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(22 - 3)?.parse().ok()
}

pub fn now_unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
