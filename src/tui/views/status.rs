//! The status bar: scenario, elapsed / load length, load state, whether the
//! load generator is late (its own delay is in every latency shown), the
//! last thing a key did, and the keys that matter most.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::metrics::Phase;
use crate::tui::state::State;

pub struct StatusBar<'a>(pub &'a State);

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let elapsed = s.snapshot.elapsed_ms / 1000;
        let (load, load_color) = match (s.summary.is_some(), s.phase(), s.load_paused) {
            (true, _, _) => ("done", Color::Green),
            (_, Phase::Load, true) => ("paused", Color::Yellow),
            (_, Phase::Load, false) if s.load_checking => ("checkpoint", Color::Cyan),
            (_, Phase::Load, false) => ("running", Color::Green),
            (_, Phase::Prefill, _) => ("prefill", Color::Cyan),
            (_, Phase::Starting, _) => ("starting", Color::Cyan),
            (_, Phase::Draining | Phase::Sweep | Phase::Done, _) => ("checking", Color::Cyan),
        };
        let keys = if s.summary.is_some() {
            " e export  esc back  q quit "
        } else {
            " k kill p power z pause l lat x part H heal ␣ load ? help q quit "
        };
        let few = " ? help  q quit ";
        // The generator's lag in the last second, when it was late.
        let late = s
            .snapshot
            .strategies
            .iter()
            .map(|st| st.lag_last_us.p99)
            .max()
            .filter(|&p99| p99 > crate::report::GENERATOR_ON_TIME_P99_US);
        let mut left = vec![
            Span::raw(" "),
            Span::raw(s.scenario.as_str()).bold(),
            Span::raw(format!(" {elapsed}s/{}s ", s.duration_s)),
            Span::styled(format!("[{load}]"), Style::new().fg(load_color)),
            Span::raw(" "),
        ];
        // The bulk prefill, as a bar, while it runs.
        let (done, total) = s.bulk;
        if total > 0 && done < total && s.phase() == Phase::Prefill {
            left.push(Span::styled(
                format!("bulk {} ", bar(done, total, 10)),
                Style::new().fg(Color::Cyan),
            ));
        }
        if let Some(p99) = late {
            left.push(Span::styled(
                format!("[generator late {:.1} ms] ", p99 as f64 / 1000.0),
                Style::new().fg(Color::Magenta),
            ));
        }
        left.extend([Span::styled(
            s.message.as_str(),
            Style::new().fg(Color::Yellow),
        )]);
        let left_width: usize = left.iter().map(|sp| sp.width()).sum();
        let mut spans = left;
        let room = (area.width as usize).saturating_sub(left_width);
        if let Some(k) = [keys, few].into_iter().find(|k| room > k.chars().count()) {
            spans.push(Span::raw(" ".repeat(room - k.chars().count())));
            spans.push(Span::styled(k, Style::new().fg(Color::DarkGray)));
        }
        Line::from(spans)
            .style(Style::new().bg(Color::Black).fg(Color::White))
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{contains, render};
    use super::*;
    use crate::tui::state::tests_support::sample;

    #[test]
    fn scenario_time_load_and_keys() {
        let mut s = sample();
        let screen = render(140, 1, |f| f.render_widget(StatusBar(&s), f.area()));
        assert!(
            contains(&screen, "aof-everysec-power-loss 42s/600s [running]"),
            "{screen:#?}"
        );
        assert!(contains(&screen, "? help"), "{screen:#?}");
        s.load_checking = true;
        let screen = render(80, 1, |f| f.render_widget(StatusBar(&s), f.area()));
        assert!(contains(&screen, "[checkpoint]"), "{screen:#?}");
        s.load_paused = true;
        let screen = render(80, 1, |f| f.render_widget(StatusBar(&s), f.area()));
        assert!(contains(&screen, "[paused]"), "{screen:#?}");
    }

    /// A generator late by more than 0.2 ms p99 in the last second is said
    /// on the status bar: its delay is in every latency on screen.
    #[test]
    fn a_late_generator_is_on_the_status_bar() {
        let mut s = sample();
        let screen = render(140, 1, |f| f.render_widget(StatusBar(&s), f.area()));
        assert!(!contains(&screen, "generator late"), "{screen:#?}");
        s.snapshot.strategies[0].lag_last_us.p99 = 1_300;
        let screen = render(140, 1, |f| f.render_widget(StatusBar(&s), f.area()));
        assert!(contains(&screen, "[generator late 1.3 ms]"), "{screen:#?}");
    }
}

/// `width` cells of progress and the percentage: `[####......] 42 %`.
fn bar(done: u64, total: u64, width: usize) -> String {
    let share = (done as f64 / total.max(1) as f64).clamp(0.0, 1.0);
    let full = (share * width as f64).round() as usize;
    format!(
        "[{}{}] {:.0} %",
        "#".repeat(full),
        ".".repeat(width - full),
        share * 100.0
    )
}

#[cfg(test)]
mod bar_tests {
    #[test]
    fn the_bar_fills_with_the_share_done() {
        assert_eq!(super::bar(0, 10, 10), "[..........] 0 %");
        assert_eq!(super::bar(42, 100, 10), "[####......] 42 %");
        assert_eq!(super::bar(5, 0, 4), "[####] 100 %");
    }
}
