//! The events panel's sentences: once a checkpoint has read what a fault
//! did, one line in words ([`crate::report::words`]) with the checkpoint's
//! numbers.

use crate::drill::Drill;
use crate::report::words;

use super::state::State;

/// What the events panel has said about faults so far.
#[derive(Default)]
pub struct Telling {
    /// Checkpoints already said.
    told: usize,
    /// Per fault (its id): each strategy's time with writes failing, as
    /// the engine's snapshot counted it when the fault was first seen.
    failing_at: std::collections::HashMap<usize, Vec<(String, u64)>>,
}

impl Telling {
    /// Each checkpoint taken since the last frame, in words: what the
    /// fault it was taken for did, from the checkpoint's own tally, and how
    /// long each strategy's writes failed from the fault to then (the
    /// snapshot's count of failing time, the report's source too).
    pub fn tell(&mut self, d: &Drill, records: &[crate::faults::FaultRecord], state: &mut State) {
        let failing = |state: &State| -> Vec<(String, u64)> {
            state
                .snapshot
                .strategies
                .iter()
                .map(|s| (s.name.clone(), s.unavailable_ms))
                .collect()
        };
        for r in records {
            self.failing_at
                .entry(r.id)
                .or_insert_with(|| failing(state));
        }
        let taken = d.engine.taken.lock().unwrap_or_else(|p| p.into_inner());
        for cp in taken.iter().skip(self.told) {
            let Some(r) = records.iter().find(|r| r.id == cp.fault) else {
                break; // its record comes with the next frame
            };
            let budget = d
                .scenario
                .topology
                .nodes
                .iter()
                .find(|n| n.name == r.group)
                .map(|n| r.budget(n).rule)
                .unwrap_or_default();
            let before = self.failing_at.get(&r.id).cloned().unwrap_or_default();
            let failed: Vec<(String, u64)> = failing(state)
                .into_iter()
                .map(|(name, now)| {
                    let then = before
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or(now, |(_, t)| *t);
                    (name, now.saturating_sub(then))
                })
                .collect();
            let head = words::head(r.kind.name(), &r.processes, &r.target, r.unsynced_ms);
            state.told.push(crate::events::Event {
                t_ms: cp.resumed_ms,
                kind: "in-words".into(),
                node: r.group.clone(),
                message: words::after_checkpoint(&head, cp, &budget, &failed),
            });
            self.told += 1;
        }
    }
}
