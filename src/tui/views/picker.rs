//! The scenario picker: every file in `topologies/`, scenarios first, with
//! the selected one's description and the question it answers.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, StatefulWidget, Widget, Wrap};

use crate::tui::catalog::Entry;

#[derive(Debug, Default)]
pub struct PickerState {
    pub entries: Vec<Entry>,
    pub selected: usize,
    /// Why the last choice could not be opened.
    pub error: Option<String>,
    pub dir: String,
}

impl PickerState {
    pub fn next(&mut self) {
        if !self.entries.is_empty() {
            self.selected = (self.selected + 1) % self.entries.len();
        }
    }

    pub fn prev(&mut self) {
        if !self.entries.is_empty() {
            self.selected = (self.selected + self.entries.len() - 1) % self.entries.len();
        }
    }

    pub fn current(&self) -> Option<&Entry> {
        self.entries.get(self.selected)
    }
}

pub struct Picker<'a>(pub &'a PickerState);

impl Widget for Picker<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let p = self.0;
        let [body, bar] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(42), Constraint::Fill(1)]).areas(body);
        let items: Vec<ListItem> = p
            .entries
            .iter()
            .map(|e| {
                let tag = if e.is_scenario {
                    Span::styled("drill ", Style::new().fg(Color::Cyan))
                } else {
                    Span::styled("topo  ", Style::new().fg(Color::DarkGray))
                };
                let name = if e.error.is_some() {
                    Span::styled(e.name.as_str(), Style::new().fg(Color::Red))
                } else {
                    Span::raw(e.name.as_str())
                };
                ListItem::new(Line::from(vec![tag, name]))
            })
            .collect();
        let list = List::new(items)
            .block(
                Block::bordered()
                    .title(format!(" Scenarios in {} ", p.dir))
                    .border_style(Style::new().fg(Color::Cyan)),
            )
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol("›");
        let mut state = ListState::default().with_selected(Some(p.selected));
        StatefulWidget::render(list, left, buf, &mut state);

        let mut text: Vec<Line> = Vec::new();
        if let Some(e) = p.current() {
            text.push(Line::from(e.name.as_str()).bold());
            text.push(Line::from(""));
            if let Some(q) = &e.question {
                text.push(Line::from(vec![
                    Span::styled("Question: ", Style::new().fg(Color::Yellow)),
                    Span::raw(q.as_str()),
                ]));
                text.push(Line::from(""));
            }
            text.push(Line::from(e.description.as_str()));
            if let Some(err) = &e.error {
                text.push(Line::from(""));
                text.push(Line::styled(err.as_str(), Style::new().fg(Color::Red)));
            }
        } else {
            text.push(Line::from(format!("No scenario files in {}", p.dir)));
        }
        if let Some(err) = &p.error {
            text.push(Line::from(""));
            text.push(Line::styled(err.as_str(), Style::new().fg(Color::Red)));
        }
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().border_style(Style::new().fg(Color::DarkGray)))
            .render(right, buf);
        Line::styled(
            " ↑↓ j choose   enter open   q quit ",
            Style::new().fg(Color::DarkGray),
        )
        .render(bar, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;

    #[test]
    fn shows_the_catalogue_and_the_selected_description() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topologies");
        let mut p = PickerState {
            entries: crate::tui::catalog::list(&dir),
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
        assert!(contains(&screen, "drill"), "{screen:#?}");
        assert!(
            contains(&screen, "›drill aof-everysec-power-loss"),
            "{screen:#?}"
        );
        assert!(contains(&screen, "power loss"), "{screen:#?}");
        assert!(contains(&screen, "enter open"), "{screen:#?}");
    }
}
