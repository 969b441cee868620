//! What the power-loss filesystem costs: `redis-benchmark` SET throughput
//! of a redis-server writing its AOF into a plain directory or into a
//! [`PowerFs`](crate::fabric::powerfs::PowerFs) mount.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fabric::ports::free_port;

/// SET requests per second `redis-benchmark` (50 clients, 100-byte values,
/// `requests` in all) gets from a fresh redis-server with
/// `--appendonly yes --appendfsync <appendfsync>` and its data in `dir`.
pub fn redis_aof_throughput(dir: &Path, appendfsync: &str, requests: u64) -> io::Result<f64> {
    let port = free_port()?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .args(["--appendonly", "yes", "--appendfsync", appendfsync])
        .args(["--save", "", "--daemonize", "no", "--logfile", ""])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("redis-server: {e}")))?;
    let mut server = KillOnDrop(child);
    wait_ready(&mut server, port)?;
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-t", "set", "-n", &requests.to_string()])
        .args(["-c", "50", "-d", "100", "-q", "--csv"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("redis-benchmark: {e}")))?;
    drop(server);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    set_rps(&text)
        .ok_or_else(|| io::Error::other(format!("no SET row in redis-benchmark output: {text}")))
}

/// The `rps` column of the `"SET"` row of `redis-benchmark --csv`.
fn set_rps(csv: &str) -> Option<f64> {
    csv.lines()
        .find(|l| l.starts_with("\"SET\""))?
        .split(',')
        .nth(1)?
        .trim_matches('"')
        .parse()
        .ok()
}

/// SIGKILLed and reaped on drop.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Until the server answers PING (it may still be loading its AOF).
fn wait_ready(server: &mut KillOnDrop, port: u16) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if ping(port).is_ok_and(|pong| pong) {
            return Ok(());
        }
        if let Some(status) = server.0.try_wait()? {
            return Err(io::Error::other(format!("redis-server exited: {status}")));
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "redis-server did not answer PING within 10 s",
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ping(port: u16) -> io::Result<bool> {
    let mut c = TcpStream::connect(("127.0.0.1", port))?;
    c.set_read_timeout(Some(Duration::from_secs(1)))?;
    c.write_all(b"*1\r\n$4\r\nPING\r\n")?;
    let mut reply = [0u8; 7];
    c.read_exact(&mut reply)?;
    Ok(&reply == b"+PONG\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_row_is_read_from_the_csv() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\"\n\"SET\",\"81234.57\",\"0.551\"\n";
        assert_eq!(set_rps(csv), Some(81234.57));
        assert_eq!(set_rps("\"test\",\"rps\"\n"), None);
    }
}
