//! The run's certificate authority against a real `redis-server` and
//! `redis-cli` (issue 20, first step): a server that listens only with TLS
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
use support::KillOnDrop;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// `redis-cli --tls` PING on `port`, trusting `ca`: its output.
fn tls_ping(port: u16, ca: &str) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["--tls", "--cacert", ca, "PING"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
    let plain = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "PING"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("PONG"));
}
