//! Running nodes: what the outside sees ([`NodeInfo`]) and what we hold
//! ([`NodeHandle`], which kills its process when dropped).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::process::ManagedProcess;
use crate::faults::powerfs::PowerFs;

/// One process (or external endpoint) of a deployment, as reported by
/// `up --json` and `status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
    /// Unique within the run, e.g. `cache-0`, `cache-sentinel-1`.
    pub name: String,
    /// The topology node it belongs to, e.g. `cache`.
    pub group: String,
    pub kind: String,
    /// primary, replica, sentinel, master, server, endpoint.
    pub role: String,
    pub host: String,
    pub port: u16,
    pub pid: Option<u32>,
    pub url: String,
}

pub struct NodeHandle {
    pub info: NodeInfo,
    pub process: Option<ManagedProcess>,
    /// The node's directory in the run (config, data, log).
    pub dir: Option<PathBuf>,
    pub password: Option<String>,
    /// The power-loss filesystem its data directory is mounted on, if any.
    /// Declared after `process`: the process dies before the unmount.
    pub fs: Option<PowerFs>,
}

impl NodeHandle {
    pub fn local(info: NodeInfo, process: ManagedProcess, dir: PathBuf) -> Self {
        Self {
            info: NodeInfo {
                pid: Some(process.pid()),
                ..info
            },
            process: Some(process),
            dir: Some(dir),
            password: None,
            fs: None,
        }
    }

    pub fn with_fs(mut self, fs: Option<PowerFs>) -> Self {
        self.fs = fs;
        self
    }

    pub fn with_password(mut self, pw: &str) -> Self {
        self.password = Some(pw.to_string());
        self
    }
}

pub fn redis_url(port: u16, password: &str) -> String {
    format!("redis://:{password}@127.0.0.1:{port}")
}
