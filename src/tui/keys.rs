//! Terminal events, read on a thread of their own. crossterm 0.29's reader
//! retries a read that returns 0 or fails with anything but WouldBlock
//! (`event/source/unix/mio.rs`), so once the terminal hangs up it spins
//! forever inside the call. Polled on the dashboard's task (crossterm's
//! `EventStream`), that starved every other branch of the live loop: no
//! SIGHUP, no SIGTERM, no frame, while the drill ran on (seen with gdb,
//! twice in about 160 hang-ups under load). Here a spinning reader costs
//! its own thread until the process ends, which the signal or the hang-up
//! check in the frame then brings about.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use crossterm::event::Event;
use tokio::sync::mpsc;

/// The session's one stream of terminal events (crossterm's reader is
/// global: a second reader would wait for the first).
pub struct Keys {
    rx: mpsc::UnboundedReceiver<io::Result<Event>>,
}

impl Keys {
    pub fn new() -> io::Result<Keys> {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("sd-keys".into())
            .spawn(move || {
                loop {
                    let ev = crossterm::event::read();
                    let failed = ev.is_err();
                    // Nobody listens any more, or the terminal failed.
                    if tx.send(ev).is_err() || failed {
                        break;
                    }
                }
            })?;
        Ok(Keys { rx })
    }
}

impl futures::Stream for Keys {
    type Item = io::Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}
