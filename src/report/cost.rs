//! The report's "Cost" section: each strategy's measured footprint and
//! request units, with the topology's shape, through the cost model at the
//! user's scale (`--sessions`, `--requests`; else the scenario's own).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{Report, StrategyReport};
use crate::cost::{self, Bill, Prices, Scale, Usage};
use crate::scenario::Scenario;
use crate::store::{Backend, StrategyKind};
use crate::topology::{Node, NodeKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The price table used: its file, region, the date its figures were
    /// read, and what in it no stored page gave.
    pub prices: PricesUsed,
    /// Sessions and operations per second the bill is for.
    pub scale: Scale,
    /// Where the scale came from: `scenario` or `command line`.
    pub scale_from: String,
    pub strategies: IndexMap<String, Bill>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricesUsed {
    pub file: String,
    pub region: String,
    pub currency: String,
    pub read_on: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
}

/// The user's numbers, each `None` for the scenario's own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScaleArgs {
    pub sessions: Option<u64>,
    pub requests_per_s: Option<f64>,
}

/// The cost of every strategy of `report` (a run of `scenario`).
pub fn estimate(
    report: &Report,
    scenario: &Scenario,
    prices: &Prices,
    prices_file: &str,
    args: ScaleArgs,
) -> CostReport {
    let scale = Scale {
        sessions: args.sessions.unwrap_or(scenario.workload.sessions),
        requests_per_s: args
            .requests_per_s
            .unwrap_or_else(|| scenario.workload.rates.total()),
    };
    let strategies = report
        .strategies
        .iter()
        .map(|(name, st)| {
            let (usage, mut unpriced, mut notes) = usage(name, st, scenario);
            let mut bill = cost::bill(&usage, scale, prices);
            notes.append(&mut bill.notes);
            bill.notes = notes;
            unpriced.append(&mut bill.unpriced);
            bill.unpriced = unpriced;
            (name.clone(), bill)
        })
        .collect();
    CostReport {
        prices: PricesUsed {
            file: prices_file.to_string(),
            region: prices.region.clone(),
            currency: prices.currency.clone(),
            read_on: prices.read_on.clone(),
            unverified: prices.unverified(),
        },
        scale,
        scale_from: if args == ScaleArgs::default() {
            "scenario".into()
        } else {
            "command line".into()
        },
        strategies,
    }
}

/// The topology node backend `b` of `scenario` uses.
fn node_of(scenario: &Scenario, b: Backend) -> Option<&Node> {
    let nodes = &scenario.topology.nodes;
    match scenario.targets.of(b) {
        Some(name) => nodes.iter().find(|n| n.name == name),
        None => nodes.iter().find(|n| b.served_by(n.kind.kind_name())),
    }
}

/// What strategy `name` used; what of it could not be measured (so not
/// priced); notes on what was assumed.
fn usage(
    name: &str,
    st: &StrategyReport,
    scenario: &Scenario,
) -> (Usage, Vec<String>, Vec<String>) {
    let mut u = Usage::default();
    let (mut unpriced, mut notes) = (Vec::new(), Vec::new());
    let Some(kind) = StrategyKind::parse(name) else {
        unpriced.push(format!("{name}: not a strategy this version knows"));
        return (u, unpriced, notes);
    };
    let f = &st.footprint;
    let item = f.dynamodb.as_ref().map(|i| i.item_bytes);
    let requests = |unpriced: &mut Vec<String>| {
        let c = &st.consumed;
        if c.ops == 0 {
            unpriced.push("DynamoDB requests: no operation of the timed load was metered".into());
            return None;
        }
        if c.unreported > 0 {
            unpriced.push(format!(
                "{} DynamoDB request(s) named no consumed capacity (a refused conditional write, or an engine that does not report it)",
                c.unreported
            ));
        }
        Some(cost::model::Requests {
            read_units_per_op: c.read_units / c.ops as f64,
            write_units_per_op: c.write_units / c.ops as f64,
            item_bytes: item,
        })
    };
    for &b in kind.backends() {
        let node = node_of(scenario, b);
        match b {
            Backend::Redis => {
                let Some(r) = &f.redis else {
                    unpriced.push(
                        "Redis memory: no session key found to measure at the end (or a pattern strategy, whose keys are not one per session)"
                            .into(),
                    );
                    continue;
                };
                let (shards, nodes_per_shard) = match node.map(|n| &n.kind) {
                    Some(NodeKind::RedisReplicated(rr)) => (1, 1 + rr.replicas),
                    Some(NodeKind::RedisCluster(c)) => (c.shards, 1 + c.replicas_per_shard),
                    _ => (1, 1),
                };
                if kind == StrategyKind::CacheAsideVersioned {
                    notes.push(
                        "Redis: this strategy's keys include its version markers, smaller than a session: the bytes per session are understated"
                            .into(),
                    );
                }
                notes.push(
                    "Redis: MEMORY USAGE leaves out a key's entry in the expiry table and its share of the hash tables' bucket arrays (about 40–50 B per session)"
                        .into(),
                );
                u.redis = Some(cost::model::Memory {
                    bytes_per_session: r.bytes_per_session,
                    base_bytes: r.used_memory_startup.unwrap_or(0) as f64,
                    shards,
                    nodes_per_shard,
                });
            }
            Backend::Memcached => {
                let Some(m) = &f.memcached else {
                    unpriced.push("memcached memory: nothing found to measure at the end".into());
                    continue;
                };
                let instances = match node.map(|n| &n.kind) {
                    Some(NodeKind::Memcached(mc)) => mc.instances,
                    _ => 1,
                };
                u.memcached = Some(cost::model::Memory {
                    bytes_per_session: m.bytes_per_item,
                    base_bytes: 0.0,
                    shards: instances,
                    nodes_per_shard: 1,
                });
            }
            Backend::Dynamodb => u.dynamodb = requests(&mut unpriced),
            Backend::Dax => {
                let nodes = match node.map(|n| &n.kind) {
                    Some(NodeKind::Dax(d)) => d.nodes,
                    _ => 1,
                };
                // The units DynamoDB consumed behind DAX: misses and
                // writes. A hit consumes none — as our DAX node answers,
                // and as AWS documents DAX.
                u.dynamodb = requests(&mut unpriced);
                notes.push(
                    "DAX: a cache hit is billed 0 DynamoDB units (sessiondrill's DAX node, as AWS documents DAX); the cache's memory is the items' DynamoDB size"
                        .into(),
                );
                match item {
                    Some(item_bytes) => u.dax = Some(cost::model::Dax { nodes, item_bytes }),
                    None => unpriced.push("DAX nodes: no item was found to size at the end".into()),
                }
            }
        }
    }
    (u, unpriced, notes)
}

impl CostReport {
    /// Strategy `name`'s monthly total, if it was priced.
    pub fn monthly(&self, name: &str) -> Option<f64> {
        let b = self.strategies.get(name)?;
        (!b.lines.is_empty()).then_some(b.monthly_usd)
    }

    /// "$1,234", "≥ $1,234" when something could not be priced, or "—"
    /// for strategy `name`.
    pub fn cell(&self, name: &str) -> String {
        let partial = self
            .strategies
            .get(name)
            .is_some_and(|b| !b.unpriced.is_empty());
        match self.monthly(name) {
            Some(m) if partial => format!("≥ {}", usd(m)),
            Some(m) => usd(m),
            None => "—".into(),
        }
    }

    /// The scale and the prices in one line.
    pub fn basis(&self) -> String {
        format!(
            "{} sessions, {} ops/s ({}); {} on-demand prices of {} read {} from {}",
            thousands(self.scale.sessions as f64),
            if self.scale.requests_per_s >= 10.0 {
                thousands(self.scale.requests_per_s)
            } else {
                cost::model::rate(self.scale.requests_per_s)
            },
            self.scale_from,
            self.prices.region,
            self.prices.currency,
            self.prices.read_on,
            self.prices.file
        )
    }

    /// The Markdown section: the trade-off table (what each design lost,
    /// how fast it was, what it costs), then each bill's lines.
    pub fn markdown(&self, r: &Report) -> String {
        use std::fmt::Write;
        let mut s = String::from("\n## Cost\n\n");
        let _ = writeln!(s, "Per month at {}.\n", self.basis());
        let _ = writeln!(
            s,
            "| strategy | lost writes | unavailable | p50 ms | p99 ms | cost / month |"
        );
        let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (name, st) in &r.strategies {
            let _ = writeln!(
                s,
                "| {name} | {} | {:.1} s | {:.2} | {:.2} | {} |",
                st.writes.lost,
                st.unavailable_ms as f64 / 1000.0,
                st.latency_us.p50 as f64 / 1000.0,
                st.latency_us.p99 as f64 / 1000.0,
                self.cell(name)
            );
        }
        for (name, b) in &self.strategies {
            let _ = writeln!(s, "\n{name}:\n");
            for l in &b.lines {
                let _ = writeln!(s, "- {}: {} — {}", l.service, usd(l.monthly_usd), l.what);
            }
            for n in &b.unpriced {
                let _ = writeln!(s, "- **not priced**: {n}");
            }
            for n in &b.notes {
                let _ = writeln!(s, "- note: {n}");
            }
        }
        if !self.prices.unverified.is_empty() {
            let _ = writeln!(s, "\nNot in a stored source (check before quoting):\n");
            for u in &self.prices.unverified {
                let _ = writeln!(s, "- {u}");
            }
        }
        s
    }
}

/// Dollars: cents below $100, whole dollars with separators above.
pub fn usd(x: f64) -> String {
    if x < 100.0 {
        format!("${x:.2}")
    } else {
        format!("${}", thousands(x))
    }
}

/// A whole number with thin separators: 1,000,000.
fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bill_with_something_unpriced_shows_as_a_lower_bound() {
        let bill = |unpriced: Vec<String>| Bill {
            lines: vec![cost::model::Line {
                service: "DynamoDB writes".into(),
                what: String::new(),
                monthly_usd: 410.625,
            }],
            monthly_usd: 410.625,
            notes: Vec::new(),
            unpriced,
        };
        let c = CostReport {
            prices: PricesUsed {
                file: "p.yaml".into(),
                region: "us-east-1".into(),
                currency: "USD".into(),
                read_on: "2026-12-01".into(),
                unverified: Vec::new(),
            },
            scale: Scale {
                sessions: 1,
                requests_per_s: 0.5,
            },
            scale_from: "command line".into(),
            strategies: [
                ("whole".to_string(), bill(Vec::new())),
                ("partial".to_string(), bill(vec!["DynamoDB storage".into()])),
                ("none".to_string(), Bill::default()),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(c.cell("whole"), "$411");
        assert_eq!(c.cell("partial"), "≥ $411");
        assert_eq!(c.cell("none"), "—");
        assert_eq!(c.cell("absent"), "—");
        assert!(
            c.basis().starts_with("1 sessions, 0.50 ops/s"),
            "{}",
            c.basis()
        );
    }

    #[test]
    fn dollars_read_as_people_write_them() {
        assert_eq!(usd(74.456), "$74.46");
        assert_eq!(usd(657.163), "$657");
        assert_eq!(usd(1_234_567.0), "$1,234,567");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(thousands(999.0), "999");
    }
}
