//! The clouds' faults around the load: before it, each timeline entry
//! checks (and creates) what it needs in AWS — a template that does not
//! exist, a permission missing, no credentials: the run ends before any
//! load, at the entry's FILE:LINE:COL (exit 2); after the run, what was
//! created is removed.

use crate::faults::behaviour::{BeforeLoad, Leftover};
use crate::report::ExternalCleanup;
use crate::scenario::Scenario;
use crate::topology::Aws;
use crate::yaml::{FileError, Problem};

/// Check every entry of the timeline before the load; what was created.
/// On an error, what was created so far is removed first.
pub async fn before_load(
    scenario: &mut Scenario,
    run_id: &str,
) -> Result<Vec<Leftover>, FileError> {
    let mut made = Vec::new();
    for (i, e) in scenario.timeline.iter_mut().enumerate() {
        let cx = BeforeLoad {
            aws: &scenario.topology.aws,
            run_id,
            duration: e.fault.duration,
        };
        let what = e.fault.to_string();
        match e.fault.action.before_load(&cx).await {
            Ok(l) => made.extend(l),
            Err(why) => {
                if let Some(ExternalCleanup { error: Some(e), .. }) =
                    remove(&made, &scenario.topology.aws, run_id).await
                {
                    tracing::warn!("{e}");
                    eprintln!("warning: {e}");
                }
                return Err(FileError {
                    file: scenario.source.clone(),
                    problems: vec![Problem::new(
                        e.pos,
                        format!("timeline[{i}]"),
                        format!("`{what}`: {why} (nothing was started)"),
                    )],
                });
            }
        }
    }
    Ok(made)
}

/// Remove what the faults created, and stop an experiment of the run
/// still running (its heal did not take: an error of the run): how that
/// went, as a line of the report's cleanup (`None` when there was
/// nothing to do).
pub async fn remove(made: &[Leftover], aws: &Aws, run_id: &str) -> Option<ExternalCleanup> {
    let mut removed = 0;
    let mut errors = Vec::new();
    for l in made {
        match l.remove(aws).await {
            Ok(_) => removed += 1,
            Err(e) => errors.push(e),
        }
    }
    let running = crate::cloud::live::running(Some(run_id));
    if !running.is_empty() {
        let said = crate::cloud::live::end(Some(run_id), STOP_LIMIT).await;
        errors.push(format!(
            "experiment(s) {} still running at the end: {}",
            running.join(", "),
            said.join("; ")
        ));
    }
    if made.is_empty() && errors.is_empty() {
        return None;
    }
    Some(ExternalCleanup {
        node: "aws".into(),
        removed,
        left: errors.len() as u64,
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    })
}

/// How long the stragglers' stop may take.
const STOP_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);
