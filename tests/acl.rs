//! ACL users on provisioned Redis nodes (issue 20), with real
//! `redis-server`s: the strategies authenticate as the node's client user
//! (password from the environment), sessiondrill itself as `default`.

mod support;

use support::{cli, home, run_scenario, scenario_file, topology_path};

/// A password no file, log or report may hold.
const PASSWORD: &str = "app-pw-7f3c9e";

/// The app user may not DEL: every logout is refused as `noperm` — which
/// also proves the strategies connect as `app`, since sessiondrill's own
/// `default` user may run anything — and nothing else fails or is lost.
#[test]
fn an_app_user_without_del_gets_noperm_on_logouts_and_nothing_else() {
    let r = run_scenario(
        &topology_path("redis-acl-without-del.yaml"),
        &["--duration", "3s"],
        &[("SESSIONDRILL_APP_PASSWORD", PASSWORD)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.report["strategies"]["redis"];
    let count = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let noperm = count(&s["errors"]["noperm"]);
    let deletes = &s["ops_by_kind"]["delete"];
    assert!(noperm > 10, "{s}");
    // Every logout, and nothing but logouts.
    assert_eq!(noperm, count(&deletes["ops"]), "{s}");
    assert_eq!(noperm, count(&deletes["errors"]), "{s}");
    let errors: u64 = s["errors"].as_object().unwrap().values().map(count).sum();
    assert_eq!(errors, noperm, "{s}");
    for kind in ["create", "read", "update"] {
        let k = &s["ops_by_kind"][kind];
        assert!(count(&k["ops"]) > 100, "{kind}: {s}");
        assert_eq!(count(&k["errors"]), 0, "{kind}: {s}");
    }
    assert_eq!(s["lost"], 0, "{s}");
    assert!(count(&s["acked_writes"]) > 500, "{s}");
    let said = format!("{}{}", r.report, r.stderr);
    assert!(!said.contains(PASSWORD), "the password was printed");
}

/// Sentinel lookups go to the Sentinels with their own password, the
/// data to the primary as the app user; a cluster client authenticates
/// with every node as the app user (both over TLS here). The app user may
/// not DEL: every logout, and nothing else, fails with noperm — which
/// `default` would not.
#[test]
fn an_app_user_reaches_sentinel_managed_and_cluster_nodes() {
    for kind in [
        "kind: redis-replicated\n      replicas: 1\n      sentinels: 1",
        "kind: redis-cluster\n      shards: 2\n      replicas_per_shard: 0",
    ] {
        let (_d, file) = scenario_file(&format!(
            "name: acl-app-user
topology:
  name: t
  nodes:
    cache:
      {kind}
      tls: true
      users:
        app: {{ password_env: SD_TEST_APP_PASSWORD, rules: \"~sd:* +@all -@dangerous -del\" }}
        ops: {{ password_env: SD_TEST_OPS_PASSWORD, rules: \"~* +@read\" }}
      client_user: app
strategies: [redis]
workload:
  sessions: 300
  duration: 2s
  rates: {{ create: 100/s, read: 100/s, update: 100/s, delete: 20/s }}
"
        ));
        let r = run_scenario(
            &file,
            &[],
            &[
                ("SD_TEST_APP_PASSWORD", PASSWORD),
                ("SD_TEST_OPS_PASSWORD", "ops-pw-1b2d"),
            ],
        );
        assert_eq!(r.code, 0, "{kind}: {}", r.stderr);
        let s = &r.report["strategies"]["redis"];
        assert!(s["acked_writes"].as_u64().unwrap() > 200, "{kind}: {s}");
        let deletes = &s["ops_by_kind"]["delete"]["ops"];
        assert!(deletes.as_u64().unwrap() > 10, "{kind}: {s}");
        assert_eq!(
            s["errors"],
            serde_json::json!({ "noperm": deletes }),
            "{kind}: {s}"
        );
        assert_eq!(s["lost"], 0, "{kind}: {s}");
    }
}

/// A password variable that is not set: exit 2, the node, the user and
/// the variable named, and no run directory made.
#[test]
fn a_missing_password_variable_is_exit_2_naming_the_node_and_writes_nothing() {
    let h = home();
    let out = cli(&h)
        .arg("run")
        .arg(topology_path("redis-acl-without-del.yaml"))
        .env_remove("SESSIONDRILL_APP_PASSWORD")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "node `cache`: user `app` takes its password from $SESSIONDRILL_APP_PASSWORD, which is not set"
        ),
        "{stderr}"
    );
    assert!(support::run_dirs(&h).is_empty());
}
