//! `fis`: an AWS Fault Injection Service experiment on an external node
//! (an AZ power interruption of an ElastiCache replication group, paused
//! global-table replication, a network disruption…). The fault holds from
//! `StartExperiment` until the experiment reaches a final state; a heal
//! (its `duration`, the end of the load, Ctrl-C) stops it first.
//! What it destroyed is counted by sessiondrill's own checkpoint when it
//! ends: FIS breaks the thing, the ledger proves the loss.

use crate::cloud::fis::{Fis, State, TemplateBody};
use crate::faults::FaultKind;
use crate::faults::behaviour::{BeforeLoad, Behaviour, Ends, Leftover, Needs, Strike};
use crate::faults::budget::Budget;
use crate::faults::spec::TimelineSpec;
use crate::topology::{Aws, Node};
use crate::yaml::Problems;

/// Which template the experiment starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// One that exists (`EXT…`), or the one created before the load.
    Id(String),
    /// A body in the scenario, created before the load (then an `Id`).
    Body(Box<TemplateBody>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FisExperiment {
    pub template: Template,
    /// The experiment started, once injected (for the heal).
    pub experiment: Option<String>,
}

/// How long a stopped experiment may take to reach a final state.
const STOP_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Reads of an experiment's state that may fail in a row before the
/// fault is given up as not working.
const READ_FAILURES: u32 = 10;

impl Behaviour for FisExperiment {
    const KIND: FaultKind = FaultKind::Fis;
    const SAID: &'static str = "was hit by an AWS FIS experiment";
    const HEALS: bool = true;
    const LINK: bool = false;
    const HEALED_AT_END: bool = true;
    const STOPS_PROCESSES: bool = false;
    const NEEDS: Needs = Needs::NOTHING;
    const FIELDS: &'static [&'static str] = &["template"];
    const CLOUD: bool = true;

    fn from_spec(c: &mut Problems<'_>, path: &str, s: &TimelineSpec) -> Self {
        let at = format!("{path}.template");
        let template = match &s.template {
            None => {
                c.at(
                    &format!("{path}.fault"),
                    "`fis` needs `template`: an experiment template id (EXT…) or a template body (roleArn, actions, targets, stopConditions)",
                );
                Template::Id(String::new())
            }
            Some(serde_yaml::Value::String(id)) => {
                if id.is_empty()
                    || id.len() > 64
                    || !id.chars().all(|ch| ch.is_ascii_alphanumeric())
                {
                    c.at(&at, "a template id is letters and digits (EXT…)");
                }
                Template::Id(id.clone())
            }
            Some(v @ serde_yaml::Value::Mapping(_)) => {
                match serde_yaml::from_value::<TemplateBody>(v.clone()) {
                    Ok(b) => {
                        if b.actions.is_empty() {
                            c.at(&at, "a template needs at least one action");
                        }
                        Template::Body(Box::new(b))
                    }
                    Err(e) => {
                        c.at(&at, format!("not a FIS template body: {e}"));
                        Template::Id(String::new())
                    }
                }
            }
            Some(_) => {
                c.at(&at, "expected an experiment template id or a template body");
                Template::Id(String::new())
            }
        };
        FisExperiment {
            template,
            experiment: None,
        }
    }

    fn applies(node: &Node) -> Result<(), String> {
        cloud_node(FaultKind::Fis, node)
    }

    fn budget(_node: &Node, _peers: bool) -> Budget {
        Budget::new(
            "decided by the experiment's actions in AWS (an AZ power interruption loses what the replicas had not received): the checkpoint at its end counts it",
            None,
        )
    }

    fn checkpoints(_roles: bool, _peers: bool) -> (bool, bool) {
        // One when it ends (it heals).
        (false, false)
    }

    fn destroys_while_in_force(_peers: bool) -> bool {
        true
    }

    async fn before_load(&mut self, cx: &BeforeLoad<'_>) -> Result<Vec<Leftover>, String> {
        let fis = Fis::new(cx.aws).await;
        match &self.template {
            Template::Id(id) => fis.template(id).await.map(|_| Vec::new()),
            Template::Body(body) => {
                let body = match cx.duration {
                    Some(d) => body.with_duration(d),
                    None => (**body).clone(),
                };
                let id = fis.create_template(&body, cx.run_id).await?;
                self.template = Template::Id(id.clone());
                Ok(vec![Leftover::FisTemplate { id }])
            }
        }
    }

    async fn inject(&mut self, cx: &mut Strike<'_>) -> Result<String, String> {
        let Template::Id(template) = &self.template else {
            return Err("the experiment template was not created before the load".into());
        };
        let aws = cx.dep.topology.aws.clone();
        let fis = Fis::new(&aws).await;
        let (id, state) = fis.start(template, cx.dep.run_id()).await?;
        self.experiment = Some(id.clone());
        let node = cx.names.join(",");
        cx.ends = Some(watch(
            fis,
            id.clone(),
            state.clone(),
            cx.events.clone(),
            node,
        ));
        Ok(format!(
            "FIS experiment {id} started from template {template}: {state}"
        ))
    }

    /// Stop the experiment unless FIS says it has ended, and wait for
    /// its final state. A failed read does not skip the stop: an
    /// experiment left running is the worse mistake.
    async fn wind_down(&self, aws: &Aws) -> Result<Option<String>, String> {
        let Some(id) = &self.experiment else {
            return Ok(None);
        };
        let fis = Fis::new(aws).await;
        if let Ok(s) = fis.state(id).await
            && s.is_final()
        {
            return Ok(Some(format!("experiment {id} had ended: {s}")));
        }
        let asked = fis.stop(id).await;
        let deadline = tokio::time::Instant::now() + STOP_LIMIT;
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            match fis.state(id).await {
                Ok(s) if s.is_final() => return Ok(Some(format!("experiment {id} stopped: {s}"))),
                Ok(s) => last = Some(s.to_string()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(crate::cloud::POLL).await;
        }
        Err(match asked {
            Err(e) => e,
            Ok(_) => format!(
                "experiment {id} asked to stop, not ended after {} s ({})",
                STOP_LIMIT.as_secs(),
                last.unwrap_or_default()
            ),
        })
    }

    fn label(&self) -> String {
        match &self.experiment {
            Some(id) => format!("fis {id}"),
            None => "fis".into(),
        }
    }
}

/// The experiment's state read until it is final, each change in the
/// event log: what ended it, or why it did not work.
fn watch(
    fis: Fis,
    id: String,
    first: State,
    events: crate::events::EventLog,
    node: String,
) -> Ends {
    Box::pin(async move {
        let mut last = first;
        let mut failures = 0;
        loop {
            tokio::time::sleep(crate::cloud::POLL).await;
            let s = match fis.state(&id).await {
                Ok(s) => s,
                Err(e) => {
                    failures += 1;
                    if failures >= READ_FAILURES {
                        return Err(format!("its state could not be read: {e}"));
                    }
                    continue;
                }
            };
            failures = 0;
            if s != last {
                events.push("fis", &node, format!("experiment {id}: {s}"));
                last = s;
            }
            if last.is_final() {
                return if last.failed() {
                    Err(format!("experiment {id} ended {last}"))
                } else {
                    Ok(format!("experiment {id} ended: {last}"))
                };
            }
        }
    })
}

/// A cloud fault's target: an external node (FIS and ElastiCache act on
/// AWS resources, never on this machine's processes).
pub(super) fn cloud_node(kind: FaultKind, node: &Node) -> Result<(), String> {
    if node.external.is_some() {
        Ok(())
    } else {
        Err(format!(
            "`{}` is handed to AWS and acts on AWS resources: its target must be an external node (`external:`); `{}` is one sessiondrill runs",
            kind.name(),
            node.name
        ))
    }
}
