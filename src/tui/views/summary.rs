//! The summary screen at the end of a run: the headless report's numbers
//! (acknowledged writes lost, sessions lost at the end), each fault's
//! window (or why it did not fire), and the verdict of each `expect:`.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Widget};

use super::short;
use crate::report::Report;
use crate::tui::state::State;

pub struct Summary<'a>(pub &'a State);

/// What the columns count, in one line.
const LEGEND: &str = "lost wr: writes the faults destroyed · lost/stale: sessions at the end";

impl Widget for Summary<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(r) = &self.0.summary else { return };
        let verdict = if r.expectations.is_empty() && r.ok {
            Span::raw("no expectations")
        } else if r.ok {
            Span::styled("PASS", Style::new().fg(Color::Green).bold())
        } else {
            Span::styled("FAIL", Style::new().fg(Color::Red).bold())
        };
        let block = Block::bordered()
            .title(Line::from(vec![
                Span::raw(format!(" Summary — {} — ", r.scenario)),
                verdict,
                Span::raw(" "),
            ]))
            .border_style(Style::new().fg(Color::Cyan));
        let inner = block.inner(area);
        block.render(area, buf);
        let n = r.strategies.len() as u16;
        let [strategies, legend, faults, expects, exported] = Layout::vertical([
            Constraint::Length(n + 1),
            Constraint::Length(1 + r.cost.is_some() as u16),
            Constraint::Length((r.faults.len() as u16).min(6) + 2),
            Constraint::Fill(1),
            Constraint::Length(self.0.exported.len() as u16),
        ])
        .areas(inner);
        strategy_table(r).render(strategies, buf);
        let mut notes = vec![Line::from(LEGEND).fg(Color::DarkGray)];
        if let Some(c) = &r.cost {
            notes.push(Line::from(format!("$/month: {}", c.basis())).fg(Color::DarkGray));
        }
        Paragraph::new(notes).render(legend, buf);
        fault_table(r).render(faults, buf);
        let lines: Vec<Line> = r
            .expectations
            .iter()
            .map(|e| {
                let (mark, color) = if e.ok {
                    ("✓", Color::Green)
                } else {
                    ("✗", Color::Red)
                };
                let observed = e
                    .observed
                    .map(|v| format!(" (observed {v})"))
                    .unwrap_or_default();
                let note = e
                    .note
                    .as_deref()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default();
                Line::from(vec![
                    Span::styled(format!("{mark} "), Style::new().fg(color)),
                    Span::raw(format!("{}{observed}{note}", e.expr)),
                ])
            })
            .collect();
        Paragraph::new(lines).render(expects, buf);
        let lines: Vec<Line> = self
            .0
            .exported
            .iter()
            .map(|p| Line::from(format!("report written: {p}")).fg(Color::Green))
            .collect();
        Paragraph::new(lines).render(exported, buf);
    }
}

fn strategy_table(r: &Report) -> Table<'_> {
    let header = Row::new([
        "strategy", "acked", "lost wr", "lost", "stale", "indet", "unverif", "unavail", "p50",
        "p99", "$/month",
    ])
    .style(Style::new().fg(Color::DarkGray));
    let rows = r.strategies.iter().map(|(name, s)| {
        let red = |n: u64| {
            if n > 0 {
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(Color::Green)
            }
        };
        Row::new([
            Cell::from(name.as_str()),
            Cell::from(short(s.writes.total())),
            Cell::from(Line::styled(short(s.writes.lost), red(s.writes.lost))),
            Cell::from(Line::styled(short(s.lost), red(s.lost))),
            Cell::from(short(s.stale)),
            Cell::from(short(s.indeterminate)),
            Cell::from(short(s.unverified)),
            Cell::from(format!("{:.1}s", s.unavailable_ms as f64 / 1000.0)),
            Cell::from(format!("{:.2}", s.latency_us.p50 as f64 / 1000.0)),
            Cell::from(format!("{:.2}", s.latency_us.p99 as f64 / 1000.0)),
            Cell::from(r.cost.as_ref().map_or("—".into(), |c| c.cell(name))),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Max(13),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(9),
        ],
    )
    .header(header)
}

fn fault_table(r: &Report) -> Table<'_> {
    let header = Row::new(["at", "fault", "lost writes per strategy", "budget"])
        .style(Style::new().fg(Color::DarkGray));
    let rows = r.faults.iter().map(|f| {
        let per: Vec<String> = f
            .strategies
            .iter()
            .map(|(name, w)| match w.lost_writes_s {
                Some(t) if w.lost_writes > 0 => format!("{name} {} ({t:.2}s)", w.lost_writes),
                _ => format!("{name} {}", w.lost_writes),
            })
            .collect();
        let (what, style) = if f.failed() {
            (
                format!(
                    "did not {}: {}",
                    if f.fired { "work" } else { "fire" },
                    f.error.as_deref().unwrap_or("")
                ),
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            )
        } else {
            (f.budget.clone(), Style::new())
        };
        Row::new([
            Cell::from(format!("{:.1}s", f.at_ms as f64 / 1000.0)),
            Cell::from(format!("{} {}", f.kind, f.target)),
            Cell::from(per.join(" ")),
            Cell::from(Line::styled(what, style)),
        ])
    });
    Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Length(22),
            Constraint::Length(28),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .block(Block::new().title(" faults ".fg(Color::DarkGray)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;

    fn report() -> Report {
        let json = serde_json::json!({
            "scenario": "aof-everysec-power-loss", "description": null, "topology": "t",
            "started_unix_ms": 0, "duration_ms": 6000,
            "workload": {"sessions": 10, "rates_per_s": {}, "ttl_s": 60, "value_bytes": 64,
                         "op_timeout_ms": 1000, "prefill": false},
            "strategies": {"redis": {
                "client": "c", "ops": 100, "acked_writes": 4321,
                "writes": {"durable": 3400, "lost": 852, "stale": 0, "indeterminate": 0,
                           "expired": 0, "unverified": 0},
                "checked": 10, "durable": 4000,
                "lost": 321, "stale": 2, "resurrected": 0, "indeterminate": 1, "unverified": 0,
                "errors": {}, "error_rate": 0.0, "unavailable_ms": 900,
                "unavailable_windows": [], "throughput": 1.0,
                "latency_us": {"p50": 250, "p99": 9000, "p999": 1, "max": 1},
                "ops_by_kind": {}, "live": {}, "per_second": []}},
            "events": [],
            "faults": [{"kind": "power-loss", "target": "redis", "processes": ["redis"],
                        "at_ms": 3000, "healed_ms": 3300, "message": "m",
                        "budget": "AOF everysec: about 1 s",
                        "strategies": {"redis": {"lost_writes": 852, "stale_writes": 0,
                            "lost": 321, "stale": 2, "lost_acked_ms": null,
                            "write_rate": 1200.0, "lost_writes_s": 0.71,
                            "budget_writes": 800.0, "unavailable_ms": 900,
                            "recovery_ms": 1200}}},
                       {"kind": "kill", "target": "redis", "processes": [],
                        "at_ms": 5000, "healed_ms": null, "message": "m", "fired": false,
                        "error": "never injected: the load ended before 5s",
                        "budget": "b", "strategies": {}}],
            "expectations": [{"expr": "redis.lost > 0", "ok": true, "observed": 321.0},
                             {"expr": "redis.unavailable_ms < 100", "ok": false, "observed": 900.0}],
            "ok": false
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn same_numbers_as_the_report_and_each_verdict() {
        let mut s = State::new("aof-everysec-power-loss", "", "run", 6);
        s.summary = Some(report());
        s.exported = vec!["/tmp/x.json".into()];
        for (w, h) in [(80, 24), (140, 40)] {
            let screen = render(w, h, |f| f.render_widget(Summary(&s), f.area()));
            assert!(contains(&screen, "FAIL"), "{screen:#?}");
            assert!(
                contains(&screen, "4252"),
                "every acknowledged write: {screen:#?}"
            );
            assert!(contains(&screen, "321"), "{screen:#?}");
            assert!(
                contains(&screen, "✓ redis.lost > 0 (observed 321)"),
                "{screen:#?}"
            );
            assert!(
                contains(&screen, "✗ redis.unavailable_ms < 100"),
                "{screen:#?}"
            );
            assert!(contains(&screen, "power-loss redis"), "{screen:#?}");
            assert!(contains(&screen, "852"), "lost writes: {screen:#?}");
            assert!(contains(&screen, "did not fire"), "{screen:#?}");
            assert!(
                contains(&screen, "lost wr: writes the faults destroyed"),
                "{screen:#?}"
            );
            assert!(
                contains(&screen, "report written: /tmp/x.json"),
                "{screen:#?}"
            );
        }
    }
}
