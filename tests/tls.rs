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
use sessiondrill::provision::redis::probe::{RedisAccess, RedisProbe};
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
    // Our own client (redis-rs, as every strategy, probe and Sentinel
    // lookup connects) trusts the run's authority and nothing else.
    let ours = |pem: &str| {
        let access = RedisAccess {
            user: None,
            password: String::new(),
            ca: Some(pem.as_bytes().into()),
            host: None,
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(RedisProbe::new(port, &access).query::<String>(&redis::cmd("PING")))
    };
    assert_eq!(ours(&ca.cert_pem()), Ok("PONG".to_string()));
    let refused = ours(&std::fs::read_to_string(&other).unwrap()).unwrap_err();
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
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

/// Does `port` answer a TLS handshake with a certificate chain that
/// verifies against `ca` (`openssl s_client`)? What it printed, when not.
/// (A cluster bus port then ends the session: the bus wants a client
/// certificate from its peers whatever `tls-auth-clients` says.)
fn tls_handshake(port: u16, ca: &Path) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .arg("-CAfile")
        .arg(ca)
        .arg("-verify_return_error")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    if said.contains("Verify return code: 0 (ok)") {
        Ok(())
    } else {
        Err(format!("{said}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Topologies with `tls: true`: every server and Sentinel listens with
/// TLS only — each port of theirs (a cluster node's bus port too)
/// completes a TLS handshake verified by the run's `ca.pem`, and none
/// answers a plaintext PING — and each answers PING over TLS, with the
/// run's password, at the `rediss://` URL it is given.
#[tokio::test(flavor = "multi_thread")]
async fn a_tls_topology_has_no_plaintext_listener() {
    // (file, processes, ports per process: a cluster node has its bus)
    for (file, processes, ports_each) in [
        ("replicated-sentinel-tls.yaml", 6, 1),
        ("cluster-3x1-tls.yaml", 6, 2),
    ] {
        let h = home();
        let d = provision::up(&topology(file), &up_options(&h))
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let ca = d.run.path.join("ca.pem");
        assert!(ca.exists());
        assert_eq!(d.nodes.len(), processes, "{file}");
        for n in &d.nodes {
            let name = &n.info.name;
            let pid = n.info.pid.unwrap();
            let ports = listening(pid);
            assert_eq!(ports.len(), ports_each, "{name}: listens on {ports:?}");
            assert!(ports.contains(&n.info.port), "{name}: {ports:?}");
            for p in ports {
                let said = plain_ping(p);
                assert!(
                    !said.contains("PONG"),
                    "{name}:{p} answered plaintext: {said}"
                );
                tls_handshake(p, &ca).unwrap_or_else(|e| panic!("{name}:{p} no TLS: {e}"));
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
            assert!(said.contains("PONG"), "{name} over TLS: {said}");
        }
        drop(d);
    }
}

/// The same drills as plaintext, over TLS, with the same verdicts: a
/// killed AOF-everysec server loses nothing acknowledged, a Sentinel
/// failover (replication, monitoring and the client's primary lookups all
/// encrypted) keeps writes unavailable for 1-6 s, and a cluster master
/// killed with its bus encrypted hands its shard to its replica.
#[test]
fn drills_over_tls_give_the_plaintext_verdicts() {
    for file in [
        "tls-aof-everysec-kill.yaml",
        "tls-sentinel-kill-primary.yaml",
        "tls-cluster-kill-master.yaml",
    ] {
        // Only the run's authority is read: a system trust store that
        // cannot be loaded changes nothing.
        let r = support::run_scenario(
            &support::topology_path(file),
            &[],
            &[("SSL_CERT_FILE", "/nonexistent/ca.pem")],
        );
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
