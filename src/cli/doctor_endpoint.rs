//! `doctor --endpoint URL`: before a drill against a stack sessiondrill did
//! not provision (your staging Redis, ElastiCache, a DynamoDB endpoint),
//! check that it is reachable, that TLS verifies against the authority you
//! name, that the credentials work, and how far away it is — each check
//! one line, the first failure the last line (issue 20).
//!
//! Read-only: PING, INFO (when the user may), memcached `version`,
//! DynamoDB `ListTables`. Passwords come from an environment variable
//! (`--password-env`), never from the URL or the command line, and are
//! never printed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::provision::redis::probe::RedisAccess;

/// How many round trips the latency line is measured over.
const SAMPLES: usize = 20;
/// Fewer for DynamoDB: each is a billed request on AWS.
const DYNAMODB_SAMPLES: usize = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, clap::Args)]
pub struct EndpointArgs {
    /// `redis://[USER@]HOST:PORT`, `rediss://…` (TLS), `memcache(d)://HOST:PORT`
    /// or a DynamoDB `http(s)://` endpoint.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The certificate authority (PEM) a `rediss://` server, or a
    /// `memcached://` server then spoken to over TLS, is verified against
    /// (a run's `ca.pem`, or your provider's bundle).
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    pub ca: Option<PathBuf>,
    /// The environment variable holding the Redis password.
    #[arg(long, value_name = "VAR", requires = "endpoint")]
    pub password_env: Option<String>,
    /// The AWS region of a DynamoDB endpoint (default: AWS_REGION, else
    /// us-east-1).
    #[arg(long, requires = "endpoint")]
    pub region: Option<String>,
}

/// A check that failed: printed, then the exit code (2: the endpoint or
/// the input is the user's to fix).
struct Failed(String);

fn ok(what: &str, detail: impl std::fmt::Display) {
    println!("ok       {what:<10} {detail}");
}

pub async fn run(args: &EndpointArgs, url: &str) -> u8 {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let result = match scheme.as_deref() {
        Some("redis" | "rediss") => redis(args, url).await,
        Some("memcached" | "memcache") => memcached(args, url).await,
        Some("http" | "https") => dynamodb(args, url).await,
        _ => Err(Failed(format!(
            "{} is not an endpoint URL: redis://, rediss://, memcached:// or http(s):// (DynamoDB)",
            shown(url)
        ))),
    };
    match result {
        Ok(()) => {
            println!("the endpoint is ready for a drill");
            0
        }
        Err(Failed(why)) => {
            println!("FAIL     {why}");
            2
        }
    }
}

/// `url` as an error may show it: without what is between `://` and the
/// last `@` (a user, perhaps a password).
fn shown(url: &str) -> String {
    let text = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://…@{host}"),
            None => url.to_string(),
        },
        None => match url.rsplit_once('@') {
            Some((_, host)) => format!("…@{host}"),
            None => url.to_string(),
        },
    };
    format!("{text:?}")
}

/// Host and port of a `scheme://[user@]host:port` URL; a password in it
/// is refused (it would sit in shell history and process lists).
fn parse(url: &str) -> Result<(Option<String>, String, u16), Failed> {
    let u = url::Url::parse(url).map_err(|e| Failed(format!("{}: {e}", shown(url))))?;
    if u.password().is_some() {
        return Err(Failed(
            "the URL holds a password: put it in an environment variable and name it with --password-env"
                .into(),
        ));
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| Failed(format!("{} names no host", shown(url))))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = u
        .port()
        .ok_or_else(|| Failed(format!("{} names no port", shown(url))))?;
    let user = Some(u.username()).filter(|s| !s.is_empty()).map(|s| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    });
    Ok((user, host, port))
}

/// A TCP connection within [`CONNECT_TIMEOUT`], and how long it took.
async fn reach(host: &str, port: u16) -> Result<(TcpStream, Duration), Failed> {
    let start = Instant::now();
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => {
            let took = start.elapsed();
            ok(
                "reachable",
                format!("{host}:{port} (TCP connect {:.2} ms)", ms(took)),
            );
            Ok((s, took))
        }
        Ok(Err(e)) => Err(Failed(format!("reachable  {host}:{port}: {e}"))),
        Err(_) => Err(Failed(format!(
            "reachable  {host}:{port}: no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `p50 X ms, max Y ms over N round trips`.
fn latency(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let p50 = samples.get(samples.len() / 2).copied().unwrap_or_default();
    let max = samples.last().copied().unwrap_or_default();
    format!(
        "p50 {:.2} ms, max {:.2} ms over {} round trips",
        ms(p50),
        ms(max),
        samples.len()
    )
}

async fn redis(args: &EndpointArgs, url: &str) -> Result<(), Failed> {
    let tls = url.starts_with("rediss://");
    let (user, host, port) = parse(url)?;
    let ca = match (&args.ca, tls) {
        (Some(path), true) => {
            Some(std::fs::read(path).map_err(|e| Failed(format!("--ca {}: {e}", path.display())))?)
        }
        (None, true) => {
            return Err(Failed(
                "rediss:// needs --ca FILE: the authority that signed the server's certificate (a run's ca.pem; for ElastiCache, Amazon's root CA bundle)"
                    .into(),
            ));
        }
        (Some(_), false) => {
            return Err(Failed(
                "--ca applies to rediss:// (TLS) endpoints only".into(),
            ));
        }
        (None, false) => None,
    };
    let password = match &args.password_env {
        Some(var) => match std::env::var(var) {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => return Err(Failed(format!("${var} is empty"))),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Failed(format!("${var} is not UTF-8 text")));
            }
            Err(_) => return Err(Failed(format!("${var} is not set (export it first)"))),
        },
        // Without a password no AUTH is sent: the session would be the
        // `default` user's, whatever the URL names.
        None if user.is_some() => {
            return Err(Failed(
                "the URL names a user: give its password with --password-env VAR".into(),
            ));
        }
        None => String::new(),
    };
    drop(reach(&host, port).await?);
    let access = RedisAccess {
        user: user.clone(),
        password,
        ca: ca.map(Into::into),
        host: Some(host.clone()),
    };
    let client = access
        .client(port)
        .map_err(|e| Failed(format!("client   {e}")))?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(CONNECT_TIMEOUT));
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| Failed(connect_failure(&e, tls, &user)))?;
    if tls {
        ok(
            "tls",
            format!(
                "certificate of {host} verified against {}",
                args.ca
                    .as_deref()
                    .unwrap_or(std::path::Path::new("?"))
                    .display()
            ),
        );
    }
    // The connection authenticated (redis-rs sends AUTH on connect); PING
    // proves the server answers this user.
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let pong: String = redis::cmd("PING")
            .query_async(&mut con)
            .await
            .map_err(|e| Failed(format!("auth       PING refused: {e}")))?;
        samples.push(start.elapsed());
        if pong != "PONG" {
            return Err(Failed(format!("auth       PING answered {pong:?}")));
        }
    }
    ok(
        "auth",
        match &user {
            Some(u) => format!("as user `{u}`"),
            None if args.password_env.is_some() => "as `default`, with the password".into(),
            None => "no password asked for".into(),
        },
    );
    ok("latency", latency(samples));
    match redis::cmd("INFO")
        .arg("server")
        .query_async::<String>(&mut con)
        .await
    {
        Ok(info) => {
            let version = info
                .lines()
                .find_map(|l| l.strip_prefix("redis_version:"))
                .unwrap_or("?");
            let mode = info
                .lines()
                .find_map(|l| l.strip_prefix("redis_mode:"))
                .unwrap_or("?");
            ok("server", format!("Redis {version}, {mode}"));
        }
        Err(e) => println!(
            "note     {:<10} INFO refused ({}): this user may not run it; drills do not need it",
            "server",
            e.code().unwrap_or("error")
        ),
    }
    Ok(())
}

/// Why a Redis connection failed, in the words of the check that failed.
fn connect_failure(e: &redis::RedisError, tls: bool, user: &Option<String>) -> String {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if tls
        && ["certificate", "tls", "handshake", "corrupt", "peer"]
            .iter()
            .any(|w| lower.contains(w))
    {
        format!("tls        the server's certificate does not verify: {text}")
    } else if lower.contains("wrongpass")
        || lower.contains("authentication")
        || lower.contains("noauth")
    {
        let who = user.as_deref().unwrap_or("default");
        format!("auth       as `{who}`: {text} (check the user and --password-env)")
    } else {
        format!("connect    {text}")
    }
}

async fn memcached(args: &EndpointArgs, url: &str) -> Result<(), Failed> {
    let (_, host, port) = parse(url)?;
    let (stream, _) = reach(&host, port).await?;
    // With --ca, TLS checked for the URL's host (as a drill's ca_file).
    match &args.ca {
        Some(ca) => {
            let pem = std::fs::read(ca)
                .map_err(|e| Failed(format!("tls        {}: {e}", ca.display())))?;
            let tls = crate::fabric::tls_client::ClientTls::new(&pem, None)
                .map_err(|e| Failed(format!("tls        {e}")))?;
            let stream = tls
                .connect(stream, &host)
                .await
                .map_err(|e| Failed(format!("tls        {e}")))?;
            ok("tls", format!("verified against {}", ca.display()));
            memcached_version(stream).await
        }
        None => memcached_version(stream).await,
    }
}

/// `version` a few times over `stream`: the server, and the latency.
async fn memcached_version<S>(stream: S) -> Result<(), Failed>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut read = BufReader::new(read);
    let mut samples = Vec::with_capacity(SAMPLES);
    let mut version = String::new();
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let answer = async {
            write.write_all(b"version\r\n").await?;
            write.flush().await?;
            let mut line = String::new();
            read.read_line(&mut line).await?;
            Ok::<_, std::io::Error>(line)
        };
        let line = tokio::time::timeout(CONNECT_TIMEOUT, answer)
            .await
            .map_err(|_| Failed("memcached  no answer to `version`".into()))?
            .map_err(|e| Failed(format!("memcached  {e}")))?;
        samples.push(start.elapsed());
        let Some(v) = line.strip_prefix("VERSION ") else {
            return Err(Failed(format!(
                "memcached  `version` answered {:?}: not memcached",
                line.trim_end()
            )));
        };
        version = v.trim_end().to_string();
    }
    ok("server", format!("memcached {version}"));
    ok("latency", latency(samples));
    Ok(())
}

async fn dynamodb(args: &EndpointArgs, url: &str) -> Result<(), Failed> {
    let (host, port) = match url::Url::parse(url) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            return Err(Failed(
                "a DynamoDB endpoint URL holds no credentials: the SDK's default chain gives them"
                    .into(),
            ));
        }
        Ok(u) => (
            u.host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_string(),
            u.port_or_known_default().unwrap_or(443),
        ),
        Err(e) => return Err(Failed(format!("{}: {e}", shown(url)))),
    };
    drop(reach(&host, port).await?);
    let region = args
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into());
    let client = crate::dynamo::client(url, &region, crate::dynamo::ClientPolicy::default()).await;
    let mut samples = Vec::with_capacity(DYNAMODB_SAMPLES);
    for _ in 0..DYNAMODB_SAMPLES {
        let start = Instant::now();
        crate::dynamo::answers(&client)
            .await
            .map_err(|e| Failed(format!("dynamodb   ListTables: {e}")))?;
        samples.push(start.elapsed());
    }
    ok(
        "dynamodb",
        format!(
            "ListTables answered (region {region}; credentials: the SDK's default chain, or local ones for an endpoint on this machine)"
        ),
    );
    ok("latency", latency(samples));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn urls_name_host_port_and_user_never_a_password() {
        let (u, h, p) = parse("rediss://app@127.0.0.1:6380").ok().unwrap();
        assert_eq!(
            (u.as_deref(), h.as_str(), p),
            (Some("app"), "127.0.0.1", 6380)
        );
        let (u, _, _) = parse("redis://localhost:6379").ok().unwrap();
        assert_eq!(u, None);
        for bad in [
            "redis://app:pw@h:1",
            "redis://h",
            "redis://:1",
            "nonsense",
            "redis://app:pw@h:99999",
        ] {
            let Err(super::Failed(e)) = parse(bad) else {
                panic!("{bad}")
            };
            assert!(!e.contains("pw"), "{bad}: {e}");
        }
        let (u, _, _) = parse("redis://a%40b@h:1").ok().unwrap();
        assert_eq!(u.as_deref(), Some("a@b"));
    }
}
