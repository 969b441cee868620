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
    let n = crate::yaml::scaled(s)
        .ok_or_else(|| format!("expected a count like 5M, 250k or 1000000, got {s:?}"))?;
    if !(1.0..=1e12).contains(&n) {
        return Err(format!("{s:?}: expected from 1 to 10^12"));
    }
    Ok(n.round() as u64)
}

/// Operations per second, more than 0: a number with an optional `k` /
/// `M`, optionally followed by `/s` (`2000/s`, `2k/s`, `0.5/s`).
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    crate::yaml::scaled(t.strip_suffix("/s").unwrap_or(t))
        .filter(|r| (1e-6..=1e9).contains(r))
        .ok_or_else(|| format!("expected a rate like 2000/s, 2k/s or 0.5/s, got {s:?}"))
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
