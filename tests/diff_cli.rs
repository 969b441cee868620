//! `diff A.json B.json` (issue 22): two real runs of one scenario, with
//! and without its fault, and the same run twice.

mod support;

use std::path::{Path, PathBuf};

use support::{cli, home, topology_path};

/// `redis-latency` for 4 s (its 50 ms latency at 2 s), the report written
/// to `dir/NAME.json`.
fn run(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["--duration", "4s"];
    args.extend_from_slice(extra);
    let r = support::run_scenario(&topology_path("redis-latency.yaml"), &args, &[]);
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec(&r.report).unwrap()).unwrap();
    path
}

fn diff(a: &Path, b: &Path, extra: &[&str]) -> (i32, String, String) {
    let h = home();
    let out = cli(&h)
        .arg("diff")
        .arg(a)
        .arg(b)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_flipped_expectation_is_a_regression_and_the_same_verdicts_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let with = run(dir.path(), "with", &[]);
    let again = run(dir.path(), "again", &[]);
    let without = run(dir.path(), "without", &["--without-faults"]);

    // The same verdicts (the numbers differ from run to run): exit 0.
    let (code, out, err) = diff(&with, &again, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No regression."), "{out}");
    assert!(out.contains("| redis | latency.p99_ms |"), "{out}");

    // Without its fault the latency expectation fails: exit 1, named.
    let (code, out, err) = diff(&with, &without, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("## Regressions"), "{out}");
    assert!(
        out.contains("`redis.latency.p99_ms > 50` held, fails now"),
        "{out}"
    );
    assert!(out.contains("the run no longer passes"), "{out}");

    // The other way round it is better, and a threshold on the rise of
    // p99 makes it a regression all the same; JSON and Markdown written.
    let json = dir.path().join("diff.json");
    let md = dir.path().join("diff.md");
    let (code, out, err) = diff(
        &without,
        &with,
        &[
            "--fail-on",
            "latency.p99_ms > +100%",
            "--json",
            json.to_str().unwrap(),
            "--md",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("`redis.latency.p99_ms > 50` holds now"),
        "{out}"
    );
    assert!(out.contains("breaks `latency.p99_ms > +100%`"), "{out}");
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(d["regressions"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(std::fs::read_to_string(&md).unwrap().trim(), out.trim());
    // And as a page: the regression named, a chart of A against B.
    let page = dir.path().join("diff.html");
    let (code, _, _) = diff(
        &without,
        &with,
        &[
            "--fail-on",
            "latency.p99_ms > +100%",
            "--html",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("breaks `latency.p99_ms &gt; +100%`"),
        "{html}"
    );
    assert!(html.contains("<svg class=\"bars\""), "{html}");
    assert!(!html.contains("<script"));
    // A generous threshold is not crossed.
    let (code, out, _) = diff(
        &without,
        &with,
        &["--fail-on", "redis.latency.p99_ms > +100000%"],
    );
    assert_eq!(code, 0, "{out}");

    // Rules of every shape, crossed: one strategy's, a fall, an absolute
    // rise.
    for (a, b, rule, says) in [
        (
            &without,
            &with,
            "redis.latency.p99_ms > +100%",
            "redis.latency.p99_ms",
        ),
        (
            &with,
            &without,
            "latency.p99_ms < -50%",
            "breaks `latency.p99_ms < -50%`",
        ),
        (
            &without,
            &with,
            "max_stall_ms > +20",
            "breaks `max_stall_ms > +20`",
        ),
    ] {
        let (code, out, err) = diff(a, b, &["--fail-on", rule]);
        assert_eq!(code, 1, "{rule}: {out}{err}");
        assert!(out.contains(says), "{rule}: {out}");
    }
    // A fault that stopped working, a strategy gone: regressions, named.
    let edited = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
        edit(&mut r);
        let path = dir.path().join(name);
        std::fs::write(&path, r.to_string()).unwrap();
        path
    };
    let unfired = edited("unfired.json", &|r| {
        r["faults"][0]["fired"] = false.into();
        r["faults"][0]["error"] = "never injected".into();
    });
    let (code, out, _) = diff(&with, &unfired, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("did not work: never injected"), "{out}");
    let gone = edited("gone.json", &|r| {
        let s = r["strategies"]["redis"].clone();
        r["strategies"] = serde_json::json!({ "other": s });
    });
    let (code, out, _) = diff(&with, &gone, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("strategy redis is gone"), "{out}");
    assert!(out.contains("strategy other is new in B"), "{out}");
    // Another load of the same scenario: not compared unless asked.
    let bigger = edited("bigger.json", &|r| r["workload"]["sessions"] = 5000.into());
    let (code, _, err) = diff(&with, &bigger, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("two different loads") && err.contains("--any-load"),
        "{err}"
    );
    let (code, out, _) = diff(&with, &bigger, &["--any-load"]);
    assert_eq!(code, 0, "{out}");

    // Bad input: exit 2, said.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"not\": \"a report\"}").unwrap();
    for (args, says) in [
        (
            vec![junk.as_path(), with.as_path()],
            "not a sessiondrill report",
        ),
        (
            vec![with.as_path(), Path::new("/nonexistent.json")],
            "/nonexistent.json",
        ),
    ] {
        let (code, out, err) = diff(args[0], args[1], &[]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains(says), "{err}");
    }
    for rule in ["lost_writes > 10%", "nosuch > +1", "lost < +1"] {
        let (code, _, err) = diff(&with, &again, &["--fail-on", rule]);
        assert_eq!(code, 2, "{rule}: {err}");
        assert!(err.contains("--fail-on"), "{err}");
    }
    let mut other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
    other["scenario"] = "another-scenario".into();
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let (code, _, err) = diff(&with, &other_path, &["--any-load"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not two runs of one scenario"), "{err}");
}
