//! The scenario's `captions:`, for `sessiondrill demo`: words shown over
//! the dashboard at a time into the load or once the Nth fault has been
//! injected, each optionally pausing the load until a key is pressed.

use std::time::Duration;

use super::spec::CaptionSpec;
use crate::faults::TimelineEntry;
use crate::yaml::Problems;

#[derive(Debug, Clone, PartialEq)]
pub struct Caption {
    pub when: CaptionAt,
    pub text: String,
    /// Pause the load until a key is pressed.
    pub wait: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CaptionAt {
    /// This far into the load.
    Time(Duration),
    /// Once this many faults have been injected (1: the first).
    AfterFault(usize),
}

/// Check `specs` against the load's length and the timeline's injections.
pub(crate) fn validate(
    c: &mut Problems<'_>,
    specs: &[CaptionSpec],
    timeline: &[TimelineEntry],
    load: Duration,
) -> Vec<Caption> {
    let injections = crate::faults::timeline::expand(timeline).len();
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let path = |field: &str| format!("captions[{i}].{field}");
        if s.text.trim().is_empty() {
            c.at(&path("text"), "say something: the caption's text is empty");
        }
        let when = match (&s.at, s.after_fault) {
            (Some(at), None) => match humantime::parse_duration(at) {
                Ok(d) if d < load => CaptionAt::Time(d),
                Ok(d) => {
                    c.at(
                        &path("at"),
                        format!(
                            "{} is not within the load ({})",
                            humantime::format_duration(d),
                            humantime::format_duration(load)
                        ),
                    );
                    continue;
                }
                Err(e) => {
                    c.at(
                        &path("at"),
                        format!("{e}: expected an offset into the load like 0s, 5s, 1500ms"),
                    );
                    continue;
                }
            },
            (None, Some(n)) if n >= 1 && n <= injections => CaptionAt::AfterFault(n),
            (None, Some(n)) => {
                c.at(
                    &path("after_fault"),
                    format!(
                        "after_fault {n}: the timeline injects {injections} fault(s); count from 1"
                    ),
                );
                continue;
            }
            (Some(_), Some(_)) | (None, None) => {
                c.at(
                    &path("text"),
                    "give either `at` (a time into the load) or `after_fault` (the Nth fault injected), not both",
                );
                continue;
            }
        };
        out.push(Caption {
            when,
            text: s.text.trim().to_string(),
            wait: s.wait,
        });
    }
    out
}
