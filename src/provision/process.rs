//! A running node process: signals, liveness, and kill-on-drop.

use std::process::Child;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::spawner::SpawnSpec;

pub struct ManagedProcess {
    child: Child,
    pub spec: SpawnSpec,
}

impl ManagedProcess {
    pub fn new(child: Child, spec: SpawnSpec) -> Self {
        Self { child, spec }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, sig: Signal) -> nix::Result<()> {
        kill(Pid::from_raw(self.pid() as i32), sig)
    }

    /// `None` while running; the exit status once it has ended.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL and reap.
    pub fn kill_now(&mut self) {
        if self.exit_status().is_none() {
            let _ = self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
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
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.kill_now();
    }
}
