//! DynamoDB clients (aws-sdk-dynamodb over HTTP) and the session tables.
//! Used by provisioning (bootstrap, readiness) and the store strategies.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_smithy_http_client::tls;

/// Partition and sort key names of the session tables (seed 003's design:
/// `PK=SESSION#id`, `SK=META`, chat turns `SK=TURN#…`).
pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// The TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Timeouts and retries of a client: explicit, so a failover measures the
/// server and not the SDK's default retry policy (3 attempts with backoff).
#[derive(Debug, Clone, Copy)]
pub struct ClientPolicy {
    pub connect_timeout: Duration,
    pub operation_timeout: Duration,
    /// Total attempts per operation; 1 = retries off.
    pub max_attempts: u32,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(500),
            operation_timeout: Duration::from_secs(2),
            max_attempts: 1,
        }
    }
}

/// Is `endpoint` on this machine (LocalStack, DynamoDB Local, our node)?
pub fn is_local(endpoint: &str) -> bool {
    let rest = endpoint.split("://").nth(1).unwrap_or(endpoint);
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => rest.split(['/', ':']).next().unwrap_or(""),
    };
    host == "localhost" || host.starts_with("127.") || host == "::1"
}

/// How long a client keeps an idle connection to a local endpoint: less
/// than our nodes' header timeout (10 s), which closes idle connections, so
/// that a request never goes out on a connection the node is closing.
pub const LOCAL_POOL_IDLE: Duration = Duration::from_secs(5);

/// A client for `endpoint` in `region` (either empty: the SDK's). Local
/// endpoints get static dummy credentials (no credential chain, no
/// instance-metadata probes); others use the standard AWS configuration
/// chain (env, profile, SSO, …).
pub async fn client(endpoint: &str, region: &str, policy: ClientPolicy) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(policy.connect_timeout)
        .operation_timeout(policy.operation_timeout)
        .build();
    let retry = if policy.max_attempts <= 1 {
        RetryConfig::disabled()
    } else {
        RetryConfig::standard().with_max_attempts(policy.max_attempts)
    };
    let http = http_client(endpoint);
    if is_local(endpoint) {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .endpoint_url(endpoint)
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new(
                "sessiondrill",
                "sessiondrill",
                None,
                None,
                "sessiondrill-static",
            ))
            .timeout_config(timeouts)
            .retry_config(retry)
            .build();
        return Client::from_conf(conf);
    }
    let place = AwsPlace {
        region: region.to_string(),
        endpoint_url: endpoint.to_string(),
    };
    Client::new(&sdk_config(&place, timeouts, retry).await)
}

/// Where an AWS service is: a region and an endpoint, either empty for the
/// SDK's own (environment, profile; the region's AWS endpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsPlace {
    pub region: String,
    pub endpoint_url: String,
}

/// The SDK configuration for a service at `place`: our HTTP client, the
/// SDK's default credential chain, and these timeouts and retries.
pub async fn sdk_config(
    place: &AwsPlace,
    timeouts: TimeoutConfig,
    retry: RetryConfig,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client(&place.endpoint_url))
        .timeout_config(timeouts)
        .retry_config(retry);
    if !place.region.is_empty() {
        loader = loader.region(Region::new(place.region.clone()));
    }
    if !place.endpoint_url.is_empty() {
        loader = loader.endpoint_url(&place.endpoint_url);
    }
    loader.load().await
}

/// The HTTP client every AWS SDK client of ours is given for `endpoint`:
/// one TLS stack for every endpoint and service (rustls with ring; see
/// Cargo.toml), idle connections to a local endpoint kept shorter than our
/// nodes keep them.
pub fn http_client(endpoint: &str) -> aws_sdk_dynamodb::config::SharedHttpClient {
    let mut http = aws_smithy_http_client::Builder::new();
    if is_local(endpoint) {
        http = http.pool_idle_timeout(LOCAL_POOL_IDLE);
    }
    http.tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::Ring,
    ))
    .build_https()
}

/// Does the endpoint answer DynamoDB requests? (`ListTables`: the
/// readiness and health check of every DynamoDB-protocol node.)
pub async fn answers(client: &Client) -> Result<(), String> {
    client
        .list_tables()
        .send()
        .await
        .map(|_| ())
        .map_err(|e| error_text(&e))
}

/// Human text of an SDK error, with its cause chain.
pub fn error_text<E: std::error::Error>(e: &E) -> String {
    DisplayErrorContext(e).to_string()
}

/// Create the session table `name` (PK/SK strings, on-demand) if it does not
/// exist, and enable TTL on `expires_at`.
pub async fn ensure_session_table(client: &Client, name: &str) -> Result<(), String> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| e.to_string())
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| e.to_string())
    };
    let created = client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    if let Err(e) = created {
        let exists = e
            .as_service_error()
            .is_some_and(|s| s.is_resource_in_use_exception());
        if !exists {
            return Err(format!("CreateTable {name}: {}", error_text(&e)));
        }
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| format!("DescribeTimeToLive {name}: {}", error_text(&e)))?;
    let enabled = ttl
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status())
        .is_some_and(|s| matches!(s, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
    if !enabled {
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL_ATTRIBUTE)
            .build()
            .map_err(|e| e.to_string())?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| format!("UpdateTimeToLive {name}: {}", error_text(&e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes a client for `scheme://127.0.0.1:PORT` sends to a
    /// server that answers anything with a plain HTTP 400.
    async fn first_bytes(scheme: &str) -> [u8; 5] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut start = [0u8; 5];
            s.read_exact(&mut start).await.unwrap();
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            start
        });
        let policy = ClientPolicy {
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(3),
            max_attempts: 1,
        };
        let c = client(&format!("{scheme}://127.0.0.1:{port}"), "us-east-1", policy).await;
        assert!(answers(&c).await.is_err());
        server.await.unwrap()
    }

    /// An `https://` endpoint goes through the one TLS stack (rustls with
    /// ring, given to the SDK explicitly): a TLS handshake record (content
    /// type 22, version 3.x) — and an error, not a panic for want of a
    /// crypto provider.
    #[tokio::test]
    async fn an_https_endpoint_speaks_tls() {
        let hello = first_bytes("https").await;
        assert_eq!((hello[0], hello[1]), (22, 3), "{hello:?}");
    }

    #[tokio::test]
    async fn an_http_endpoint_speaks_plain_http() {
        assert_eq!(&first_bytes("http").await, b"POST ");
    }
}
