//! Rendering: pure functions of [`State`]; one file per panel. Only the 16
//! ANSI colours are used, so a 16-colour terminal shows the same thing.

mod caption;
mod events;
mod help;
mod latency;
mod picker;
mod sessions;
mod status;
mod summary;
mod topology;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::widgets::{Block, Clear};

pub use events::Events;
pub use help::{ConfirmQuit, Help};
pub use latency::Latency;
pub use picker::{Picker, PickerState};
pub use sessions::Sessions;
pub use status::StatusBar;
pub use summary::Summary;
pub use topology::Topology;

use super::state::{Overlay, Panel, State};

/// The whole dashboard for `state`.
pub fn draw(frame: &mut Frame, state: &State) {
    let [body, bar] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(frame.area());
    if state.summary.is_some() {
        frame.render_widget(Summary(state), body);
    } else {
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Percentage(40),
            Constraint::Percentage(30),
            Constraint::Fill(1),
        ])
        .areas(body);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(52), Constraint::Fill(1)]).areas(top);
        frame.render_widget(Topology(state), left);
        frame.render_widget(Sessions(state), right);
        frame.render_widget(Latency(state), middle);
        frame.render_widget(Events(state), bottom);
    }
    frame.render_widget(StatusBar(state), bar);
    if let Some(c) = state.caption.as_ref().filter(|_| state.is_live()) {
        let area = caption::Caption(c).area(frame.area());
        frame.render_widget(caption::Caption(c), area);
    }
    match state.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let area = centered(frame.area(), 76, 20);
            frame.render_widget(Clear, area);
            frame.render_widget(Help, area);
        }
        Overlay::ConfirmQuit => {
            let area = centered(frame.area(), 52, 5);
            frame.render_widget(Clear, area);
            frame.render_widget(ConfirmQuit(state), area);
        }
    }
}

/// A bordered block titled `title`, highlighted when `panel` has the focus.
pub(crate) fn panel_block<'a>(title: &'a str, panel: Panel, state: &State) -> Block<'a> {
    let block = Block::bordered().title(title);
    if state.focus == panel {
        block.border_style(Style::new().fg(Color::Cyan)).bold()
    } else {
        block.border_style(Style::new().fg(Color::DarkGray))
    }
}

/// A `width`×`height` rectangle in the middle of `area` (clipped to it).
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(h);
    v
}

/// `1234` → `1.2k`, for narrow columns.
pub(crate) fn short(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;

    /// Render with `draw` on a `w`×`h` test terminal; the screen as lines.
    pub fn render(w: u16, h: u16, draw: impl FnOnce(&mut ratatui::Frame)) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(draw).unwrap();
        lines(t.backend().buffer())
    }

    pub fn lines(buf: &Buffer) -> Vec<String> {
        let area = buf.area;
        (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect()
    }

    pub fn contains(screen: &[String], text: &str) -> bool {
        screen.iter().any(|l| l.contains(text))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{contains, render};
    use super::*;
    use crate::tui::state::tests_support::sample;

    #[test]
    fn every_panel_fits_80_by_24_and_grows_with_the_terminal() {
        let s = sample();
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let screen = render(w, h, |f| draw(f, &s));
            for text in [
                "Topology", "Sessions", "Latency", "Events", "cache-0", "redis", "57",
            ] {
                assert!(contains(&screen, text), "{w}x{h} {text}: {screen:#?}");
            }
            assert!(contains(&screen, "[running]"), "{w}x{h}: {screen:#?}");
            assert!(
                contains(&screen, "Failover from primary"),
                "{w}x{h}: {screen:#?}"
            );
        }
    }

    #[test]
    fn overlays_cover_the_panels() {
        let mut s = sample();
        s.overlay = Overlay::Help;
        let screen = render(80, 24, |f| draw(f, &s));
        assert!(contains(&screen, "Keys"), "{screen:#?}");
        assert!(contains(&screen, "heal every fault"), "{screen:#?}");
        s.overlay = Overlay::ConfirmQuit;
        let screen = render(80, 24, |f| draw(f, &s));
        assert!(
            contains(&screen, "Quit aof-everysec-power-loss?"),
            "{screen:#?}"
        );
    }

    #[test]
    fn a_tiny_terminal_does_not_panic() {
        let s = sample();
        for (w, h) in [(1, 1), (10, 3), (30, 8)] {
            render(w, h, |f| draw(f, &s));
        }
    }
}
