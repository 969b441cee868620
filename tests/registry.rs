//! The registries pinned: YAML validation accepts every kind the code
//! knows — fault kinds, strategies, error classes, node kinds — and refuses
//! what is not one. (That the report's schema names exactly the same kinds
//! is `run_cli::the_schema_names_exactly_what_the_code_has`.)

use std::collections::BTreeSet;
use std::path::Path;

use sessiondrill::faults::FaultKind;
use sessiondrill::scenario::Scenario;
use sessiondrill::store::{ErrorClass, StrategyKind};
use sessiondrill::topology::{KindName, Topology};

fn set<'a>(it: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    it.into_iter().map(str::to_string).collect()
}

fn scenario_errors(dir: &Path, yaml: &str) -> String {
    let p = dir.join("s.yaml");
    std::fs::write(&p, yaml).expect("write");
    match Scenario::load(&p) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// A topology with a node of every kind a strategy can use.
const TOPOLOGY: &str = "topology:
  name: t
  nodes:
    cache: { kind: redis-replicated }
    sessions: { kind: dynamodb }
    accel: { kind: dax, dynamodb: sessions }
    mc: { kind: memcached }
    clu: { kind: redis-cluster, shards: 3, spares: 2 }
";

/// A topology with an external node, for the clouds' fault kinds.
const EXTERNAL: &str = "topology:
  name: t
  aws: { region: eu-west-1 }
  nodes:
    ext: { kind: redis, external: { addresses: [\"127.0.0.1:6379\"] } }
";

const WORKLOAD: &str = "workload: { sessions: 10, duration: 30s, rates: { create: 1/s } }\n";

/// A timeline entry of `kind` that validation must accept: the node it
/// applies to and the parameters it needs. A new kind is a compile error
/// here until it is given one.
fn entry(kind: FaultKind, at: usize) -> String {
    let (target, rest) = match kind {
        FaultKind::Kill
        | FaultKind::Pause
        | FaultKind::PowerLoss
        | FaultKind::Partition
        | FaultKind::Timeout
        | FaultKind::Evict => ("cache", ", duration: 1s"),
        FaultKind::Restart
        | FaultKind::Resume
        | FaultKind::Failover
        | FaultKind::Flush
        | FaultKind::Reset => ("cache", ""),
        FaultKind::Latency => ("cache", ", latency: 50ms, duration: 1s"),
        FaultKind::Bandwidth => ("cache", ", bandwidth: 10kb/s, duration: 1s"),
        FaultKind::Throttle => ("sessions", ", share: 10%, duration: 1s"),
        // On the external node of EXTERNAL.
        FaultKind::Fis => ("ext", ", template: EXT1a2b3c4d5e6f7"),
        FaultKind::TestFailover => ("ext", ", replication_group: sessions"),
        FaultKind::Reshard => ("clu", ", slots: 100"),
        FaultKind::AddMaster | FaultKind::AddReplica => ("clu", ""),
    };
    format!(
        "  - {{ at: {at}s, fault: {}, target: {target}{rest} }}\n",
        kind.name()
    )
}

#[test]
fn validation_accepts_every_fault_kind_and_every_strategy_the_code_knows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let strategies: Vec<&str> = StrategyKind::ALL.iter().map(|k| k.name()).collect();
    let (cloud, ours): (Vec<FaultKind>, Vec<FaultKind>) =
        FaultKind::ALL.iter().partition(|k| k.is_cloud());
    let timeline = |kinds: &[FaultKind]| -> String {
        kinds
            .iter()
            .enumerate()
            .map(|(i, k)| entry(*k, i + 1))
            .collect()
    };
    let errors = scenario_errors(
        dir.path(),
        &format!(
            "name: reg\n{TOPOLOGY}strategies: [{}]\n{WORKLOAD}timeline:\n{}",
            strategies.join(", "),
            timeline(&ours)
        ),
    );
    assert_eq!(errors, "", "a kind the code knows is refused");
    // The clouds' kinds, on a node sessiondrill does not run.
    assert!(!cloud.is_empty());
    let errors = scenario_errors(
        dir.path(),
        &format!(
            "name: reg\n{EXTERNAL}strategies: [redis]\n{WORKLOAD}timeline:\n{}",
            timeline(&cloud)
        ),
    );
    assert_eq!(errors, "", "a cloud kind the code knows is refused");
    // And what is not a kind is refused, by name.
    let errors = scenario_errors(
        dir.path(),
        &format!(
            "name: reg\n{TOPOLOGY}strategies: [nosuch]\n{WORKLOAD}timeline:\n  - {{ at: 1s, fault: explode, target: cache }}\n"
        ),
    );
    assert!(errors.contains("unknown fault `explode`"), "{errors}");
    assert!(errors.contains("unknown strategy `nosuch`"), "{errors}");
}

#[test]
fn expectations_accept_exactly_the_error_classes_the_code_knows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expect = |class: &str| {
        scenario_errors(
            dir.path(),
            &format!(
                "name: reg\n{TOPOLOGY}strategies: [redis]\n{WORKLOAD}expect:\n  redis.errors.{class}: \"== 0\"\n"
            ),
        )
    };
    for c in ErrorClass::ALL {
        assert_eq!(expect(c.name()), "", "errors.{} refused", c.name());
    }
    assert!(
        expect("nosuch").contains("unknown metric"),
        "errors.nosuch accepted"
    );
}

#[test]
fn topologies_accept_exactly_the_node_kinds_the_code_knows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let load = |kind: &str| {
        let p = dir.path().join("t.yaml");
        std::fs::write(&p, format!("name: t\nnodes:\n  a: {{ kind: {kind} }}\n")).expect("write");
        Topology::load(&p).map(|_| ()).map_err(|e| e.to_string())
    };
    let err = load("valkey").expect_err("valkey is no kind (yet)");
    // serde: "unknown variant `valkey`, expected one of `redis`, `dax`, …"
    let offered: BTreeSet<String> = err
        .split("expected one of ")
        .nth(1)
        .expect("a list")
        .split(", ")
        .map(|n| n.split('`').nth(1).expect("a quoted name").to_string())
        .collect();
    assert_eq!(offered, set(KindName::ALL.iter().map(|k| k.name())));
    for k in KindName::ALL {
        // A bare node of each kind is valid, except a DAX node, which
        // needs the DynamoDB node it sits in front of.
        let r = load(k.name());
        if *k == KindName::Dax {
            assert!(r.unwrap_err().contains("dynamodb"));
        } else {
            r.unwrap_or_else(|e| panic!("kind {} refused: {e}", k.name()));
        }
    }
}
