//! The operation history (`run --history FILE.jsonl`): every operation of
//! the load as an invocation and a completion, every read of the checker
//! (checkpoints and the final sweep) likewise, and the faults, on one
//! clock (µs since the run started) — the raw material an external
//! checker (Jepsen's Elle, a script) judges without trusting ours.
//!
//! Records are kept compact in memory (about 90 bytes each) and written as
//! JSON lines in time order at the end, one line at a time. Past `limit`
//! lines of the load the rest is counted, not kept; the checker's reads
//! have a budget of their own (so that a cut load can still be judged as
//! far as it goes), and the file says in its last line what was cut.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};

use crate::check::Purpose;
use crate::metrics::OpKind;
use crate::store::ErrorClass;

/// Lines of the load kept at most unless told otherwise (about 130 bytes
/// each in the file).
pub const DEFAULT_LIMIT: usize = 1_000_000;

/// Which part of the run an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Writes before the timed load (`workload.prefill`): not in the
    /// report's operation counts.
    Prefill,
    Load,
    /// Still in flight when the drain gave up on it: not in the report's
    /// counts; what it sent may still land.
    Abandoned,
}

/// One operation of the load.
#[derive(Debug, Clone, Copy)]
pub struct OpRec {
    pub strategy: usize,
    pub op: OpKind,
    pub session: u64,
    pub intended: Instant,
    /// From when it had the session (and was sent) to when its answer was
    /// recorded.
    pub started: Instant,
    pub end: Instant,
    pub error: Option<ErrorClass>,
    /// Writes: the version sent; reads: the version found (`None`:
    /// nothing, or a value that is not ours).
    pub version: Option<u64>,
    pub phase: Phase,
}

/// One read of the checker.
#[derive(Debug, Clone, Copy)]
pub struct CheckRead {
    pub strategy: usize,
    /// Which sweep of the checker it was part of.
    pub sweep: Purpose,
    pub session: u64,
    pub invoked: Instant,
    pub at: Instant,
    pub version: Option<u64>,
}

#[derive(Debug, Default)]
struct Kept {
    ops: Vec<OpRec>,
    reads: Vec<CheckRead>,
    /// Operations and reads not kept (two lines each).
    dropped_ops: u64,
    dropped_reads: u64,
}

/// The history of one run, filled as it goes.
#[derive(Debug)]
pub struct History {
    origin: Instant,
    /// Records kept at most, of the load and of the checker each (two
    /// lines a record).
    limit: usize,
    kept: Mutex<Kept>,
}

/// What a line is, for the sort: (ns, invocation?, which, index) — a
/// completion before an invocation at the same time, so that one
/// session's next operation never seems to start before the last ended.
type Key = (u64, bool, u8, u32);

impl History {
    /// `origin`: the run's time origin; `lines`: how many lines of the
    /// load to keep (and as many of the checker's reads).
    pub fn new(origin: Instant, lines: usize) -> History {
        History {
            origin,
            limit: (lines / 2).min(u32::MAX as usize),
            kept: Mutex::default(),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn op(&self, r: OpRec) {
        let mut k = self.kept();
        if k.ops.len() < self.limit {
            k.ops.push(r);
        } else {
            k.dropped_ops += 1;
        }
    }

    pub fn read(&self, r: CheckRead) {
        let mut k = self.kept();
        if k.reads.len() < self.limit {
            k.reads.push(r);
        } else {
            k.dropped_reads += 1;
        }
    }

    fn us(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.origin).as_micros() as u64
    }

    fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.origin).as_nanos() as u64
    }

    /// Write every line to `w`, in time order (an invocation before a
    /// completion at the same µs), with `nemesis` lines (µs, `start` or
    /// `stop`, what) among them, and a last line saying what was not
    /// kept. `strategies`: the names by index. How many lines.
    pub fn write(
        &self,
        w: &mut impl Write,
        strategies: &[String],
        nemesis: &[(u64, &str, String)],
    ) -> std::io::Result<usize> {
        let k = self.kept();
        let name = |i: usize| strategies.get(i).map_or("", String::as_str);
        let mut keys: Vec<Key> =
            Vec::with_capacity(2 * (k.ops.len() + k.reads.len()) + nemesis.len());
        for (i, o) in k.ops.iter().enumerate() {
            keys.push((self.ns(o.started), true, 0, i as u32));
            keys.push((self.ns(o.end), false, 0, i as u32));
        }
        for (i, r) in k.reads.iter().enumerate() {
            keys.push((self.ns(r.invoked), true, 1, i as u32));
            keys.push((self.ns(r.at), false, 1, i as u32));
        }
        for (i, (t, f, _)) in nemesis.iter().enumerate() {
            keys.push((t * 1000, *f == "start", 2, i as u32));
        }
        keys.sort_unstable();
        let process = processes(&k.ops, |t| self.us(t));
        let mut n = 0;
        let mut line = |v: Value| -> std::io::Result<()> {
            serde_json::to_writer(&mut *w, &v).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
            n += 1;
            Ok(())
        };
        for &(ns, invocation, which, i) in &keys {
            let (t, done, i) = (ns / 1000, !invocation, i as usize);
            match which {
                0 => line(op_line(
                    &k.ops[i],
                    process[i],
                    name(k.ops[i].strategy),
                    t,
                    done,
                ))?,
                1 => {
                    let r = &k.reads[i];
                    let phase = match r.sweep {
                        Purpose::Checkpoint(f) => json!({ "checkpoint": f }),
                        Purpose::ReadFirst => json!("read-first"),
                        Purpose::Final => json!("final"),
                    };
                    let (kind, value) = if done {
                        ("ok", r.version.map_or(Value::Null, Value::from))
                    } else {
                        ("invoke", Value::Null)
                    };
                    line(json!({
                        "time": t, "process": format!("checker-{i}"), "strategy": name(r.strategy),
                        "type": kind, "f": "read", "key": r.session, "value": value, "phase": phase,
                    }))?
                }
                _ => {
                    let (_, f, what) = &nemesis[i];
                    line(
                        json!({ "time": t, "process": "nemesis", "type": "info", "f": f, "value": what }),
                    )?
                }
            }
        }
        if k.dropped_ops + k.dropped_reads > 0 {
            let end = keys.last().map_or(0, |key| key.0 / 1000);
            line(json!({
                "time": end, "process": "sessiondrill", "type": "info", "f": "history-cut",
                "value": format!(
                    "{} operations and {} reads of the checker were not kept (limit {} lines each)",
                    k.dropped_ops, k.dropped_reads, 2 * self.limit
                ),
            }))?;
        }
        Ok(n)
    }
}

/// Each operation's process: its session's number, a new one (session +
/// k × sessions) after every operation of the session that may or may not
/// have happened (`info`), as Jepsen numbers a process after a crash.
fn processes(ops: &[OpRec], us: impl Fn(Instant) -> u64) -> Vec<u64> {
    let stride = ops.iter().map(|o| o.session + 1).max().unwrap_or(1);
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| (ops[i].strategy, ops[i].session, us(ops[i].started)));
    let mut crashed: HashMap<(usize, u64), u64> = HashMap::new();
    let mut out = vec![0; ops.len()];
    for i in order {
        let o = &ops[i];
        let k = crashed.entry((o.strategy, o.session)).or_default();
        out[i] = o.session + *k * stride;
        if completion(o).0 == "info" {
            *k += 1;
        }
    }
    out
}

/// An operation's completion: Jepsen's type and the value.
fn completion(o: &OpRec) -> (&'static str, Value) {
    let sent = sent(o);
    match (o.phase, o.error, o.op) {
        (Phase::Abandoned, _, _) => ("info", sent),
        (_, None, OpKind::Read) => ("ok", o.version.map_or(Value::Null, Value::from)),
        (_, None, _) => ("ok", sent),
        // A read that failed did nothing; a write or delete that failed
        // may still have happened.
        (_, Some(_), OpKind::Read) => ("fail", Value::Null),
        (_, Some(_), _) => ("info", sent),
    }
}

fn sent(o: &OpRec) -> Value {
    match o.op {
        OpKind::Create | OpKind::Update => o.version.map_or(Value::Null, Value::from),
        OpKind::Read | OpKind::Delete => Value::Null,
    }
}

fn op_line(o: &OpRec, process: u64, strategy: &str, t: u64, done: bool) -> Value {
    let f = match o.op {
        OpKind::Create | OpKind::Update => "write",
        OpKind::Read => "read",
        OpKind::Delete => "delete",
    };
    let (kind, value) = if done {
        completion(o)
    } else {
        ("invoke", sent(o))
    };
    let mut l = json!({
        "time": t, "process": process, "strategy": strategy, "type": kind,
        "f": f, "op": o.op.name(), "key": o.session, "value": value,
    });
    if !done {
        l["intended"] = json!(
            t.saturating_sub(o.started.saturating_duration_since(o.intended).as_micros() as u64)
        );
    }
    match o.phase {
        Phase::Load => {}
        Phase::Prefill => l["phase"] = "prefill".into(),
        Phase::Abandoned => l["phase"] = "abandoned".into(),
    }
    if done && let Some(e) = o.error.filter(|_| o.phase != Phase::Abandoned) {
        l["error"] = e.name().into();
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn lines(h: &History, nemesis: &[(u64, &str, String)]) -> Vec<Value> {
        let mut out = Vec::new();
        let n = h.write(&mut out, &["redis".into()], nemesis).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), n);
        lines
    }

    fn op(
        t0: Instant,
        op: OpKind,
        ms: [u64; 3],
        error: Option<ErrorClass>,
        version: Option<u64>,
    ) -> OpRec {
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        OpRec {
            strategy: 0,
            op,
            session: 7,
            intended: at(ms[0]),
            started: at(ms[1]),
            end: at(ms[2]),
            error,
            version,
            phase: Phase::Load,
        }
    }

    #[test]
    fn an_operation_is_an_invocation_and_a_completion_in_time_order() {
        let t0 = Instant::now();
        let h = History::new(t0, 100);
        h.op(op(t0, OpKind::Update, [1, 2, 5], None, Some(3)));
        h.op(op(
            t0,
            OpKind::Read,
            [5, 5, 6],
            Some(ErrorClass::Timeout),
            None,
        ));
        h.read(CheckRead {
            strategy: 0,
            sweep: Purpose::Final,
            session: 7,
            invoked: t0 + Duration::from_millis(9),
            at: t0 + Duration::from_millis(10),
            version: Some(3),
        });
        let lines = lines(&h, &[(6_000, "start", "kill redis".into())]);
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
                // A completion and an invocation at the same time: the
                // completion first (and a fault's start before it).
                (5_000, "ok", "write"),
                (5_000, "invoke", "read"),
                (6_000, "fail", "read"),
                (6_000, "info", "start"),
                (9_000, "invoke", "read"),
                (10_000, "ok", "read"),
            ]
        );
        assert_eq!(lines[0]["intended"], 1_000);
        assert_eq!(lines[1]["value"], 3);
        assert_eq!(lines[3]["error"], "timeout");
        assert_eq!(lines[5]["process"], "checker-0");
        assert_eq!(lines[6]["phase"], "final");
    }

    #[test]
    fn each_checker_read_says_which_sweep_it_was() {
        let t0 = Instant::now();
        let h = History::new(t0, 100);
        for (i, sweep) in [Purpose::ReadFirst, Purpose::Checkpoint(2), Purpose::Final]
            .into_iter()
            .enumerate()
        {
            let at = t0 + Duration::from_millis(10 * (i as u64 + 1));
            h.read(CheckRead {
                strategy: 0,
                sweep,
                session: 1,
                invoked: at,
                at: at + Duration::from_millis(1),
                version: Some(1),
            });
        }
        let phases: Vec<String> = lines(&h, &[])
            .iter()
            .filter(|l| l["type"] == "ok")
            .map(|l| l["phase"].to_string())
            .collect();
        assert_eq!(
            phases,
            ["\"read-first\"", "{\"checkpoint\":2}", "\"final\""]
        );
    }

    #[test]
    fn a_process_is_a_new_one_after_an_operation_that_may_have_happened() {
        let t0 = Instant::now();
        let h = History::new(t0, 100);
        h.op(op(
            t0,
            OpKind::Update,
            [1, 1, 2],
            Some(ErrorClass::Timeout),
            Some(1),
        ));
        h.op(op(t0, OpKind::Read, [3, 3, 4], None, Some(1)));
        let mut other = op(t0, OpKind::Read, [3, 3, 4], None, None);
        other.session = 9;
        h.op(other);
        let lines = lines(&h, &[]);
        let of = |key: u64, kind: &str| {
            lines
                .iter()
                .find(|l| l["key"] == key && l["type"] == kind)
                .map(|l| l["process"].as_u64().unwrap())
                .unwrap()
        };
        assert_eq!(of(7, "info"), 7);
        // Sessions 0..=9: the next process of session 7 is 7 + 10.
        assert_eq!(of(7, "ok"), 17);
        assert_eq!(of(9, "ok"), 9);
    }

    #[test]
    fn past_its_limit_it_counts_and_says_so_and_the_checker_keeps_its_own() {
        let t0 = Instant::now();
        let h = History::new(t0, 4);
        for s in 0..5 {
            let mut o = op(t0, OpKind::Read, [0, 0, 1], None, None);
            o.session = s;
            h.op(o);
            h.read(CheckRead {
                strategy: 0,
                sweep: Purpose::Checkpoint(0),
                session: s,
                invoked: t0,
                at: t0,
                version: None,
            });
        }
        let lines = lines(&h, &[]);
        // 2 operations and 2 reads kept, two lines each, and the note.
        assert_eq!(lines.len(), 9);
        let last = lines.last().unwrap();
        assert_eq!(last["f"], "history-cut");
        assert!(
            last["value"]
                .as_str()
                .unwrap()
                .starts_with("3 operations and 3 reads"),
            "{last}"
        );
    }
}
