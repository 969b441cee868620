//! What a node that was started again answered while it read its data
//! back: how long it said `LOADING` as the observer saw it, and what the
//! clients were answered meanwhile, as they saw it.

use serde::{Deserialize, Serialize};

/// From the first `loading` event of one of `processes` at or after
/// `at_ms` to that node's next state event, when it is `loaded`; `None`
/// when it went down again first, never finished, or never loaded
/// (within the observer's 100 ms between looks).
pub(super) fn loading_ms(
    events: &[crate::events::Event],
    processes: &[String],
    at_ms: u64,
) -> Option<u64> {
    let (i, start) = events
        .iter()
        .enumerate()
        .find(|(_, e)| e.kind == "loading" && e.t_ms >= at_ms && processes.contains(&e.node))?;
    let next = events[i + 1..].iter().find(|e| {
        e.node == start.node && matches!(e.kind.as_str(), "loaded" | "node-down" | "loading")
    })?;
    (next.kind == "loaded").then(|| next.t_ms - start.t_ms)
}

/// Operations answered `LOADING` in a fault's window, as the clients saw
/// them (to [`crate::metrics::WRITE_SLOT`]: 10 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadingAnswers {
    pub count: u64,
    /// The start of the 10 ms slot the first came in, and the end of the
    /// last's, ms after the fault.
    pub first_ms: u64,
    pub last_ms: u64,
    /// Operations served (answered without an error) in the slots strictly
    /// between the first's and the last's: by a fallback or another node;
    /// none from a lone Redis that is loading.
    pub served: u64,
}

/// The `LOADING` answers from `from_ms` to `to_ms` (since the run start),
/// and what was served between the first and the last, from the counts
/// per [`crate::metrics::WRITE_SLOT`] of completion.
pub(super) fn answers(
    loading: &[u32],
    served: &[u32],
    from_ms: u64,
    to_ms: u64,
) -> Option<LoadingAnswers> {
    let slot_ms = crate::metrics::WRITE_SLOT.as_millis() as u64;
    let (a, b) = (
        (from_ms / slot_ms) as usize,
        to_ms.div_ceil(slot_ms) as usize,
    );
    let within = loading.get(a..b.min(loading.len()))?;
    let first = a + within.iter().position(|&n| n > 0)?;
    let last = a + within.iter().rposition(|&n| n > 0)?;
    let sum = |v: &[u32], x: usize, y: usize| -> u64 {
        v.get(x..y.min(v.len()))
            .unwrap_or_default()
            .iter()
            .map(|&n| n as u64)
            .sum()
    };
    let after = |slot: usize| (slot as u64 * slot_ms).saturating_sub(from_ms);
    Some(LoadingAnswers {
        count: sum(loading, first, last + 1),
        first_ms: after(first),
        last_ms: after(last + 1),
        // Strictly between the slots of the first and the last: the
        // slot of the last may hold answers after loading ended.
        served: sum(served, first + 1, last),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_answers_are_counted_in_the_window_with_what_was_served_between() {
        // 10 ms slots: LOADING answered in slots 102, 103 and 110; served
        // in 100 (before), 105 (between) and 110 (the last's slot: maybe
        // after it ended) and 111.
        let mut loading = vec![0; 120];
        loading[102] = 2;
        loading[103] = 1;
        loading[110] = 4;
        let mut served = vec![0; 120];
        served[100] = 9;
        served[105] = 3;
        served[110] = 5;
        served[111] = 7;
        let got = answers(&loading, &served, 1000, 1200).unwrap();
        assert_eq!(
            got,
            LoadingAnswers {
                count: 7,
                first_ms: 20,
                last_ms: 110,
                served: 3,
            }
        );
        // Outside the window, or none at all: nothing to say.
        assert_eq!(answers(&loading, &served, 1110, 1200), None);
        assert_eq!(answers(&[], &served, 0, 1200), None);
        // A window cut in the middle counts only its own.
        let cut = answers(&loading, &served, 1000, 1040).unwrap();
        assert_eq!((cut.count, cut.last_ms), (3, 40));
    }
}
