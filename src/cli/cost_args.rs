//! `--sessions`, `--requests` and `--prices`: the scale and the price
//! table the report's "Cost" section is for (run, compare, the dashboard).

use std::path::PathBuf;
use std::sync::Arc;

use crate::drill::CostOptions;
use crate::report::cost::ScaleArgs;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct CostArgs {
    /// Price the design for this many sessions (`5M`, `250k`, `1000000`);
    /// default: the scenario's.
    #[arg(long, value_parser = parse_count, value_name = "N")]
    pub sessions: Option<u64>,
    /// …and this many operations per second, the scenario's mix kept
    /// (`2000/s`, `2k/s`); default: the scenario's total rate.
    #[arg(long, value_parser = parse_rate, value_name = "RATE")]
    pub requests: Option<f64>,
    /// The price table (default: the shipped data/prices/aws-us-east-1.yaml).
    #[arg(long, value_name = "FILE.yaml")]
    pub prices: Option<PathBuf>,
}

impl CostArgs {
    /// The drill's cost options; a price table that cannot be read or is
    /// invalid is an error (FILE:LINE:COL).
    pub fn options(&self) -> Result<CostOptions, String> {
        let scale = ScaleArgs {
            sessions: self.sessions,
            requests_per_s: self.requests,
        };
        Ok(match &self.prices {
            None => CostOptions {
                scale,
                ..CostOptions::default()
            },
            Some(path) => CostOptions {
                prices: Arc::new(crate::cost::Prices::load(path).map_err(|e| e.to_string())?),
                file: path.display().to_string(),
                scale,
            },
        })
    }
}

/// A count with an optional `k` / `M` suffix (×1 000, ×1 000 000).
pub fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let (digits, times) = match t.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000u64),
        None => match t.strip_suffix('M') {
            Some(d) => (d, 1_000_000),
            None => (t.as_str(), 1),
        },
    };
    let n: f64 = digits
        .parse()
        .map_err(|_| format!("expected a count like 5M, 250k or 1000000, got {s:?}"))?;
    let total = n * times as f64;
    if !total.is_finite() || !(1.0..=1e12).contains(&total) {
        return Err(format!("{s:?}: expected from 1 to 10^12"));
    }
    Ok(total.round() as u64)
}

/// Operations per second, more than 0: a number with an optional `k` /
/// `M`, optionally followed by `/s` (`2000/s`, `2k/s`, `0.5/s`).
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let bad = || format!("expected a rate like 2000/s, 2k/s or 0.5/s, got {s:?}");
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t).replace('_', "");
    let (digits, times) = match t.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1e3),
        None => match t.strip_suffix('M') {
            Some(d) => (d, 1e6),
            None => (t.as_str(), 1.0),
        },
    };
    let n: f64 = digits.parse().map_err(|_| bad())?;
    let rate = n * times;
    if !rate.is_finite() || !(1e-6..=1e9).contains(&rate) {
        return Err(bad());
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates_parse_and_nonsense_is_refused() {
        assert_eq!(parse_count("5M"), Ok(5_000_000));
        assert_eq!(parse_count("250k"), Ok(250_000));
        assert_eq!(parse_count("1.5M"), Ok(1_500_000));
        assert_eq!(parse_count("1_000"), Ok(1000));
        assert_eq!(parse_rate("2000/s"), Ok(2000.0));
        assert_eq!(parse_rate("2k/s"), Ok(2000.0));
        assert_eq!(parse_rate("1.5/s"), Ok(1.5));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["0/s", "-1/s", "NaN/s", "inf", "1e300/s", "/s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        for bad in ["", "-1", "0", "M", "NaN", "inf", "1e300", "5G"] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
        assert!(parse_rate("fast").is_err());
    }
}
