//! Latency: p50 and p99 per strategy, per second of the load, on one chart
//! (log-free: milliseconds), with each fault's start (red) and heal
//! (green) marked; under it, the total throughput as a sparkline.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Sparkline, Widget};

use super::panel_block;
use crate::tui::state::{Panel, State};

pub struct Latency<'a>(pub &'a State);

pub const COLORS: [Color; 5] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Blue,
];

impl Widget for Latency<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let block = panel_block(" Latency p50 / p99 (ms) ", Panel::Latency, s);
        let inner = block.inner(area);
        block.render(area, buf);
        let [chart_area, spark_area] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);

        let x_max = s
            .history
            .values()
            .filter_map(|h| h.p99.last().map(|p| p.0))
            .fold(10.0_f64, f64::max)
            .ceil();
        let y_max = s
            .history
            .values()
            .flat_map(|h| h.p99.iter().map(|p| p.1))
            .fold(1.0_f64, f64::max)
            * 1.1;
        let marks: Vec<(Vec<(f64, f64)>, Color)> = s
            .faults
            .iter()
            .flat_map(|f| {
                let mut v = vec![(vec![(f.from_s, 0.0), (f.from_s, y_max)], Color::Red)];
                if let Some(to) = f.to_s {
                    v.push((vec![(to, 0.0), (to, y_max)], Color::Green));
                }
                v
            })
            .collect();
        let mut datasets: Vec<Dataset> = Vec::new();
        for ((name, h), color) in s.history.iter().zip(COLORS.iter().cycle()) {
            datasets.push(
                Dataset::default()
                    .name(format!("{name} p99"))
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(Style::new().fg(*color))
                    .data(&h.p99),
            );
            datasets.push(
                Dataset::default()
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(Style::new().fg(*color))
                    .data(&h.p50),
            );
        }
        for (points, color) in &marks {
            datasets.push(
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(Style::new().fg(*color))
                    .data(points),
            );
        }
        let label = |v: f64| Line::from(format!("{v:.0}"));
        Chart::new(datasets)
            .x_axis(
                Axis::default()
                    .bounds([0.0, x_max])
                    .labels([label(0.0), Line::from(format!("{x_max:.0}s"))])
                    .style(Style::new().fg(Color::DarkGray)),
            )
            .y_axis(
                Axis::default()
                    .bounds([0.0, y_max])
                    .labels([label(0.0), Line::from(format!("{y_max:.1}"))])
                    .style(Style::new().fg(Color::DarkGray)),
            )
            .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
            .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)))
            .render(chart_area, buf);

        // Total throughput, the newest seconds that fit.
        let mut total: Vec<u64> = Vec::new();
        for h in s.history.values() {
            if total.len() < h.throughput.len() {
                total.resize(h.throughput.len(), 0);
            }
            for (t, v) in total.iter_mut().zip(&h.throughput) {
                *t += v;
            }
        }
        let label = format!("{:>6} ops/s ", total.last().copied().unwrap_or(0));
        let [l, r] =
            Layout::horizontal([Constraint::Length(label.len() as u16), Constraint::Fill(1)])
                .areas(spark_area);
        Line::styled(label, Style::new().fg(Color::DarkGray)).render(l, buf);
        let skip = total.len().saturating_sub(r.width as usize);
        Sparkline::default()
            .data(&total[skip..])
            .style(Style::new().fg(Color::Cyan))
            .render(r, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;
    use crate::tui::state::tests_support::sample;

    #[test]
    fn chart_with_legend_axes_and_throughput() {
        let s = sample();
        let screen = render(100, 14, |f| f.render_widget(Latency(&s), f.area()));
        assert!(contains(&screen, "redis p99"), "{screen:#?}");
        assert!(contains(&screen, "39s"), "{screen:#?}");
        assert!(contains(&screen, "ops/s"), "{screen:#?}");
        // Something is plotted.
        assert!(
            screen
                .iter()
                .any(|l| l.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))),
            "{screen:#?}"
        );
    }

    #[test]
    fn an_empty_history_renders() {
        let s = State::default();
        let screen = render(40, 6, |f| f.render_widget(Latency(&s), f.area()));
        assert!(contains(&screen, "Latency"), "{screen:#?}");
    }
}
