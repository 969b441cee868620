//! The clouds' own fault engines, for external topologies: AWS Fault
//! Injection Service experiments ([`fis`]) and ElastiCache's managed
//! failover ([`elasticache`]). Their clients use the AWS SDK with the HTTP
//! client and TLS stack every AWS client of ours has
//! ([`crate::dynamo::http_client`]), the SDK's default credential chain
//! (environment, profile, SSO, instance role) and a region and endpoint
//! per topology (`aws:`).

pub mod elasticache;
pub mod fis;
pub mod live;

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_fis::error::{ProvideErrorMetadata, SdkError};

pub use crate::dynamo::AwsPlace;

/// How often a fault's state is read from its service.
pub const POLL: Duration = Duration::from_millis(500);

/// The SDK configuration of a control plane at `place`
/// ([`crate::dynamo::sdk_config`]). Calls are few (a handful per fault),
/// so the SDK's standard retries stay on.
pub async fn sdk_config(place: &AwsPlace) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(20))
        .build();
    crate::dynamo::sdk_config(
        place,
        timeouts,
        RetryConfig::standard().with_max_attempts(3),
    )
    .await
}

/// An SDK error in words: the service's code and message where it sent
/// them (also when they came in a shape the SDK did not expect, as a
/// gateway's or a stand-in's XML error), else the causes, each once.
pub fn error_text<E>(e: &SdkError<E>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    if let (Some(code), m) = (e.code(), e.message()) {
        return match m {
            Some(m) => format!("{code}: {m}"),
            None => code.to_string(),
        };
    }
    if let Some(raw) = e.raw_response() {
        let bytes = raw.body().bytes().unwrap_or_default();
        let body = String::from_utf8_lossy(bytes);
        let status = raw.status().as_u16();
        // Anything else of a body is not printed: a proxy's page may echo
        // the request's headers, a session token among them.
        return match (tag(&body, "Code"), tag(&body, "Message")) {
            (Some(code), Some(m)) => format!("{code}: {m} (HTTP {status})"),
            _ => format!(
                "HTTP {status} ({}, {} bytes) that is not an AWS error",
                raw.headers()
                    .get("content-type")
                    .unwrap_or("no content type"),
                bytes.len()
            ),
        };
    }
    causes(e)
}

/// The text of `<name>…</name>` in `xml`, if there is one.
fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let len = xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..start + len])
}

/// Each cause's own words, outermost first, a repeated one left out.
fn causes(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        next = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xml_error_gives_its_code_and_message() {
        let body = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>not authorized to perform: fis:CreateExperimentTemplate</Message></Error></Errors></ErrorResponse>";
        assert_eq!(tag(body, "Code"), Some("AccessDenied"));
        assert_eq!(
            tag(body, "Message"),
            Some("not authorized to perform: fis:CreateExperimentTemplate")
        );
        assert_eq!(tag("<Code>x", "Code"), None);
    }
}
