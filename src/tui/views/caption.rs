//! `sessiondrill demo`: the caption over the dashboard's middle, wrapped;
//! "any key to continue" while it holds the load.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::tui::state::Shown;

pub struct Caption<'a>(pub &'a Shown);

impl Caption<'_> {
    /// Where it goes in `area`: most of the width, as tall as its text, in
    /// the middle (the events panel at the bottom stays in view).
    pub fn area(&self, area: Rect) -> Rect {
        let width = area.width.saturating_sub(4).min(90);
        let inner = width.saturating_sub(2).max(1) as usize;
        let rows = self
            .0
            .text
            .lines()
            .map(|l| l.chars().count().div_ceil(inner).max(1))
            .sum::<usize>()
            + usize::from(self.0.waiting)
            + 1; // word wrap may take a row more
        let height = u16::try_from(rows)
            .unwrap_or(u16::MAX)
            .saturating_add(2)
            .min(area.height);
        Rect {
            x: area.x + (area.width - width) / 2,
            // Over the latency chart, in the middle: the events panel
            // below says what the caption is about.
            y: area.y + (area.height - height) / 2,
            width,
            height,
        }
    }
}

impl Widget for Caption<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let c = self.0;
        Clear.render(area, buf);
        let mut lines: Vec<Line> = c.text.lines().map(Line::from).collect();
        if c.waiting {
            lines
                .push(Line::from("— any key to continue (the load is paused) —").fg(Color::Yellow));
        }
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .title(format!(" {}/{} ", c.number, c.of))
                    .border_style(Style::new().fg(Color::Yellow)),
            )
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;

    #[test]
    fn a_waiting_caption_says_how_to_go_on() {
        let c = Shown {
            text: "The power goes now: what was not fsynced is gone.".into(),
            waiting: true,
            resumes: true,
            number: 2,
            of: 2,
        };
        let screen = render(100, 30, |f| {
            let area = Caption(&c).area(f.area());
            f.render_widget(Caption(&c), area)
        });
        assert!(contains(&screen, "The power goes now"), "{screen:#?}");
        assert!(contains(&screen, "any key to continue"), "{screen:#?}");
        assert!(contains(&screen, " 2/2 "), "{screen:#?}");
        // A tiny terminal does not panic.
        render(3, 2, |f| {
            let area = Caption(&c).area(f.area());
            f.render_widget(Caption(&c), area)
        });
    }
}
