//! The scenario picker: every file in `topologies/`, scenarios first, with
//! the selected one's description and the question it answers.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, StatefulWidget, Widget, Wrap};

use crate::tui::catalog::{self, Entry};

#[derive(Debug, Default)]
pub struct PickerState {
    pub entries: Vec<Entry>,
    /// Index into `entries`.
    pub selected: usize,
    /// Why the last choice could not be opened.
    pub error: Option<String>,
    pub dir: String,
    /// Words every entry shown must contain (`/` to type them).
    pub filter: String,
    /// Typing the filter: keys are letters, not commands.
    pub filtering: bool,
}

impl PickerState {
    /// The entries shown, in screen order (group by group).
    pub fn visible(&self) -> Vec<usize> {
        catalog::groups(&self.entries, &self.filter)
            .into_iter()
            .flat_map(|(_, v)| v)
            .collect()
    }

    /// Keep the selection on a shown entry (the first, if it went).
    pub fn snap(&mut self) {
        let v = self.visible();
        if !v.contains(&self.selected)
            && let Some(&first) = v.first()
        {
            self.selected = first;
        }
    }

    fn step(&mut self, forward: bool) {
        let v = self.visible();
        if v.is_empty() {
            return;
        }
        let at = v.iter().position(|&i| i == self.selected).unwrap_or(0);
        let next = if forward {
            (at + 1) % v.len()
        } else {
            (at + v.len() - 1) % v.len()
        };
        self.selected = v[next];
    }

    pub fn next(&mut self) {
        self.step(true);
    }

    pub fn prev(&mut self) {
        self.step(false);
    }

    /// The selected entry, if it is shown.
    pub fn current(&self) -> Option<&Entry> {
        self.visible()
            .contains(&self.selected)
            .then(|| self.entries.get(self.selected))
            .flatten()
    }

    /// Read every scenario's last answer again (one may have just run).
    pub fn reload_answers(&mut self, home: &crate::provision::Home) {
        for e in self.entries.iter_mut().filter(|e| e.is_scenario) {
            e.answer = crate::drill::answers::load(home, &e.scenario_name);
        }
    }

    pub fn type_char(&mut self, c: char) {
        self.filter.push(c);
        self.snap();
    }

    pub fn backspace(&mut self) {
        self.filter.pop();
        self.snap();
    }

    pub fn clear_filter(&mut self) {
        self.filter.clear();
        self.filtering = false;
        self.snap();
    }
}

pub struct Picker<'a>(pub &'a PickerState);

impl Widget for Picker<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let p = self.0;
        let [body, bar] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(body);
        let mut items: Vec<ListItem> = Vec::new();
        let mut selected_row = None;
        for (group, members) in catalog::groups(&p.entries, &p.filter) {
            items.push(ListItem::new(Line::styled(
                group,
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )));
            for i in members {
                let e = &p.entries[i];
                if i == p.selected {
                    selected_row = Some(items.len());
                }
                let mark = match &e.answer {
                    Some(a) if a.ok => Span::styled("✓ ", Style::new().fg(Color::Green)),
                    Some(_) => Span::styled("✗ ", Style::new().fg(Color::Red)),
                    None => Span::raw("  "),
                };
                let name = if e.error.is_some() {
                    Span::styled(e.name.as_str(), Style::new().fg(Color::Red))
                } else {
                    Span::raw(e.name.as_str())
                };
                items.push(ListItem::new(Line::from(vec![Span::raw(" "), mark, name])));
            }
        }
        let title = if p.filter.is_empty() {
            format!(" Drills in {} ", p.dir)
        } else {
            format!(" /{} ", p.filter)
        };
        let list = List::new(items)
            .block(
                Block::bordered()
                    .title(title)
                    .border_style(Style::new().fg(Color::Cyan)),
            )
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol("›");
        let mut state = ListState::default().with_selected(selected_row);
        StatefulWidget::render(list, left, buf, &mut state);

        let mut text: Vec<Line> = Vec::new();
        if let Some(e) = p.current() {
            text.push(Line::from(e.name.as_str()).bold());
            text.push(Line::from(""));
            let mut field = |label: &'static str, value: &str| {
                text.push(Line::from(vec![
                    Span::styled(label, Style::new().fg(Color::Yellow)),
                    Span::raw(value.to_string()),
                ]));
                text.push(Line::from(""));
            };
            if let Some(q) = &e.question {
                field("Question: ", q);
            }
            if let Some(c) = &e.claim {
                field("Claim: ", c);
            }
            text.push(Line::from(e.description.as_str()));
            match &e.answer {
                Some(a) => {
                    text.push(Line::from(""));
                    text.push(Line::from(vec![
                        Span::styled("Measured here last: ", Style::new().fg(Color::Yellow)),
                        Span::raw(format!(
                            "{} ({:.1} s of load) — ",
                            when(a.started_unix_ms),
                            a.duration_ms as f64 / 1000.0
                        )),
                        if a.ok {
                            Span::styled("PASS", Style::new().fg(Color::Green).bold())
                        } else {
                            Span::styled("FAIL", Style::new().fg(Color::Red).bold())
                        },
                    ]));
                    for l in &a.lines {
                        text.push(Line::from(l.as_str()));
                    }
                }
                None if e.is_scenario => {
                    text.push(Line::from(""));
                    text.push(
                        Line::from("Not run on this machine yet: enter runs it.")
                            .fg(Color::DarkGray),
                    );
                }
                None => {}
            }
            if let Some(err) = &e.error {
                text.push(Line::from(""));
                text.push(Line::styled(err.as_str(), Style::new().fg(Color::Red)));
            }
        } else if p.entries.is_empty() {
            text.push(Line::from(format!("No scenario files in {}", p.dir)));
        } else {
            text.push(Line::from(format!("Nothing matches “{}”", p.filter)));
        }
        if let Some(err) = &p.error {
            text.push(Line::from(""));
            text.push(Line::styled(err.as_str(), Style::new().fg(Color::Red)));
        }
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().border_style(Style::new().fg(Color::DarkGray)))
            .render(right, buf);
        let help = if p.filtering {
            format!(" /{}▏ type to filter   enter done   esc clear ", p.filter)
        } else {
            " ↑↓ j k choose   / filter   enter open   q quit ".to_string()
        };
        Line::styled(help, Style::new().fg(Color::DarkGray)).render(bar, buf);
    }
}

/// A Unix time in ms as a UTC date and time, to the minute (an answer
/// file may say anything: a time humantime cannot write is "?").
fn when(unix_ms: u64) -> String {
    use std::fmt::Write;
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(unix_ms);
    let mut s = String::new();
    if write!(s, "{}", humantime::format_rfc3339_seconds(t)).is_err() || s.len() < 16 {
        return "?".into();
    }
    // 2026-12-01T18:08:45Z → 2026-12-01 18:08 UTC
    format!("{} {} UTC", &s[..10], &s[11..16])
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;

    #[test]
    fn shows_the_catalogue_and_the_selected_description() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies");
        let mut p = PickerState {
            entries: crate::tui::catalog::list(&dir, None),
            dir: "topologies".into(),
            ..PickerState::default()
        };
        let i = p
            .entries
            .iter()
            .position(|e| e.name == "aof-everysec-power-loss")
            .unwrap();
        p.selected = i;
        let screen = render(80, 24, |f| f.render_widget(Picker(&p), f.area()));
        assert!(
            contains(&screen, "›   aof-everysec-power-loss"),
            "{screen:#?}"
        );
        assert!(contains(&screen, "1. Durable sessions"), "{screen:#?}");
        assert!(contains(&screen, "power loss"), "{screen:#?}");
        assert!(contains(&screen, "enter open"), "{screen:#?}");
    }

    #[test]
    fn an_answer_from_any_time_is_written_without_a_panic() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_796_234_925_000), "2026-12-02 18:08 UTC");
        assert_eq!(when(u64::MAX), "?");
        assert_eq!(when(253_402_300_800_000), "?");
    }
}
