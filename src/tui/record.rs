//! `--record FILE.cast`: what the dashboard writes to the terminal, as an
//! asciicast v2 file (asciinema's format: a JSON header line, then one
//! `[seconds, "o", text]` line per frame flushed), playable with
//! `asciinema play` and the web players. Written with serde_json: the
//! format is a header and one array per line, and the crates for it add
//! nothing but the structs.

use std::io::{self, BufWriter, Stdout, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A cast being written.
pub struct Recorder {
    file: BufWriter<std::fs::File>,
    start: Instant,
    /// Bytes written since the last flush (a frame), and the tail of a
    /// UTF-8 character cut by it.
    pending: Vec<u8>,
}

impl Recorder {
    /// Create `path` with the header for a `width`×`height` terminal.
    pub fn create(path: &Path, width: u16, height: u16, title: &str) -> io::Result<Recorder> {
        let mut file = BufWriter::new(std::fs::File::create(path)?);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = serde_json::json!({
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": timestamp,
            "title": title,
            "env": { "TERM": std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into()) },
        });
        writeln!(file, "{header}")?;
        Ok(Recorder {
            file,
            start: Instant::now(),
            pending: Vec::new(),
        })
    }

    fn output(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// One output event with what was written since the last one.
    fn frame(&mut self) -> io::Result<()> {
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // A character cut by the frame waits for its other bytes…
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // …bytes that are no character at all go as they are (lossy).
            Err(_) => self.pending.len(),
        };
        if whole == 0 {
            return Ok(());
        }
        let rest = self.pending.split_off(whole);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        let t = self.start.elapsed().as_secs_f64();
        let line = serde_json::json!([(t * 1e6).round() / 1e6, "o", text]);
        writeln!(self.file, "{line}")?;
        self.file.flush()
    }
}

/// Where the dashboard draws: the terminal, and a copy to the cast.
pub struct Output {
    out: Stdout,
    cast: Option<Arc<Mutex<Recorder>>>,
}

impl Output {
    pub fn new(cast: Option<Recorder>) -> Output {
        Output {
            out: io::stdout(),
            cast: cast.map(|r| Arc::new(Mutex::new(r))),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(c) = &self.cast {
            c.lock()
                .unwrap_or_else(|p| p.into_inner())
                .output(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(c) = &self.cast {
            // A cast that cannot be written does not stop the dashboard:
            // the file says as much as it could.
            let _ = c.lock().unwrap_or_else(|p| p.into_inner()).frame();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cast at `path`, line by line.
    fn lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_character_cut_by_a_frame_waits_for_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cast");
        let mut r = Recorder::create(&path, 100, 30, "t").unwrap();
        let bytes = "a─b".as_bytes();
        r.output(&bytes[..2]); // 'a' and the first byte of '─'
        r.frame().unwrap();
        r.output(&bytes[2..]);
        r.frame().unwrap();
        r.frame().unwrap(); // nothing new: no event
        let lines = lines(&path);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(
            (lines[0]["width"].as_u64(), lines[0]["height"].as_u64()),
            (Some(100), Some(30))
        );
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "a");
        assert_eq!(lines[2][2], "─b");
        assert!(lines[1][0].as_f64().unwrap() <= lines[2][0].as_f64().unwrap());
    }

    #[test]
    fn bytes_that_are_no_character_do_not_stop_the_recording() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.cast");
        let mut r = Recorder::create(&path, 80, 24, "t").unwrap();
        r.output(b"a\xffb");
        r.frame().unwrap();
        r.output(b"c");
        r.frame().unwrap();
        let lines = lines(&path);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[1][2], "a\u{FFFD}b");
        assert_eq!(lines[2][2], "c");
    }
}
