//! Placeholder until the power-loss filesystem lands: every entry point
//! refuses, so a `power-loss` fault is rejected with a clear reason instead
//! of pretending.
use std::path::{Path, PathBuf};

const MISSING: &str = "the power-loss filesystem is not part of this build yet";

pub fn available() -> Result<(), String> {
    Err(MISSING.into())
}

pub struct PowerFs {
    mountpoint: PathBuf,
    backing: PathBuf,
}

impl PowerFs {
    pub fn mount(_backing: &Path, _mountpoint: &Path) -> std::io::Result<PowerFs> {
        Err(std::io::Error::other(MISSING))
    }
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }
    pub fn backing(&self) -> &Path {
        &self.backing
    }
    pub fn power_loss(&mut self) -> std::io::Result<LossSummary> {
        Err(std::io::Error::other(MISSING))
    }
    pub fn unmount(self) {}
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LossSummary {
    pub files_truncated: u64,
    pub bytes_discarded: u64,
    pub files_removed: u64,
    pub renames_undone: u64,
    pub unlinks_undone: u64,
}

pub fn sweep_stale_mounts(_root: &Path) -> usize {
    0
}
