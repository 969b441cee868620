//! `kind: memcached`: one or more memcached servers (clients shard across
//! them, as with ElastiCache for Memcached).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::handle::{ProcessHandle, ProcessInfo, Role};
use super::launch::{Ctx, process_name};
use super::spawner::SpawnSpec;
use super::{ProvisionError, binaries};
use crate::fabric::ports::HOST;
use crate::topology::{KindName, Memcached};

pub async fn up(
    ctx: &Ctx<'_>,
    group: &str,
    cfg: &Memcached,
    ports: &[u16],
) -> Result<Vec<ProcessHandle>, ProvisionError> {
    let program = ctx.program(binaries::MEMCACHED)?;
    let mut started = Vec::new();
    for (i, &port) in ports.iter().enumerate() {
        let name = process_name(group, i, ports.len());
        let (dir, log) = ctx.dirs(&name)?;
        let mut spec = SpawnSpec::new(&program, &dir, log)
            .arg("-l")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(port.to_string())
            .arg("-U")
            .arg("0")
            .arg("-m")
            .arg(cfg.memory_mb.to_string())
            .arg("-t")
            .arg("2");
        // memcached refuses to run as root unless told which user to be.
        // Root itself, not `nobody`: changing its user clears the
        // parent-death signal (prctl(2)), and a SIGKILLed sessiondrill
        // would leave it running.
        if nix::unistd::geteuid().is_root() {
            spec = spec.arg("-u").arg("root");
        }
        let p = ctx.start(&name, spec).await?;
        started.push((name, port, p, dir));
    }
    let mut handles = Vec::new();
    for (name, port, mut proc, dir) in started {
        ctx.wait_ready(&name, &mut proc, || version(port)).await?;
        let info = ProcessInfo::at(
            name.clone(),
            group,
            KindName::Memcached,
            Role::Server,
            &HOST.to_string(),
            port,
            format!("memcache://{HOST}:{port}"),
        );
        handles.push(ProcessHandle::local(info, proc, dir));
    }
    Ok(handles)
}

/// `version` over the text protocol, on a fresh connection.
pub(crate) async fn version(port: u16) -> Result<String, String> {
    let talk = async {
        let mut s = tokio::net::TcpStream::connect((HOST, port))
            .await
            .map_err(|e| e.to_string())?;
        version_on(&mut s).await
    };
    tokio::time::timeout(Duration::from_millis(500), talk)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// `version` over the text protocol on `s` (a kept connection too).
pub(crate) async fn version_on(s: &mut tokio::net::TcpStream) -> Result<String, String> {
    s.write_all(b"version\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&buf[..n]);
    if reply.starts_with("VERSION") {
        Ok(reply.trim().to_string())
    } else {
        Err(format!("unexpected reply {reply:?}"))
    }
}
