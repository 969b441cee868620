//! `sweep SCENARIO --vary FIELD=V1,V2,…`: run the scenario once per value
//! of one numeric field (any, by its path: `workload.prefill.sessions`,
//! `workload.rates.read`, `timeline.0.duration`), and print the chosen
//! numbers against the value — a table, a terminal chart per number, and
//! with `--predict VALUE` a straight-line fit's prediction, labelled and
//! kept apart from the measured rows. Exit 0 when every run passed, 1 when
//! one did not, 2 on invalid input.

use std::path::PathBuf;

use crate::drill::DrillOptions;
use crate::provision::Home;
use crate::report::sweep::{self, Row, Sweep};
use crate::scenario::Scenario;
use crate::yaml::SourceText;

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The field and its values: `workload.prefill.sessions=10k,100k,1M`.
    #[arg(long, value_name = "FIELD=V1,V2,...")]
    pub vary: String,
    /// The numbers to show (default: loading_s, recovery_s,
    /// read_recovery_s, lost_writes); any of loading_s, recovery_s,
    /// read_recovery_s, unavailable_s, lost_writes, p50_ms, p99_ms,
    /// bulk_s, cost_usd.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Values of the field to predict at from a straight-line fit of the
    /// measured points (`50M`, or `sessions=50M`): shown apart, labelled
    /// as predictions.
    #[arg(long, value_delimiter = ',')]
    pub predict: Vec<String>,
    /// Write the sweep (rows, fits, predictions) as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the table as Markdown here.
    #[arg(long)]
    pub md: Option<PathBuf>,
    /// Write one HTML page: the table and a chart per number against the
    /// field's value.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

pub async fn run(args: SweepArgs, home: Home) -> u8 {
    super::until_signal(sweep(args, home)).await
}

/// A value as a number: a plain number, or a count with `k`/`M`, or a
/// duration (`300ms`, `2s`: in seconds).
fn number(v: &str) -> Option<f64> {
    let t = v.trim();
    crate::yaml::scaled(t.strip_suffix("/s").unwrap_or(t))
        .or_else(|| crate::yaml::parse_duration(t).ok().map(|d| d.as_secs_f64()))
}

/// The scenario's text with `field` (dot-separated; numbers index lists)
/// set to `value`: a number when it reads as one, else the text.
fn with_value(text: &str, field: &str, value: &str) -> Result<String, String> {
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let parts: Vec<&str> = field.split('.').collect();
    let mut at = &mut doc;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let here = parts[..=i].join(".");
        at = match at {
            serde_yaml::Value::Mapping(m) => {
                let key = serde_yaml::Value::String(p.to_string());
                if !m.contains_key(&key) {
                    if !last && i == 0 {
                        return Err(format!("{here}: no such field"));
                    }
                    m.insert(key.clone(), serde_yaml::Value::Mapping(Default::default()));
                }
                m.get_mut(&key).expect("just inserted")
            }
            serde_yaml::Value::Sequence(s) => {
                let n: usize = p
                    .parse()
                    .map_err(|_| format!("{here}: a list: name an index"))?;
                s.get_mut(n).ok_or(format!("{here}: no item {n}"))?
            }
            _ => {
                return Err(format!(
                    "{}: not a mapping or a list, cannot hold {p}",
                    parts[..i].join(".")
                ));
            }
        };
    }
    *at = match (value.parse::<u64>(), value.parse::<f64>()) {
        (Ok(n), _) => serde_yaml::Value::Number(n.into()),
        (_, Ok(x)) if x.is_finite() => serde_yaml::Value::Number(x.into()),
        _ => serde_yaml::Value::String(value.to_string()),
    };
    serde_yaml::to_string(&doc).map_err(|e| e.to_string())
}

async fn sweep(args: SweepArgs, home: Home) -> u8 {
    let Some((field, values)) = args.vary.split_once('=') else {
        eprintln!("error: --vary FIELD=V1,V2,... (e.g. workload.prefill.sessions=10k,100k,1M)");
        return 2;
    };
    let field = field.trim().to_string();
    let values: Vec<String> = values
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if values.len() < 2 {
        eprintln!("error: --vary needs at least two values");
        return 2;
    }
    let metrics: Vec<String> = if args.metrics.is_empty() {
        sweep::DEFAULT_METRICS
            .iter()
            .map(|m| m.to_string())
            .collect()
    } else {
        args.metrics.clone()
    };
    if let Some(m) = metrics
        .iter()
        .find(|m| !sweep::METRICS.iter().any(|(k, _)| k == m))
    {
        let known: Vec<&str> = sweep::METRICS.iter().map(|(k, _)| *k).collect();
        eprintln!("error: unknown metric {m:?}: expected {}", known.join(", "));
        return 2;
    }
    let last = field.rsplit('.').next().unwrap_or(&field).to_string();
    let mut predict = Vec::new();
    for p in &args.predict {
        let v = match p.split_once('=') {
            Some((name, v)) if name.trim() == last || name.trim() == field => v.trim(),
            Some((name, _)) => {
                eprintln!("error: --predict {p}: {name} is not the field varied ({field})");
                return 2;
            }
            None => p.trim(),
        };
        match number(v) {
            Some(x) => predict.push((v.to_string(), x)),
            None => {
                eprintln!("error: --predict {p}: not a number, count or duration");
                return 2;
            }
        }
    }
    let text = match SourceText::read(&args.scenario) {
        Ok(s) => s.text,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    // Every value is checked before anything runs.
    let mut runs: Vec<(String, f64, Scenario)> = Vec::new();
    for v in &values {
        let Some(x) = number(v) else {
            eprintln!("error: --vary {field}={v}: not a number, count or duration");
            return 2;
        };
        let parsed = with_value(&text, &field, v)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                Scenario::parse(&SourceText::inline(args.scenario.clone(), t))
                    .map_err(|e| e.to_string())
            });
        // What this machine cannot hold is refused now, not after the
        // runs before it.
        let parsed = parsed.and_then(|s| crate::drill::capacity::check(&s, &home.root).map(|_| s));
        match parsed {
            Ok(s) => runs.push((v.clone(), x, s)),
            Err(e) => {
                eprintln!("with {field} = {v}: {e}");
                return 2;
            }
        }
    }
    if let Err(code) = super::all_writable([&args.json, &args.md, &args.html]) {
        return code;
    }
    let opts = DrillOptions {
        home,
        keep: false,
        duration: None,
        live_faults: false,
        external: false,
        history: None,
        cost: Default::default(),
    };
    let total = runs.len();
    let mut out = Sweep {
        scenario: runs[0].2.name.clone(),
        field: field.clone(),
        rows: Vec::new(),
        fits: Vec::new(),
        predictions: Vec::new(),
    };
    for (i, (value, x, scenario)) in runs.into_iter().enumerate() {
        let r = match super::one_drill(&format!("{field} = {value}"), (i, total), scenario, &opts)
            .await
        {
            Ok(r) => r,
            Err(code) => return code,
        };
        for name in r.strategies.keys() {
            out.rows.push(Row {
                value: value.clone(),
                x,
                strategy: name.clone(),
                metrics: metrics
                    .iter()
                    .map(|m| (m.clone(), sweep::metric(&r, name, m)))
                    .collect(),
                ok: r.ok,
            });
        }
    }
    out.fit(&predict);
    let md = out.markdown();
    let written = super::write_out(args.json.as_deref(), || {
        serde_json::to_vec_pretty(&out).unwrap_or_default()
    })
    .and_then(|_| super::write_out(args.md.as_deref(), || md.clone().into_bytes()))
    .and_then(|_| {
        super::write_out(args.html.as_deref(), || {
            crate::report::html::sweep(&out).into_bytes()
        })
    });
    if let Err(code) = written {
        return code;
    }
    println!("{md}");
    for m in &metrics {
        println!("{}", out.terminal_chart(m));
    }
    if out.rows.iter().all(|r| r.ok) { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_set_by_its_path_and_nonsense_is_refused() {
        let text = "name: x\nworkload:\n  sessions: 10\n  prefill: true\ntimeline:\n  - { at: 1s, fault: kill }\n";
        let t = with_value(text, "workload.sessions", "20").unwrap();
        assert!(t.contains("sessions: 20"), "{t}");
        let t = with_value(text, "timeline.0.at", "2s").unwrap();
        assert!(t.contains("at: 2s"), "{t}");
        // A mapping made where there was none below an existing field.
        let t = with_value(
            "workload:\n  sessions: 1\n",
            "workload.prefill.sessions",
            "1M",
        )
        .unwrap();
        assert!(t.contains("prefill:\n    sessions: 1M"), "{t}");
        assert!(with_value(text, "workload.prefill.sessions", "1M").is_err());
        assert!(with_value(text, "timeline.5.at", "1s").is_err());
        assert!(with_value(text, "nope.x", "1").is_err());
        assert_eq!(number("1M"), Some(1e6));
        assert_eq!(number("300ms"), Some(0.3));
        assert_eq!(number("2.5"), Some(2.5));
        assert_eq!(number("lots"), None);
        assert_eq!(number("100/s"), Some(100.0));
        let t = with_value(text, "workload.sessions", "0.5").unwrap();
        assert!(t.contains("sessions: 0.5"), "{t}");
    }
}
