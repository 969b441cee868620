//! TLS on provisioned Redis nodes (issue 20), with real `redis-server`,
//! `redis-sentinel` and `redis-cli`. First the run's certificate authority
//! alone: a server that listens only with TLS
//! on a certificate the run's authority signed answers a client that
//! verifies the chain against that authority, and refuses plaintext and a
//! client that trusts another authority. redis-cli 7.0 checks the chain,
//! not the name: the names the certificate is valid for are read with
//! `openssl x509`.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sessiondrill::fabric::ports::free_port;
use sessiondrill::fabric::tls::RunCa;
use sessiondrill::provision;
use support::{KillOnDrop, home, topology, up_options};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// `redis-cli` PING on `port` — with TLS trusting `ca`, else plaintext:
/// what it printed.
fn ping(port: u16, ca: Option<&str>) -> String {
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(ca) = ca {
        cmd.args(["--tls", "--cacert", ca]);
    }
    let out = cmd.arg("PING").stdin(Stdio::null()).output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn tls_ping(port: u16, ca: &str) -> String {
    ping(port, Some(ca))
}

#[test]
fn a_redis_server_on_the_runs_certificate_answers_only_verified_tls() {
    let h = tempfile::tempdir().unwrap();
    let ca = RunCa::new("tls-test").unwrap();
    let server = ca.server("cache").unwrap();
    let ca_file = write(h.path(), "ca.pem", &ca.cert_pem());
    let cert = write(h.path(), "cache.crt", &server.cert_pem);
    let key = write(h.path(), "cache.key", &server.key_pem);
    let other = write(
        h.path(),
        "other.pem",
        &RunCa::new("other").unwrap().cert_pem(),
    );
    // Valid for the addresses our nodes listen on, and for serving and
    // connecting (replicas and Sentinels connect with it).
    let text = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-ext",
            "subjectAltName,extendedKeyUsage",
            "-in",
            &cert,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "IP Address:127.0.0.1",
        "DNS:localhost",
        "TLS Web Server Authentication",
        "TLS Web Client Authentication",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
    let port = free_port().unwrap();
    let _redis = KillOnDrop(
        Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--tls-port", &port.to_string()])
            .args(["--tls-cert-file", &cert, "--tls-key-file", &key])
            .args(["--tls-ca-cert-file", &ca_file, "--tls-auth-clients", "no"])
            .args(["--dir", h.path().to_str().unwrap()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let mut said = tls_ping(port, &ca_file);
    while !said.contains("PONG") && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
        said = tls_ping(port, &ca_file);
    }
    assert!(said.contains("PONG"), "verified TLS: {said}");
    // Another authority's certificate does not verify this server.
    let refused = tls_ping(port, &other);
    assert!(!refused.contains("PONG"), "another authority: {refused}");
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    // No plaintext on the TLS port.
    assert!(!plain_ping(port).contains("PONG"));
}

fn plain_ping(port: u16) -> String {
    ping(port, None)
}

/// The TCP ports process `pid` listens on (`ss -ltnp`).
fn listening(pid: u32) -> Vec<u16> {
    let out = Command::new("ss").args(["-Hltnp"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.contains(&format!("pid={pid},")))
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            local.rsplit(':').next()?.parse().ok()
        })
        .collect()
}

/// A replicated topology with `tls: true`: every server and Sentinel
/// listens with TLS only — no port of theirs answers a plaintext PING —
/// and each answers over TLS verified against the run's `ca.pem`, with
/// the run's password, at the `rediss://` URL it is given.
#[tokio::test(flavor = "multi_thread")]
async fn a_tls_topology_has_no_plaintext_listener() {
    let h = home();
    let d = provision::up(&topology("replicated-sentinel-tls.yaml"), &up_options(&h))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ca = d.run.path.join("ca.pem");
    assert!(ca.exists());
    assert_eq!(d.nodes.len(), 6);
    for n in &d.nodes {
        let pid = n.info.pid.unwrap();
        let ports = listening(pid);
        assert_eq!(
            ports,
            [n.info.port],
            "{}: listens on {ports:?}",
            n.info.name
        );
        for p in ports {
            let said = plain_ping(p);
            assert!(
                !said.contains("PONG"),
                "{} answered plaintext: {said}",
                n.info.name
            );
        }
        assert!(
            n.info.url.starts_with("rediss://default:"),
            "{}",
            n.info.url
        );
        let out = Command::new("redis-cli")
            .args([
                "--tls",
                "--cacert",
                ca.to_str().unwrap(),
                "-u",
                &n.info.url,
                "PING",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("PONG"), "{} over TLS: {said}", n.info.name);
    }
}

/// The same drills as plaintext, over TLS, with the same verdicts: a
/// killed AOF-everysec server loses nothing acknowledged, and a Sentinel
/// failover (replication, monitoring and the client's primary lookups all
/// encrypted) keeps writes unavailable for 1-6 s.
#[test]
fn drills_over_tls_give_the_plaintext_verdicts() {
    for file in [
        "tls-aof-everysec-kill.yaml",
        "tls-sentinel-kill-primary.yaml",
    ] {
        let r = support::run_scenario(&support::topology_path(file), &[], &[]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let redis = &r.report["strategies"]["redis"];
        assert!(
            redis["acked_writes"].as_u64().unwrap() > 1000,
            "{file}: {redis}"
        );
        assert_eq!(redis["lost"], 0, "{file}");
        // The fault bit: writes failed while the node was down.
        assert!(
            redis["unavailable_ms"].as_u64().unwrap() > 0,
            "{file}: {redis}"
        );
    }
}
