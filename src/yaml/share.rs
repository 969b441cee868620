//! A share written as a percentage (`30%`) or a fraction (`0.3`).

/// `30%` or `0.3`, between 0 and 1.
pub fn share(v: &serde_yaml::Value) -> Result<f64, String> {
    let x = match v {
        serde_yaml::Value::Number(n) => n.as_f64(),
        serde_yaml::Value::String(s) => s
            .trim()
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
            .map(|p| p / 100.0),
        _ => None,
    };
    match x {
        Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err("expected a share like 30% or 0.3 (between 0 and 100 %)".into()),
    }
}
