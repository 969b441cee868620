//! AWS Fault Injection Service: experiment templates (an existing one by
//! id, or one written in the scenario, created for the run and deleted
//! after it) and the experiments started from them.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_fis::Client;
use aws_sdk_fis::types::{
    CreateExperimentTemplateActionInput, CreateExperimentTemplateStopConditionInput,
    CreateExperimentTemplateTargetInput, ExperimentStatus, ExperimentTemplateTargetInputFilter,
};
use serde::Deserialize;

use super::AwsPlace;
use super::error_text;
use super::live::{self, Thing};

/// A template body in the scenario's YAML, with FIS's own field names:
/// `roleArn`, `actions`, `targets`, `stopConditions`, `description`,
/// `tags`. A console export's other fields (`id`, `creationTime`,
/// `experimentOptions`, `logConfiguration`, …) are refused by name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateBody {
    #[serde(default)]
    pub description: Option<String>,
    pub role_arn: String,
    pub actions: HashMap<String, ActionBody>,
    #[serde(default)]
    pub targets: HashMap<String, TargetBody>,
    /// None given: `[{source: none}]` (FIS requires one).
    #[serde(default)]
    pub stop_conditions: Vec<StopCondition>,
    #[serde(default)]
    pub tags: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActionBody {
    pub action_id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: HashMap<String, String>,
    #[serde(default)]
    pub targets: HashMap<String, String>,
    #[serde(default)]
    pub start_after: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetBody {
    pub resource_type: String,
    #[serde(default)]
    pub resource_arns: Vec<String>,
    #[serde(default)]
    pub resource_tags: HashMap<String, String>,
    #[serde(default)]
    pub filters: Vec<TargetFilter>,
    pub selection_mode: String,
    #[serde(default)]
    pub parameters: HashMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFilter {
    pub path: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopCondition {
    pub source: String,
    #[serde(default)]
    pub value: Option<String>,
}

impl TemplateBody {
    /// The body with every action that takes a `duration` set to `d`
    /// (ISO 8601, whole seconds rounded up, as FIS writes durations).
    pub fn with_duration(&self, d: Duration) -> TemplateBody {
        let mut b = self.clone();
        for a in b.actions.values_mut() {
            if let Some(v) = a.parameters.get_mut("duration") {
                *v = iso8601(d);
            }
        }
        b
    }
}

/// `PT90S` for 90 s (a part second counts as a second).
pub fn iso8601(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("PT{s}S")
}

/// Where an experiment is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// FIS's word: pending, initiating, running, completed, stopping,
    /// stopped, failed, cancelled.
    pub status: String,
    pub reason: String,
}

impl State {
    /// Will it change no more?
    pub fn is_final(&self) -> bool {
        ["completed", "stopped", "failed", "cancelled"].contains(&self.status.as_str())
    }

    /// Did it end without doing what it was started for?
    pub fn failed(&self) -> bool {
        ["failed", "cancelled"].contains(&self.status.as_str())
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{} ({})", self.status, self.reason)
        }
    }
}

/// A FIS client for one place.
#[derive(Clone)]
pub struct Fis {
    client: Client,
    place: AwsPlace,
}

impl Fis {
    /// A client at `place` (see [`super::sdk_config`]).
    pub async fn new(place: &AwsPlace) -> Fis {
        Fis {
            client: Client::new(&super::sdk_config(place).await),
            place: place.clone(),
        }
    }

    /// The description of template `id` (an error when there is none, or
    /// it may not be read).
    pub async fn template(&self, id: &str) -> Result<String, String> {
        let out = self
            .client
            .get_experiment_template()
            .id(id)
            .send()
            .await
            .map_err(|e| format!("experiment template {id}: {}", error_text(&e)))?;
        Ok(out
            .experiment_template()
            .and_then(|t| t.description())
            .unwrap_or_default()
            .to_string())
    }

    /// Create a template from `body`, tagged with the run (`sessiondrill-run`)
    /// so that one left by a killed run can be found; its id.
    pub async fn create_template(
        &self,
        body: &TemplateBody,
        run_id: &str,
    ) -> Result<String, String> {
        let what = |e: String| format!("creating the experiment template: {e}");
        // Before the request: an interruption while it is in flight finds
        // the template by the run's tag.
        live::add_run(&self.place, run_id);
        let mut req = self
            .client
            .create_experiment_template()
            .client_token(token(run_id))
            .role_arn(&body.role_arn)
            .description(
                body.description
                    .clone()
                    .unwrap_or_else(|| format!("sessiondrill run {run_id}")),
            );
        for (k, v) in &body.tags {
            req = req.tags(k, v);
        }
        // Last: the body's own tags cannot hide the run's.
        req = req.tags(RUN_TAG, run_id);
        let stops: Vec<StopCondition> = if body.stop_conditions.is_empty() {
            vec![StopCondition {
                source: "none".into(),
                value: None,
            }]
        } else {
            body.stop_conditions.clone()
        };
        for s in stops {
            req = req.stop_conditions(
                CreateExperimentTemplateStopConditionInput::builder()
                    .source(s.source)
                    .set_value(s.value)
                    .build()
                    .map_err(|e| what(e.to_string()))?,
            );
        }
        for (name, a) in &body.actions {
            let action = CreateExperimentTemplateActionInput::builder()
                .action_id(&a.action_id)
                .set_description(a.description.clone())
                .set_parameters(Some(a.parameters.clone()))
                .set_targets(Some(a.targets.clone()))
                .set_start_after((!a.start_after.is_empty()).then(|| a.start_after.clone()))
                .build()
                .map_err(|e| what(e.to_string()))?;
            req = req.actions(name, action);
        }
        for (name, t) in &body.targets {
            let mut filters = Vec::new();
            for f in &t.filters {
                filters.push(
                    ExperimentTemplateTargetInputFilter::builder()
                        .path(&f.path)
                        .set_values(Some(f.values.clone()))
                        .build()
                        .map_err(|e| what(e.to_string()))?,
                );
            }
            let target = CreateExperimentTemplateTargetInput::builder()
                .resource_type(&t.resource_type)
                .selection_mode(&t.selection_mode)
                .set_resource_arns((!t.resource_arns.is_empty()).then(|| t.resource_arns.clone()))
                .set_resource_tags((!t.resource_tags.is_empty()).then(|| t.resource_tags.clone()))
                .set_filters((!filters.is_empty()).then_some(filters))
                .set_parameters((!t.parameters.is_empty()).then(|| t.parameters.clone()))
                .build()
                .map_err(|e| what(e.to_string()))?;
            req = req.targets(name, target);
        }
        let out = req.send().await.map_err(|e| what(error_text(&e)))?;
        let id = out
            .experiment_template()
            .and_then(|t| t.id())
            .map(str::to_string)
            .ok_or_else(|| what("FIS answered without a template id".into()))?;
        live::add(&self.place, run_id, Thing::Template(id.clone()));
        Ok(id)
    }

    /// Run `run_id`'s templates, and its experiments that have not ended,
    /// as FIS lists them by the run's tag.
    pub async fn tagged(&self, run_id: &str) -> Result<Vec<Thing>, String> {
        let mine = |tags: Option<&HashMap<String, String>>| {
            tags.and_then(|t| t.get(RUN_TAG))
                .is_some_and(|r| r == run_id)
        };
        let mut found = Vec::new();
        let mut next = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .list_experiments()
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| format!("ListExperiments: {}", error_text(&e)))?;
            for e in out.experiments() {
                if mine(e.tags())
                    && !state_of(e.state()).is_final()
                    && let Some(id) = e.id()
                {
                    found.push(Thing::Experiment(id.to_string()));
                }
            }
            next = out.next_token().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        let mut next = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .list_experiment_templates()
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| format!("ListExperimentTemplates: {}", error_text(&e)))?;
            for t in out.experiment_templates() {
                if mine(t.tags())
                    && let Some(id) = t.id()
                {
                    found.push(Thing::Template(id.to_string()));
                }
            }
            next = out.next_token().map(str::to_string);
            if next.is_none() {
                break;
            }
        }
        Ok(found)
    }

    pub async fn delete_template(&self, id: &str) -> Result<(), String> {
        self.client
            .delete_experiment_template()
            .id(id)
            .send()
            .await
            .map_err(|e| format!("deleting experiment template {id}: {}", error_text(&e)))?;
        live::remove(&Thing::Template(id.to_string()));
        Ok(())
    }

    /// Start an experiment from template `template`; its id and state.
    pub async fn start(&self, template: &str, run_id: &str) -> Result<(String, State), String> {
        live::add_run(&self.place, run_id);
        let out = self
            .client
            .start_experiment()
            .experiment_template_id(template)
            .client_token(token(run_id))
            .tags(RUN_TAG, run_id)
            .send()
            .await
            .map_err(|e| format!("starting an experiment from {template}: {}", error_text(&e)))?;
        let e = out
            .experiment()
            .ok_or("FIS answered StartExperiment without an experiment")?;
        let id = e.id().ok_or("FIS answered without an experiment id")?;
        live::add(&self.place, run_id, Thing::Experiment(id.to_string()));
        Ok((id.to_string(), state_of(e.state())))
    }

    /// The state of experiment `id` now.
    pub async fn state(&self, id: &str) -> Result<State, String> {
        let out = self
            .client
            .get_experiment()
            .id(id)
            .send()
            .await
            .map_err(|e| format!("experiment {id}: {}", error_text(&e)))?;
        let s = state_of(out.experiment().and_then(|e| e.state()));
        if s.is_final() {
            live::remove(&Thing::Experiment(id.to_string()));
        }
        Ok(s)
    }

    /// Ask FIS to stop experiment `id` (its state then moves to stopping
    /// and stopped).
    pub async fn stop(&self, id: &str) -> Result<State, String> {
        let out = self
            .client
            .stop_experiment()
            .id(id)
            .send()
            .await
            .map_err(|e| format!("stopping experiment {id}: {}", error_text(&e)))?;
        Ok(state_of(out.experiment().and_then(|e| e.state())))
    }
}

/// Pages of a listing read at most (FIS's default page: 100 items).
const MAX_PAGES: usize = 50;

/// The tag of every template and experiment a run creates: its run id.
pub const RUN_TAG: &str = "sessiondrill-run";

/// A client token (FIS's idempotency key): the run and a random part.
fn token(run_id: &str) -> String {
    format!("{run_id}-{:016x}", rand::random::<u64>())
}

fn state_of(s: Option<&aws_sdk_fis::types::ExperimentState>) -> State {
    State {
        status: s
            .and_then(|s| s.status())
            .map_or("unknown", ExperimentStatus::as_str)
            .to_string(),
        reason: s.and_then(|s| s.reason()).unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_fis_writes_them() {
        assert_eq!(iso8601(Duration::from_secs(90)), "PT90S");
        assert_eq!(iso8601(Duration::from_millis(1500)), "PT2S");
    }

    #[test]
    fn a_duration_replaces_only_the_durations_actions_have() {
        let body: TemplateBody = serde_yaml::from_str(
            "roleArn: arn:aws:iam::1:role/r
actions:
  power: { actionId: aws:elasticache:replicationgroup-interrupt-az-power, parameters: { duration: PT10M } }
  wait: { actionId: aws:fis:inject-api-internal-error, parameters: { percentage: '50' } }
",
        )
        .unwrap();
        let b = body.with_duration(Duration::from_secs(30));
        assert_eq!(b.actions["power"].parameters["duration"], "PT30S");
        assert_eq!(b.actions["wait"].parameters.get("duration"), None);
    }

    #[test]
    fn final_states_are_told_from_the_others() {
        let s = |status: &str| State {
            status: status.into(),
            reason: String::new(),
        };
        for f in ["completed", "stopped", "failed", "cancelled"] {
            assert!(s(f).is_final(), "{f}");
        }
        for f in ["pending", "initiating", "running", "stopping"] {
            assert!(!s(f).is_final(), "{f}");
        }
        assert!(s("failed").failed() && !s("completed").failed());
    }
}
