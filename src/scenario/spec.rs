//! The YAML shape of a scenario (plain data; see [`super::validate`]).

use indexmap::IndexMap;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The exam or drill question the scenario answers, in plain words.
    #[serde(default)]
    pub question: Option<String>,
    /// The exam question of the course (docs/scenarios.md's "exam
    /// answers") this drill helps answer: the picker's group heading.
    /// Drills that name the same one, word for word, are one group.
    #[serde(default)]
    pub exam: Option<String>,
    /// The claim of the source material this scenario tests.
    #[serde(default)]
    pub claim: Option<ClaimSpec>,
    /// A path relative to the scenario file, or an inline topology.
    pub topology: serde_yaml::Value,
    pub strategies: Vec<String>,
    /// Which topology node each backend uses, when there is more than one
    /// of a kind (`redis: cache`, `dynamodb: sessions`, `memcached: mc`).
    #[serde(default)]
    pub targets: IndexMap<String, String>,
    pub workload: WorkloadSpec,
    #[serde(default)]
    pub timeline: Vec<crate::faults::spec::TimelineSpec>,
    /// When the checker reads every session: `checkpoints` (default: after
    /// each fault that can destroy writes, and at the end) or `end-only`.
    #[serde(default)]
    pub check: Option<String>,
    #[serde(default)]
    pub expect: IndexMap<String, String>,
    /// Words over the dashboard for `sessiondrill demo`.
    #[serde(default)]
    pub captions: Vec<CaptionSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionSpec {
    /// A time into the load (`5s`) …
    #[serde(default)]
    pub at: Option<String>,
    /// … or once this many faults have been injected (1: the first).
    #[serde(default)]
    pub after_fault: Option<usize>,
    pub text: String,
    /// Pause the load until a key is pressed (default false).
    #[serde(default)]
    pub wait: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// The seed's id: `000` … `004` (see docs/scenarios.md).
    pub seed: String,
    /// What the seed says, quoted or in short.
    pub says: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub sessions: u64,
    pub duration: String,
    pub rates: RatesSpec,
    #[serde(default)]
    pub ttl: Option<String>,
    #[serde(default)]
    pub value_bytes: Option<usize>,
    /// Per-operation timeout (default 1s).
    #[serde(default)]
    pub op_timeout: Option<String>,
    /// Write every session once before the timed load starts (default
    /// false); or `{ sessions: 2M, value_bytes: 1024 }`: that much bulk
    /// data too, written in pipelines and batches (the checked sessions
    /// are then written once as well).
    #[serde(default)]
    pub prefill: Option<serde_yaml::Value>,
    /// Connections per Redis/memcached endpoint (default 8).
    #[serde(default)]
    pub connections: Option<usize>,
    /// The most operations per second the rates may add up to against a
    /// topology with external nodes (default [`super::workload::EXTERNAL_MAX_RATE`]).
    #[serde(default)]
    pub max_rate: Option<serde_yaml::Value>,
    /// Seed for the choice of sessions (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Parameters of the Redis pattern strategies (seed 003).
    #[serde(default)]
    pub patterns: Option<PatternsSpec>,
    /// Operations on one session in flight at once (default 1: each waits
    /// for the one before).
    #[serde(default)]
    pub concurrency_per_session: Option<u32>,
    /// This share of the session ids (e.g. `5%`) takes `hot_traffic` of the
    /// operations (default: every session alike).
    #[serde(default)]
    pub hot_sessions: Option<serde_yaml::Value>,
    /// The share of the operations the hot sessions take (default `50%`).
    #[serde(default)]
    pub hot_traffic: Option<serde_yaml::Value>,
    /// Read-modify-write updates: the application's work on a session
    /// between reading it and writing it back (default 0).
    #[serde(default)]
    pub update_work: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternsSpec {
    /// `redis-lock`: lease of an acquired lock (default 10s).
    #[serde(default)]
    pub lock_lease: Option<String>,
    /// `redis-rate-limit`: requests per window, e.g. `30/60s` (default).
    #[serde(default)]
    pub rate_limit: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesSpec {
    #[serde(default)]
    pub create: Option<serde_yaml::Value>,
    #[serde(default)]
    pub read: Option<serde_yaml::Value>,
    #[serde(default)]
    pub update: Option<serde_yaml::Value>,
    #[serde(default)]
    pub delete: Option<serde_yaml::Value>,
}
