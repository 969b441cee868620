//! The operation history (`run --history FILE.jsonl`): every operation of
//! the load as an invocation and a completion, every read of the checker
//! (checkpoints and the final sweep) likewise, and the faults, on one
//! clock (µs since the run started) — the raw material an external
//! checker (Jepsen's Elle, a script) judges without trusting ours.
//!
//! Records are kept compact in memory and written as JSON lines in time
//! order at the end; past `limit` lines the rest is counted, not kept, and
//! the file says so in its last line.

use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};

use crate::metrics::OpKind;
use crate::store::ErrorClass;

/// Lines kept at most unless told otherwise (about 150 bytes each).
pub const DEFAULT_LIMIT: usize = 1_000_000;

/// One operation of the load.
#[derive(Debug, Clone, Copy)]
pub struct OpRec {
    pub strategy: usize,
    pub op: OpKind,
    pub session: u64,
    pub intended: Instant,
    pub started: Instant,
    pub end: Instant,
    pub error: Option<ErrorClass>,
    /// Writes: the version sent; reads: the version found (`None`:
    /// nothing, or a value that is not ours).
    pub version: Option<u64>,
}

/// One read of the checker.
#[derive(Debug, Clone, Copy)]
pub struct CheckRead {
    pub strategy: usize,
    /// The fault whose checkpoint it was (`None`: the final sweep).
    pub fault: Option<usize>,
    pub session: u64,
    pub invoked: Instant,
    pub at: Instant,
    pub version: Option<u64>,
}

#[derive(Debug, Default)]
struct Kept {
    ops: Vec<OpRec>,
    reads: Vec<CheckRead>,
    /// Records not kept (two lines each).
    dropped: u64,
}

/// The history of one run, filled as it goes.
#[derive(Debug)]
pub struct History {
    origin: Instant,
    /// Records kept at most (two lines each).
    limit: usize,
    kept: Mutex<Kept>,
}

impl History {
    /// `origin`: the run's time origin; `lines`: how many lines to keep.
    pub fn new(origin: Instant, lines: usize) -> History {
        History {
            origin,
            limit: lines / 2,
            kept: Mutex::default(),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn op(&self, r: OpRec) {
        let mut k = self.kept();
        if k.ops.len() + k.reads.len() < self.limit {
            k.ops.push(r);
        } else {
            k.dropped += 1;
        }
    }

    pub fn read(&self, r: CheckRead) {
        let mut k = self.kept();
        if k.ops.len() + k.reads.len() < self.limit {
            k.reads.push(r);
        } else {
            k.dropped += 1;
        }
    }

    fn us(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.origin).as_micros() as u64
    }

    /// Every line, in time order (an invocation before a completion at
    /// the same µs), with `nemesis` lines (µs, `start`/`stop`, what) among
    /// them, and a last line saying how many records were not kept.
    /// `strategies`: the names by index.
    pub fn lines(&self, strategies: &[String], nemesis: &[(u64, &str, String)]) -> Vec<Value> {
        let k = self.kept();
        let name = |i: usize| strategies.get(i).cloned().unwrap_or_default();
        // (time, completion?, line)
        let mut lines: Vec<(u64, bool, Value)> =
            Vec::with_capacity(2 * (k.ops.len() + k.reads.len()) + nemesis.len());
        for o in &k.ops {
            let f = match o.op {
                OpKind::Create | OpKind::Update => "write",
                OpKind::Read => "read",
                OpKind::Delete => "delete",
            };
            let sent = match o.op {
                OpKind::Create | OpKind::Update => {
                    o.version.map(Value::from).unwrap_or(Value::Null)
                }
                OpKind::Read | OpKind::Delete => Value::Null,
            };
            lines.push((
                self.us(o.started),
                false,
                json!({
                    "time": self.us(o.started), "intended": self.us(o.intended),
                    "process": o.session, "strategy": name(o.strategy), "type": "invoke",
                    "f": f, "op": o.op.name(), "key": o.session, "value": sent,
                }),
            ));
            // A read that failed did nothing; a write or delete that failed
            // may still have happened (Jepsen's `info`).
            let (kind, value) = match (o.error, o.op) {
                (None, OpKind::Read) => ("ok", o.version.map(Value::from).unwrap_or(Value::Null)),
                (None, _) => ("ok", sent),
                (Some(_), OpKind::Read) => ("fail", Value::Null),
                (Some(_), _) => ("info", sent),
            };
            let mut done = json!({
                "time": self.us(o.end), "process": o.session, "strategy": name(o.strategy),
                "type": kind, "f": f, "op": o.op.name(), "key": o.session, "value": value,
            });
            if let Some(e) = o.error {
                done["error"] = e.name().into();
            }
            lines.push((self.us(o.end), true, done));
        }
        for r in &k.reads {
            let phase = match r.fault {
                Some(f) => json!({ "checkpoint": f }),
                None => json!("final"),
            };
            let base = |time: u64, kind: &str, value: Value| {
                json!({
                    "time": time, "process": "checker", "strategy": name(r.strategy),
                    "type": kind, "f": "read", "key": r.session, "value": value, "phase": phase,
                })
            };
            lines.push((
                self.us(r.invoked),
                false,
                base(self.us(r.invoked), "invoke", Value::Null),
            ));
            let found = r.version.map(Value::from).unwrap_or(Value::Null);
            lines.push((self.us(r.at), true, base(self.us(r.at), "ok", found)));
        }
        for (t, f, what) in nemesis {
            lines.push((
                *t,
                *f == "stop",
                json!({ "time": t, "process": "nemesis", "type": "info", "f": f, "value": what }),
            ));
        }
        lines.sort_by_key(|(t, done, _)| (*t, *done));
        let end = lines.last().map_or(0, |(t, _, _)| *t);
        let mut out: Vec<Value> = lines.into_iter().map(|(_, _, l)| l).collect();
        if k.dropped > 0 {
            out.push(json!({
                "time": end, "process": "sessiondrill", "type": "info", "f": "history-cut",
                "value": format!("{} more operations and reads were not kept (limit {} lines)", k.dropped, 2 * self.limit),
            }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_operation_is_an_invocation_and_a_completion_in_time_order() {
        let t0 = Instant::now();
        let h = History::new(t0, 100);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        h.op(OpRec {
            strategy: 0,
            op: OpKind::Update,
            session: 7,
            intended: at(1),
            started: at(2),
            end: at(5),
            error: None,
            version: Some(3),
        });
        h.op(OpRec {
            strategy: 0,
            op: OpKind::Read,
            session: 7,
            intended: at(3),
            started: at(3),
            end: at(4),
            error: Some(ErrorClass::Timeout),
            version: None,
        });
        h.read(CheckRead {
            strategy: 0,
            fault: None,
            session: 7,
            invoked: at(9),
            at: at(10),
            version: Some(3),
        });
        let lines = h.lines(&["redis".into()], &[(6_000, "start", "kill redis".into())]);
        let kinds: Vec<(u64, &str, &str)> = lines
            .iter()
            .map(|l| {
                (
                    l["time"].as_u64().unwrap(),
                    l["type"].as_str().unwrap(),
                    l["f"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (2_000, "invoke", "write"),
                (3_000, "invoke", "read"),
                (4_000, "fail", "read"),
                (5_000, "ok", "write"),
                (6_000, "info", "start"),
                (9_000, "invoke", "read"),
                (10_000, "ok", "read"),
            ]
        );
        assert_eq!(lines[0]["intended"], 1_000);
        assert_eq!(lines[3]["value"], 3);
        assert_eq!(lines[2]["error"], "timeout");
        assert_eq!(lines[6]["process"], "checker");
        assert_eq!(lines[6]["phase"], "final");
    }

    #[test]
    fn past_its_limit_it_counts_and_says_so() {
        let t0 = Instant::now();
        let h = History::new(t0, 4);
        for s in 0..5 {
            h.read(CheckRead {
                strategy: 0,
                fault: Some(0),
                session: s,
                invoked: t0,
                at: t0,
                version: None,
            });
        }
        let lines = h.lines(&["redis".into()], &[]);
        assert_eq!(lines.len(), 5);
        let last = lines.last().unwrap();
        assert_eq!(last["f"], "history-cut");
        assert!(
            last["value"].as_str().unwrap().starts_with("3 more"),
            "{last}"
        );
    }
}
