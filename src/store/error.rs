//! Operation failures, classified the way a drill needs to read them.
//! In the hot path these are data (counted in the ledger), never `?`-ed.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// No answer within the per-operation timeout.
    Timeout,
    /// Connection refused or reset: nothing listening, or the node died.
    Refused,
    /// READONLY: a write reached a replica (e.g. a demoted primary).
    Readonly,
    /// MOVED / ASK / CLUSTERDOWN: the cluster is resharding or down.
    Cluster,
    /// LOADING: the server is loading its dataset after a restart.
    Loading,
    /// MASTERDOWN: a replica lost its primary and refuses stale reads.
    Masterdown,
    /// NOREPLICAS: min-replicas-to-write not met.
    Noreplicas,
    /// OOM: maxmemory reached with `noeviction`; writes are refused.
    Oom,
    /// NOPERM: the ACL user may not run this command or touch this key.
    Noperm,
    /// DynamoDB throttling (ProvisionedThroughputExceeded, Throttling).
    Throttled,
    /// An optimistic update whose conditional write was refused on every
    /// attempt: other updates kept changing the session under it.
    Conflict,
    Other,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 12] = [
        ErrorClass::Timeout,
        ErrorClass::Refused,
        ErrorClass::Readonly,
        ErrorClass::Cluster,
        ErrorClass::Loading,
        ErrorClass::Masterdown,
        ErrorClass::Noreplicas,
        ErrorClass::Oom,
        ErrorClass::Noperm,
        ErrorClass::Throttled,
        ErrorClass::Conflict,
        ErrorClass::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Timeout => "timeout",
            ErrorClass::Refused => "refused",
            ErrorClass::Readonly => "readonly",
            ErrorClass::Cluster => "cluster",
            ErrorClass::Loading => "loading",
            ErrorClass::Masterdown => "masterdown",
            ErrorClass::Noreplicas => "noreplicas",
            ErrorClass::Oom => "oom",
            ErrorClass::Noperm => "noperm",
            ErrorClass::Throttled => "throttled",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Does this error mean the connection (or the node behind it) is no
    /// longer usable, so the next operation should reconnect / re-resolve?
    pub fn breaks_connection(self) -> bool {
        matches!(
            self,
            ErrorClass::Timeout
                | ErrorClass::Refused
                | ErrorClass::Readonly
                | ErrorClass::Masterdown
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    pub class: ErrorClass,
    pub message: String,
}

impl OpError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }

    pub fn timeout() -> Self {
        Self::new(
            ErrorClass::Timeout,
            "no answer within the operation timeout",
        )
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.name(), self.message)
    }
}

/// Classify a redis-rs error.
pub fn classify_redis(e: &redis::RedisError) -> OpError {
    let class = match e.code() {
        Some("READONLY") => ErrorClass::Readonly,
        Some("LOADING") => ErrorClass::Loading,
        Some("MASTERDOWN") => ErrorClass::Masterdown,
        Some("NOREPLICAS") => ErrorClass::Noreplicas,
        Some("OOM") => ErrorClass::Oom,
        Some("NOPERM") => ErrorClass::Noperm,
        Some("MOVED" | "ASK" | "CLUSTERDOWN" | "TRYAGAIN") => ErrorClass::Cluster,
        _ if e.is_timeout() => ErrorClass::Timeout,
        _ if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() => {
            ErrorClass::Refused
        }
        _ => ErrorClass::Other,
    };
    OpError::new(class, e.to_string())
}

/// `call`, or a timeout error once `limit` has passed.
pub async fn bounded<T>(
    limit: std::time::Duration,
    call: impl Future<Output = Result<T, OpError>>,
) -> Result<T, OpError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(OpError::timeout()))
}
