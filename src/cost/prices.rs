//! The price table: a committed, dated YAML file (`data/prices/*.yaml`),
//! every figure with the page it was read from. The default is compiled
//! in; `--prices FILE` reads another, checked like a topology (FILE:LINE:COL,
//! exit 2).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::yaml::{FileError, Problem, SourceText, parse_spec};

/// The table shipped with sessiondrill.
pub const DEFAULT_PATH: &str = "data/prices/aws-us-east-1.yaml";
const DEFAULT: &str = include_str!("../../data/prices/aws-us-east-1.yaml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub region: String,
    pub currency: String,
    /// When the figures were read from their sources.
    pub read_on: String,
    pub hours_per_month: f64,
    /// Memory kept free above the data (0.2: 20 %).
    pub headroom: f64,
    pub dynamodb: DynamoPrices,
    pub elasticache: NodeTable,
    pub dax: NodeTable,
}

/// Where a figure was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub url: String,
    pub as_of: String,
    /// What of the entry no stored page gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoPrices {
    pub on_demand: OnDemand,
    pub provisioned: Provisioned,
    pub storage: Storage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnDemand {
    pub write_per_million: f64,
    pub read_per_million: f64,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provisioned {
    pub wcu_hour: f64,
    pub rcu_hour: f64,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub gb_month: f64,
    pub item_overhead_bytes: f64,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTable {
    /// Memory the service keeps for itself, in percent of the node's.
    #[serde(default)]
    pub reserved_memory_percent: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_source: Option<Source>,
    pub nodes: Vec<NodeType>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeType {
    #[serde(rename = "type")]
    pub name: String,
    pub memory_gib: f64,
    pub hourly: f64,
    pub source: Source,
}

impl Prices {
    /// The compiled-in table.
    pub fn builtin() -> Self {
        Self::parse(&SourceText::inline(DEFAULT_PATH, DEFAULT))
            .expect("the shipped price table is valid (tested)")
    }

    /// Read and check the table at `path`.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        Self::parse(&SourceText::read(path)?)
    }

    fn parse(src: &SourceText) -> Result<Self, FileError> {
        let (p, pos): (Prices, _) = parse_spec(src)?;
        let mut problems = Vec::new();
        let mut check = |ok: bool, path: &str, what: &str| {
            if !ok {
                problems.push(Problem::new(pos.blame(path), path, what));
            }
        };
        // Prices up to a million dollars, sizes up to 100 000 GiB: beyond,
        // a typo, and a bill of infinities.
        let price = |x: f64| x.is_finite() && x > 0.0 && x <= 1e6;
        let share = |x: f64| x.is_finite() && (0.0..100.0).contains(&x);
        check(
            (672.0..=744.0).contains(&p.hours_per_month),
            "hours_per_month",
            "must be the hours of a month: from 672 to 744 (AWS: 730)",
        );
        check(
            p.headroom.is_finite() && (0.0..=10.0).contains(&p.headroom),
            "headroom",
            "must be a share between 0 and 10 (0.2: 20 %)",
        );
        let d = &p.dynamodb;
        for (x, path) in [
            (
                d.on_demand.write_per_million,
                "dynamodb.on_demand.write_per_million",
            ),
            (
                d.on_demand.read_per_million,
                "dynamodb.on_demand.read_per_million",
            ),
            (d.provisioned.wcu_hour, "dynamodb.provisioned.wcu_hour"),
            (d.provisioned.rcu_hour, "dynamodb.provisioned.rcu_hour"),
            (d.storage.gb_month, "dynamodb.storage.gb_month"),
        ] {
            check(price(x), path, "must be a positive price");
        }
        check(
            (0.0..=1e6).contains(&d.storage.item_overhead_bytes),
            "dynamodb.storage.item_overhead_bytes",
            "must be 0 or more",
        );
        for (t, name) in [(&p.elasticache, "elasticache"), (&p.dax, "dax")] {
            check(
                share(t.reserved_memory_percent),
                &format!("{name}.reserved_memory_percent"),
                "must be a percentage from 0 to below 100",
            );
            check(
                !t.nodes.is_empty(),
                &format!("{name}.nodes"),
                "must list at least one node type",
            );
            for (i, n) in t.nodes.iter().enumerate() {
                check(
                    (0.01..=100_000.0).contains(&n.memory_gib),
                    &format!("{name}.nodes[{i}].memory_gib"),
                    "must be a size from 0.01 to 100000 GiB",
                );
                check(
                    price(n.hourly),
                    &format!("{name}.nodes[{i}].hourly"),
                    "must be a positive price",
                );
            }
        }
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(FileError {
                file: PathBuf::from(&src.path),
                problems,
            })
        }
    }

    /// Every source the table names that carries `unverified`, as
    /// "what (url)".
    pub fn unverified(&self) -> Vec<String> {
        let d = &self.dynamodb;
        let mut all = vec![
            &d.on_demand.source,
            &d.provisioned.source,
            &d.storage.source,
        ];
        for t in [&self.elasticache, &self.dax] {
            all.extend(t.reserved_source.iter());
            all.extend(t.nodes.iter().map(|n| &n.source));
        }
        all.into_iter()
            .filter_map(|s| Some(format!("{} ({})", s.unverified.as_ref()?, s.url)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_is_valid_and_every_entry_names_its_page() {
        let p = Prices::builtin();
        assert_eq!(p.region, "us-east-1");
        assert!(!p.elasticache.nodes.is_empty() && !p.dax.nodes.is_empty());
        let d = &p.dynamodb;
        let sources = [
            &d.on_demand.source,
            &d.provisioned.source,
            &d.storage.source,
        ]
        .into_iter()
        .chain(p.elasticache.reserved_source.iter())
        .chain(p.elasticache.nodes.iter().map(|n| &n.source))
        .chain(p.dax.nodes.iter().map(|n| &n.source));
        for s in sources {
            assert!(s.url.starts_with("https://"), "{s:?}");
            assert!(!s.as_of.is_empty(), "{s:?}");
        }
        // What no stored page gave is listed, for every bill to show.
        assert!(
            p.unverified().iter().any(|u| u.contains("DAX")),
            "{:?}",
            p.unverified()
        );
    }

    #[test]
    fn a_bad_table_is_refused_at_its_line() {
        let bad = DEFAULT.replace("hourly: 0.068", "hourly: -1");
        let e = Prices::parse(&SourceText::inline("p.yaml", bad)).unwrap_err();
        let text = e.to_string();
        let line = 1 + DEFAULT
            .lines()
            .position(|l| l.contains("hourly: 0.068"))
            .unwrap();
        assert!(text.contains(&format!("p.yaml:{line}:")), "{text}");
        assert!(text.contains("must be a positive price"), "{text}");
        // Values that would make a bill of infinities or overflow a count.
        for (from, to) in [
            ("hours_per_month: 730", "hours_per_month: 1e308"),
            ("memory_gib: 3.09", "memory_gib: 1e-300"),
            ("gb_month: 0.25", "gb_month: .nan"),
        ] {
            let e = Prices::parse(&SourceText::inline("p.yaml", DEFAULT.replace(from, to)));
            assert!(e.is_err(), "{to} was taken");
        }
        let unknown = DEFAULT.replace("headroom: 0.20", "headroom: 0.20\nheadrom: 1");
        let e = Prices::parse(&SourceText::inline("p.yaml", unknown)).unwrap_err();
        assert!(e.to_string().contains("headrom"), "{e}");
    }
}
