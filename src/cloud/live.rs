//! What this process started or created in AWS and has not seen end: the
//! experiments it started, the templates it created, and the runs that
//! did either (their tag finds what a request cut short created). A drill
//! stops and removes its own as it ends; [`end`] is for a quit that
//! cannot wait for that (a second Ctrl-C, an interruption while the run
//! was starting) and for a drill whose own stop did not take. (A SIGKILL
//! leaves them: FIS's stop conditions and the `sessiondrill-run` tag are
//! what remains then.)

use std::sync::Mutex;
use std::time::Duration;

use super::AwsPlace;
use super::fis::Fis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thing {
    Experiment(String),
    Template(String),
}

#[derive(Debug, Default)]
struct Book {
    things: Vec<(AwsPlace, String, Thing)>,
    runs: Vec<(AwsPlace, String)>,
}

static BOOK: Mutex<Book> = Mutex::new(Book {
    things: Vec::new(),
    runs: Vec::new(),
});

fn book() -> std::sync::MutexGuard<'static, Book> {
    BOOK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run `run_id` is about to create something at `place`.
pub fn add_run(place: &AwsPlace, run_id: &str) {
    let mut b = book();
    let run = (place.clone(), run_id.to_string());
    if !b.runs.contains(&run) {
        b.runs.push(run);
    }
}

/// `what` exists at `place`, for run `run_id`.
pub fn add(place: &AwsPlace, run_id: &str, what: Thing) {
    book()
        .things
        .push((place.clone(), run_id.to_string(), what));
}

/// `what` has ended (an experiment) or is gone (a template).
pub fn remove(what: &Thing) {
    book().things.retain(|(_, _, t)| t != what);
}

/// The experiments of run `run_id` (every run's: `None`) not seen to end.
pub fn running(run_id: Option<&str>) -> Vec<String> {
    book()
        .things
        .iter()
        .filter(|(_, r, _)| run_id.is_none_or(|id| id == r))
        .filter_map(|(_, _, t)| match t {
            Thing::Experiment(id) => Some(id.clone()),
            Thing::Template(_) => None,
        })
        .collect()
}

/// Stop every experiment and delete every template of run `run_id`
/// (every run's: `None`) — those listed here and those FIS lists with the
/// run's tag — within `limit`, one place at a time but all of a place's
/// runs at once; what was done or could not be, in words.
pub async fn end(run_id: Option<&str>, limit: Duration) -> Vec<String> {
    let (things, runs) = {
        let b = book();
        let mine = |r: &String| run_id.is_none_or(|id| id == r);
        let things: Vec<(AwsPlace, String, Thing)> = b
            .things
            .iter()
            .filter(|(_, r, _)| mine(r))
            .cloned()
            .collect();
        let runs: Vec<(AwsPlace, String)> =
            b.runs.iter().filter(|(_, r)| mine(r)).cloned().collect();
        (things, runs)
    };
    if things.is_empty() && runs.is_empty() {
        return Vec::new();
    }
    let work = futures::future::join_all(runs.iter().map(|(place, run)| {
        let known: Vec<Thing> = things
            .iter()
            .filter(|(p, r, _)| p == place && r == run)
            .map(|(_, _, t)| t.clone())
            .collect();
        end_run(place.clone(), run.clone(), known)
    }));
    match tokio::time::timeout(limit, work).await {
        Ok(said) => said.into_iter().flatten().collect(),
        Err(_) => vec![format!(
            "AWS did not answer within {} s: what the run started may be left (FIS tag sessiondrill-run = {})",
            limit.as_secs(),
            runs.iter()
                .map(|(_, r)| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )],
    }
}

/// [`end`] for one run at one place: experiments first (their templates
/// after them), those known and those tagged.
async fn end_run(place: AwsPlace, run: String, known: Vec<Thing>) -> Vec<String> {
    let fis = Fis::new(&place).await;
    let mut said = Vec::new();
    let mut things = known;
    match fis.tagged(&run).await {
        Ok(tagged) => {
            for t in tagged {
                if !things.contains(&t) {
                    things.push(t);
                }
            }
        }
        Err(e) => said.push(format!(
            "listing run {run}'s experiments and templates: {e}"
        )),
    }
    things.sort_by_key(|t| matches!(t, Thing::Template(_)));
    for t in &things {
        said.push(match t {
            Thing::Experiment(id) => match fis.stop(id).await {
                Ok(s) => format!("experiment {id} asked to stop: {s}"),
                Err(e) => e,
            },
            Thing::Template(id) => match fis.delete_template(id).await {
                Ok(()) => format!("experiment template {id} deleted"),
                Err(e) => e,
            },
        });
    }
    said
}
