//! Charts as inline SVG for the HTML report: time series with fault
//! windows shaded and labelled, and small bar charts. Written by hand, not
//! with a plotting crate. plotters (0.3, `svg_backend`) draws such charts
//! (tried: without a font feature it writes text as `<text>`), but it
//! cannot mark what it draws — no class, `<title>` or data attribute on a
//! rectangle or a line — and those are what the report needs: a fault
//! window that names itself when pointed at, print styles that reach the
//! shading, and a test that reads a window's geometry back and checks it
//! against the fault's times. What is drawn is simple: lines, rectangles
//! and text on a linear or log axis.
//!
//! Colours are the Okabe–Ito palette (told apart by the common forms of
//! colour blindness), and series differ by dash pattern too, so a
//! black-and-white print still tells them apart.

use std::fmt::Write as _;

/// Okabe–Ito: blue, vermillion, bluish green, orange, reddish purple, sky
/// blue, yellow.
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442",
];

/// Dash patterns, in the palette's order (solid first).
pub const DASHES: [&str; 4] = ["", "6 3", "2 2", "8 3 2 3"];

/// One line.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub dash: &'static str,
    /// (x in s, y); a y of `None` breaks the line (no data that second).
    pub points: Vec<(f64, Option<f64>)>,
}

/// A fault's window, shaded.
#[derive(Debug, Clone)]
pub struct Band {
    pub label: String,
    pub at_ms: u64,
    /// `None`: it did not heal within the chart (drawn to its end).
    pub healed_ms: Option<u64>,
}

/// A time-series chart.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub y_label: String,
    pub x_max_s: f64,
    /// Log scale on y (latency, which spans microseconds to a timeout).
    pub log_y: bool,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    /// When the load was paused or held ([from, to] ms): outlined, not
    /// shaded, so that no one takes a held load for an outage.
    pub pauses: Vec<[u64; 2]>,
    /// Written on the `<svg>` as `data-strategy`.
    pub strategy: String,
}

const W: f64 = 900.0;
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// `s` for HTML text and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A round step for an axis up to `max` with about `n` ticks.
fn step(max: f64, n: f64) -> f64 {
    let raw = (max / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn num(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// The y axis: value → pixel, and its ticks.
struct YAxis {
    log: bool,
    lo: f64,
    hi: f64,
}

impl YAxis {
    fn new(log: bool, values: impl Iterator<Item = f64>) -> YAxis {
        let vals: Vec<f64> = values
            .filter(|v| v.is_finite() && (!log || *v > 0.0))
            .collect();
        let max = vals.iter().copied().fold(0.0, f64::max);
        if log {
            let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let lo = if min.is_finite() {
                10f64.powf(min.log10().floor())
            } else {
                0.01
            };
            let hi = 10f64.powf(max.max(lo * 10.0).log10().ceil());
            YAxis { log, lo, hi }
        } else {
            let s = step(max.max(1.0), 4.0);
            YAxis {
                log,
                lo: 0.0,
                hi: (max / s).ceil().max(1.0) * s,
            }
        }
    }

    fn y(&self, v: f64) -> f64 {
        let plot = H - TOP - BOTTOM;
        let f = if self.log {
            (v.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        H - BOTTOM - f.clamp(0.0, 1.0) * plot
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut t = Vec::new();
            let mut v = self.lo;
            while v <= self.hi * 1.0001 {
                t.push(v);
                v *= 10.0;
            }
            t
        } else {
            let s = step(self.hi, 4.0);
            (0..=((self.hi / s).round() as usize))
                .map(|i| i as f64 * s)
                .collect()
        }
    }
}

/// The chart as an `<svg>` element. Its `data-x0` and `data-px-per-s`
/// give the time axis (pixel = x0 + s × px-per-s), which each fault's
/// `<rect class="fault">` follows.
pub fn chart(c: &Chart) -> String {
    let x_max = if c.x_max_s > 0.0 { c.x_max_s } else { 1.0 };
    let pxs = (W - LEFT - RIGHT) / x_max;
    let x = |s: f64| LEFT + s.clamp(0.0, x_max) * pxs;
    let y = YAxis::new(
        c.log_y,
        c.series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1)),
    );
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chart" role="img" viewBox="0 0 {W} {H}" width="{W}" height="{H}" data-x0="{LEFT}" data-px-per-s="{pxs}" data-strategy="{}" aria-label="{}">"#,
        esc(&c.strategy),
        esc(&c.title)
    );
    let _ = write!(
        o,
        r#"<text x="{LEFT}" y="16" class="title">{}</text>"#,
        esc(&c.title)
    );
    // Pauses and fault windows under everything else.
    for &[from, to] in &c.pauses {
        let (x0, x1) = (x(from as f64 / 1000.0), x(to as f64 / 1000.0));
        let _ = write!(
            o,
            r#"<rect class="pause" x="{x0:.2}" y="{TOP}" width="{:.2}" height="{}"><title>load held or paused</title></rect>"#,
            (x1 - x0).max(1.0),
            H - TOP - BOTTOM,
        );
    }
    for (i, b) in c.bands.iter().enumerate() {
        let from = b.at_ms as f64 / 1000.0;
        // A fault without a heal is a moment (a restart, a flush, a
        // failover asked for) or one that held to the end: a marker, not a
        // window to the chart's end.
        let to = b.healed_ms.map_or(from, |h| h as f64 / 1000.0);
        let (x0, x1) = (x(from), x(to).max(x(from) + 2.0));
        // Labels on three rows, and anchored at their end near the right
        // edge, so that close faults stay readable.
        let ly = TOP + 11.0 + 11.0 * (i % 3) as f64;
        let (lx, anchor) = if x0 > W - RIGHT - 160.0 {
            (x1 - 3.0, "end")
        } else {
            (x0 + 3.0, "start")
        };
        let _ = write!(
            o,
            r#"<rect class="fault" x="{x0:.2}" y="{TOP}" width="{:.2}" height="{}" data-at-ms="{}" data-healed-ms="{}"><title>{}</title></rect><text class="fault-label" x="{lx:.2}" y="{ly}" text-anchor="{anchor}">{}</text>"#,
            x1 - x0,
            H - TOP - BOTTOM,
            b.at_ms,
            b.healed_ms.map_or(String::new(), |h| h.to_string()),
            esc(&b.label),
            esc(&b.label)
        );
    }
    // Axes and grid.
    for t in y.ticks() {
        let py = y.y(t);
        let _ = write!(
            o,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{py:.2}" y2="{py:.2}"/><text class="tick" x="{}" y="{:.2}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            num(t)
        );
    }
    let xs = step(x_max, 10.0);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let px = x(t);
        let _ = write!(
            o,
            r#"<line class="axis" x1="{px:.2}" x2="{px:.2}" y1="{}" y2="{}"/><text class="tick" x="{px:.2}" y="{}" text-anchor="middle">{}</text>"#,
            H - BOTTOM,
            H - BOTTOM + 4.0,
            H - BOTTOM + 16.0,
            num(t)
        );
        t += xs;
    }
    let _ = write!(
        o,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{}" y2="{}"/><line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{}"/><text class="axis-label" x="{}" y="{}" text-anchor="middle">time since the run started (s)</text><text class="axis-label" transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM,
        H - BOTTOM,
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 6.0,
        TOP + (H - TOP - BOTTOM) / 2.0,
        esc(&c.y_label)
    );
    // The lines, each broken where a second has no data.
    for s in &c.series {
        let mut d = String::new();
        let mut pen_up = true;
        for &(px, py) in &s.points {
            match py {
                Some(v) if !c.log_y || v > 0.0 => {
                    let _ = write!(
                        d,
                        "{}{:.2} {:.2} ",
                        if pen_up { "M" } else { "L" },
                        x(px),
                        y.y(v)
                    );
                    pen_up = false;
                }
                _ => pen_up = true,
            }
        }
        let _ = write!(
            o,
            r#"<path class="series" d="{}" fill="none" stroke="{}" stroke-width="1.8" stroke-dasharray="{}" data-label="{}"/>"#,
            d.trim_end(),
            s.color,
            s.dash,
            esc(&s.label)
        );
    }
    // Legend, top right.
    let mut lx = W - RIGHT - 110.0 * c.series.len() as f64;
    for s in &c.series {
        let _ = write!(
            o,
            r#"<line x1="{lx:.2}" x2="{:.2}" y1="12" y2="12" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/><text class="legend" x="{:.2}" y="16">{}</text>"#,
            lx + 22.0,
            s.color,
            s.dash,
            lx + 26.0,
            esc(&s.label)
        );
        lx += 110.0;
    }
    o.push_str("</svg>");
    o
}

/// A small bar chart: one bar per label, in one colour.
pub fn bars(title: &str, unit: &str, values: &[(String, f64)]) -> String {
    let (w, bar_h, gap, left) = (700.0, 16.0, 6.0, 260.0);
    let h = 28.0 + values.len() as f64 * (bar_h + gap);
    let max = values.iter().map(|v| v.1).fold(0.0, f64::max);
    let scale = if max > 0.0 {
        (w - left - 70.0) / max
    } else {
        0.0
    };
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="bars" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="{}"><text x="0" y="14" class="title">{}</text>"#,
        esc(title),
        esc(title)
    );
    for (i, (label, v)) in values.iter().enumerate() {
        let y0 = 24.0 + i as f64 * (bar_h + gap);
        let _ = write!(
            o,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text><rect x="{left}" y="{y0:.1}" width="{:.2}" height="{bar_h}" fill="{}"/><text class="tick" x="{:.2}" y="{:.1}">{} {}</text>"#,
            left - 6.0,
            y0 + 12.0,
            esc(label),
            v * scale,
            PALETTE[0],
            left + v * scale + 4.0,
            y0 + 12.0,
            num(*v),
            // "1 write", "2 writes" (but "1 ms").
            esc(if *v == 1.0 && unit.len() > 2 {
                unit.strip_suffix('s').unwrap_or(unit)
            } else {
                unit
            })
        );
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_window_is_drawn_where_the_time_axis_puts_it() {
        let svg = chart(&Chart {
            title: "t".into(),
            y_label: "ms".into(),
            x_max_s: 10.0,
            log_y: true,
            series: vec![Series {
                label: "p99".into(),
                color: PALETTE[0],
                dash: "",
                points: vec![(0.0, Some(0.1)), (1.0, None), (2.0, Some(30.0))],
            }],
            bands: vec![
                Band {
                    label: "kill <redis>".into(),
                    at_ms: 2_500,
                    healed_ms: Some(4_000),
                },
                Band {
                    label: "flush".into(),
                    at_ms: 6_000,
                    healed_ms: None,
                },
            ],
            pauses: vec![[4_000, 4_500]],
            strategy: "redis".into(),
        });
        let pxs = (W - LEFT - RIGHT) / 10.0;
        assert!(
            svg.contains(&format!(r#"x="{:.2}""#, LEFT + 2.5 * pxs)),
            "{svg}"
        );
        assert!(
            svg.contains(&format!(r#"width="{:.2}""#, 1.5 * pxs)),
            "{svg}"
        );
        assert!(svg.contains("kill &lt;redis&gt;"));
        // A fault without a heal is a marker at its moment, not a window
        // to the end; a pause is drawn apart.
        let marker = format!(r#"x="{:.2}" y="{TOP}" width="2.00""#, LEFT + 6.0 * pxs);
        assert!(svg.contains(&marker), "{svg}");
        let pause = format!(r#"class="pause" x="{:.2}""#, LEFT + 4.0 * pxs);
        assert!(svg.contains(&pause), "{svg}");
        // The gap breaks the line: two moves.
        let d = svg.split("class=\"series\" d=\"").nth(1).unwrap();
        let d = &d[..d.find('"').unwrap()];
        assert_eq!(d.matches('M').count(), 2, "{d}");
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(step(10.0, 10.0), 1.0);
        assert_eq!(step(37.0, 4.0), 10.0);
        assert_eq!(step(0.3, 4.0), 0.1);
    }
}
