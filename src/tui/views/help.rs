//! Overlays: every key (`?`), and the quit confirmation while a run is live.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table, Widget, Wrap};

use crate::tui::action::HELP;
use crate::tui::state::State;

pub struct Help;

impl Widget for Help {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = HELP
            .iter()
            .map(|(k, what)| Row::new([Line::from(*k).fg(Color::Cyan), Line::from(*what)]));
        Table::new(rows, [Constraint::Length(24), Constraint::Fill(1)])
            .block(
                Block::bordered()
                    .title(" Keys — destructive keys act on the selected node ")
                    .border_style(Style::new().fg(Color::Cyan)),
            )
            .render(area, buf);
    }
}

pub struct ConfirmQuit<'a>(pub &'a State);

impl Widget for ConfirmQuit<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let text = vec![
            Line::from(format!("Quit {}? The run is live:", self.0.scenario)),
            Line::from("its nodes are torn down, no report is written."),
            Line::from("y / enter: quit    n / esc: stay").fg(Color::Yellow),
        ];
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .title(" Quit? ")
                    .border_style(Style::new().fg(Color::Red)),
            )
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;

    #[test]
    fn help_lists_every_key() {
        let screen = render(80, 20, |f| f.render_widget(Help, f.area()));
        for key in [
            "k",
            "p",
            "z",
            "r",
            "f",
            "l",
            "x",
            "H",
            "space",
            "e",
            "q, ctrl-c",
        ] {
            assert!(
                screen
                    .iter()
                    .any(|l| l.trim_start_matches('│').trim_start().starts_with(key)),
                "{key}: {screen:#?}"
            );
        }
    }

    #[test]
    fn confirmation_says_what_happens() {
        let s = State::new("demo", "", "run", 60);
        let screen = render(52, 5, |f| f.render_widget(ConfirmQuit(&s), f.area()));
        assert!(contains(&screen, "Quit demo?"), "{screen:#?}");
        assert!(contains(&screen, "y / enter"), "{screen:#?}");
    }
}
