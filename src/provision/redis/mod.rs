//! Bringing up real redis-server / redis-sentinel processes.

pub mod acl;
pub mod cluster;
pub mod conf;
pub mod probe;
pub mod replicated;
pub mod standalone;
pub mod tls;

use crate::fabric::powerfs::PowerFs;
use std::path::{Path, PathBuf};

use super::ProvisionError;
use super::binaries;
use super::handle::{ProcessHandle, ProcessInfo, Role, redis_url};
use super::launch::Ctx;
use super::process::ManagedProcess;
use super::spawner::SpawnSpec;
use crate::topology::KindName;
use conf::Conf;
use probe::{RedisAccess, RedisProbe};

/// A random password: 24 letters and digits.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..24)
        .map(|_| ALPHABET[rand::random::<u32>() as usize % ALPHABET.len()] as char)
        .collect()
}

/// A Redis process that has been started but not yet checked.
struct Started {
    name: String,
    port: u16,
    proc: ManagedProcess,
    dir: PathBuf,
    fs: Option<PowerFs>,
}

/// Write `conf` into the process directory and start `binary` on it.
/// Data lives in `<dir>/data` (what a power loss will act on).
async fn start(
    ctx: &Ctx<'_>,
    name: String,
    port: u16,
    binary: binaries::Binary,
    conf: impl FnOnce(&Path) -> Conf,
) -> Result<Started, ProvisionError> {
    let program = ctx.program(binary)?;
    let (dir, log) = ctx.dirs(&name)?;
    // Sentinels keep no data worth a power loss.
    let (data, fs) = if binary.name == binaries::REDIS_SERVER.name {
        ctx.data_dir(&dir)?
    } else {
        (dir.join("data"), None)
    };
    super::rundir::private_dir(&data)
        .map_err(ProvisionError::io(format!("creating {}", data.display())))?;
    let conf_path = dir.join(format!("{}.conf", binary.name));
    let mut conf = conf(&data);
    if let Some(tls) = ctx.tls {
        tls.serve(&name, &dir, port, &mut conf)?;
    }
    // Users are the servers' (Sentinels are sessiondrill's alone).
    if let Some(users) = ctx.users
        && binary.name == binaries::REDIS_SERVER.name
    {
        users.configure(&mut conf);
    }
    super::rundir::write_private(&conf_path, conf.text().as_bytes()).map_err(
        ProvisionError::io(format!("writing {}", conf_path.display())),
    )?;
    let spec = SpawnSpec::new(program, &dir, log).arg(&conf_path);
    let proc = ctx.start(&name, spec).await?;
    Ok(Started {
        name,
        port,
        proc,
        dir,
        fs,
    })
}

impl Started {
    fn probe(&self, access: &RedisAccess) -> RedisProbe {
        RedisProbe::new(self.port, access)
    }

    /// Wait for PING → PONG (a node still loading its data answers LOADING).
    async fn wait_pong(
        &mut self,
        ctx: &Ctx<'_>,
        access: &RedisAccess,
    ) -> Result<(), ProvisionError> {
        let probe = self.probe(access);
        ctx.wait_ready(&self.name, &mut self.proc, || async {
            let pong: String = probe.query(&redis::cmd("PING")).await?;
            if pong == "PONG" { Ok(()) } else { Err(pong) }
        })
        .await
    }

    /// The node handle, once ready.
    fn into_handle(
        self,
        group: &str,
        kind: KindName,
        role: Role,
        access: &RedisAccess,
    ) -> ProcessHandle {
        ProcessHandle::local(
            ProcessInfo::at(
                self.name,
                group,
                kind,
                role,
                &crate::fabric::ports::HOST.to_string(),
                self.port,
                redis_url(self.port, access),
            ),
            self.proc,
            self.dir,
        )
        .with_redis(access)
        .with_fs(self.fs)
    }
}
