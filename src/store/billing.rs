//! What a strategy's DynamoDB requests consumed, as the DynamoDB node says
//! (Dynoxide for `engine: embedded`, AWS for an external table): every
//! request asks for `ReturnConsumedCapacity: TOTAL`, and the units its
//! answer names are added to the meter of the operation that sent it. A
//! request that failed is billed nothing (DynamoDB bills no capacity for a
//! throttled or failed request; one that timed out but landed would be
//! billed by AWS and is missed here).
//!
//! The meter is the operation's (a task-local set around one operation of
//! the timed load), so a checkpoint's or the final sweep's reads — the
//! checker's, not the application's — are never billed, and a strategy
//! that writes two stores (write-through) or reads through a cache (a DAX
//! hit consumes 0 units, a miss what DynamoDB says) is billed what it
//! really sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Units are kept in thousandths: DynamoDB answers 0.5 for an eventually
/// consistent read.
const MILLI: f64 = 1000.0;

tokio::task_local! {
    static METER: Arc<Meter>;
}

/// One strategy's meter.
#[derive(Debug, Default)]
pub struct Meter {
    /// Off until the timed load starts (a prefill is not the workload).
    counting: AtomicBool,
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    /// Answers that named no consumed capacity (an engine that does not
    /// implement it): their units are unknown, and the bill says so.
    unreported: AtomicU64,
    /// Operations of the timed load run under this meter: the units are
    /// per one of these.
    ops: AtomicU64,
}

/// What a meter counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Consumed {
    /// DynamoDB requests that read (GetItem, Query) and that wrote
    /// (PutItem, UpdateItem, DeleteItem), answered.
    pub read_requests: u64,
    pub write_requests: u64,
    /// The read and write capacity units their answers named.
    pub read_units: f64,
    pub write_units: f64,
    /// Answers without `ConsumedCapacity`.
    pub unreported: u64,
    /// Operations of the timed load metered (started, whatever became of
    /// them): what the units are per.
    #[serde(default)]
    pub ops: u64,
}

impl Consumed {
    pub fn requests(&self) -> u64 {
        self.read_requests + self.write_requests
    }
}

/// A read or a write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Read,
    Write,
}

impl Meter {
    /// Count from now on.
    pub fn start(&self) {
        self.counting.store(true, Ordering::Relaxed);
    }

    pub fn consumed(&self) -> Consumed {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Consumed {
            read_requests: get(&self.reads),
            write_requests: get(&self.writes),
            read_units: get(&self.read_milli) as f64 / MILLI,
            write_units: get(&self.write_milli) as f64 / MILLI,
            unreported: get(&self.unreported),
            ops: get(&self.ops),
        }
    }

    fn add(&self, side: Side, units: Option<f64>) {
        if !self.counting.load(Ordering::Relaxed) {
            return;
        }
        let (n, milli) = match side {
            Side::Read => (&self.reads, &self.read_milli),
            Side::Write => (&self.writes, &self.write_milli),
        };
        n.fetch_add(1, Ordering::Relaxed);
        match units {
            Some(u) if u.is_finite() && u >= 0.0 => {
                milli.fetch_add((u * MILLI).round() as u64, Ordering::Relaxed);
            }
            _ => {
                self.unreported.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Run `fut` (one operation) with `meter` billed for its requests.
pub async fn metered<F: std::future::Future>(meter: Arc<Meter>, fut: F) -> F::Output {
    if meter.counting.load(Ordering::Relaxed) {
        meter.ops.fetch_add(1, Ordering::Relaxed);
    }
    METER.scope(meter, fut).await
}

/// A DynamoDB answer on `side` named `consumed` (its `ConsumedCapacity`):
/// add it to the running operation's meter, if there is one.
pub fn record(side: Side, consumed: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) {
    let units = consumed.and_then(|c| c.capacity_units());
    let _ = METER.try_with(|m| m.add(side, units));
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::ConsumedCapacity;

    fn units(u: f64) -> ConsumedCapacity {
        ConsumedCapacity::builder().capacity_units(u).build()
    }

    #[tokio::test]
    async fn only_the_operations_meter_counts_and_only_once_started() {
        let m = Arc::new(Meter::default());
        // Outside any operation (the checker's reads): nothing.
        record(Side::Read, Some(&units(1.0)));
        // Before the load starts (a prefill): nothing.
        metered(m.clone(), async { record(Side::Write, Some(&units(1.0))) }).await;
        assert_eq!(m.consumed(), Consumed::default());
        m.start();
        // Outside any operation still nothing, once counting.
        record(Side::Read, Some(&units(1.0)));
        assert_eq!(m.consumed(), Consumed::default());
        metered(m.clone(), async {
            record(Side::Read, Some(&units(0.5)));
            record(Side::Read, Some(&units(1.0)));
            record(Side::Write, Some(&units(2.0)));
            record(Side::Write, None);
        })
        .await;
        let c = m.consumed();
        assert_eq!((c.read_requests, c.write_requests), (2, 2));
        assert_eq!((c.read_units, c.write_units), (1.5, 2.0));
        assert_eq!(c.unreported, 1);
        assert_eq!(c.ops, 1);
    }
}
