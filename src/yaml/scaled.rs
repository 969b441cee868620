//! A number written with an optional `k` / `M` (×1 000, ×1 000 000):
//! `2M`, `250k`, `1_000`, `0.5` — sessions, rates, sizes, on the command
//! line and in YAML alike.

/// `s` as a finite number, its suffix applied; `None` when it is not one.
pub fn scaled(s: &str) -> Option<f64> {
    let t = s.trim().replace('_', "");
    let (digits, times) = match t.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1e3),
        None => match t.strip_suffix('M') {
            Some(d) => (d, 1e6),
            None => (t.as_str(), 1.0),
        },
    };
    let n = digits.trim().parse::<f64>().ok()? * times;
    n.is_finite().then_some(n)
}

#[cfg(test)]
mod tests {
    use super::scaled;

    #[test]
    fn suffixes_scale_and_nonsense_is_none() {
        assert_eq!(scaled("2M"), Some(2e6));
        assert_eq!(scaled("250k"), Some(250e3));
        assert_eq!(scaled("1_000"), Some(1000.0));
        assert_eq!(scaled("0.5"), Some(0.5));
        for bad in ["", "M", "lots", "inf", "NaN", "5G"] {
            assert_eq!(scaled(bad), None, "{bad}");
        }
    }
}
