//! `sweep`: one scenario run once per value of one field, the chosen
//! numbers against the value — measured rows, and apart from them, never
//! mixed in, a straight-line fit and what it predicts for a value the user
//! names, with the fit's error.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::Report;

/// The numbers a sweep can draw, per strategy, from one run's report.
pub const METRICS: &[(&str, &str)] = &[
    ("loading_s", "the first fault's node answered LOADING, s"),
    ("recovery_s", "fault to the first write answered, s"),
    ("read_recovery_s", "fault to the first read answered, s"),
    ("unavailable_s", "writes failing, s"),
    ("lost_writes", "acknowledged writes lost"),
    ("p50_ms", "median latency, ms"),
    ("p99_ms", "p99 latency, ms"),
    ("bulk_s", "bulk prefill, s"),
    ("cost_usd", "monthly bill, USD"),
];

/// What `sweep` shows by default.
pub const DEFAULT_METRICS: &[&str] = &["loading_s", "recovery_s", "read_recovery_s", "lost_writes"];

/// One measured row: one run, one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The varied field's value as given, and as a number.
    pub value: String,
    pub x: f64,
    pub strategy: String,
    /// Each metric asked for; `None` when the run did not have it (no
    /// fault, no LOADING seen).
    pub metrics: Vec<(String, Option<f64>)>,
    /// The run's verdict.
    pub ok: bool,
}

/// A straight line through one strategy's points of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    pub strategy: String,
    pub metric: String,
    pub points: usize,
    pub intercept: f64,
    pub slope: f64,
    /// Share of the variance the line explains.
    pub r2: f64,
    /// The residuals' standard error (`None` with 2 points: no error to
    /// estimate).
    pub residual: Option<f64>,
}

/// A value predicted, not measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub value: String,
    pub x: f64,
    pub strategy: String,
    pub metric: String,
    pub predicted: f64,
    /// ± the fit's residual standard error.
    pub error: Option<f64>,
    /// Beyond the measured values: an extrapolation.
    pub extrapolated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub scenario: String,
    /// The field varied (`workload.prefill.sessions`).
    pub field: String,
    pub rows: Vec<Row>,
    pub fits: Vec<Fit>,
    pub predictions: Vec<Prediction>,
}

/// `metric` of strategy `name` in `r`.
pub fn metric(r: &Report, name: &str, metric: &str) -> Option<f64> {
    let st = r.strategies.get(name)?;
    let fault = r.faults.first();
    let window = fault.and_then(|f| f.strategies.get(name));
    let ms = |v: Option<u64>| v.map(|v| v as f64 / 1000.0);
    match metric {
        "loading_s" => ms(fault?.loading_ms),
        "recovery_s" => ms(window?.recovery_ms),
        "read_recovery_s" => ms(window?.read_recovery_ms),
        "unavailable_s" => Some(st.unavailable_ms as f64 / 1000.0),
        "lost_writes" => Some(st.writes.lost as f64),
        "p50_ms" => Some(st.latency_us.p50 as f64 / 1000.0),
        "p99_ms" => Some(st.latency_us.p99 as f64 / 1000.0),
        "bulk_s" => st
            .bulk
            .as_ref()
            .filter(|b| b.error.is_none())
            .map(|b| b.ms as f64 / 1000.0),
        "cost_usd" => r.cost.as_ref()?.monthly(name),
        _ => None,
    }
}

/// The least-squares line through `points` (at least two distinct x).
pub fn fit(points: &[(f64, f64)]) -> Option<(f64, f64, f64, Option<f64>)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ssr: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let sst: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let r2 = if sst > 0.0 { 1.0 - ssr / sst } else { 1.0 };
    let residual = (points.len() > 2).then(|| (ssr / (n - 2.0)).sqrt());
    Some((intercept, slope, r2, residual))
}

impl Sweep {
    /// Fit every strategy's every metric over the runs that passed, and
    /// predict at `at` (value as given, and as a number).
    pub fn fit(&mut self, at: &[(String, f64)]) {
        let mut keys: Vec<(String, String)> = Vec::new();
        for r in &self.rows {
            for (m, _) in &r.metrics {
                let k = (r.strategy.clone(), m.clone());
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        let (lo, hi) = self
            .rows
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
                (a.min(r.x), b.max(r.x))
            });
        for (strategy, metric) in keys {
            let points: Vec<(f64, f64)> = self
                .rows
                .iter()
                // Only runs that passed: a failed one measured another drill.
                .filter(|r| r.strategy == strategy && r.ok)
                .filter_map(|r| {
                    let y = r.metrics.iter().find(|(m, _)| *m == metric)?.1?;
                    y.is_finite().then_some((r.x, y))
                })
                .collect();
            let Some((intercept, slope, r2, residual)) = fit(&points) else {
                continue;
            };
            for (value, x) in at {
                self.predictions.push(Prediction {
                    value: value.clone(),
                    x: *x,
                    strategy: strategy.clone(),
                    metric: metric.clone(),
                    predicted: intercept + slope * x,
                    error: residual,
                    extrapolated: *x < lo || *x > hi,
                });
            }
            self.fits.push(Fit {
                strategy,
                metric,
                points: points.len(),
                intercept,
                slope,
                r2,
                residual,
            });
        }
    }

    /// The measured table, then — apart, labelled — the fits and the
    /// predictions.
    pub fn markdown(&self) -> String {
        let mut s = format!("# Sweep: {} over {}\n\n", self.scenario, self.field);
        let metrics: Vec<&str> = self
            .rows
            .first()
            .map(|r| r.metrics.iter().map(|(m, _)| m.as_str()).collect())
            .unwrap_or_default();
        let _ = writeln!(s, "Measured:\n");
        let _ = writeln!(
            s,
            "| {} | strategy | {} | run |",
            self.field,
            metrics.join(" | ")
        );
        let _ = writeln!(s, "| ---: | --- |{} --- |", " ---: |".repeat(metrics.len()));
        for r in &self.rows {
            let cells: Vec<String> = r
                .metrics
                .iter()
                .map(|(_, v)| v.map_or("—".into(), |v| format!("{v:.3}")))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                r.value,
                r.strategy,
                cells.join(" | "),
                if r.ok { "ok" } else { "**failed**" }
            );
        }
        if !self.fits.is_empty() {
            let _ = writeln!(
                s,
                "\nFitted (a straight line through the measured points; not a measurement):\n"
            );
            let _ = writeln!(
                s,
                "| strategy | metric | points | intercept | per unit of {} | R² | residual σ |",
                self.field
            );
            let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: | ---: | ---: |");
            for f in &self.fits {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.4} | {:.3e} | {:.3} | {} |",
                    f.strategy,
                    f.metric,
                    f.points,
                    f.intercept,
                    f.slope,
                    f.r2,
                    f.residual.map_or("—".into(), |r| format!("{r:.4}"))
                );
            }
        }
        if !self.predictions.is_empty() {
            let _ = writeln!(s, "\n**Predicted, not measured** (from the fits above):\n");
            let _ = writeln!(
                s,
                "| {} | strategy | metric | predicted | ± residual σ | |",
                self.field
            );
            let _ = writeln!(s, "| ---: | --- | --- | ---: | ---: | --- |");
            for p in &self.predictions {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.3} | {} | {} |",
                    p.value,
                    p.strategy,
                    p.metric,
                    p.predicted,
                    p.error.map_or("—".into(), |e| format!("{e:.3}")),
                    if p.extrapolated {
                        "extrapolated beyond the measured values"
                    } else {
                        "within the measured values"
                    }
                );
            }
        }
        s
    }

    /// A chart a metric in the terminal: one line per measured row, a bar
    /// scaled to the largest.
    pub fn terminal_chart(&self, metric: &str) -> String {
        let values: Vec<(String, f64)> = self
            .rows
            .iter()
            .filter_map(|r| {
                let v = r.metrics.iter().find(|(m, _)| m == metric)?.1?;
                Some((format!("{} {}", r.value, r.strategy), v))
            })
            .collect();
        let max = values.iter().map(|v| v.1).fold(0.0, f64::max);
        let width = values.iter().map(|v| v.0.len()).max().unwrap_or(0);
        let mut s = format!("{metric}:\n");
        for (label, v) in values {
            let n = if max > 0.0 {
                (v / max * 40.0).round() as usize
            } else {
                0
            };
            let _ = writeln!(s, "  {label:>width$} {} {v:.3}", "█".repeat(n));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_fitted_and_its_predictions_are_labelled_apart() {
        // y = 0.1 + 2e-6 x, with one point off by 0.01.
        let pts = [(1e4, 0.12), (1e5, 0.30), (1e6, 2.11)];
        let (a, b, r2, res) = fit(&pts).unwrap();
        assert!((b - 2e-6).abs() < 2e-8, "{b}");
        assert!((a - 0.1).abs() < 0.02, "{a}");
        assert!(r2 > 0.999, "{r2}");
        assert!(res.unwrap() < 0.02);
        assert!(fit(&[(1.0, 1.0)]).is_none());
        assert!(fit(&[(1.0, 1.0), (1.0, 2.0)]).is_none());
        let mut s = Sweep {
            scenario: "s".into(),
            field: "workload.prefill.sessions".into(),
            rows: pts
                .iter()
                .map(|&(x, y)| Row {
                    value: format!("{x}"),
                    x,
                    strategy: "redis".into(),
                    metrics: vec![("loading_s".into(), Some(y))],
                    ok: true,
                })
                .collect(),
            fits: Vec::new(),
            predictions: Vec::new(),
        };
        s.fit(&[("50M".into(), 5e7)]);
        assert_eq!(s.predictions.len(), 1);
        let p = &s.predictions[0];
        assert!(p.extrapolated && (p.predicted - 100.1).abs() < 2.0, "{p:?}");
        let md = s.markdown();
        let (measured, rest) = md.split_once("Fitted").unwrap();
        // The prediction is not among the measured rows.
        assert!(!measured.contains("50M"), "{md}");
        assert!(rest.contains("**Predicted, not measured**"), "{md}");
        assert!(rest.contains("| 50M | redis | loading_s |"), "{md}");
        assert!(s.terminal_chart("loading_s").contains("1000000 redis"));
    }
}
