//! A running node process — a child of sessiondrill, or the main process
//! of a container — with signals, liveness, restart and kill-on-drop.

use std::process::Child;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::docker::Container;
use super::spawner::{SpawnSpec, Spawner};

enum Running {
    Local(Child),
    Container(Container),
}

pub struct ManagedProcess {
    running: Running,
    pub spec: SpawnSpec,
}

impl ManagedProcess {
    pub fn new(child: Child, spec: SpawnSpec) -> Self {
        Self {
            running: Running::Local(child),
            spec,
        }
    }

    pub fn in_container(c: Container, spec: SpawnSpec) -> Self {
        Self {
            running: Running::Container(c),
            spec,
        }
    }

    /// The process id on this machine (a container's main process too).
    pub fn pid(&self) -> u32 {
        match &self.running {
            Running::Local(c) => c.id(),
            Running::Container(c) => c.pid(),
        }
    }

    /// The container it runs in, if any.
    pub fn container_id(&self) -> Option<&str> {
        match &self.running {
            Running::Local(_) => None,
            Running::Container(c) => Some(&c.id),
        }
    }

    /// Send `sig`; in a container, KILL/STOP/CONT become `docker
    /// kill`/`pause`/`unpause`.
    pub fn signal(&mut self, sig: Signal) -> Result<(), String> {
        match &mut self.running {
            Running::Local(c) => kill(Pid::from_raw(c.id() as i32), sig).map_err(|e| e.to_string()),
            Running::Container(c) => c.signal(sig),
        }
    }

    /// `None` while running; the exit status once it has ended.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        match &mut self.running {
            Running::Local(c) => c.try_wait().ok().flatten(),
            Running::Container(c) => c.exit_status(),
        }
    }

    /// SIGKILL and reap.
    pub fn kill_now(&mut self) {
        if self.exit_status().is_some() {
            return;
        }
        match &mut self.running {
            Running::Local(c) => {
                let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGKILL);
                let _ = c.wait();
            }
            Running::Container(c) => c.kill_now(),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exit_status().is_some() {
            return;
        }
        let _ = self.signal(Signal::SIGTERM);
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if self.exit_status().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill_now();
    }

    /// Start it again after it ended: the same command line (same port,
    /// same data directory); a container is started again as it is.
    pub async fn restart(&mut self, spawner: &Spawner) -> std::io::Result<()> {
        if self.exit_status().is_none() {
            return Err(std::io::Error::other("it is still running"));
        }
        match &mut self.running {
            Running::Local(c) => {
                *c = spawner.spawn_local(self.spec.clone()).await?;
                Ok(())
            }
            Running::Container(c) => c.restart().await,
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        // A container is force-removed by its own drop, which kills it
        // first: a `docker kill` here would be the same work twice.
        if let Running::Local(_) = self.running {
            self.kill_now();
        }
    }
}
