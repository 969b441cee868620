//! What this process started or created in AWS and has not seen end: the
//! experiments it started and the templates it created. A drill stops and
//! removes them itself as it ends; this list is for a quit that cannot
//! wait for that (a second Ctrl-C), which still stops and removes them.
//! (A SIGKILL leaves them: FIS's stop conditions and the templates'
//! `sessiondrill-run` tag are what remains then.)

use std::sync::Mutex;
use std::time::Duration;

/// One thing in AWS, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub what: Thing,
    pub region: String,
    pub endpoint_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thing {
    Experiment(String),
    Template(String),
}

static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());

fn list() -> std::sync::MutexGuard<'static, Vec<Live>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn add(l: Live) {
    list().push(l);
}

pub fn remove(what: &Thing) {
    list().retain(|l| &l.what != what);
}

/// Stop every experiment and delete every template still listed, within
/// `limit`; what was done or could not be, in words.
pub async fn end_all(limit: Duration) -> Vec<String> {
    let mut all: Vec<Live> = list().clone();
    // Experiments first: their templates after them.
    all.sort_by_key(|l| matches!(l.what, Thing::Template(_)));
    let work = async {
        let mut said = Vec::new();
        for l in &all {
            let fis = super::fis::Fis::new(&l.region, &l.endpoint_url).await;
            said.push(match &l.what {
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
    };
    match tokio::time::timeout(limit, work).await {
        Ok(said) => said,
        Err(_) => vec![format!(
            "AWS did not answer within {} s: {} experiment(s) or template(s) may be left (tag sessiondrill-run)",
            limit.as_secs(),
            all.len()
        )],
    }
}
