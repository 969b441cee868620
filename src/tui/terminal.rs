//! The terminal while the dashboard owns it: raw mode and the alternate
//! screen, always given back — when the guard drops, on a panic (hook), and
//! on SIGTERM/SIGHUP (the live loop ends, the guard drops).

use std::io;
use std::sync::Once;

use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::record::{Output, Recorder};

pub type Term = Terminal<CrosstermBackend<Output>>;

pub struct TerminalGuard {
    pub terminal: Term,
}

impl TerminalGuard {
    /// Take the terminal; with `cast`, everything drawn is recorded too.
    pub fn enter(cast: Option<Recorder>) -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut out = Output::new(cast);
        if let Err(e) = execute!(out, EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        let terminal = Terminal::new(CrosstermBackend::new(out)).inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }
}

/// Whether the terminal went away (its other end closed: a closed window,
/// a killed tmux, a dropped SSH connection), seen on stdin or stdout
/// without waiting. SIGHUP says so too, but is not the only witness: a
/// dashboard whose terminal hung up without it ever arriving was seen
/// running its drill on, twice in about 160 tmux hang-ups under CPU load.
pub fn hung_up() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let (stdin, stdout) = (io::stdin(), io::stdout());
    let mut fds = [
        PollFd::new(stdin.as_fd(), PollFlags::empty()),
        PollFd::new(stdout.as_fd(), PollFlags::empty()),
    ];
    if poll(&mut fds, PollTimeout::ZERO).is_err() {
        return false;
    }
    let gone = PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL;
    fds.iter()
        .any(|f| f.revents().is_some_and(|r| r.intersects(gone)))
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen; harmless when not in them.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
}

/// Give the terminal back before a panic message is printed.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
