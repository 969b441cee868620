//! `external:` on a `dynamodb` node: an existing table sessiondrill does
//! not own (in AWS, or any DynamoDB endpoint), under the external rules
//! (issue 20). Credentials are the AWS SDK's own (environment, profile,
//! SSO): nothing secret is named here. The node's kind becomes an
//! endpoint on that table ([`table`]), so the strategies reach it as any
//! endpoint.

use super::model::{DynamoEngine, Dynamodb, External};
use super::spec::ExternalSpec;
use crate::yaml::Problems;

/// The external node's place: the endpoint's host and port (none when the
/// SDK resolves the region's endpoint).
pub(super) fn external(c: &mut Problems<'_>, at: &str, spec: &ExternalSpec) -> External {
    for (field, given) in [
        ("addresses", !spec.addresses.is_empty()),
        ("master", spec.master.is_some()),
        ("user", spec.user.is_some()),
        ("password_env", spec.password_env.is_some()),
        (
            "sentinel_password_env",
            spec.sentinel_password_env.is_some(),
        ),
        ("ca_file", spec.ca_file.is_some()),
        ("server_name", spec.server_name.is_some()),
    ] {
        if given {
            c.at(
                &format!("{at}.{field}"),
                format!(
                    "{field} does not apply to an external dynamodb node: it is reached at `endpoint` (default: the region's AWS endpoint) with the AWS SDK's credentials (environment, profile, SSO)"
                ),
            );
        }
    }
    let mut addresses = Vec::new();
    if let Some(url) = &spec.endpoint {
        match endpoint_address(url) {
            Some(a) => addresses.push(a),
            None => c.at(
                &format!("{at}.endpoint"),
                format!("endpoint must be an http:// or https:// URL with a host; got {url:?}"),
            ),
        }
    }
    if let Some(r) = &spec.region
        && !valid_region(r)
    {
        c.at(
            &format!("{at}.region"),
            format!("region {r:?} is not an AWS region name like eu-west-1"),
        );
    }
    match &spec.table {
        None => c.at(
            at,
            "an external dynamodb node needs `table:`, the existing session table (PK and SK strings)",
        ),
        Some(t) if !super::validate_aws::valid_table(t) => c.at(
            &format!("{at}.table"),
            format!("table name {t:?} is not a valid DynamoDB name (3-255 of a-z A-Z 0-9 _ . -)"),
        ),
        Some(_) => {}
    }
    External {
        addresses,
        master: None,
        user: None,
        password_env: None,
        sentinel_password_env: None,
        ca_file: None,
        server_name: None,
    }
}

/// The node's kind: an endpoint engine on the one table.
pub(super) fn table(spec: &ExternalSpec) -> Dynamodb {
    Dynamodb {
        engine: DynamoEngine::Endpoint {
            url: spec.endpoint.clone().unwrap_or_default(),
        },
        region: spec.region.clone().unwrap_or_default(),
        tables: vec![spec.table.clone().unwrap_or_default()],
    }
}

/// Host and port of an http(s) URL (the port defaulted from the scheme).
fn endpoint_address(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.contains('@') {
        return None;
    }
    match super::external::split_address(authority) {
        Some(a) => Some(a),
        None if !authority.is_empty() && !authority.contains(':') => {
            super::external::split_address(&format!("{authority}:{default}"))
        }
        None => None,
    }
}

fn valid_region(r: &str) -> bool {
    (4..=32).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::endpoint_address;

    #[test]
    fn endpoints_are_http_urls_with_a_host() {
        assert_eq!(
            endpoint_address("https://dynamodb.eu-west-1.amazonaws.com"),
            Some(("dynamodb.eu-west-1.amazonaws.com".into(), 443))
        );
        assert_eq!(
            endpoint_address("http://127.0.0.1:8000/"),
            Some(("127.0.0.1".into(), 8000))
        );
        for bad in [
            "",
            "dynamodb.example",
            "ftp://h",
            "http://",
            "http://u:p@h:1",
            "http://h:0",
        ] {
            assert_eq!(endpoint_address(bad), None, "{bad:?}");
        }
    }
}
