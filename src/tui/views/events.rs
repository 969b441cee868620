//! Events: the engine's log, newest at the bottom, in ElastiCache's
//! wording for failovers; faults in red, recoveries in green.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::panel_block;
use crate::tui::state::{Panel, State};

pub struct Events<'a>(pub &'a State);

pub fn color(kind: &str) -> Color {
    match kind {
        "fault" | "node-down" | "fault-failed" | "heal-failed" | "refused" => Color::Red,
        "healed" | "node-up" | "load-resumed" => Color::Green,
        "failover" | "role" | "cluster-state" | "load-paused" => Color::Yellow,
        _ => Color::Gray,
    }
}

impl Widget for Events<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let block = panel_block(" Events ", Panel::Events, s);
        let height = block.inner(area).height as usize;
        let end = s.events.len().saturating_sub(s.events_scroll);
        let start = end.saturating_sub(height);
        let lines: Vec<Line> = s.events[start..end]
            .iter()
            .map(|e| {
                Line::from(vec![
                    Span::styled(
                        format!("{:>7.1}s ", e.t_ms as f64 / 1000.0),
                        Style::new().fg(Color::DarkGray),
                    ),
                    Span::styled(format!("{:<12} ", e.kind), Style::new().fg(color(&e.kind))),
                    Span::raw(e.message.as_str()),
                ])
            })
            .collect();
        Paragraph::new(lines).block(block).render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;
    use crate::tui::state::tests_support::sample;

    #[test]
    fn newest_events_last_and_scrollable() {
        let mut s = sample();
        let screen = render(100, 4, |f| f.render_widget(Events(&s), f.area()));
        // Two lines fit: the newest two.
        assert!(
            contains(&screen, "Failover from primary node cache-0"),
            "{screen:#?}"
        );
        assert!(!contains(&screen, "open-loop load"), "{screen:#?}");
        s.events_scroll = 2;
        let screen = render(100, 4, |f| f.render_widget(Events(&s), f.area()));
        assert!(contains(&screen, "open-loop load"), "{screen:#?}");
    }
}
