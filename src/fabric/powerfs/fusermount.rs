//! Everything that goes through `fusermount3`: whether mounts can be made,
//! lazy unmounts, the sweep of stale mounts, and the auto-unmount helper
//! process each mount leaves running (ours to reap).

use std::ffi::{CString, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid};

pub(super) const FUSERMOUNT: &str = "fusermount3";

/// Can power-loss mounts be made here? `Err(reason)` names what is missing.
pub fn available() -> Result<(), String> {
    let dev = Path::new("/dev/fuse");
    if !dev.exists() {
        return Err("/dev/fuse is missing (load the module: sudo modprobe fuse)".into());
    }
    if let Err(e) = fs::OpenOptions::new().read(true).write(true).open(dev) {
        return Err(format!("/dev/fuse cannot be opened: {e}"));
    }
    if find_in_path(FUSERMOUNT).is_none() {
        return Err(format!(
            "`{FUSERMOUNT}` not found; install: sudo apt-get install -y fuse3"
        ));
    }
    if !nix::unistd::geteuid().is_root() && !user_allow_other() {
        return Err(
            "auto-unmount needs `user_allow_other` in /etc/fuse.conf (or run as root)".into(),
        );
    }
    if !Path::new("/proc/self/fd").is_dir() {
        return Err("/proc is not mounted".into());
    }
    Ok(())
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn user_allow_other() -> bool {
    fs::read_to_string("/etc/fuse.conf")
        .map(|s| s.lines().any(|l| l.trim() == "user_allow_other"))
        .unwrap_or(false)
}

/// `fusermount3 -u -z`: detach now; the kernel lets go of the filesystem
/// once nothing uses it any more.
pub(super) fn lazy_unmount(mountpoint: &Path) -> io::Result<()> {
    let out = Command::new(FUSERMOUNT)
        .args(["-u", "-z", "--"])
        .arg(mountpoint)
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{FUSERMOUNT} -u -z {}: {}",
            mountpoint.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Pull the plug: `umount2(MNT_FORCE | MNT_DETACH)` aborts the FUSE
/// connection (requests in flight and any later ones fail at once, the
/// server's threads see the device go away) and detaches the mount. Needs
/// root; otherwise falls back to a lazy unmount, which waits for the last
/// user to let go.
pub(super) fn force_unmount(mountpoint: &Path) -> io::Result<()> {
    use nix::libc;
    let path = CString::new(mountpoint.as_os_str().as_bytes())?;
    let flags = libc::MNT_FORCE | libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW;
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    if unsafe { libc::umount2(path.as_ptr(), flags) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EPERM) {
        lazy_unmount(mountpoint)
    } else {
        Err(e)
    }
}

/// Lazily unmount (`fusermount3 -u -z`) every FUSE mount listed in
/// /proc/self/mounts whose mountpoint is under `root` (leftovers of a crashed
/// earlier run). Returns how many.
pub fn sweep_stale_mounts(root: &Path) -> usize {
    let mut stale = fuse_mounts_under(root);
    // Innermost first, so a mount on top of another goes first.
    stale.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    stale
        .iter()
        .filter(|m| match lazy_unmount(m) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(%e, "powerfs: could not sweep a stale mount");
                false
            }
        })
        .count()
}

/// FUSE mountpoints at or under `root`.
pub fn fuse_mounts_under(root: &Path) -> Vec<PathBuf> {
    let root = root
        .canonicalize()
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_path_buf());
    fuse_mounts()
        .into_iter()
        .filter(|m| m.starts_with(&root))
        .collect()
}

/// Mountpoints of FUSE filesystems (`fuse`, `fuse.*`, `fuseblk`) we can see.
pub(super) fn fuse_mounts() -> Vec<PathBuf> {
    let Ok(table) = fs::read("/proc/self/mounts") else {
        return Vec::new();
    };
    table
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let mut fields = line.split(|&b| b == b' ');
            let (_source, target, fstype) = (fields.next()?, fields.next()?, fields.next()?);
            fstype
                .starts_with(b"fuse")
                .then(|| PathBuf::from(OsString::from_vec(unescape(target))))
        })
        .collect()
}

/// `/proc/mounts` writes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// Our own `fusermount3` children serving auto-unmount for `mountpoint`.
pub(super) fn helpers_of(mountpoint: &Path) -> Vec<Pid> {
    let me = getpid().as_raw();
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| parent_of(pid) == Some(me))
        .filter(|&pid| {
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .collect();
            let is_fusermount = args
                .first()
                .is_some_and(|a| Path::new(std::ffi::OsStr::from_bytes(a)).ends_with(FUSERMOUNT));
            is_fusermount && args.last() == Some(&mountpoint.as_os_str().as_bytes())
        })
        .map(Pid::from_raw)
        .collect()
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Wait (up to `timeout`) for a helper to exit, and reap it.
pub(super) fn reap(pid: Pid, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_table_escapes_are_decoded() {
        assert_eq!(unescape(br"/tmp/a\040b\134c"), b"/tmp/a b\\c".to_vec());
        assert_eq!(unescape(br"/plain"), b"/plain".to_vec());
        assert_eq!(unescape(br"/odd\04"), br"/odd\04".to_vec());
    }
}
