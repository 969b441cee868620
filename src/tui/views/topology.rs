//! Topology: every process with its role, state, client port, pid,
//! replication offset or lag, and the faults active on it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState, Widget};

use super::panel_block;
use crate::tui::state::{NodeRow, Panel, State};

pub struct Topology<'a>(pub &'a State);

impl Widget for Topology<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let block = panel_block(" Topology ", Panel::Topology, s);
        let header = Row::new(["node", "role", "state", "port", "pid", "repl", "faults"])
            .style(Style::new().fg(Color::DarkGray));
        let rows = s.nodes.iter().map(row);
        let name_width = s
            .nodes
            .iter()
            .map(|n| n.name.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 18);
        let widths = [
            Constraint::Length(name_width as u16),
            Constraint::Length(8),
            Constraint::Length(11),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Fill(1),
        ];
        let table = Table::new(rows, widths)
            .header(header)
            .block(block)
            .column_spacing(1)
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol("›");
        let mut sel = TableState::default().with_selected(Some(s.selected));
        StatefulWidget::render(table, area, buf, &mut sel);
    }
}

fn row(n: &NodeRow) -> Row<'_> {
    let state_color = match n.state.as_str() {
        "up" => Color::Green,
        "loading" | "syncing" | "paused" | "partitioned" => Color::Yellow,
        "-" | "?" => Color::DarkGray,
        _ => Color::Red,
    };
    let repl = match (n.lag_bytes, n.offset) {
        (Some(lag), _) => format!("lag {lag}"),
        (None, Some(off)) => format!("@{off}"),
        _ => String::new(),
    };
    Row::new([
        Cell::from(n.name.as_str()),
        Cell::from(n.role.as_str()),
        Cell::from(Line::styled(n.state.as_str(), Style::new().fg(state_color))),
        Cell::from(n.port.to_string()),
        Cell::from(n.pid.map(|p| p.to_string()).unwrap_or_default()),
        Cell::from(repl),
        Cell::from(Line::styled(
            n.faults.join(", "),
            Style::new().fg(Color::Magenta),
        )),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;
    use crate::tui::state::tests_support::sample;

    #[test]
    fn lists_every_process_with_its_state_and_faults() {
        let s = sample();
        let screen = render(100, 10, |f| f.render_widget(Topology(&s), f.area()));
        assert!(contains(&screen, "cache-0"), "{screen:#?}");
        assert!(contains(&screen, "primary"), "{screen:#?}");
        assert!(contains(&screen, "paused"), "{screen:#?}");
        assert!(contains(&screen, "+50 ms"), "{screen:#?}");
        assert!(contains(&screen, "lag 120"), "{screen:#?}");
        assert!(contains(&screen, "›"), "selection marker: {screen:#?}");
    }
}
