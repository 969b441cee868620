//! The strategies: how an application keeps sessions, what each one's
//! operations mean to the checker, and which backends (topology nodes) it
//! reaches — the one place that says so.

use super::updates::Flavour;
use crate::topology::KindName;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::VariantArray,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "kebab-case")]
pub enum StrategyKind {
    Redis,
    Dynamodb,
    WriteThrough,
    /// Write-through without its ordering race: each copy keeps the newest
    /// version (a script; a `ConditionExpression`).
    WriteThroughVersioned,
    CacheAside,
    /// Cache-aside without the stale-set race: version markers instead of
    /// DEL, populate only if not older.
    CacheAsideVersioned,
    Memcached,
    /// Seed 003's Redis patterns: WebSocket connection ↔ session map.
    RedisConnmap,
    /// Online presence (who is chatting) in sorted sets.
    RedisPresence,
    /// `SET NX` session lock with a lease.
    RedisLock,
    /// Sliding-window rate limiter on a sorted set.
    RedisRateLimit,
    /// DynamoDB through a DAX cluster: GetItem via the item cache.
    Dax,
    /// DynamoDB through DAX, sessions read by Query (the query cache).
    DaxQuery,
    /// DynamoDB through DAX, Query with `ConsistentRead` (bypasses DAX).
    DaxConsistent,
    /// Read-modify-write updates ([`super::updates`]): GET then SET.
    RedisBlindUpdate,
    /// Compare-and-set script, retried on a conflict.
    RedisOptimisticUpdate,
    /// One script appends the update.
    RedisAtomicUpdate,
    /// GetItem then PutItem.
    DynamodbBlindUpdate,
    /// PutItem with a `ConditionExpression` on what was read, retried.
    DynamodbOptimisticUpdate,
    /// `UpdateItem` with `list_append`.
    DynamodbAtomicUpdate,
}

/// What a strategy's operations mean and what the checker proves of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// Writes, reads and deletes of a value: lost / stale / resurrected.
    Session,
    /// Writes are acquires (set if absent, with a lease), deletes release:
    /// an acquire granted while an acknowledged lease is live is a
    /// violation (two holders).
    Lock,
    /// Every operation is one request of customer `id`: an admit beyond
    /// the limit within the window is a violation.
    RateLimit,
}

impl StrategyKind {
    pub const ALL: &'static [StrategyKind] = <StrategyKind as strum::VariantArray>::VARIANTS;

    /// As `strategies:` and the report name it (`write-through`).
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn semantics(self) -> Semantics {
        match self {
            StrategyKind::RedisLock => Semantics::Lock,
            StrategyKind::RedisRateLimit => Semantics::RateLimit,
            StrategyKind::Redis
            | StrategyKind::Dynamodb
            | StrategyKind::WriteThrough
            | StrategyKind::WriteThroughVersioned
            | StrategyKind::CacheAside
            | StrategyKind::CacheAsideVersioned
            | StrategyKind::Memcached
            | StrategyKind::RedisConnmap
            | StrategyKind::RedisPresence
            | StrategyKind::Dax
            | StrategyKind::DaxQuery
            | StrategyKind::DaxConsistent
            | StrategyKind::RedisBlindUpdate
            | StrategyKind::RedisOptimisticUpdate
            | StrategyKind::RedisAtomicUpdate
            | StrategyKind::DynamodbBlindUpdate
            | StrategyKind::DynamodbOptimisticUpdate
            | StrategyKind::DynamodbAtomicUpdate => Semantics::Session,
        }
    }

    /// How its writes update a session, for the read-modify-write
    /// strategies (their reads are also checked for lost updates).
    pub fn update_flavour(self) -> Option<Flavour> {
        match self {
            StrategyKind::RedisBlindUpdate | StrategyKind::DynamodbBlindUpdate => {
                Some(Flavour::Blind)
            }
            StrategyKind::RedisOptimisticUpdate | StrategyKind::DynamodbOptimisticUpdate => {
                Some(Flavour::Optimistic)
            }
            StrategyKind::RedisAtomicUpdate | StrategyKind::DynamodbAtomicUpdate => {
                Some(Flavour::Atomic)
            }
            StrategyKind::Redis
            | StrategyKind::Dynamodb
            | StrategyKind::WriteThrough
            | StrategyKind::WriteThroughVersioned
            | StrategyKind::CacheAside
            | StrategyKind::CacheAsideVersioned
            | StrategyKind::Memcached
            | StrategyKind::RedisConnmap
            | StrategyKind::RedisPresence
            | StrategyKind::RedisLock
            | StrategyKind::RedisRateLimit
            | StrategyKind::Dax
            | StrategyKind::DaxQuery
            | StrategyKind::DaxConsistent => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == s)
    }

    /// The backends its operations reach, each a topology node the
    /// scenario names (or the first of its kind). A DAX strategy also
    /// reaches the DynamoDB node behind the DAX node, through it.
    pub fn backends(self) -> &'static [Backend] {
        match self {
            StrategyKind::Redis
            | StrategyKind::RedisConnmap
            | StrategyKind::RedisPresence
            | StrategyKind::RedisLock
            | StrategyKind::RedisRateLimit
            | StrategyKind::RedisBlindUpdate
            | StrategyKind::RedisOptimisticUpdate
            | StrategyKind::RedisAtomicUpdate => &[Backend::Redis],
            StrategyKind::Dynamodb
            | StrategyKind::DynamodbBlindUpdate
            | StrategyKind::DynamodbOptimisticUpdate
            | StrategyKind::DynamodbAtomicUpdate => &[Backend::Dynamodb],
            StrategyKind::WriteThrough
            | StrategyKind::WriteThroughVersioned
            | StrategyKind::CacheAside
            | StrategyKind::CacheAsideVersioned => &[Backend::Redis, Backend::Dynamodb],
            StrategyKind::Memcached => &[Backend::Memcached],
            StrategyKind::Dax | StrategyKind::DaxQuery | StrategyKind::DaxConsistent => {
                &[Backend::Dax]
            }
        }
    }

    /// How many stores a bulk prefill writes for it (write-through: both);
    /// 0: it takes none (memcached's text protocol has no pipelined
    /// write here yet; the patterns keep no sessions).
    pub fn bulk_copies(self) -> u64 {
        match self {
            StrategyKind::WriteThrough | StrategyKind::WriteThroughVersioned => 2,
            StrategyKind::Redis
            | StrategyKind::Dynamodb
            | StrategyKind::CacheAside
            | StrategyKind::CacheAsideVersioned
            | StrategyKind::Dax
            | StrategyKind::DaxQuery
            | StrategyKind::DaxConsistent
            | StrategyKind::RedisBlindUpdate
            | StrategyKind::RedisOptimisticUpdate
            | StrategyKind::RedisAtomicUpdate
            | StrategyKind::DynamodbBlindUpdate
            | StrategyKind::DynamodbOptimisticUpdate
            | StrategyKind::DynamodbAtomicUpdate => 1,
            StrategyKind::Memcached
            | StrategyKind::RedisConnmap
            | StrategyKind::RedisPresence
            | StrategyKind::RedisLock
            | StrategyKind::RedisRateLimit => 0,
        }
    }

    pub fn uses(self, b: Backend) -> bool {
        self.backends().contains(&b)
    }
}

/// A kind of store a strategy talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    Redis,
    Dynamodb,
    Dax,
    Memcached,
}

impl Backend {
    pub const ALL: [Backend; 4] = [
        Backend::Redis,
        Backend::Dynamodb,
        Backend::Dax,
        Backend::Memcached,
    ];

    /// As a scenario's `targets:` key names it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Redis => "redis",
            Backend::Dynamodb => "dynamodb",
            Backend::Dax => "dax",
            Backend::Memcached => "memcached",
        }
    }

    pub fn parse(s: &str) -> Option<Backend> {
        Self::ALL.into_iter().find(|b| b.name() == s)
    }

    /// Can a topology node of `kind` serve it?
    pub fn served_by(self, kind: KindName) -> bool {
        match self {
            Backend::Redis => kind.is_redis(),
            Backend::Dynamodb => kind == KindName::Dynamodb,
            Backend::Dax => kind == KindName::Dax,
            Backend::Memcached => kind == KindName::Memcached,
        }
    }
}

/// The topology node each backend uses.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub redis: Option<String>,
    pub dynamodb: Option<String>,
    pub dax: Option<String>,
    pub memcached: Option<String>,
}

impl Targets {
    /// Set the node `b` uses.
    pub fn set(&mut self, b: Backend, node: Option<String>) {
        let slot = match b {
            Backend::Redis => &mut self.redis,
            Backend::Dynamodb => &mut self.dynamodb,
            Backend::Dax => &mut self.dax,
            Backend::Memcached => &mut self.memcached,
        };
        *slot = node;
    }

    /// The node `b` uses, if the topology has one.
    pub fn of(&self, b: Backend) -> Option<&str> {
        match b {
            Backend::Redis => self.redis.as_deref(),
            Backend::Dynamodb => self.dynamodb.as_deref(),
            Backend::Dax => self.dax.as_deref(),
            Backend::Memcached => self.memcached.as_deref(),
        }
    }
}
