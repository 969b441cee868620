//! `external:` on a Redis or memcached node: a system sessiondrill does
//! not run (issue 20). DynamoDB's is in [`super::external_table`]. Checked here as far as a file can be: addresses,
//! variable names for every secret, a readable authority file, and no
//! field that would configure a process sessiondrill does not own.

use std::path::PathBuf;

use super::model::{External, KindName};
use super::spec::ExternalSpec;
use crate::yaml::Problems;

/// The fields an external node takes besides `external` itself.
const OWN: &[&str] = &["kind", "external"];

pub(super) fn external(
    c: &mut Problems<'_>,
    path: &str,
    kind: KindName,
    spec: &ExternalSpec,
) -> External {
    for (field, _) in c.positions().keys_of(path).to_vec() {
        if !OWN.contains(&field.as_str()) {
            c.at(
                &format!("{path}.{field}"),
                format!(
                    "field `{field}` does not apply to an external node: sessiondrill does not run it (only `kind` and `external`)"
                ),
            );
        }
    }
    let at = format!("{path}.external");
    if kind == KindName::Dynamodb {
        return super::external_table::external(c, &at, spec);
    }
    for (field, given) in [
        ("endpoint", spec.endpoint.is_some()),
        ("region", spec.region.is_some()),
        ("table", spec.table.is_some()),
    ] {
        if given {
            c.at(
                &format!("{at}.{field}"),
                format!("{field} applies to an external dynamodb node"),
            );
        }
    }
    let mut addresses: Vec<(String, u16)> = Vec::new();
    if spec.addresses.is_empty() || spec.addresses.len() > 16 {
        c.at(
            &format!("{at}.addresses"),
            format!(
                "addresses must list 1 to 16 HOST:PORT; got {}",
                spec.addresses.len()
            ),
        );
    }
    for a in &spec.addresses {
        match split_address(a) {
            Some(addr) => {
                if addresses.contains(&addr) {
                    c.at(&format!("{at}.addresses"), format!("{a} is listed twice"));
                }
                addresses.push(addr);
            }
            None => c.at(
                &format!("{at}.addresses"),
                format!("{a:?} is not HOST:PORT (a port from 1 to 65535)"),
            ),
        }
    }
    match (kind, &spec.master) {
        (KindName::RedisReplicated, None) => c.at(
            &at,
            "an external redis-replicated node needs `master:`, the Sentinels' name for the primary",
        ),
        (KindName::RedisReplicated, Some(m)) if !valid_word(m) => c.at(
            &format!("{at}.master"),
            format!("master {m:?}: 1-64 letters, digits, `_`, `-` or `.`"),
        ),
        (KindName::Redis | KindName::RedisCluster | KindName::Memcached, Some(_)) => c.at(
            &format!("{at}.master"),
            "master applies to redis-replicated (Sentinel) nodes",
        ),
        (KindName::RedisReplicated, Some(_))
        | (KindName::Redis | KindName::RedisCluster | KindName::Memcached, None)
        | (KindName::Dynamodb | KindName::Dax, _) => {}
    }
    if kind != KindName::RedisReplicated && spec.sentinel_password_env.is_some() {
        c.at(
            &format!("{at}.sentinel_password_env"),
            "sentinel_password_env applies to redis-replicated (Sentinel) nodes",
        );
    }
    if kind == KindName::Memcached {
        // The text protocol has no users (SASL is the binary protocol's).
        for (field, given) in [
            ("user", spec.user.is_some()),
            ("password_env", spec.password_env.is_some()),
        ] {
            if given {
                c.at(
                    &format!("{at}.{field}"),
                    format!(
                        "{field} does not apply to memcached: the memcached strategy speaks the text protocol, which has no authentication (SASL needs the binary protocol)"
                    ),
                );
            }
        }
        if spec.server_name.is_some() && spec.ca_file.is_none() {
            c.at(
                &format!("{at}.server_name"),
                "server_name applies with TLS: name the authority in ca_file",
            );
        }
    } else if spec.server_name.is_some() {
        c.at(
            &format!("{at}.server_name"),
            "server_name applies to memcached only: redis-rs checks a Redis certificate for the host it connects to, so name each server by a host its certificate is valid for",
        );
    }
    if let Some(n) = &spec.server_name
        && tokio_rustls::rustls::pki_types::ServerName::try_from(n.as_str()).is_err()
    {
        c.at(
            &format!("{at}.server_name"),
            format!("server_name {n:?} is not a host name"),
        );
    }
    if spec.user.is_some() && spec.password_env.is_none() {
        c.at(
            &format!("{at}.user"),
            "a user needs password_env: without a password no AUTH is sent and the session is `default`'s",
        );
    }
    if let Some(u) = &spec.user
        && !valid_word(u)
    {
        c.at(
            &format!("{at}.user"),
            format!("user {u:?}: 1-64 letters, digits, `_`, `-` or `.`"),
        );
    }
    for (field, var) in [
        ("password_env", &spec.password_env),
        ("sentinel_password_env", &spec.sentinel_password_env),
    ] {
        if let Some(v) = var
            && !super::users::valid_env_name(v)
        {
            // Not echoed: it may be the password pasted by mistake.
            c.at(
                &format!("{at}.{field}"),
                format!(
                    "{field} must name an environment variable (letters, digits, `_`; not starting with a digit), not hold the password"
                ),
            );
        }
    }
    let ca_file = spec.ca_file.as_ref().map(PathBuf::from);
    if let Some(f) = &ca_file
        && !f.is_absolute()
    {
        c.at(
            &format!("{at}.ca_file"),
            "ca_file must be an absolute path (the authority's PEM file)",
        );
    }
    External {
        addresses,
        server_name: spec.server_name.clone(),
        master: spec.master.clone(),
        user: spec.user.clone(),
        password_env: spec.password_env.clone(),
        sentinel_password_env: spec.sentinel_password_env.clone(),
        ca_file,
    }
}

/// A host name or address as certificates name them.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
}

/// `HOST:PORT` (`[V6]:PORT` too), the port from 1 to 65535.
pub(super) fn split_address(a: &str) -> Option<(String, u16)> {
    let (host, port) = a.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|&p| p > 0)?;
    valid_host(host).then(|| (host.to_string(), port))
}

fn valid_word(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::split_address;

    #[test]
    fn addresses_are_host_and_port() {
        assert_eq!(
            split_address("127.0.0.1:6379"),
            Some(("127.0.0.1".into(), 6379))
        );
        assert_eq!(split_address("[::1]:26379"), Some(("::1".into(), 26379)));
        assert_eq!(
            split_address("cache.example.internal:6380"),
            Some(("cache.example.internal".into(), 6380))
        );
        for bad in ["", "h", "h:0", "h:65536", ":1", "h:x", "a b:1", "h:1:"] {
            assert_eq!(split_address(bad), None, "{bad:?}");
        }
    }
}
