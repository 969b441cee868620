//! The clouds' fault kinds (issue 21) against the most real stand-ins that
//! run here. There is no AWS: what these tests exercise is the control
//! plane, never the fault's effect.
//!
//! - `fis`: against moto's FIS in server mode (`python3 -m moto.server`,
//!   installed by `scripts/deps.sh`) on loopback, through the Rust SDK:
//!   a template created from the scenario's body and deleted afterwards,
//!   the fault window following the experiment's state, Ctrl-C stopping
//!   it, and bad input (an unknown template, a missing permission with
//!   moto's IAM enforcement on, no credentials) refused before any load.
//!   moto's experiments move from state to state on a timer we set; they
//!   break nothing.
//! - `test-failover`: against a loopback HTTP server answering the
//!   ElastiCache Query API with responses written after the API
//!   reference's examples and the event messages it documents for
//!   `TestFailover` — not recorded from AWS, and no failover is observed.
//!   What is tested is the request the SDK sends and how the events are
//!   read.
//!
//! The external node the faults name is a plain redis-server of the test.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{KillOnDrop, cli, home, run_dirs};

/// The credentials moto takes (any, without its IAM enforcement).
const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "sessiondrill-test"),
    ("AWS_SECRET_ACCESS_KEY", "sessiondrill-test"),
    // Never a probe of an instance-metadata address off this machine.
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cmd` started so that it dies with the test (parent-death signal) or
/// when dropped.
fn spawn(mut cmd: Command) -> KillOnDrop {
    // SAFETY: only prctl, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map_err(std::io::Error::from)
        });
    }
    KillOnDrop(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// moto in server mode on a port of its own; `auth_free_calls`: with
/// IAM enforcement, after that many unauthenticated calls.
struct Moto {
    port: u16,
    _child: KillOnDrop,
}

impl Moto {
    fn start(auth_free_calls: Option<u32>) -> Moto {
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string());
        if let Some(n) = auth_free_calls {
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = spawn(cmd);
        wait_for_port(port);
        Moto {
            port,
            _child: child,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Experiments move to their next state every `seconds` (moto's
    /// state manager; by default they would end on the first read).
    fn experiments_step_every(&self, seconds: u32) {
        let body = format!(
            r#"{{"model_name":"fis::experiment","transition":{{"progression":"time","seconds":{seconds}}}}}"#
        );
        let answer = http(
            self.port,
            "POST",
            "/moto-api/state-manager/set-transition",
            &body,
        );
        assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");
    }

    /// `code` run by Python with `c`, a boto3 FIS client of this moto;
    /// what it printed.
    fn boto3(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json\nc = boto3.client('fis', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='y')\n{code}",
            self.url()
        );
        let out = Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Every template's id.
    fn templates(&self) -> Vec<String> {
        let out = self.boto3(
            "print(json.dumps([t['id'] for t in c.list_experiment_templates()['experimentTemplates']]))",
        );
        serde_json::from_str(&out).unwrap()
    }

    /// Every experiment: (id, state, its sessiondrill-run tag).
    fn experiments(&self) -> Vec<(String, String, String)> {
        let out = self.boto3(
            "print(json.dumps([(e['id'], c.get_experiment(id=e['id'])['experiment']['state']['status'], e.get('tags', {}).get('sessiondrill-run', '')) for e in c.list_experiments()['experiments']]))",
        );
        serde_json::from_str(&out).unwrap()
    }
}

/// One plain HTTP/1.1 exchange (`Connection: close`): the whole answer.
fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

/// A redis-server of the test: the external node the faults name.
fn redis() -> (KillOnDrop, u16) {
    let port = free_port();
    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--port",
    ])
    .arg(port.to_string());
    let child = spawn(cmd);
    wait_for_port(port);
    (child, port)
}

/// A scenario of `secs` seconds against the redis on `port`, with the
/// control planes at `endpoint` and `timeline` (YAML lines).
fn scenario(
    port: u16,
    endpoint: &str,
    secs: u32,
    timeline: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    support::scenario_file(&format!(
        "name: cloud-drill
topology:
  name: cloud
  aws: {{ region: us-east-1, endpoint_url: \"{endpoint}\" }}
  nodes:
    cache:
      kind: redis
      external: {{ addresses: [\"127.0.0.1:{port}\"] }}
strategies: [redis]
workload:
  sessions: 100
  duration: {secs}s
  rates: {{ create: 50/s, read: 50/s, update: 50/s }}
  ttl: 30m
timeline:
{timeline}"
    ))
}

/// A FIS entry at 1 s with a template body (an AZ power interruption of
/// an ElastiCache replication group, as FIS writes templates).
const FIS_BODY: &str = "  - at: 1s
    fault: fis
    target: cache
    template:
      description: AZ power interruption of the session cache
      roleArn: arn:aws:iam::123456789012:role/fis-sessiondrill
      targets:
        sessions:
          resourceType: aws:elasticache:replicationgroup
          resourceArns: [arn:aws:elasticache:us-east-1:123456789012:replicationgroup:sessions]
          selectionMode: ALL
          parameters: { availabilityZoneIdentifier: us-east-1a }
      actions:
        interrupt:
          actionId: aws:elasticache:replicationgroup-interrupt-az-power
          parameters: { duration: PT10M }
          targets: { ReplicationGroups: sessions }
";

fn events<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a str> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

#[test]
fn a_fis_experiment_is_the_fault_window_and_its_template_goes_afterwards() {
    let moto = Moto::start(None);
    // pending → initiating → running → completed: about 3 s.
    moto.experiments_step_every(1);
    let (_redis, port) = redis();
    // With a duration: written into the action's own.
    let timeline = FIS_BODY.replace(
        "    target: cache\n",
        "    target: cache\n    duration: 8s\n",
    );
    let (_dir, file) = scenario(port, &moto.url(), 12, &timeline);
    let r = support::run_scenario(&file, &["--external"], &CREDENTIALS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let f = &r.report["faults"][0];
    assert_eq!(f["kind"], "fis", "{f}");
    assert_eq!(f["fired"], true, "{f}");
    assert!(f["error"].is_null(), "{f}");
    // The window is the experiment's, read every 500 ms: it ends when
    // FIS says completed (about 3 s), not with its 8 s duration nor at
    // the end of the 12 s load.
    let window = f["healed_ms"].as_u64().unwrap() - f["at_ms"].as_u64().unwrap();
    assert!((2_500..=7_500).contains(&window), "window {window} ms: {f}");
    let said = events(&r.report, "fis");
    for state in ["initiating", "running", "completed"] {
        assert!(said.iter().any(|m| m.contains(state)), "{said:?}");
    }
    // The template the run created is gone; the experiment completed,
    // tagged with the run.
    assert_eq!(moto.templates(), Vec::<String>::new());
    let exps = moto.experiments();
    assert_eq!(exps.len(), 1, "{exps:?}");
    assert_eq!(exps[0].1, "completed");
    assert_eq!(exps[0].2, r.report["run_id"].as_str().unwrap());
    // The body reached FIS as written (the experiment keeps a copy).
    let got: serde_json::Value = serde_json::from_str(&moto.boto3(&format!(
        "e = c.get_experiment(id='{}')['experiment']\nprint(json.dumps({{'actions': e['actions'], 'targets': e['targets']}}, default=str))",
        exps[0].0
    )))
    .unwrap();
    let action = &got["actions"]["interrupt"];
    assert_eq!(
        action["actionId"], "aws:elasticache:replicationgroup-interrupt-az-power",
        "{got}"
    );
    assert_eq!(action["parameters"]["duration"], "PT8S", "{got}");
    assert_eq!(action["targets"]["ReplicationGroups"], "sessions", "{got}");
    let target = &got["targets"]["sessions"];
    assert_eq!(
        target["resourceType"], "aws:elasticache:replicationgroup",
        "{got}"
    );
    assert_eq!(
        target["parameters"]["availabilityZoneIdentifier"], "us-east-1a",
        "{got}"
    );
    assert_eq!(target["selectionMode"], "ALL", "{got}");
    let aws = r.report["external_cleanup"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["node"] == "aws")
        .unwrap();
    assert_eq!(
        (aws["removed"].as_u64(), aws["left"].as_u64()),
        (Some(1), Some(0)),
        "{aws}"
    );
}

/// `run --external FILE` started in the background, its report at `json`.
fn background_run(
    file: &std::path::Path,
    json: &std::path::Path,
) -> (support::TestHome, KillOnDrop) {
    let h = home();
    let child = cli(&h)
        .args(["run", "--external", "--json"])
        .arg(json)
        .arg(file)
        .envs(CREDENTIALS)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (h, KillOnDrop(child))
}

/// Wait until moto has `n` experiments, one not ended.
fn wait_for_experiments(moto: &Moto, n: usize) {
    let start = Instant::now();
    loop {
        let exps = moto.experiments();
        let ended = ["completed", "stopped", "failed", "cancelled"];
        if exps.len() >= n && exps.iter().any(|e| !ended.contains(&e.1.as_str())) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{exps:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Wait for `child` to end: how, and what it said on stderr.
fn finish(child: &mut KillOnDrop) -> (std::process::ExitStatus, String) {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

fn interrupt(child: &KillOnDrop) {
    support::signal(child.id(), nix::sys::signal::Signal::SIGINT);
}

#[test]
fn ctrl_c_stops_the_experiment_and_removes_the_template() {
    let moto = Moto::start(None);
    // An experiment that would run for minutes: 3 s a state.
    moto.experiments_step_every(3);
    let (_redis, port) = redis();
    let (dir, file) = scenario(port, &moto.url(), 60, FIS_BODY);
    let json = dir.path().join("report.json");
    let (h, mut child) = background_run(&file, &json);
    wait_for_experiments(&moto, 1);
    let asked = Instant::now();
    interrupt(&child);
    let (status, stderr) = finish(&mut child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    // StopExperiment, then stopping → stopped (3 s): not the 60 s load.
    assert!(asked.elapsed() < Duration::from_secs(20), "{stderr}");
    let exps = moto.experiments();
    assert_eq!(exps.len(), 1, "{exps:?}");
    assert_eq!(exps[0].1, "stopped", "{exps:?}");
    assert_eq!(moto.templates(), Vec::<String>::new());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let f = &report["faults"][0];
    assert!(f["healed_ms"].as_u64().is_some(), "{f}");
    assert!(
        events(&report, "healed")
            .iter()
            .any(|m| m.contains("stopped")),
        "{report}"
    );
    assert!(run_dirs(&h).is_empty());

    // Interrupted twice, it quits at once: the first interrupt has asked
    // FIS to stop the experiment, and the quit still removes the template
    // (red without `cloud::live::end`).
    let (dir, file) = scenario(port, &moto.url(), 60, FIS_BODY);
    let json = dir.path().join("report.json");
    let (h, mut child) = background_run(&file, &json);
    wait_for_experiments(&moto, 2);
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let (status, stderr) = finish(&mut child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted twice"), "{stderr}");
    assert!(
        stderr.contains("experiment template") && stderr.contains("deleted"),
        "{stderr}"
    );
    let exps = moto.experiments();
    assert!(
        exps.iter().all(|e| e.1 == "stopping" || e.1 == "stopped"),
        "{exps:?}\n{stderr}"
    );
    assert_eq!(moto.templates(), Vec::<String>::new(), "{stderr}");
    assert!(run_dirs(&h).is_empty());
}

/// `run --external FILE` with `env` (and nothing else of AWS's): exit 2,
/// at the entry's line, before any load, and nothing left.
fn refused_before_load(file: &std::path::Path, env: &[(&str, &str)], says: &str) {
    let h = home();
    let empty = tempfile::tempdir().unwrap();
    // Nothing of the machine's: no AWS variable (web identity, container
    // credentials would go off this machine), no profile.
    let out = cli(&h)
        .args(["run", "--external"])
        .arg(file)
        .env_clear()
        .env("SESSIONDRILL_HOME", h.path())
        .env("HOME", empty.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    // At the entry (line 16 of the file), before the load.
    assert!(stderr.contains("scenario.yaml:16:"), "{stderr}");
    assert!(!stderr.contains("ready in"), "a load began: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(run_dirs(&h).is_empty());
}

#[test]
fn an_unknown_template_a_missing_permission_and_no_credentials_are_refused_before_any_load() {
    let (_redis, port) = redis();
    let moto = Moto::start(None);
    let unknown = "  - { at: 1s, fault: fis, target: cache, template: EXT0123456789abc }\n";
    let (_d, file) = scenario(port, &moto.url(), 5, unknown);
    refused_before_load(
        &file,
        &CREDENTIALS[..2],
        "ResourceNotFoundException: Experiment template EXT0123456789abc does not exist",
    );
    let (_d, file) = scenario(port, &moto.url(), 5, FIS_BODY);
    refused_before_load(&file, &[], "no credentials found");
    assert_eq!(moto.templates(), Vec::<String>::new());

    // moto enforcing IAM: a user allowed ElastiCache's reads only.
    let guarded = Moto::start(Some(3));
    let keys = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import boto3, json
iam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='y')
iam.create_user(UserName='drill')
k = iam.create_access_key(UserName='drill')['AccessKey']
iam.put_user_policy(UserName='drill', PolicyName='reads', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': 'elasticache:Describe*', 'Resource': '*'}}]}}))
print(k['AccessKeyId'], k['SecretAccessKey'])",
                guarded.url()
            ),
        ])
        .output()
        .unwrap();
    assert!(
        keys.status.success(),
        "{}",
        String::from_utf8_lossy(&keys.stderr)
    );
    let keys = String::from_utf8_lossy(&keys.stdout).to_string();
    let (id, secret) = keys.trim().split_once(' ').unwrap();
    let (_d, file) = scenario(port, &guarded.url(), 5, FIS_BODY);
    refused_before_load(
        &file,
        &[("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret)],
        "AccessDenied: User: arn:aws:iam::123456789012:user/drill is not authorized to perform: fis:CreateExperimentTemplate",
    );
}

#[test]
fn cloud_faults_name_external_nodes_and_say_what_they_need() {
    let h = home();
    let refused = |yaml: &str, says: &str| {
        let (_d, file) = support::scenario_file(yaml);
        let out = cli(&h).arg("validate").arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    };
    let ours = "name: s
topology:
  name: t
  nodes:
    cache: { kind: redis }
strategies: [redis]
workload: { sessions: 10, duration: 5s, rates: { create: 1/s } }
timeline:
";
    refused(
        &format!("{ours}  - {{ at: 1s, fault: fis, target: cache, template: EXT1 }}\n"),
        "its target must be an external node",
    );
    refused(
        &format!(
            "{ours}  - {{ at: 1s, fault: test-failover, target: cache, replication_group: rg }}\n"
        ),
        "its target must be an external node",
    );
    let ext = |timeline: &str| {
        format!(
            "name: s
topology:
  name: t
  nodes:
    cache: {{ kind: redis, external: {{ addresses: [\"127.0.0.1:6379\"] }} }}
strategies: [redis]
workload: {{ sessions: 10, duration: 5s, rates: {{ create: 1/s }} }}
timeline:
{timeline}"
        )
    };
    refused(
        &ext("  - { at: 1s, fault: fis, target: cache }\n"),
        "`fis` needs `template`",
    );
    let with_aws =
        |aws: &str| ext("").replace("  name: t\n", &format!("  name: t\n  aws: {aws}\n"));
    refused(
        &with_aws("{ region: \"eu west 1\" }"),
        "a region is letters, digits and `-`",
    );
    refused(
        &with_aws("{ endpoint_url: \"ftp://127.0.0.1\" }"),
        "endpoint_url must be an http:// or https:// URL",
    );
    refused(
        &with_aws("{ endpoint_url: \"http://key:secret@127.0.0.1:5000\" }"),
        "endpoint_url may not hold a user or password",
    );
    refused(
        &ext(
            "  - { at: 1s, fault: fis, target: cache, template: { roleArn: r, actions: {}, bogus: 1 } }\n",
        ),
        "unknown field `bogus`",
    );
    refused(
        &ext("  - { at: 1s, fault: test-failover, target: cache }\n"),
        "`test-failover` needs `replication_group`",
    );
    refused(
        &ext("  - { at: 1s, fault: fis, target: cache, template: EXT1, replication_group: rg }\n"),
        "`replication_group` applies to test-failover only",
    );
}

/// What the ElastiCache stand-in was asked: each request's parameters.
type Asked = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A loopback server answering ElastiCache's Query API for replication
/// group `sessions` (node group 0001): DescribeReplicationGroups,
/// TestFailover, and DescribeEvents with the messages the API reference
/// documents for a test failover — "Failover … completed" from the
/// second read after the request on, or never (`completes: false`).
fn elasticache_stand_in(completes: bool) -> (u16, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked: Asked = Arc::default();
    let seen = asked.clone();
    // The events' date, as ElastiCache dates an event once.
    let date = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (seen, date) = (seen.clone(), date.clone());
            std::thread::spawn(move || serve(conn, &seen, completes, &date));
        }
    });
    (port, asked)
}

fn serve(conn: TcpStream, asked: &Asked, completes: bool, date: &str) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut len = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let params: HashMap<String, String> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        let xml = answer(&params, asked, completes, date);
        asked.lock().unwrap().push(params);
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
            xml.len()
        )
        .unwrap();
    }
}

fn answer(params: &HashMap<String, String>, asked: &Asked, completes: bool, now: &str) -> String {
    let action = params.get("Action").map(String::as_str).unwrap_or("");
    let group = "<ReplicationGroup><ReplicationGroupId>sessions</ReplicationGroupId><Status>available</Status><MemberClusters><ClusterId>sessions-0001-001</ClusterId><ClusterId>sessions-0001-002</ClusterId></MemberClusters><NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><Status>available</Status></NodeGroup></NodeGroups></ReplicationGroup>";
    let dated = |date: &str, source: &str, kind: &str, message: &str| {
        format!(
            "<Event><SourceIdentifier>{source}</SourceIdentifier><SourceType>{kind}</SourceType><Message>{message}</Message><Date>{date}</Date></Event>"
        )
    };
    let event = |source: &str, kind: &str, message: &str| dated(now, source, kind, message);
    let result = match action {
        "DescribeReplicationGroups" => format!("<ReplicationGroups>{group}</ReplicationGroups>"),
        "TestFailover" => group.to_string(),
        "DescribeEvents" => {
            let reads = asked
                .lock()
                .unwrap()
                .iter()
                .filter(|p| p.get("Action").is_some_and(|a| a == "DescribeEvents"))
                .count();
            // An earlier failover's completion (inside the clock slack),
            // and another group's whose name begins like ours: neither ends
            // this one.
            let earlier = humantime::format_rfc3339_millis(
                humantime::parse_rfc3339(now).unwrap() - Duration::from_secs(10),
            )
            .to_string();
            let mut events = dated(
                &earlier,
                "sessions",
                "replication-group",
                "Failover from primary node sessions-0001-002 to replica node sessions-0001-001 completed",
            );
            events += &event(
                "sessions-eu",
                "replication-group",
                "Failover from primary node sessions-eu-0001-001 to replica node sessions-eu-0001-002 completed",
            );
            events += &event(
                "sessions",
                "replication-group",
                "Test Failover API called for node group 0001",
            );
            if completes && reads >= 1 {
                events += &event(
                    "sessions-0001-001",
                    "cache-cluster",
                    "Failover from primary node sessions-0001-001 to replica node sessions-0001-002 completed",
                );
                events += &event(
                    "sessions",
                    "replication-group",
                    "Failover from primary node sessions-0001-001 to replica node sessions-0001-002 completed",
                );
                events += &event("other-group", "replication-group", "not ours");
            }
            format!("<Events>{events}</Events>")
        }
        other => panic!("the stand-in does not answer {other}"),
    };
    format!(
        "<{action}Response xmlns=\"http://elasticache.amazonaws.com/doc/2015-02-02/\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>sessiondrill-test</RequestId></ResponseMetadata></{action}Response>"
    )
}

const FAILOVER: &str =
    "  - { at: 1s, fault: test-failover, target: cache, replication_group: sessions }\n";

#[test]
fn test_failover_asks_elasticache_and_ends_when_its_events_say_completed() {
    let (_redis, port) = redis();
    let (ec, asked) = elasticache_stand_in(true);
    let (_d, file) = scenario(port, &format!("http://127.0.0.1:{ec}"), 12, FAILOVER);
    let r = support::run_scenario(&file, &["--external"], &CREDENTIALS);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let asked = asked.lock().unwrap().clone();
    let actions: Vec<&str> = asked.iter().map(|p| p["Action"].as_str()).collect();
    assert_eq!(actions[0], "DescribeReplicationGroups", "{actions:?}");
    let failover = asked
        .iter()
        .find(|p| p["Action"] == "TestFailover")
        .expect("no TestFailover");
    assert_eq!(failover["ReplicationGroupId"], "sessions");
    assert_eq!(failover["NodeGroupId"], "0001");
    let f = &r.report["faults"][0];
    assert_eq!(f["kind"], "test-failover", "{f}");
    assert!(f["error"].is_null(), "{f}");
    // Ended by this failover's "completed" event (the second read, 2 s
    // after the first, whose older completion must not count), not by the
    // end of the 12 s load.
    let window = f["healed_ms"].as_u64().unwrap() - f["at_ms"].as_u64().unwrap();
    assert!((3_000..=9_000).contains(&window), "window {window} ms: {f}");
    let said = events(&r.report, "elasticache");
    assert_eq!(
        said,
        [
            "Failover from primary node sessions-0001-002 to replica node sessions-0001-001 completed",
            "Test Failover API called for node group 0001",
            "Failover from primary node sessions-0001-001 to replica node sessions-0001-002 completed",
            "Failover from primary node sessions-0001-001 to replica node sessions-0001-002 completed",
        ],
        "{}",
        r.report["events"]
    );
}

#[test]
fn a_failover_elasticache_never_reports_complete_fails_the_run() {
    let (_redis, port) = redis();
    let (ec, _asked) = elasticache_stand_in(false);
    let (_d, file) = scenario(port, &format!("http://127.0.0.1:{ec}"), 5, FAILOVER);
    let r = support::run_scenario(&file, &["--external"], &CREDENTIALS);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let f = &r.report["faults"][0];
    assert!(
        f["error"]
            .as_str()
            .is_some_and(|e| e.contains("had not reported the failover of sessions complete")),
        "{f}"
    );
    // A node group the replication group does not have: refused before
    // any load.
    let (_d, file) = scenario(
        port,
        &format!("http://127.0.0.1:{ec}"),
        5,
        "  - { at: 1s, fault: test-failover, target: cache, replication_group: sessions, node_group: '0002' }\n",
    );
    let h = home();
    let out = cli(&h)
        .args(["run", "--external"])
        .arg(&file)
        .envs(CREDENTIALS)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("replication group sessions has no node group \"0002\" (it has 0001)"),
        "{stderr}"
    );
}

/// What a request cut short created (a template, an experiment carrying
/// the run's tag, never seen by the run) is found by the tag and removed
/// by a quit that cannot wait; another run's is left alone.
#[test]
fn a_quit_finds_what_a_cut_short_request_created_by_the_runs_tag() {
    let moto = Moto::start(None);
    moto.experiments_step_every(60);
    let made = moto.boto3(
        "ids = {}
for run in ['cut-short-1', 'other-run-2']:
    t = c.create_experiment_template(clientToken=run, description='d', stopConditions=[{'source': 'none'}], targets={}, actions={'wait': {'actionId': 'aws:fis:wait', 'parameters': {'duration': 'PT10M'}}}, roleArn='arn:aws:iam::123456789012:role/fis', tags={'sessiondrill-run': run})['experimentTemplate']['id']
    e = c.start_experiment(clientToken=run + 'e', experimentTemplateId=t, tags={'sessiondrill-run': run})['experiment']['id']
    ids[run] = [t, e]
print(json.dumps(ids))",
    );
    let ids: HashMap<String, Vec<String>> = serde_json::from_str(&made).unwrap();
    // SAFETY: set before any thread of this test process reads the
    // environment (nextest runs each test in a process of its own).
    unsafe {
        for (k, v) in CREDENTIALS {
            std::env::set_var(k, v);
        }
    }
    let place = sessiondrill::cloud::AwsPlace {
        region: "us-east-1".into(),
        endpoint_url: moto.url(),
    };
    sessiondrill::cloud::live::add_run(&place, "cut-short-1");
    let said = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(sessiondrill::cloud::live::end(
            Some("cut-short-1"),
            Duration::from_secs(20),
        ));
    let (t1, e1) = (&ids["cut-short-1"][0], &ids["cut-short-1"][1]);
    assert!(
        said.iter()
            .any(|s| s.contains(&format!("experiment {e1} asked to stop"))),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|s| s.contains(&format!("experiment template {t1} deleted"))),
        "{said:?}"
    );
    assert_eq!(moto.templates(), vec![ids["other-run-2"][0].clone()]);
    let states: HashMap<String, String> = moto
        .experiments()
        .into_iter()
        .map(|(id, state, _)| (id, state))
        .collect();
    assert!(
        ["stopping", "stopped"].contains(&states[e1].as_str()),
        "{states:?}"
    );
    assert_eq!(states[&ids["other-run-2"][1]], "pending", "{states:?}");
}
