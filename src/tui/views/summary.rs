//! The summary screen at the end of a run: the headless report's numbers
//! (acknowledged writes lost, sessions lost at the end), each fault's
//! window (or why it did not fire), and the verdict of each `expect:`.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, Widget, Wrap};

use super::short;
use crate::report::Report;
use crate::report::words::{self, Verdict};
use crate::tui::state::State;

pub struct Summary<'a>(pub &'a State);

/// What the columns count, in one line.
const LEGEND: &str = "lost wr: writes the faults destroyed · lost/stale: sessions at the end";

impl Widget for Summary<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let st = self.0;
        let Some(r) = &st.summary else { return };
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
        let [strategies, legend, sparks, words, exported] = Layout::vertical([
            Constraint::Length(n + 1),
            Constraint::Length(1 + r.cost.is_some() as u16),
            Constraint::Length(n + 1),
            Constraint::Fill(1),
            Constraint::Length(st.exported.len() as u16),
        ])
        .areas(inner);
        let written: Vec<Line> = st
            .exported
            .iter()
            .map(|p| Line::from(format!("report written: {p}")).fg(Color::Green))
            .collect();
        Paragraph::new(written).render(exported, buf);
        strategy_table(r).render(strategies, buf);
        let mut notes = vec![Line::from(LEGEND).fg(Color::DarkGray)];
        if let Some(c) = &r.cost {
            notes.push(Line::from(format!("$/month: {}", c.basis())).fg(Color::DarkGray));
        }
        Paragraph::new(notes).render(legend, buf);
        sparklines(r, sparks, buf);
        let lines = teaching(st, r);
        // Wrapped, and scrolled with PgUp/PgDn when it does not fit.
        let rows = wrapped_rows(&lines, words.width);
        let scroll = st.summary_scroll.min(rows.saturating_sub(1)) as u16;
        let more = rows.saturating_sub(scroll as usize) > words.height as usize;
        let [text, hint] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(more as u16)]).areas(words);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .render(text, buf);
        if more {
            Line::from("↓ more: PgDn")
                .fg(Color::Yellow)
                .render(hint, buf);
        }
    }
}

/// How many rows `lines` take wrapped at `width` (at least; word wrap
/// may take a few more, which the hint covers).
fn wrapped_rows(lines: &[Line], width: u16) -> usize {
    let w = width.max(1) as usize;
    lines.iter().map(|l| l.width().div_ceil(w).max(1)).sum()
}

/// The question, each fault's verdict in a sentence, and each
/// expectation's.
fn teaching<'a>(st: &'a State, r: &'a Report) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = Vec::new();
    if let Some(q) = &st.question {
        lines.push(Line::from(vec![
            Span::styled("Question: ", Style::new().fg(Color::Yellow)),
            Span::raw(q.as_str()),
        ]));
    }
    if !r.faults.is_empty() {
        lines.push(Line::from("What the faults did:").fg(Color::DarkGray));
    }
    for f in &r.faults {
        let color = match words::verdict(f) {
            Verdict::Within => Color::Green,
            Verdict::Unbounded => Color::Yellow,
            Verdict::Over | Verdict::DidNotFire => Color::Red,
        };
        lines.push(Line::styled(words::fault_line(f), Style::new().fg(color)));
    }
    if !r.expectations.is_empty() {
        lines.push(Line::from("Expected:").fg(Color::DarkGray));
    }
    for e in &r.expectations {
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
        lines.push(Line::from(vec![
            Span::styled(format!("{mark} "), Style::new().fg(color)),
            Span::raw(format!("{}{observed}{note}", e.expr)),
        ]));
    }
    lines
}

/// Per strategy, its p99 latency second by second as a sparkline, and
/// under them the seconds a fault was in force (`▲` where one began).
fn sparklines(r: &Report, area: Rect, buf: &mut Buffer) {
    const LABEL: u16 = 14;
    let width = area.width.saturating_sub(LABEL) as usize;
    let seconds = r
        .strategies
        .values()
        .map(|s| s.per_second.len())
        .max()
        .unwrap_or(0);
    if width == 0 || seconds == 0 {
        return;
    }
    // Seconds per column, when the run is wider than the screen.
    let per = seconds.div_ceil(width);
    let rows = Layout::vertical(vec![Constraint::Length(1); r.strategies.len() + 1]).split(area);
    for ((name, s), row) in r.strategies.iter().zip(rows.iter()) {
        let [label, line] =
            Layout::horizontal([Constraint::Length(LABEL), Constraint::Fill(1)]).areas(*row);
        let p99: Vec<u64> = s.per_second.iter().map(|p| p.p99_us).collect();
        let data: Vec<u64> = p99
            .chunks(per)
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect();
        let top = data.iter().copied().max().unwrap_or(0);
        Line::from(format!("{name:.9} p99"))
            .fg(Color::DarkGray)
            .render(label, buf);
        Sparkline::default()
            .data(&data)
            .max(top.max(1))
            .style(Style::new().fg(Color::Cyan))
            .render(line, buf);
    }
    let Some(row) = rows.last() else { return };
    let [label, line] =
        Layout::horizontal([Constraint::Length(LABEL), Constraint::Fill(1)]).areas(*row);
    Line::from("faults").fg(Color::DarkGray).render(label, buf);
    let cols = seconds.div_ceil(per);
    let mut marks = vec![' '; cols];
    for f in r.faults.iter().filter(|f| f.fired) {
        let from = (f.at_ms / 1000) as usize;
        let to = f.healed_ms.map_or(from, |h| (h / 1000) as usize);
        for (c, m) in marks.iter_mut().enumerate() {
            let s = c * per;
            if s + per > from && s <= to && *m == ' ' {
                *m = '─';
            }
        }
        if let Some(m) = marks.get_mut(from / per) {
            *m = '▲';
        }
    }
    Line::from(marks.into_iter().collect::<String>())
        .fg(Color::Red)
        .render(line, buf);
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
                "ops_by_kind": {}, "live": {}, "per_second": (0..6).map(|t| serde_json::json!(
                    {"t_s": t, "ops": 10, "errors": 0, "p50_us": 200, "p99_us": 300 + t * 900}
                )).collect::<Vec<_>>()}},
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
        for (w, h) in [(100, 30), (140, 40)] {
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
            assert!(contains(&screen, "redis lost power"), "{screen:#?}");
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

    /// The screen's text inside the border, rows joined, spaces collapsed.
    fn text(screen: &[String]) -> String {
        screen
            .iter()
            .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn at_100x30_every_fault_s_verdict_is_there_uncut_with_the_question() {
        let mut s = State::new("aof-everysec-power-loss", "", "run", 6);
        s.question = Some("How many acknowledged writes does AOF everysec lose?".into());
        let r = report();
        let verdicts: Vec<String> = r.faults.iter().map(words::fault_line).collect();
        s.summary = Some(r);
        let screen = render(100, 30, |f| f.render_widget(Summary(&s), f.area()));
        let all = text(&screen);
        for v in &verdicts {
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(all.contains(&v), "{v}\n{screen:#?}");
        }
        assert!(verdicts[0].contains("OVER budget"), "{}", verdicts[0]);
        assert!(
            all.contains("Question: How many acknowledged writes"),
            "{screen:#?}"
        );
        // The fault windows under the latency sparklines: the power loss
        // began in second 3 (one column a second; the kill never fired).
        let row = screen
            .iter()
            .find(|l| l.starts_with("│faults "))
            .unwrap_or_else(|| panic!("{screen:#?}"));
        let col = row.chars().position(|c| c == '▲').unwrap();
        assert_eq!(col, 1 + 14 + 3, "{row}");
        assert_eq!(row.matches('▲').count(), 1, "{row}");
        let spark = screen.iter().find(|l| l.starts_with("│redis p99")).unwrap();
        assert!(
            spark.contains('█'),
            "the slowest second at full height: {spark}"
        );
    }

    #[test]
    fn what_does_not_fit_scrolls_and_says_so() {
        let mut s = State::new("aof-everysec-power-loss", "", "run", 6);
        s.summary = Some(report());
        let screen = render(60, 14, |f| f.render_widget(Summary(&s), f.area()));
        assert!(contains(&screen, "↓ more: PgDn"), "{screen:#?}");
        assert!(!contains(&screen, "redis.unavailable_ms"), "{screen:#?}");
        s.summary_scroll = 10;
        let screen = render(60, 14, |f| f.render_widget(Summary(&s), f.area()));
        assert!(contains(&screen, "redis.unavailable_ms"), "{screen:#?}");
    }
}
