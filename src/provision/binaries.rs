//! The external programs sessiondrill runs, and how to install each.

use std::path::PathBuf;

use super::ProvisionError;
use crate::topology::{NodeKind, Topology};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binary {
    pub name: &'static str,
    pub package: &'static str,
    /// Argument that prints the version.
    pub version_arg: &'static str,
}

impl Binary {
    pub fn install_command(&self) -> &'static str {
        match self.package {
            "redis-server" => "sudo apt-get install -y redis-server",
            "redis-sentinel" => "sudo apt-get install -y redis-sentinel",
            "redis-tools" => "sudo apt-get install -y redis-tools",
            "memcached" => "sudo apt-get install -y memcached",
            "fuse3" => "sudo apt-get install -y fuse3",
            "docker.io" => "sudo apt-get install -y docker.io",
            _ => "see README.md",
        }
    }

    /// Full path on PATH, or the error naming the package.
    pub fn locate(&self) -> Result<PathBuf, ProvisionError> {
        which(self.name).ok_or(ProvisionError::MissingBinary {
            binary: self.name,
            install: self.install_command(),
        })
    }
}

pub const REDIS_SERVER: Binary = Binary {
    name: "redis-server",
    package: "redis-server",
    version_arg: "--version",
};
pub const REDIS_SENTINEL: Binary = Binary {
    name: "redis-sentinel",
    package: "redis-sentinel",
    version_arg: "--version",
};
pub const REDIS_CLI: Binary = Binary {
    name: "redis-cli",
    package: "redis-tools",
    version_arg: "--version",
};
pub const MEMCACHED: Binary = Binary {
    name: "memcached",
    package: "memcached",
    version_arg: "-V",
};
pub const FUSERMOUNT3: Binary = Binary {
    name: "fusermount3",
    package: "fuse3",
    version_arg: "--version",
};
pub const DOCKERD: Binary = Binary {
    name: "dockerd",
    package: "docker.io",
    version_arg: "--version",
};

/// Search PATH for an executable file called `name`.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Every binary the topology needs, checked before anything starts.
pub fn check_all(topology: &Topology) -> Result<(), ProvisionError> {
    for n in topology.nodes.iter().filter(|n| n.external.is_none()) {
        match &n.kind {
            NodeKind::Redis(_) | NodeKind::RedisCluster(_) => {
                REDIS_SERVER.locate()?;
            }
            NodeKind::RedisReplicated(_) => {
                REDIS_SERVER.locate()?;
                REDIS_SENTINEL.locate()?;
            }
            NodeKind::Memcached(_) => {
                MEMCACHED.locate()?;
            }
            NodeKind::Dynamodb(_) | NodeKind::Dax(_) => {}
        }
    }
    Ok(())
}
