//! Spec → domain types. Collects every problem, each with the position of
//! the offending field.

use super::model::*;
use super::spec::{KindName, NodeSpec, ProviderName, TopologySpec, field_applies};
use super::validate_aws::{dax, dax_targets, dynamodb};
use crate::yaml::{FileError, Positions, Problems, SourceText};

/// Problems found while validating one spec, positioned through the index.
pub fn validate(
    spec: TopologySpec,
    positions: &Positions,
    src: &SourceText,
) -> Result<Topology, FileError> {
    validate_at(spec, positions, src, "")
}

/// Validate a topology whose fields sit under `prefix` in the file (used
/// when a scenario embeds a topology inline).
pub fn validate_at(
    spec: TopologySpec,
    positions: &Positions,
    src: &SourceText,
    prefix: &str,
) -> Result<Topology, FileError> {
    let mut c = Problems::new(positions);
    let p = |field: &str| {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        }
    };
    if !valid_name(&spec.name) {
        c.at(
            &p("name"),
            "name must be letters, digits, `-` or `_` (it names run directories)",
        );
    }
    if spec.nodes.is_empty() {
        c.at(&p("nodes"), "a topology needs at least one node");
    }
    if spec.nodes.len() > MAX_NODES {
        c.at(
            &p("nodes"),
            format!(
                "{} nodes: a topology has at most {MAX_NODES} (each is one or more processes on this machine)",
                spec.nodes.len()
            ),
        );
    }
    let mut nodes = Vec::new();
    for (name, node) in spec.nodes {
        let path = p(&format!("nodes.{name}"));
        if !valid_name(&name) {
            c.at(
                &path,
                format!("node name `{name}` must be letters, digits, `-` or `_`"),
            );
        }
        if let Some(n) = node_at(&mut c, &path, name, node) {
            nodes.push(n);
        }
    }
    let aws = aws(&mut c, spec.aws, &p);
    dax_targets(&mut c, &mut nodes, &p);
    fixed_ports_apart(&mut c, &nodes, &p);
    c.finish(&src.path)?;
    Ok(Topology {
        name: spec.name,
        description: spec.description,
        provider: super::provider_override()
            .or(spec.provider)
            .unwrap_or(ProviderName::Process),
        nodes,
        source: Some(src.path.clone()),
        aws,
    })
}

/// `aws:`: a region of letters, digits and `-`, an http(s) endpoint.
fn aws(
    c: &mut Problems<'_>,
    spec: Option<super::spec::AwsSpec>,
    p: &impl Fn(&str) -> String,
) -> Aws {
    let Some(spec) = spec else {
        return Aws::default();
    };
    let region = spec.region.unwrap_or_default();
    if !region.is_empty() && !valid_region(&region) {
        c.at(
            &p("aws.region"),
            "a region is letters, digits and `-` (eu-west-1)",
        );
    }
    let endpoint_url = spec.endpoint_url.unwrap_or_default();
    if !endpoint_url.is_empty() {
        match url::Url::parse(&endpoint_url) {
            Ok(u) if !["http", "https"].contains(&u.scheme()) || u.host().is_none() => c.at(
                &p("aws.endpoint_url"),
                "endpoint_url must be an http:// or https:// URL",
            ),
            // It is printed in errors; credentials come from the chain.
            Ok(u) if !u.username().is_empty() || u.password().is_some() => c.at(
                &p("aws.endpoint_url"),
                "endpoint_url may not hold a user or password (credentials come from the AWS credential chain)",
            ),
            Ok(_) => {}
            Err(e) => c.at(
                &p("aws.endpoint_url"),
                format!("endpoint_url must be an http:// or https:// URL ({e})"),
            ),
        }
    }
    Aws {
        region,
        endpoint_url,
    }
}

fn valid_region(r: &str) -> bool {
    r.len() <= 40 && r.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
}

/// The most nodes a topology may name.
pub const MAX_NODES: usize = 64;

/// Ports a node asks for (and a cluster's bus ports, port + 10 000) may not
/// overlap another node's: the second would fail only at `up`.
fn fixed_ports_apart(c: &mut Problems<'_>, nodes: &[Node], p: &impl Fn(&str) -> String) {
    let mut taken: Vec<(usize, usize, &str)> = Vec::new();
    for n in nodes {
        let Some(port) = n.port else { continue };
        let first = port as usize;
        let last = first + n.kind.process_count().saturating_sub(1);
        let mut ranges = vec![(first, last)];
        if matches!(n.kind, NodeKind::RedisCluster(_)) {
            ranges.push((first + CLUSTER_BUS_OFFSET, last + CLUSTER_BUS_OFFSET));
        }
        for (a, b) in ranges {
            if let Some((_, _, other)) = taken.iter().find(|(x, y, _)| a <= *y && *x <= b) {
                c.at(
                    &p(&format!("nodes.{}.port", n.name)),
                    format!("ports {a}-{b} of `{}` overlap those of `{other}`", n.name),
                );
            }
            taken.push((a, b, &n.name));
        }
    }
}

/// Redis Cluster's bus listens on the client port + 10 000.
const CLUSTER_BUS_OFFSET: usize = 10_000;

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
}

fn node_at(c: &mut Problems<'_>, path: &str, name: String, n: NodeSpec) -> Option<Node> {
    let before = c.count();
    let kind_name = n.kind;
    for (field, _) in c.positions().keys_of(path).to_vec() {
        if let Err(for_kind) = field_applies(kind_name, &field) {
            c.at(
                &format!("{path}.{field}"),
                format!(
                    "field `{field}` does not apply to kind {} (it is for {for_kind})",
                    kind_name.name()
                ),
            );
        }
    }
    let kind = match kind_name {
        KindName::Redis => NodeKind::Redis(redis_server(c, path, &n)),
        KindName::RedisReplicated => NodeKind::RedisReplicated(replicated(c, path, &n)),
        KindName::RedisCluster => NodeKind::RedisCluster(cluster(c, path, &n)),
        KindName::Dynamodb => NodeKind::Dynamodb(dynamodb(c, path, &n)),
        KindName::Dax => NodeKind::Dax(dax(c, path, &n)),
        KindName::Memcached => NodeKind::Memcached(memcached(c, path, &n)),
    };
    if let Some(port) = n.port {
        let last = port as usize + kind.process_count().saturating_sub(1);
        if port == 0 {
            c.at(
                &format!("{path}.port"),
                "port must be between 1 and 65535 (omit it to let sessiondrill choose a free one)",
            );
        } else if last > u16::MAX as usize {
            c.at(
                &format!("{path}.port"),
                format!(
                    "port {port} leaves no room for the node's {} processes (they use consecutive ports up to {last})",
                    kind.process_count()
                ),
            );
        } else if matches!(kind, NodeKind::RedisCluster(_))
            && last + CLUSTER_BUS_OFFSET > u16::MAX as usize
        {
            c.at(
                &format!("{path}.port"),
                format!(
                    "port {port} is too high for a cluster: its bus ports (port + 10000) would go up to {}, past 65535",
                    last + CLUSTER_BUS_OFFSET
                ),
            );
        }
    }
    if n.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
        c.at(
            &format!("{path}.image"),
            "image must name an image, e.g. redis:7 (omit it for the default)",
        );
    }
    let external = n
        .external
        .as_ref()
        .map(|e| super::external::external(c, path, kind_name, e));
    if n.external.is_some() && n.spares.is_some_and(|s| s > 0) {
        c.at(
            &format!("{path}.spares"),
            "spares are servers sessiondrill starts beside the cluster; an external cluster has none",
        );
    }
    // An external table is an endpoint on that table.
    let kind = match (kind, &n.external) {
        (NodeKind::Dynamodb(_), Some(e)) => NodeKind::Dynamodb(super::external_table::table(e)),
        (kind, _) => kind,
    };
    (c.count() == before).then_some(Node {
        name,
        port: n.port,
        image: n.image,
        kind,
        external,
    })
}

fn redis_server(c: &mut Problems<'_>, path: &str, n: &NodeSpec) -> RedisServer {
    let persistence = n.persistence.unwrap_or(Persistence::None);
    let aof = matches!(persistence, Persistence::Aof | Persistence::AofRdb);
    let rdb = matches!(persistence, Persistence::Rdb | Persistence::AofRdb);
    if n.appendfsync.is_some() && !aof {
        c.at(
            &format!("{path}.appendfsync"),
            "appendfsync applies only with persistence `aof` or `aof+rdb`",
        );
    }
    let save = match &n.save {
        Some(_) if !rdb => {
            c.at(
                &format!("{path}.save"),
                "save applies only with persistence `rdb` or `aof+rdb`",
            );
            Vec::new()
        }
        Some(s) => parse_save(s).unwrap_or_else(|| {
            c.at(
                &format!("{path}.save"),
                format!(
                    "save must be pairs of `SECONDS CHANGES`, e.g. \"60 1000 300 10\"; got {s:?}"
                ),
            );
            Vec::new()
        }),
        None if rdb => vec![(3600, 1), (300, 100), (60, 10000)],
        None => Vec::new(),
    };
    if let Some(m) = &n.maxmemory
        && !valid_memory(m)
    {
        c.at(
            &format!("{path}.maxmemory"),
            format!("maxmemory must be a size like 64mb, 1gb or 1048576; got {m:?}"),
        );
    }
    if let Some(pw) = &n.password
        && (pw.is_empty()
            || pw
                .chars()
                .any(|ch| ch.is_whitespace() || ch == '"' || ch == '\''))
    {
        c.at(
            &format!("{path}.password"),
            "password must be non-empty, without spaces or quotes",
        );
    }
    let (users, client_user) = super::users::users(c, path, n);
    RedisServer {
        persistence,
        appendfsync: n.appendfsync.unwrap_or(AppendFsync::Everysec),
        save,
        maxmemory: n.maxmemory.clone(),
        maxmemory_policy: n.maxmemory_policy,
        password: n.password.clone(),
        tls: n.tls.unwrap_or(false),
        users,
        client_user,
    }
}

fn parse_save(s: &str) -> Option<Vec<(u32, u32)>> {
    let nums: Vec<u32> = s
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    if nums.is_empty() || !nums.len().is_multiple_of(2) {
        return None;
    }
    Some(nums.chunks(2).map(|w| (w[0], w[1])).collect())
}

fn valid_memory(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let digits = lower.trim_end_matches(|ch: char| ch.is_ascii_alphabetic());
    let unit = &lower[digits.len()..];
    // Only digits: Rust's parse takes "+5", Redis refuses "+5mb".
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u64>().is_ok_and(|v| v > 0)
        && ["", "b", "k", "kb", "m", "mb", "g", "gb"].contains(&unit)
}

pub(super) fn range(c: &mut Problems<'_>, path: &str, field: &str, v: u64, lo: u64, hi: u64) {
    if v < lo || v > hi {
        c.at(
            &format!("{path}.{field}"),
            format!("{field} must be between {lo} and {hi}; got {v}"),
        );
    }
}

fn replicated(c: &mut Problems<'_>, path: &str, n: &NodeSpec) -> Replicated {
    let server = redis_server(c, path, n);
    let replicas = n.replicas.unwrap_or(2);
    let sentinels = n.sentinels.unwrap_or(3);
    let quorum = n.quorum.unwrap_or(sentinels / 2 + 1);
    range(c, path, "replicas", replicas.into(), 0, 10);
    range(c, path, "sentinels", sentinels.into(), 1, 9);
    if quorum == 0 || quorum > sentinels {
        c.at(
            &format!("{path}.quorum"),
            format!(
                "quorum must be between 1 and the number of sentinels ({sentinels}); got {quorum}"
            ),
        );
    }
    let down_after_ms = n.down_after_ms.unwrap_or(2000);
    range(c, path, "down_after_ms", down_after_ms, 100, 3_600_000);
    let failover_timeout_ms = n.failover_timeout_ms.unwrap_or(10_000);
    range(
        c,
        path,
        "failover_timeout_ms",
        failover_timeout_ms,
        100,
        3_600_000,
    );
    let parallel_syncs = n.parallel_syncs.unwrap_or(1);
    range(c, path, "parallel_syncs", parallel_syncs.into(), 1, 10);
    if let Some(m) = n.min_replicas_to_write
        && m > replicas
    {
        c.at(
            &format!("{path}.min_replicas_to_write"),
            format!("min_replicas_to_write ({m}) cannot exceed replicas ({replicas}): no write would ever be accepted"),
        );
    }
    if n.min_replicas_max_lag.is_some() && n.min_replicas_to_write.is_none() {
        c.at(
            &format!("{path}.min_replicas_max_lag"),
            "min_replicas_max_lag has no effect without min_replicas_to_write",
        );
    }
    Replicated {
        server,
        replicas,
        sentinels,
        quorum,
        down_after_ms,
        failover_timeout_ms,
        parallel_syncs,
        min_replicas_to_write: n.min_replicas_to_write,
        min_replicas_max_lag: n.min_replicas_max_lag,
    }
}

fn cluster(c: &mut Problems<'_>, path: &str, n: &NodeSpec) -> Cluster {
    let server = redis_server(c, path, n);
    let shards = n.shards.unwrap_or(3);
    let replicas_per_shard = n.replicas_per_shard.unwrap_or(1);
    let node_timeout_ms = n.node_timeout_ms.unwrap_or(1000);
    range(c, path, "shards", shards.into(), 1, 16);
    range(
        c,
        path,
        "replicas_per_shard",
        replicas_per_shard.into(),
        0,
        5,
    );
    range(c, path, "node_timeout_ms", node_timeout_ms, 100, 3_600_000);
    let spares = n.spares.unwrap_or(0);
    range(c, path, "spares", spares.into(), 0, 4);
    Cluster {
        server,
        shards,
        replicas_per_shard,
        node_timeout_ms,
        spares,
    }
}

fn memcached(c: &mut Problems<'_>, path: &str, n: &NodeSpec) -> Memcached {
    let instances = n.instances.unwrap_or(1);
    let memory_mb = n.memory_mb.unwrap_or(64);
    range(c, path, "instances", instances.into(), 1, 16);
    range(c, path, "memory_mb", memory_mb.into(), 1, 65_536);
    Memcached {
        instances,
        memory_mb,
    }
}
