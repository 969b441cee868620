//! ACL users on a run's Redis servers (`users:`, issue 20). Passwords are
//! read from the environment once, before anything of the run is written,
//! and reach `redis.conf` only as their SHA-256 (`#<hex>`, which Redis
//! takes in place of a password): nothing on disk, in logs or in reports
//! holds them. sessiondrill's own connections (probes, faults, the
//! checker, Sentinel lookups) keep using the `default` user; the strategies
//! authenticate as the node's `client_user`.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::conf::Conf;
use super::probe::RedisAccess;
use crate::provision::ProvisionError;
use crate::topology::{NodeKind, Topology};

/// One user, its password read.
struct User {
    name: String,
    password: String,
    rules: String,
}

/// The users of one node, passwords read.
pub struct NodeUsers {
    users: Vec<User>,
    /// Index in `users` of the one the strategies authenticate as.
    client: Option<usize>,
}

impl std::fmt::Debug for NodeUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a password in a log.
        let names: Vec<&str> = self.users.iter().map(|u| u.name.as_str()).collect();
        f.debug_struct("NodeUsers").field("users", &names).finish()
    }
}

/// Every node's users, by node name: each password read from its
/// environment variable. A variable that is not set, empty or not UTF-8 is
/// the user's to fix ([`ProvisionError::Secret`], exit 2), found before
/// the run directory exists.
pub fn resolve(topology: &Topology) -> Result<HashMap<String, NodeUsers>, ProvisionError> {
    resolve_with(topology, |var| std::env::var_os(var))
}

fn resolve_with(
    topology: &Topology,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<HashMap<String, NodeUsers>, ProvisionError> {
    let mut all = HashMap::new();
    for node in &topology.nodes {
        let server = match &node.kind {
            NodeKind::Redis(s) => s,
            NodeKind::RedisReplicated(r) => &r.server,
            NodeKind::RedisCluster(c) => &c.server,
            NodeKind::Dynamodb(_) | NodeKind::Dax(_) | NodeKind::Memcached(_) => continue,
        };
        if server.users.is_empty() {
            continue;
        }
        let mut users = Vec::new();
        for u in &server.users {
            let var = &u.password_env;
            let secret = |why: &str| ProvisionError::Secret {
                node: node.name.clone(),
                message: format!(
                    "user `{}` takes its password from ${var}, which {why}",
                    u.name
                ),
            };
            let value = env(var).ok_or_else(|| secret("is not set (export it first)"))?;
            let password = value
                .into_string()
                .map_err(|_| secret("is not UTF-8 text"))?;
            if password.is_empty() {
                return Err(secret("is empty"));
            }
            users.push(User {
                name: u.name.clone(),
                password,
                rules: u.rules.clone(),
            });
        }
        let client = server
            .client_user
            .as_ref()
            .and_then(|c| users.iter().position(|u| &u.name == c));
        all.insert(node.name.clone(), NodeUsers { users, client });
    }
    Ok(all)
}

impl NodeUsers {
    /// `user NAME on #SHA256 RULES` for each user of a redis-server.
    pub fn configure(&self, conf: &mut Conf) {
        for u in &self.users {
            let hash = hex::encode(Sha256::digest(u.password.as_bytes()));
            // Tokens joined by single spaces: nothing in the rules can
            // start a new line of the file.
            let rules: Vec<&str> = u.rules.split_ascii_whitespace().collect();
            conf.set(
                "user",
                format!("{} reset on #{hash} {}", u.name, rules.join(" ")),
            );
        }
    }

    /// How the strategies reach the node: as the client user, over the same
    /// transport as `control`.
    pub fn client_access(&self, control: &RedisAccess) -> Option<RedisAccess> {
        let u = &self.users[self.client?];
        Some(RedisAccess {
            user: Some(u.name.clone()),
            password: u.password.clone(),
            ca: control.ca.clone(),
            host: control.host.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::SourceText;

    fn topology() -> Topology {
        Topology::parse(&SourceText::inline(
            "t.yaml",
            "name: t\nnodes:\n  cache:\n    kind: redis\n    users:\n      app: { password_env: SD_TEST_APP, rules: \"~sd:* +@all\\n -del\" }\n",
        ))
        .unwrap()
    }

    #[test]
    fn passwords_come_from_the_environment_and_reach_the_conf_hashed() {
        let t = topology();
        let env = |v: &str| (v == "SD_TEST_APP").then(|| "s3cret pw".into());
        let users = resolve_with(&t, env).unwrap();
        let cache = &users["cache"];
        let mut conf = Conf::default();
        cache.configure(&mut conf);
        // sha256("s3cret pw")
        let hash = hex::encode(Sha256::digest(b"s3cret pw"));
        assert_eq!(
            conf.text(),
            format!("user app reset on #{hash} ~sd:* +@all -del\n")
        );
        assert!(!conf.text().contains("s3cret"));
        assert!(!format!("{cache:?}").contains("s3cret"));
        let access = cache.client_access(&RedisAccess::plain("control")).unwrap();
        assert_eq!(access.user.as_deref(), Some("app"));
        assert_eq!(access.password, "s3cret pw");
    }

    #[test]
    fn a_missing_or_empty_variable_names_the_node_user_and_variable() {
        let t = topology();
        for (env, why) in [(None, "is not set"), (Some(""), "is empty")] {
            let e = resolve_with(&t, |_| env.map(Into::into)).unwrap_err();
            assert!(e.is_user_error());
            assert_eq!(
                e.to_string(),
                format!(
                    "node `cache`: user `app` takes its password from $SD_TEST_APP, which {why}"
                ) + if why == "is not set" {
                    " (export it first)"
                } else {
                    ""
                }
            );
        }
    }
}
