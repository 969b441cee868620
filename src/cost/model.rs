//! The monthly bill a drilled design implies: node-hours for the
//! in-memory stores (the smallest node type that holds the measured
//! memory with headroom, times the nodes the topology has), request units
//! and storage for DynamoDB (the units DynamoDB itself said the drill's
//! requests consumed, per operation, scaled to the user's rate).

use serde::{Deserialize, Serialize};

use super::prices::{NodeTable, NodeType, Prices};

const GIB: f64 = (1u64 << 30) as f64;

/// The user's numbers: sessions kept, and operations per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    pub sessions: u64,
    pub requests_per_s: f64,
}

/// What one strategy used, per operation and per session, and the
/// topology's shape for each store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// ElastiCache for Redis.
    pub redis: Option<Memory>,
    /// ElastiCache for Memcached.
    pub memcached: Option<Memory>,
    pub dynamodb: Option<Requests>,
    pub dax: Option<Dax>,
}

/// An in-memory store: what a session takes, and the cluster's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    pub bytes_per_session: f64,
    /// What the server takes with no data (Redis's `used_memory_startup`).
    pub base_bytes: f64,
    /// Shards the data is split over (a cluster's, memcached's nodes).
    pub shards: u32,
    /// Nodes holding each shard: 1 + its replicas.
    pub nodes_per_shard: u32,
}

/// DynamoDB: what one operation consumed, and an item's billed size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Requests {
    pub read_units_per_op: f64,
    pub write_units_per_op: f64,
    /// `None`: no item was found to size (storage not priced).
    pub item_bytes: Option<f64>,
}

/// A DAX cluster in front of DynamoDB: every node caches every item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dax {
    pub nodes: u32,
    pub item_bytes: f64,
}

/// A strategy's monthly bill.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bill {
    pub lines: Vec<Line>,
    pub monthly_usd: f64,
    /// What the bill assumed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What it could not price: the total is then a lower bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub service: String,
    /// How the figure came about, in one line.
    pub what: String,
    pub monthly_usd: f64,
}

/// A node type and how many shards of it hold the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizing<'a> {
    pub node: &'a NodeType,
    pub shards: u32,
}

/// The most shards a bill sizes (ElastiCache's limit for a cluster).
pub const MAX_SHARDS: u32 = 500;

/// What node type `n` offers for data: its memory less what the service
/// reserves (`reserved_percent`), less `headroom`.
fn usable(n: &NodeType, reserved_percent: f64, headroom: f64) -> f64 {
    n.memory_gib * GIB * (1.0 - reserved_percent / 100.0) / (1.0 + headroom)
}

/// The cheapest node type that holds, on each of at least `min_shards`
/// shards, `base` (what a server takes empty) plus its share of `data`;
/// when none does, the largest type with as many shards as that takes.
/// `None` beyond [`MAX_SHARDS`].
pub fn size(
    table: &NodeTable,
    reserved_percent: f64,
    headroom: f64,
    base: f64,
    data: f64,
    min_shards: u32,
) -> Option<Sizing<'_>> {
    let room = |n: &NodeType| usable(n, reserved_percent, headroom) - base;
    let shards = min_shards.max(1);
    let per_shard = data / shards as f64;
    let fits = table
        .nodes
        .iter()
        .filter(|n| room(n) >= per_shard)
        .min_by(|a, b| a.hourly.total_cmp(&b.hourly));
    if let Some(node) = fits {
        return Some(Sizing { node, shards });
    }
    let node = table
        .nodes
        .iter()
        .max_by(|a, b| a.memory_gib.total_cmp(&b.memory_gib))?;
    let needed = (data / room(node)).ceil();
    if room(node) <= 0.0 || !needed.is_finite() || needed > MAX_SHARDS as f64 {
        return None;
    }
    Some(Sizing {
        node,
        shards: shards.max(needed as u32),
    })
}

/// A rate as people write it: 1000, 0.5.
pub fn rate(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// The bill of `usage` at `scale` with `prices`.
pub fn bill(usage: &Usage, scale: Scale, prices: &Prices) -> Bill {
    let hours = prices.hours_per_month;
    let sessions = scale.sessions as f64;
    let mut b = Bill::default();
    let memory = |service: &str, m: &Memory, reserved: f64, b: &mut Bill| {
        let data = sessions * m.bytes_per_session;
        let Some(s) = size(
            &prices.elasticache,
            reserved,
            prices.headroom,
            m.base_bytes,
            data,
            m.shards,
        ) else {
            b.unpriced.push(format!(
                "{service}: {:.1} GiB (and {:.0} MB per empty server) does not fit {MAX_SHARDS} shards of the largest listed node type",
                data / GIB,
                m.base_bytes / 1e6
            ));
            return;
        };
        let per_shard = m.nodes_per_shard.max(1);
        let nodes = s.shards as f64 * per_shard as f64;
        b.lines.push(Line {
            service: service.into(),
            what: format!(
                "{nodes} × {} ({} shard(s) × {per_shard} node(s)) for {:.2} GiB: {:.0} B/session × {} sessions (+{:.0} MB per server empty), +{:.0} % headroom, {:.0} % reserved",
                s.node.name,
                s.shards,
                data / GIB,
                m.bytes_per_session,
                scale.sessions,
                m.base_bytes / 1e6,
                prices.headroom * 100.0,
                reserved,
            ),
            monthly_usd: s.node.hourly * nodes * hours,
        });
    };
    if let Some(m) = &usage.redis {
        let reserved = prices.elasticache.reserved_memory_percent;
        memory("ElastiCache (Redis OSS)", m, reserved, &mut b);
    }
    if let Some(m) = &usage.memcached {
        // ElastiCache's reserved memory is a Redis parameter; memcached's
        // own connection overhead is not modelled.
        memory("ElastiCache (Memcached)", m, 0.0, &mut b);
    }
    if let Some(d) = &usage.dax {
        let bytes = sessions * d.item_bytes;
        let reserved = prices.dax.reserved_memory_percent;
        // Every DAX node holds the whole cache: no sharding.
        match size(&prices.dax, reserved, prices.headroom, 0.0, bytes, 1) {
            Some(s) if s.shards == 1 => {
                let nodes = d.nodes.max(1);
                b.lines.push(Line {
                    service: "DAX".into(),
                    what: format!(
                        "{nodes} × {} for {:.2} GiB of items ({:.0} B × {} sessions, the items' DynamoDB size taken as their size in the cache), +{:.0} % headroom",
                        s.node.name,
                        bytes / GIB,
                        d.item_bytes,
                        scale.sessions,
                        prices.headroom * 100.0,
                    ),
                    monthly_usd: s.node.hourly * nodes as f64 * hours,
                });
            }
            _ => b.unpriced.push(format!(
                "DAX: {:.1} GiB of items is more than the largest listed DAX node type holds (a DAX node cannot be sharded)",
                bytes / GIB
            )),
        }
    }
    if let Some(r) = &usage.dynamodb {
        let p = &prices.dynamodb;
        let ops = scale.requests_per_s * 3600.0 * hours;
        let writes = r.write_units_per_op * ops;
        let reads = r.read_units_per_op * ops;
        b.lines.push(Line {
            service: "DynamoDB writes".into(),
            what: format!(
                "{:.3} write units/op × {} ops/s: {:.1} M units × ${}/M",
                r.write_units_per_op,
                rate(scale.requests_per_s),
                writes / 1e6,
                p.on_demand.write_per_million
            ),
            monthly_usd: writes / 1e6 * p.on_demand.write_per_million,
        });
        b.lines.push(Line {
            service: "DynamoDB reads".into(),
            what: format!(
                "{:.3} read units/op × {} ops/s: {:.1} M units × ${}/M",
                r.read_units_per_op,
                rate(scale.requests_per_s),
                reads / 1e6,
                p.on_demand.read_per_million
            ),
            monthly_usd: reads / 1e6 * p.on_demand.read_per_million,
        });
        match r.item_bytes {
            Some(item) => {
                let stored = sessions * (item + p.storage.item_overhead_bytes) / GIB;
                b.lines.push(Line {
                    service: "DynamoDB storage".into(),
                    what: format!(
                        "{:.3} GiB: {} items × ({:.0} B + {:.0} B overhead)",
                        stored, scale.sessions, item, p.storage.item_overhead_bytes
                    ),
                    monthly_usd: stored * p.storage.gb_month,
                });
            }
            None => b
                .unpriced
                .push("DynamoDB storage: no item was found to size at the end".into()),
        }
        let provisioned = (r.write_units_per_op * p.provisioned.wcu_hour
            + r.read_units_per_op * p.provisioned.rcu_hour)
            * scale.requests_per_s
            * hours;
        b.notes.push(format!(
            "DynamoDB on-demand; provisioned at exactly the mean rate (no room for peaks) would be ${provisioned:.2}/month for the requests"
        ));
    }
    b.monthly_usd = b.lines.iter().map(|l| l.monthly_usd).sum();
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within_1_percent(got: f64, hand: f64) {
        assert!(
            (got - hand).abs() <= hand * 0.01,
            "model ${got:.4} vs hand-computed ${hand:.4}"
        );
    }

    /// DynamoDB on-demand, worked by hand from the shipped table:
    /// 1 000 000 sessions of 600-byte items, 1 000 ops/s of which each
    /// consumed 0.25 write units and 0.75 read units (a quarter writes of
    /// one unit, three quarters strongly consistent reads of one).
    ///   ops/month    = 1000 × 3600 × 730        = 2 628 000 000
    ///   write units  = 0.25 × that = 657 000 000 → 657 × $0.625 = $410.625
    ///   read units   = 0.75 × that = 1 971 000 000 → 1971 × $0.125 = $246.375
    ///   storage      = 1e6 × (600 + 100) B = 7e8 B = 0.651926 GiB × $0.25 = $0.162981
    ///   total                                                       = $657.163
    #[test]
    fn dynamodb_on_demand_matches_a_hand_computed_bill() {
        let usage = Usage {
            dynamodb: Some(Requests {
                read_units_per_op: 0.75,
                write_units_per_op: 0.25,
                item_bytes: Some(600.0),
            }),
            ..Usage::default()
        };
        let scale = Scale {
            sessions: 1_000_000,
            requests_per_s: 1000.0,
        };
        let b = bill(&usage, scale, &Prices::builtin());
        within_1_percent(b.lines[0].monthly_usd, 410.625);
        within_1_percent(b.lines[1].monthly_usd, 246.375);
        within_1_percent(b.lines[2].monthly_usd, 0.162981);
        within_1_percent(b.monthly_usd, 657.163);
    }

    /// ElastiCache Multi-AZ, 1 primary + 2 replicas, worked by hand:
    /// 1 000 000 sessions × 700 B + 1 MB at start = 701 000 000 B needed.
    ///   usable per node = GiB × (1 − 25 %) / 1.2 headroom
    ///     cache.t3.micro  0.5  GiB → 335 544 320 B   (too small)
    ///     cache.t2.small  1.55 GiB → 1 040 187 392 B (holds it; $0.034/h)
    ///   3 nodes × $0.034 × 730 h = $74.46
    #[test]
    fn elasticache_multi_az_with_two_replicas_matches_a_hand_computed_bill() {
        let usage = Usage {
            redis: Some(Memory {
                bytes_per_session: 700.0,
                base_bytes: 1_000_000.0,
                shards: 1,
                nodes_per_shard: 3,
            }),
            ..Usage::default()
        };
        let scale = Scale {
            sessions: 1_000_000,
            requests_per_s: 1000.0,
        };
        let b = bill(&usage, scale, &Prices::builtin());
        assert!(
            b.lines[0].what.starts_with("3 × cache.t2.small"),
            "{:?}",
            b.lines
        );
        within_1_percent(b.monthly_usd, 74.46);
    }

    #[test]
    fn data_beyond_the_largest_node_is_sharded_over_it() {
        let p = Prices::builtin();
        let r = p.elasticache.reserved_memory_percent;
        // 10 GiB: cache.t3.medium holds 3.09 × 0.75 / 1.2 = 1.93 GiB.
        let s = size(&p.elasticache, r, p.headroom, 0.0, 10.0 * GIB, 1).unwrap();
        assert_eq!(s.node.name, "cache.t3.medium");
        assert_eq!(s.shards, 6);
        // What a server takes empty is taken on every shard: 1.9 GiB of
        // data and 0.1 GiB empty no longer fit one.
        let s = size(&p.elasticache, r, p.headroom, 0.1 * GIB, 1.9 * GIB, 1).unwrap();
        assert_eq!(s.shards, 2);
        // And a tiny data set takes the cheapest type.
        let s = size(&p.elasticache, r, p.headroom, 1e6, 1e6, 1).unwrap();
        assert_eq!(s.node.name, "cache.t3.micro");
        // Beyond 500 shards: not sized, and the bill says what it left out.
        assert!(size(&p.elasticache, r, p.headroom, 0.0, 1e6 * GIB, 1).is_none());
        let usage = Usage {
            redis: Some(Memory {
                bytes_per_session: 1e6,
                base_bytes: 0.0,
                shards: 1,
                nodes_per_shard: 3,
            }),
            ..Usage::default()
        };
        let scale = Scale {
            sessions: 1_000_000_000,
            requests_per_s: 1.0,
        };
        let b = bill(&usage, scale, &p);
        assert!(b.lines.is_empty() && b.unpriced.len() == 1, "{b:?}");
    }

    #[test]
    fn a_dax_cache_larger_than_the_largest_node_is_not_priced_but_said() {
        let usage = Usage {
            dax: Some(Dax {
                nodes: 3,
                item_bytes: 600.0,
            }),
            ..Usage::default()
        };
        // 100M items of 600 B: 56 GiB, more than dax.r5.large's 16 GiB.
        let scale = Scale {
            sessions: 100_000_000,
            requests_per_s: 0.5,
        };
        let b = bill(&usage, scale, &Prices::builtin());
        assert!(b.lines.is_empty(), "{b:?}");
        assert!(b.unpriced[0].starts_with("DAX: 55.9 GiB"), "{b:?}");
        assert_eq!(rate(0.5), "0.50");
        assert_eq!(rate(1000.0), "1000");
    }
}
