//! Processes that still hold files of the mount when the power goes.
//!
//! Aborting the FUSE connection kills every request through the mount, but
//! with kernel passthrough ([`super::backing`]) an open file reads and
//! writes the backing file directly and keeps working. Such files are found
//! here (open descriptors and memory mappings in /proc, taken while the
//! mount still answers) and, after the power cut, replaced by fresh copies,
//! so whatever a straggler writes later lands in an orphaned inode.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Backing inode numbers of regular files under `mountpoint` that some
/// process (this one included) has open or mapped.
pub(super) fn held_files(mountpoint: &Path) -> HashSet<u64> {
    let mut held = HashSet::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return held;
    };
    for pid in procs.filter_map(|e| e.ok()) {
        if !pid
            .file_name()
            .as_encoded_bytes()
            .iter()
            .all(u8::is_ascii_digit)
        {
            continue;
        }
        let dir = pid.path();
        if let Ok(fds) = fs::read_dir(dir.join("fd")) {
            for fd in fds.filter_map(|e| e.ok()) {
                let under = fs::read_link(fd.path()).is_ok_and(|t| t.starts_with(mountpoint));
                if !under {
                    continue;
                }
                // Through the mount: its inode numbers are the backing ones.
                if let Ok(meta) = fs::metadata(fd.path())
                    && meta.is_file()
                {
                    held.insert(meta.ino());
                }
            }
        }
        if let Ok(maps) = fs::read_to_string(dir.join("maps")) {
            held.extend(mapped_under(&maps, mountpoint));
        }
    }
    held
}

/// Inodes of the `/proc/PID/maps` lines whose path is under `mountpoint`
/// ("addr perms offset dev inode path").
fn mapped_under<'a>(maps: &'a str, mountpoint: &'a Path) -> impl Iterator<Item = u64> + 'a {
    maps.lines().filter_map(move |line| {
        let mut fields = line.split_whitespace();
        let inode = fields.nth(4)?.parse().ok()?;
        let path = fields.next()?;
        Path::new(path).starts_with(mountpoint).then_some(inode)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_under_the_mount_are_found() {
        let maps = "7f00-7f01 rw-s 00000000 00:2a 4242 /m/db-shm\n\
                    7f02-7f03 r-xp 00000000 fd:00 77 /usr/lib/libc.so.6\n\
                    7f04-7f05 rw-p 00000000 00:00 0 \n";
        let found: Vec<u64> = mapped_under(maps, Path::new("/m")).collect();
        assert_eq!(found, vec![4242]);
    }
}
