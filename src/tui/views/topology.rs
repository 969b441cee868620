//! Topology: every process with its role, state, client port, pid,
//! replication offset or lag (a DAX node: its item and query cache hit
//! ratios), and the faults active on it.

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
        let title = if s.in_containers {
            " Topology (containers) "
        } else {
            " Topology "
        };
        let block = panel_block(title, Panel::Topology, s);
        // Narrow: port and pid make way for what a drill watches.
        let wide = block.inner(area).width >= 76;
        let name_width = s
            .nodes
            .iter()
            .map(|n| n.name.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 18) as u16;
        let mut header = vec!["node", "role", "state"];
        let mut widths = vec![
            Constraint::Length(name_width),
            Constraint::Length(8),
            Constraint::Length(11),
        ];
        if wide {
            header.extend(["port", "pid"]);
            widths.extend([Constraint::Length(5), Constraint::Length(7)]);
        }
        header.extend(["repl", "faults"]);
        widths.extend([Constraint::Length(9), Constraint::Fill(1)]);
        let header = Row::new(header).style(Style::new().fg(Color::DarkGray));
        let rows = s.nodes.iter().map(|n| row(n, wide));
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

fn row(n: &NodeRow, wide: bool) -> Row<'_> {
    let state_color = match n.state.as_str() {
        "up" => Color::Green,
        "loading" | "syncing" | "paused" | "partitioned" => Color::Yellow,
        "-" | "?" => Color::DarkGray,
        _ => Color::Red,
    };
    let pct = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0));
    let repl = match (n.lag_bytes, n.offset, n.hit_ratio) {
        (Some(lag), _, _) => format!("lag {lag}"),
        (None, Some(off), _) => format!("@{off}"),
        (None, None, Some((item, query))) => format!("i{} q{}", pct(item), pct(query)),
        _ => String::new(),
    };
    let mut cells = vec![
        Cell::from(n.name.as_str()),
        Cell::from(n.role.as_str()),
        Cell::from(Line::styled(n.state.as_str(), Style::new().fg(state_color))),
    ];
    if wide {
        cells.push(Cell::from(n.port.to_string()));
        cells.push(Cell::from(n.pid.map(|p| p.to_string()).unwrap_or_default()));
    }
    cells.push(Cell::from(repl));
    cells.push(Cell::from(Line::styled(
        n.faults.join(", "),
        Style::new().fg(Color::Magenta),
    )));
    Row::new(cells)
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
        assert!(contains(&screen, "cache-sentinel-0"), "{screen:#?}");
        assert!(contains(&screen, "3456"), "pid when wide: {screen:#?}");
        assert!(contains(&screen, "primary"), "{screen:#?}");
        assert!(contains(&screen, "paused"), "{screen:#?}");
        assert!(contains(&screen, "+50 ms"), "{screen:#?}");
        assert!(contains(&screen, "lag 120"), "{screen:#?}");
        assert!(contains(&screen, "›"), "selection marker: {screen:#?}");
        let narrow = render(52, 10, |f| f.render_widget(Topology(&s), f.area()));
        assert!(contains(&narrow, "cache-sentinel-0"), "{narrow:#?}");
        assert!(contains(&narrow, "lag 120"), "{narrow:#?}");
        assert!(!contains(&narrow, "3456"), "{narrow:#?}");
    }

    #[test]
    fn a_dax_node_shows_its_hit_ratios() {
        let mut s = sample();
        let n = &mut s.nodes[0];
        n.offset = None;
        n.lag_bytes = None;
        n.hit_ratio = Some((Some(0.667), None));
        let screen = render(100, 10, |f| f.render_widget(Topology(&s), f.area()));
        assert!(contains(&screen, "i67% q-"), "{screen:#?}");
    }
}
