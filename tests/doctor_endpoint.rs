//! `doctor --endpoint URL` against real nodes brought up separately (`up
//! --detach`): a TLS Redis with an ACL user, memcached and a DynamoDB
//! node — what it says when all is well, and the clear exit 2 for a wrong
//! authority, a wrong password, an unreachable port, a missing variable
//! and a password in the URL (issue 20).

mod support;

use std::process::Output;

use sessiondrill::fabric::ports::free_port;
use sessiondrill::fabric::tls::RunCa;
use support::{cli, home};

const TOPOLOGY: &str = "name: endpoints
nodes:
  cache:
    kind: redis
    tls: true
    users:
      app: { password_env: SD_DOCTOR_APP, rules: \"~sd:* +@all -@dangerous\" }
  sessions:
    kind: memcached
    instances: 1
  db:
    kind: dynamodb
";

const PASSWORD: &str = "doctor-pw-5a1e";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn doctor_checks_an_endpoint_and_says_exactly_what_fails() {
    let h = home();
    let file = h.path().join("endpoints.yaml");
    std::fs::write(&file, TOPOLOGY).unwrap();
    let up = cli(&h)
        .args(["up", "--detach", "--json"])
        .arg(&file)
        .env("SD_DOCTOR_APP", PASSWORD)
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", text(&up));
    let report: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
    let ca = report["ca"].as_str().unwrap().to_string();
    let port = |node: &str| {
        report["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["group"] == node)
            .and_then(|n| n["port"].as_u64())
            .unwrap_or_else(|| panic!("no {node} in {report}"))
    };
    let redis = format!("rediss://app@127.0.0.1:{}", port("cache"));
    let doctor = |args: &[String], password: Option<&str>| {
        let mut c = cli(&h);
        c.arg("doctor").args(args);
        match password {
            Some(p) => c.env("SD_DOCTOR_PW", p),
            None => c.env_remove("SD_DOCTOR_PW"),
        };
        let out = c.output().unwrap();
        let said = text(&out);
        assert!(!said.contains(PASSWORD), "the password was printed: {said}");
        (out.status.code(), said)
    };
    let redis_args = |url: &str, ca: &str| {
        vec![
            "--endpoint".to_string(),
            url.to_string(),
            "--ca".to_string(),
            ca.to_string(),
            "--password-env".to_string(),
            "SD_DOCTOR_PW".to_string(),
        ]
    };
    // All well: reachable, TLS verified, the user authenticated, latency.
    let args = redis_args(&redis, &ca);
    let (code, said) = doctor(&args, Some(PASSWORD));
    assert_eq!(code, Some(0), "{said}");
    for want in [
        "ok       reachable",
        "ok       tls",
        "ok       auth       as user `app`",
        "ok       latency    p50",
        "the endpoint is ready for a drill",
    ] {
        assert!(said.contains(want), "{want:?} missing: {said}");
    }
    // The app user may not run INFO (@dangerous): a note, not a failure.
    assert!(said.contains("INFO refused (NOPERM)"), "{said}");

    // Another authority: the TLS check fails.
    let other = h.path().join("other-ca.pem");
    std::fs::write(&other, RunCa::new("other").unwrap().cert_pem()).unwrap();
    let args = redis_args(&redis, other.to_str().unwrap());
    let (code, said) = doctor(&args, Some(PASSWORD));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("FAIL     tls"), "{said}");
    assert!(!said.contains("ok       tls"), "{said}");

    // A wrong password: the auth check fails, naming the user.
    let args = redis_args(&redis, &ca);
    let (code, said) = doctor(&args, Some("wrong"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("FAIL     auth       as `app`"), "{said}");

    // The variable is not set.
    let (code, said) = doctor(&args, None);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("$SD_DOCTOR_PW is not set"), "{said}");

    // Nothing listens there.
    let closed = format!("rediss://app@127.0.0.1:{}", free_port().unwrap());
    let args = redis_args(&closed, &ca);
    let (code, said) = doctor(&args, Some(PASSWORD));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("FAIL     reachable"), "{said}");

    // A user without a password would not be logged in as that user.
    let (code, said) = doctor(
        &[
            "--endpoint".into(),
            redis.clone(),
            "--ca".into(),
            ca.clone(),
        ],
        None,
    );
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("the URL names a user"), "{said}");

    // A password in the URL is refused before anything is tried, and not
    // printed back.
    let in_url = format!("rediss://app:{PASSWORD}@127.0.0.1:{}", port("cache"));
    let out = cli(&h)
        .args(["doctor", "--endpoint", &in_url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("the URL holds a password"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("ok       reachable"));
    // Nor when the scheme is in capitals or the port is out of range
    // (`doctor` itself asserts the password is never printed).
    for bad in [
        format!("REDISS://app:{PASSWORD}@127.0.0.1:1"),
        format!("redis://app:{PASSWORD}@127.0.0.1:99999"),
    ] {
        let (code, _) = doctor(&["--endpoint".into(), bad], None);
        assert_eq!(code, Some(2));
    }

    // memcached and the DynamoDB node.
    let mc = format!("memcached://127.0.0.1:{}", port("sessions"));
    let (code, said) = doctor(&["--endpoint".into(), mc], None);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("ok       server     memcached 1."), "{said}");
    let db = format!("http://127.0.0.1:{}", port("db"));
    let (code, said) = doctor(&["--endpoint".into(), db], None);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("ok       dynamodb   ListTables answered"),
        "{said}"
    );

    let down = cli(&h).arg("down").output().unwrap();
    assert!(down.status.success(), "{}", text(&down));
}
