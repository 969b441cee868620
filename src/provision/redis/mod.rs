//! Bringing up real redis-server / redis-sentinel processes.

pub mod cluster;
pub mod conf;
pub mod probe;
pub mod replicated;
pub mod standalone;

use std::path::PathBuf;

use super::ProvisionError;
use super::binaries;
use super::launch::Ctx;
use super::node::{NodeHandle, NodeInfo, redis_url};
use super::process::ManagedProcess;
use super::spawner::SpawnSpec;
use conf::Conf;
use probe::RedisProbe;

/// A random password: 24 letters and digits.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..24)
        .map(|_| ALPHABET[rand::random::<u32>() as usize % ALPHABET.len()] as char)
        .collect()
}

/// Write `conf` into the process directory and start `binary` on it.
/// Data lives in `<dir>/data` (what a power loss will act on).
async fn start(
    ctx: &Ctx<'_>,
    name: &str,
    binary: binaries::Binary,
    conf: impl FnOnce(&PathBuf) -> Conf,
) -> Result<(ManagedProcess, PathBuf), ProvisionError> {
    let program = binary.locate()?;
    let (dir, log) = ctx.dirs(name)?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data)
        .map_err(ProvisionError::io(format!("creating {}", data.display())))?;
    let conf_path = dir.join(format!("{}.conf", binary.name));
    std::fs::write(&conf_path, conf(&data).text()).map_err(ProvisionError::io(format!(
        "writing {}",
        conf_path.display()
    )))?;
    let spec = SpawnSpec::new(program, &dir, log).arg(&conf_path);
    Ok((ctx.start(name, spec).await?, dir))
}

/// Wait for PING → PONG (a node still loading its data answers LOADING).
async fn wait_pong(
    ctx: &Ctx<'_>,
    name: &str,
    proc: &mut ManagedProcess,
    probe: &RedisProbe,
) -> Result<(), ProvisionError> {
    ctx.wait_ready(name, proc, || async {
        let pong: String = probe.query(&redis::cmd("PING")).await?;
        if pong == "PONG" { Ok(()) } else { Err(pong) }
    })
    .await
}

/// The handle for one started Redis process.
fn handle(
    name: &str,
    group: &str,
    kind: &str,
    role: &str,
    port: u16,
    password: &str,
    proc: ManagedProcess,
    dir: PathBuf,
) -> NodeHandle {
    NodeHandle::local(
        NodeInfo {
            name: name.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            role: role.to_string(),
            host: super::ports::HOST.to_string(),
            port,
            pid: None,
            url: redis_url(port, password),
        },
        proc,
        dir,
    )
    .with_password(password)
}
