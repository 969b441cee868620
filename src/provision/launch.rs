//! Starting a node process and waiting until it answers.

use std::future::Future;
use std::path::{Path, PathBuf};

use crate::fabric::powerfs::PowerFs;
use std::time::{Duration, Instant};

use super::ProvisionError;
use super::error::log_tail;
use super::process::ManagedProcess;
use super::rundir::RunDir;
use super::spawner::{SpawnSpec, Spawner};

/// What every node bring-up needs.
pub struct Ctx<'a> {
    pub run: &'a RunDir,
    pub spawner: &'a Spawner,
    pub timeout: Duration,
    pub node_binary: &'a std::path::Path,
    /// Mount data directories on the power-loss filesystem.
    pub power_loss_fs: bool,
    /// Put link proxies between processes (peer links) too.
    pub proxies: bool,
    /// The image the node names (`image:`), for the Docker provider.
    pub image: Option<&'a str>,
    /// The run's certificate authority, when any Redis node speaks TLS.
    pub run_tls: Option<&'a super::redis::tls::RunTls>,
    /// It, for a node that speaks TLS (`tls: true`).
    pub tls: Option<&'a super::redis::tls::RunTls>,
    /// The node's ACL users (`users:`), passwords read.
    pub users: Option<&'a super::redis::acl::NodeUsers>,
}

/// How often readiness is polled: nodes start in milliseconds here.
const POLL: Duration = Duration::from_millis(10);

impl Ctx<'_> {
    /// The directory of process `name` and its log file.
    pub fn dirs(&self, name: &str) -> Result<(PathBuf, PathBuf), ProvisionError> {
        let dir = self.run.node_dir(name).map_err(ProvisionError::io(format!(
            "creating the directory of {name}"
        )))?;
        let log = dir.join("log");
        Ok((dir, log))
    }

    /// A process's data directory `<dir>/data`: with the power-loss
    /// filesystem, a mount over `<dir>/data.backing`.
    pub fn data_dir(&self, dir: &Path) -> Result<(PathBuf, Option<PowerFs>), ProvisionError> {
        let data = dir.join("data");
        if !self.power_loss_fs {
            return Ok((data, None));
        }
        let fs = PowerFs::mount(&dir.join("data.backing"), &data).map_err(ProvisionError::io(
            format!("mounting the power-loss filesystem on {}", data.display()),
        ))?;
        Ok((data, Some(fs)))
    }

    /// The program to run for `binary`: on PATH here; in a container,
    /// the image's own (nothing needs installing here for that).
    pub fn program(&self, binary: super::binaries::Binary) -> Result<PathBuf, ProvisionError> {
        match binary.locate() {
            Err(_) if self.spawner.engine().is_some() => {
                Ok(Path::new("/usr/bin").join(binary.name))
            }
            found => found,
        }
    }

    pub async fn start(
        &self,
        name: &str,
        spec: SpawnSpec,
    ) -> Result<ManagedProcess, ProvisionError> {
        let program = spec.program.display().to_string();
        let mut spec = spec;
        if spec.image.is_none() {
            spec.image = self.image.map(str::to_string);
        }
        let p = self.spawner.start(name, spec).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::Unsupported {
                // The engine is not on this machine: the user's to fix.
                ProvisionError::Docker(e.to_string())
            } else {
                ProvisionError::io(format!("starting {name} ({program})"))(e)
            }
        })?;
        tracing::debug!(process = name, pid = p.pid(), "started");
        Ok(p)
    }

    /// Poll `check` until it succeeds, the process exits, or the timeout.
    pub async fn wait_ready<T, F, Fut>(
        &self,
        name: &str,
        proc: &mut ManagedProcess,
        mut check: F,
    ) -> Result<T, ProvisionError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let started = Instant::now();
        loop {
            if let Some(status) = proc.exit_status() {
                let log_text = std::fs::read_to_string(&proc.spec.log).unwrap_or_default();
                return Err(ProvisionError::Exited {
                    process: name.to_string(),
                    status: status.to_string(),
                    log: log_tail(&proc.spec.log, 8),
                    addr_in_use: log_text.contains("Address already in use")
                        || log_text.contains("address already in use")
                        || log_text.contains("Address in use"),
                });
            }
            let last = match check().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if started.elapsed() > self.timeout {
                return Err(ProvisionError::NotReady {
                    process: name.to_string(),
                    waited_ms: started.elapsed().as_millis(),
                    reason: last,
                    log: log_tail(&proc.spec.log, 8),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Poll `check` (no process to watch) until it succeeds or `timeout`.
/// Name of process `i` of a node of `count` processes: the node's own name
/// when it has one process, `<node>-<i>` otherwise.
pub fn process_name(group: &str, i: usize, count: usize) -> String {
    if count == 1 {
        group.to_string()
    } else {
        format!("{group}-{i}")
    }
}

pub async fn poll_until<T, F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<T, ProvisionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(v) => return Ok(v),
            Err(e) if started.elapsed() > timeout => {
                return Err(ProvisionError::NotReady {
                    process: what.to_string(),
                    waited_ms: started.elapsed().as_millis(),
                    reason: e,
                    log: String::new(),
                });
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}
