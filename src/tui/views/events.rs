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
        "in-words" => Color::Cyan,
        _ => Color::Gray,
    }
}

/// Columns before an event's message: its time and its kind.
const PREFIX: usize = 22;

impl Widget for Events<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let block = panel_block(" Events ", Panel::Events, s);
        let inner = block.inner(area);
        let height = inner.height as usize;
        let end = s.events.len().saturating_sub(s.events_scroll);
        // What happened, in words, wraps under its own message column;
        // the mechanical lines stay one line each.
        // Newest last: the events are formatted from the newest back, only
        // as many as fill the panel.
        let mut rows: Vec<Line> = Vec::new();
        for e in s.events[..end].iter().rev() {
            if rows.len() >= height {
                break;
            }
            let mut these: Vec<Line> = Vec::new();
            let parts = if e.kind == "in-words" {
                wrap(&e.message, (inner.width as usize).saturating_sub(PREFIX))
            } else {
                vec![e.message.clone()]
            };
            for (i, part) in parts.into_iter().enumerate() {
                let (t, kind) = if i == 0 {
                    (
                        format!("{:>7.1}s ", e.t_ms as f64 / 1000.0),
                        format!("{:<12} ", e.kind),
                    )
                } else {
                    (" ".repeat(9), " ".repeat(13))
                };
                let body = if e.kind == "in-words" {
                    Span::styled(part, Style::new().fg(Color::Cyan))
                } else {
                    Span::raw(part)
                };
                these.push(Line::from(vec![
                    Span::styled(t, Style::new().fg(Color::DarkGray)),
                    Span::styled(kind, Style::new().fg(color(&e.kind))),
                    body,
                ]));
            }
            rows.extend(these.into_iter().rev());
        }
        rows.reverse();
        let start = rows.len().saturating_sub(height);
        Paragraph::new(rows.split_off(start))
            .block(block)
            .render(area, buf);
    }
}

/// `text` in lines of at most `width` characters, broken between words
/// (a word longer than a line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let (lw, ww) = (line.chars().count(), word.chars().count());
        if !line.is_empty() && lw + 1 + ww > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            let rest: String = line.chars().skip(width).collect();
            out.push(head);
            line = rest;
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
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

    #[test]
    fn what_happened_wraps_uncut_under_its_message() {
        let mut s = sample();
        let sentence = "cache-0 lost power 303 ms after its last fsync: redis lost 45 \
                        acknowledged writes (read back by 3.4 s); budget: AOF everysec: about \
                        1 s of acknowledged writes, at most 2 s";
        s.events.push(crate::events::Event {
            t_ms: 3400,
            kind: "in-words".into(),
            node: "cache".into(),
            message: sentence.into(),
        });
        let screen = render(80, 8, |f| f.render_widget(Events(&s), f.area()));
        let text: String = screen
            .iter()
            .map(|l| l.trim_matches(|c| c == '│' || c == ' ').to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(sentence), "{screen:#?}");
        assert_eq!(wrap("aaaa bbbbb cc", 10), vec!["aaaa bbbbb", "cc"]);
        assert_eq!(wrap("abcdefghijklmnop", 10), vec!["abcdefghij", "klmnop"]);
    }
}
