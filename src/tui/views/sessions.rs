//! Sessions: per strategy, acknowledged writes and what live reads proved
//! of them — lost (red), stale, indeterminate — with errors, operations
//! that overlapped another on their session, read-modify-write updates
//! lost (when an update strategy runs), and time without successful
//! writes; the expected-loss budget of the latest fault
//! under it. The final sweep's numbers are on the summary screen.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget, Wrap};

use super::{panel_block, short};
use crate::tui::state::{Panel, State};

pub struct Sessions<'a>(pub &'a State);

impl Widget for Sessions<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let block = panel_block(" Sessions (live reads) ", Panel::Sessions, s);
        let inner = block.inner(area);
        block.render(area, buf);
        let budget_lines = if s.budget.is_some() { 2 } else { 0 };
        let [table_area, budget_area] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(budget_lines)]).areas(inner);
        // Narrow (80 columns): indeterminate and errors make way.
        let wide = table_area.width >= 44;
        // Locks and rate limiters: broken promises (two holders, admits
        // over the limit), when any such strategy runs.
        let patterns = s
            .snapshot
            .strategies
            .iter()
            .any(|st| crate::report::StrategyReport::pattern_terms(&st.name).is_some());
        // Concurrency per session: operations that overlapped another on
        // the same session, when any did.
        let overlaps = s.snapshot.strategies.iter().any(|st| st.overlapped > 0);
        // Read-modify-write strategies: updates lost to another that never
        // saw them.
        let updates = s.snapshot.strategies.iter().any(|st| {
            crate::store::StrategyKind::parse(&st.name)
                .is_some_and(|k| k.update_flavour().is_some())
        });
        let mut header = vec!["strategy", "acked", "lost", "stale"];
        if patterns {
            header.push("viol");
        }
        if overlaps {
            header.push("ovlp");
        }
        if updates {
            header.push("lupd");
        }
        if wide {
            header.extend(["indet", "err"]);
        }
        header.push("outage");
        let header = Row::new(header).style(Style::new().fg(Color::DarkGray));
        let rows = s.snapshot.strategies.iter().map(|st| {
            let lost_style = if st.proven_lost > 0 {
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::new().fg(Color::Green)
            };
            let stale_style = if st.proven_stale > 0 {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            };
            let name_style = if st.down {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            };
            let mut cells = vec![
                Cell::from(Line::styled(st.name.as_str(), name_style)),
                Cell::from(short(st.acked_writes)),
                Cell::from(Line::styled(short(st.proven_lost), lost_style)),
                Cell::from(Line::styled(short(st.proven_stale), stale_style)),
            ];
            if patterns {
                let style = if st.violations > 0 {
                    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                };
                cells.push(Cell::from(Line::styled(short(st.violations), style)));
            }
            if overlaps {
                cells.push(Cell::from(short(st.overlapped)));
            }
            if updates {
                let style = if st.lost_updates > 0 {
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                };
                cells.push(Cell::from(Line::styled(short(st.lost_updates), style)));
            }
            if wide {
                cells.push(Cell::from(short(st.live_indeterminate)));
                cells.push(Cell::from(short(st.errors)));
            }
            cells.push(Cell::from(format!(
                "{:.1}s",
                st.unavailable_ms as f64 / 1000.0
            )));
            Row::new(cells)
        });
        let mut widths = vec![
            Constraint::Fill(1),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(5),
        ];
        if patterns {
            widths.push(Constraint::Length(5));
        }
        if overlaps {
            widths.push(Constraint::Length(5));
        }
        if updates {
            widths.push(Constraint::Length(5));
        }
        if wide {
            widths.extend([Constraint::Length(5), Constraint::Length(5)]);
        }
        widths.push(Constraint::Length(6));
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .render(table_area, buf);
        if let Some(b) = &s.budget {
            Paragraph::new(Line::from(vec![
                Span::styled("budget ", Style::new().fg(Color::DarkGray)),
                Span::raw(b.as_str()),
            ]))
            .wrap(Wrap { trim: true })
            .render(budget_area, buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;
    use crate::tui::state::tests_support::sample;

    #[test]
    fn lost_sessions_per_strategy_in_red_with_the_budget() {
        let s = sample();
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(60, 8)).unwrap();
        t.draw(|f| f.render_widget(Sessions(&s), f.area())).unwrap();
        let buf = t.backend().buffer().clone();
        let screen = super::super::testing::lines(&buf);
        let row = screen.iter().position(|l| l.contains("redis")).unwrap();
        assert!(screen[row].contains("57"), "{screen:#?}");
        let col = screen[row].find("57").unwrap();
        // The lost count is red.
        let x = screen[row][..col].chars().count() as u16;
        assert_eq!(buf[(x, row as u16)].fg, Color::Red);
        assert!(contains(&screen, "12.3k"), "{screen:#?}");
        assert!(contains(&screen, "budget"), "{screen:#?}");
        assert!(contains(&screen, "indet"), "{screen:#?}");
        let narrow = render(36, 8, |f| f.render_widget(Sessions(&s), f.area()));
        assert!(contains(&narrow, "dynamodb"), "{narrow:#?}");
        assert!(contains(&narrow, "lost"), "{narrow:#?}");
        assert!(!contains(&narrow, "indet"), "{narrow:#?}");
        assert!(
            !contains(&narrow, "viol"),
            "no pattern strategy: {narrow:#?}"
        );
    }

    #[test]
    fn overlapping_operations_get_a_column_only_when_there_are_any() {
        let mut s = sample();
        let plain = render(60, 8, |f| f.render_widget(Sessions(&s), f.area()));
        assert!(!contains(&plain, "ovlp"), "{plain:#?}");
        s.snapshot.strategies[0].overlapped = 43_210;
        let screen = render(60, 8, |f| f.render_widget(Sessions(&s), f.area()));
        assert!(contains(&screen, "ovlp"), "{screen:#?}");
        assert!(contains(&screen, "43.2k"), "{screen:#?}");
    }

    #[test]
    fn a_lock_strategy_shows_its_violations() {
        let mut s = sample();
        s.snapshot.strategies[0].name = "redis-lock".into();
        s.snapshot.strategies[0].violations = 7;
        let screen = render(60, 8, |f| f.render_widget(Sessions(&s), f.area()));
        assert!(contains(&screen, "viol"), "{screen:#?}");
        let row = screen.iter().find(|l| l.contains("redis-lock")).unwrap();
        assert!(row.contains(" 7 "), "{screen:#?}");
    }

    #[test]
    fn an_update_strategy_shows_its_lost_updates() {
        let mut s = sample();
        let plain = render(60, 8, |f| f.render_widget(Sessions(&s), f.area()));
        assert!(!contains(&plain, "lupd"), "{plain:#?}");
        s.snapshot.strategies[0].name = "redis-blind-update".into();
        s.snapshot.strategies[0].lost_updates = 4_321;
        let screen = render(70, 8, |f| f.render_widget(Sessions(&s), f.area()));
        assert!(contains(&screen, "lupd"), "{screen:#?}");
        assert!(contains(&screen, "4321"), "{screen:#?}");
    }
}
