//! `users:` on a Redis node: ACL users like ElastiCache's (issue 20). A
//! user's password comes from an environment variable named in the file,
//! never from the file; its rules are checked token by token here, so a
//! password cannot hide among them and a typo is an error with a position
//! instead of a server that will not start.

use super::model::AclUser;
use super::spec::NodeSpec;
use crate::yaml::Problems;

/// The most users one node takes.
const MAX_USERS: usize = 16;

/// Redis 7's ACL categories (`ACL CAT`).
const CATEGORIES: &[&str] = &[
    "all",
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// What a rule may be, for the error message.
const RULE_FORMS: &str = "rules take key patterns (~sd:*, %R~…, %W~…, allkeys), channel patterns \
     (&…, allchannels), commands and categories (+get, -del, +@all, -@dangerous, allcommands, \
     nocommands); passwords come from password_env, never from rules";

/// The node's users and the one the strategies authenticate as.
pub(super) fn users(
    c: &mut Problems<'_>,
    path: &str,
    n: &NodeSpec,
) -> (Vec<AclUser>, Option<String>) {
    let specs = n.users.as_ref();
    let mut users = Vec::new();
    if let Some(specs) = specs {
        if specs.is_empty() || specs.len() > MAX_USERS {
            c.at(
                &format!("{path}.users"),
                format!(
                    "users must name 1 to {MAX_USERS} users; got {}",
                    specs.len()
                ),
            );
        }
        for (name, u) in specs {
            let at = format!("{path}.users.{name}");
            if !valid_name(name) || name == "default" {
                c.at(
                    &at,
                    format!(
                        "user name {name:?}: 1-64 letters, digits, `_`, `-` or `.`, and not `default` (sessiondrill's own)"
                    ),
                );
            }
            if !valid_env_name(&u.password_env) {
                c.at(
                    &format!("{at}.password_env"),
                    // The value is not echoed: a password pasted here by
                    // mistake must not reach a terminal or a log.
                    "password_env must name an environment variable (letters, digits, `_`; not starting with a digit), not hold the password",
                );
            }
            let rules = u.rules.clone().unwrap_or_else(|| "~* +@all".to_string());
            if let Err(e) = check_rules(&rules) {
                c.at(&format!("{at}.rules"), e);
            }
            users.push(AclUser {
                name: name.clone(),
                password_env: u.password_env.clone(),
                rules,
            });
        }
    }
    let client_user = match (&n.client_user, users.len()) {
        (None, 0) => None,
        (None, 1) => Some(users[0].name.clone()),
        (None, _) => {
            c.at(
                &format!("{path}.users"),
                "with several users, client_user must name the one the strategies authenticate as",
            );
            None
        }
        (Some(u), _) if users.iter().any(|x| &x.name == u) => Some(u.clone()),
        (Some(u), _) => {
            c.at(
                &format!("{path}.client_user"),
                format!("client_user {u:?} is not one of this node's users"),
            );
            None
        }
    };
    (users, client_user)
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

pub(super) fn valid_env_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Every token a rule Redis takes, none that sets a password or switches
/// the user on or off (sessiondrill does), and nothing that would break
/// out of its `redis.conf` line.
pub fn check_rules(rules: &str) -> Result<(), String> {
    if rules.len() > 4096 {
        return Err("rules are longer than 4096 characters".into());
    }
    let tokens: Vec<&str> = rules.split_ascii_whitespace().collect();
    if tokens.is_empty() {
        return Err(format!("rules are empty: {RULE_FORMS}"));
    }
    for t in tokens {
        // A password rule is refused without being echoed.
        if t.starts_with(['>', '<', '#', '!']) {
            return Err(format!(
                "a rule sets or removes a password (>…, <…, #…, !…): {RULE_FORMS}"
            ));
        }
        if t.bytes()
            .any(|b| !b.is_ascii_graphic() || b"\"'\\".contains(&b))
        {
            return Err(format!(
                "rule {t:?} has a quote, a backslash or a character that is not printable ASCII"
            ));
        }
        let ok = match t {
            "allkeys" | "resetkeys" | "allchannels" | "resetchannels" | "allcommands"
            | "nocommands" => true,
            _ if t.starts_with('~') || t.starts_with('&') => t.len() > 1,
            _ if t.starts_with("%R~") || t.starts_with("%W~") => t.len() > 3,
            _ if t.starts_with("%RW~") => t.len() > 4,
            _ if t.starts_with("+@") || t.starts_with("-@") => {
                if !CATEGORIES.contains(&&t[2..]) {
                    return Err(format!(
                        "rule {t:?}: no such ACL category (Redis 7 has {})",
                        CATEGORIES.join(", ")
                    ));
                }
                true
            }
            _ if t.starts_with('+') || t.starts_with('-') => {
                t.len() > 1
                    && t[1..]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"|-_".contains(&b))
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "rule {t:?} is not one sessiondrill takes: {RULE_FORMS}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_rules;

    #[test]
    fn rules_take_keys_commands_and_categories_but_no_password() {
        for ok in [
            "~sd:* +@all -@dangerous",
            "~* &* +@all -del",
            "%R~sd:* %W~sd:* +get +set +client|setname",
            "allkeys allcommands",
        ] {
            assert_eq!(check_rules(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("~* +@all >secret", "sets or removes a password"),
            ("~* +@all #5e88", "sets or removes a password"),
            ("on ~* +@all", "not one sessiondrill takes"),
            ("nopass ~* +@all", "not one sessiondrill takes"),
            ("~* +@al", "no such ACL category"),
            ("~* +@all\"", "quote"),
            ("", "empty"),
            ("~* (+get ~x)", "not one sessiondrill takes"),
        ] {
            let e = check_rules(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(!e.contains("secret") && !e.contains("5e88"), "echoed: {e}");
        }
    }
}
