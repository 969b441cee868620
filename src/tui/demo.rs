//! `sessiondrill demo`: the scenario's captions, each shown once it is due
//! (its time into the load, or its fault injected) while the load runs.

use crate::drill::Drill;
use crate::faults::FaultRecord;
use crate::scenario::captions::{Caption, CaptionAt};

use super::state::{Shown, State};

/// The captions of a demo, and those shown (by index).
#[derive(Default)]
pub struct Captions {
    pub list: Vec<Caption>,
    shown: Vec<usize>,
}

impl Captions {
    pub fn new(list: Vec<Caption>) -> Self {
        Self {
            list,
            shown: Vec::new(),
        }
    }

    /// `demo`: show the next caption once it is due (its time into the
    /// load, or its fault injected); one that waits pauses the load until
    /// a key is pressed.
    pub fn next(&mut self, d: &Drill, records: &[FaultRecord], state: &mut State) {
        // Only while the load runs: a fault that fires in the drain or the
        // sweep does not pause a load that is over.
        if state.phase() != crate::metrics::Phase::Load
            || state.caption.as_ref().is_some_and(|c| c.waiting)
        {
            return;
        }
        let Some(start) = state
            .events
            .iter()
            .find(|e| e.kind == "load-started")
            .map(|e| e.t_ms)
        else {
            return;
        };
        let fired = records.iter().filter(|r| r.fired).count();
        // The first caption due not yet shown: one whose fault never fires
        // does not hold back those after it.
        let Some(i) = (0..self.list.len()).find(|&i| {
            !self.shown.contains(&i)
                && match self.list[i].when {
                    CaptionAt::Time(t) => state.snapshot.elapsed_ms >= start + t.as_millis() as u64,
                    CaptionAt::AfterFault(n) => fired >= n,
                }
        }) else {
            return;
        };
        let c = &self.list[i];
        let resumes = c.wait && !d.control().is_paused();
        if c.wait {
            d.control().set_paused(true);
        }
        self.shown.push(i);
        state.caption = Some(Shown {
            text: c.text.clone(),
            waiting: c.wait,
            resumes,
            number: i + 1,
            of: self.list.len(),
        });
    }
}
