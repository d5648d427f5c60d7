//! `monitor` and the operations kit with the real tools: a real Prometheus scrapes the monitor
//! (every series there, every safe check at 1), the target flips to a broken variant of
//! `src/testing/` and Prometheus shows the right checks at 0 within two intervals while the
//! deploy rules fire (in that Prometheus and in `promtool test rules` on the scraped series);
//! `promtool check metrics` accepts the exposition, `promtool check rules` and `test rules`
//! accept the rules, and `kubernetes-validate --strict` the manifests.

mod monitor_support;
mod support;

use monitor_support::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::runner::{program, test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "prometheus_sees_every_safe_check_pass_then_the_flip_and_the_alert",
            &[Needs::Prometheus, Needs::Promtool],
            prometheus_sees_every_safe_check_pass_then_the_flip_and_the_alert,
        ),
        test(
            "the_exposition_passes_promtool_and_openmetrics_is_served_when_asked",
            &[Needs::Promtool],
            the_exposition_passes_promtool_and_openmetrics_is_served_when_asked,
        ),
        test(
            "the_alerting_rules_pass_promtool_check_and_their_unit_tests",
            &[Needs::Promtool],
            the_alerting_rules_pass_promtool_check_and_their_unit_tests,
        ),
        test(
            "the_manifests_validate_and_run_the_monitor_as_the_image_expects",
            &[Needs::KubernetesValidate],
            the_manifests_validate_and_run_the_monitor_as_the_image_expects,
        ),
    ])
}

/// `--every` of the Prometheus tests, and Prometheus's scrape and evaluation interval.
const EVERY: Duration = Duration::from_secs(2);
const SCRAPE: &str = "500ms";

fn rules() -> std::path::PathBuf {
    deploy().join("prometheus/recovery-harness.rules.yml")
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Polls `query` in Prometheus until `done` holds on its result (at most `within`).
async fn wait_prometheus(
    prometheus: &Prometheus,
    monitor: &Monitor,
    query: &str,
    within: Duration,
    done: impl Fn(&[(BTreeMap<String, String>, f64)]) -> bool,
) -> Vec<(BTreeMap<String, String>, f64)> {
    let start = Instant::now();
    loop {
        let result = prometheus.query(query).await;
        if done(&result) {
            return result;
        }
        if start.elapsed() > within {
            panic!(
                "Prometheus: `{query}` not as expected within {within:?}: {result:?}\ntarget: {:?}\nmonitor log:\n{}\nprometheus log:\n{}",
                prometheus.target_health().await,
                monitor.log(),
                prometheus.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_every_safe_check_pass_then_the_flip_and_the_alert() {
    let switch = Switch::start(broken_config("recovery_disabled")).await;
    let every = format!("{}s", EVERY.as_secs());
    let monitor = Monitor::start(&switch.url, &["--every", &every]);
    let prometheus = Prometheus::start(&monitor.addr, SCRAPE, &[rules()]);

    // The suite as the monitor runs it: every check of its first report.
    let first = monitor
        .wait_for("a first run", Duration::from_secs(30), |m| m.runs() >= 1.0)
        .await;
    let suite: Vec<String> = first.passing().keys().cloned().collect();
    assert!(suite.len() >= 30, "{suite:?}");
    assert!(suite.iter().any(|c| c == "preflight.recovery_enabled"));
    assert!(
        suite
            .iter()
            .all(|c| !c.starts_with("update.email") && !c.starts_with("recover")),
        "{suite:?}"
    );

    // Every safe check at 1 in Prometheus, and every series there.
    let n = suite.len();
    let passing = wait_prometheus(
        &prometheus,
        &monitor,
        "recovery_harness_check_passing",
        Duration::from_secs(30),
        |r| r.len() == n && r.iter().all(|(_, v)| *v == 1.0),
    )
    .await;
    for (labels, _) in &passing {
        assert!(
            matches!(labels["level"].as_str(), "required" | "recommended"),
            "{labels:?}"
        );
        assert_eq!(labels["job"], "recovery-harness");
    }
    for series in [
        "recovery_harness_run_duration_seconds_bucket",
        "recovery_harness_run_duration_seconds_count",
        "recovery_harness_runs_total{outcome=\"passed\"}",
        "recovery_harness_runs_total{outcome=\"error\"}",
        "recovery_harness_last_run_timestamp_seconds",
        "recovery_harness_last_success_timestamp_seconds",
        "recovery_harness_probe_duration_seconds_bucket{operation=\"createNativeRecoveryFlow\"}",
        "recovery_harness_probe_duration_seconds_bucket{operation=\"getRecoveryFlow\"}",
        "recovery_harness_probe_duration_seconds_bucket{operation=\"updateRecoveryFlow\"}",
        "recovery_harness_probes_total{answer=\"2xx\"}",
        "recovery_harness_check_consecutive_failures",
        "recovery_harness_overruns_total",
        "recovery_harness_interval_seconds",
        "recovery_harness_deadline_seconds",
        "recovery_harness_info{variant=\"v1\",kratos_release_guess=\"v1.3-or-later\"}",
    ] {
        let found = prometheus.query(series).await;
        assert!(!found.is_empty(), "no series {series} in Prometheus");
    }
    let info = prometheus.query("recovery_harness_info").await;
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].0["target"], switch.url);
    assert_eq!(info[0].0["version"], env!("CARGO_PKG_VERSION"));
    let passed_runs = prometheus
        .query("recovery_harness_runs_total{outcome=\"passed\"}")
        .await;
    assert!(passed_runs[0].1 >= 1.0, "{passed_runs:?}");
    assert!(prometheus
        .alerts()
        .await
        .iter()
        .all(|a| a["state"] != "firing"));

    // The flip: recovery switched off behind the same URL.
    let flip_at = Instant::now();
    let flip_unix = unix_now();
    switch.set_broken(true);
    let zero = wait_prometheus(
        &prometheus,
        &monitor,
        "recovery_harness_check_passing{check=\"preflight.recovery_enabled\"} == 0",
        2 * EVERY,
        |r| r.len() == 1,
    )
    .await;
    // Within two intervals of the switch (measured: 0.3 to 1 s with --every 2s).
    assert!(flip_at.elapsed() <= 2 * EVERY, "{:?}", flip_at.elapsed());
    assert_eq!(zero[0].0["level"], "required");
    // The right checks: those the monitor's own report of that run did not pass are the ones at
    // 0, and no other.
    let report = monitor.last_run().await.expect("a run report");
    let not_passed: Vec<String> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] != "passed")
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(not_passed.contains(&"preflight.recovery_enabled".to_owned()));
    let mut at_zero: Vec<String> = prometheus
        .query("recovery_harness_check_passing == 0")
        .await
        .into_iter()
        .map(|(l, _)| l["check"].clone())
        .collect();
    at_zero.sort();
    let mut expected = not_passed.clone();
    expected.sort();
    assert_eq!(
        at_zero, expected,
        "the checks at 0 are those that did not pass"
    );

    // Two failed runs in a row: the deploy rule fires in Prometheus itself.
    let start = Instant::now();
    loop {
        let firing = prometheus.alerts().await.into_iter().find(|a| {
            a["labels"]["alertname"] == "RecoveryHarnessRequiredCheckFailing"
                && a["labels"]["check"] == "preflight.recovery_enabled"
                && a["state"] == "firing"
        });
        if let Some(alert) = firing {
            assert_eq!(alert["labels"]["severity"], "critical");
            break;
        }
        assert!(
            start.elapsed() < 4 * EVERY,
            "no RecoveryHarnessRequiredCheckFailing firing: {:?}\n{}",
            prometheus.alerts().await,
            monitor.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The same rule in `promtool test rules`, on the series Prometheus scraped across the flip.
    // A point every second from before the flip to now (steps are aligned to the start, so the
    // range ends a second past now to take the newest sample).
    let scraped = prometheus
        .query_range(
            "recovery_harness_check_consecutive_failures{check=\"preflight.recovery_enabled\"}",
            flip_unix - 2.0,
            unix_now() + 1.0,
            1.0,
        )
        .await;
    assert_eq!(scraped.len(), 1, "{scraped:?}");
    promtool_fires_on(&scraped[0].0, &scraped[0].1);

    // And back: the checks pass again and the failures in a row reset.
    switch.set_broken(false);
    wait_prometheus(
        &prometheus,
        &monitor,
        "recovery_harness_check_passing",
        2 * EVERY + Duration::from_secs(2),
        |r| r.len() == n && r.iter().all(|(_, v)| *v == 1.0),
    )
    .await;
    let reset = prometheus
        .query("max(recovery_harness_check_consecutive_failures)")
        .await;
    assert_eq!(reset[0].1, 0.0, "{reset:?}");
    let m = monitor.metrics().await;
    assert!(
        m.value("recovery_harness_runs_total", &[("outcome", "failed")]) >= Some(2.0),
        "{:?}",
        m.series("recovery_harness_runs_total")
    );
}

/// Writes a promtool unit test whose input is `points` (one a second, as scraped) and which
/// expects the failing-check alert at the last point, runs it, and asserts it passes; and that
/// the same test fails against a rule that asks for one more failure.
fn promtool_fires_on(labels: &BTreeMap<String, String>, points: &[(f64, f64)]) {
    let promtool = program(Needs::Promtool);
    let values: Vec<String> = points.iter().map(|(_, v)| format!("{v}")).collect();
    let last = points.last().expect("points").1;
    assert!(
        last >= 2.0,
        "the scraped failures reached {last}: {points:?}"
    );
    let selector: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    let exp_labels: String = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("              {k}: \"{v}\"\n"))
        .collect();
    // The first point where two failures in a row were scraped: the alert is due there.
    let due = points
        .iter()
        .position(|(_, v)| *v >= 2.0)
        .expect("a point at 2");
    let dir = tempfile::tempdir().expect("tempdir");
    let write_test = |rules: &Path| {
        let test = format!(
            "rule_files:\n  - {rules}\nevaluation_interval: 1s\ntests:\n  - interval: 1s\n    input_series:\n      - series: 'recovery_harness_check_consecutive_failures{{{sel}}}'\n        values: '{values}'\n    alert_rule_test:\n      - eval_time: {before}s\n        alertname: RecoveryHarnessRequiredCheckFailing\n        exp_alerts: []\n      - eval_time: {due}s\n        alertname: RecoveryHarnessRequiredCheckFailing\n        exp_alerts:\n          - exp_labels:\n              severity: critical\n{exp_labels}            exp_annotations:\n              summary: \"Recovery check {check} failed {n} runs in a row\"\n              description: \"The required recovery check {check} failed (or got no answer) in the last {n} runs of the monitor at {instance}. Users recovering an account may be affected. The last run's evidence: GET /last-run.json on the monitor.\"\n",
            check = labels["check"],
            instance = labels["instance"],
            n = points[due].1,
            rules = rules.display(),
            sel = selector.join(","),
            values = values.join(" "),
            before = due.saturating_sub(1),
        );
        let path = dir.path().join("flip.test.yml");
        std::fs::write(&path, test).expect("write the test");
        Command::new(&promtool)
            .args(["test", "rules"])
            .arg(&path)
            .output()
            .expect("promtool runs")
    };
    let out = write_test(&rules());
    assert!(
        out.status.success(),
        "promtool test rules on the scraped series:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let weaker = dir.path().join("weaker.rules.yml");
    std::fs::write(
        &weaker,
        std::fs::read_to_string(rules())
            .expect("rules")
            .replace("{level=\"required\"} >= 2", "{level=\"required\"} >= 3"),
    )
    .expect("write");
    assert!(
        !write_test(&weaker).status.success(),
        "the test must fail against a rule that waits for a third failure"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_passes_promtool_and_openmetrics_is_served_when_asked() {
    let switch = Switch::start(broken_config("recovery_disabled")).await;
    let monitor = Monitor::start(&switch.url, &["--every", "1s"]);
    let m = monitor
        .wait_for("a first run", Duration::from_secs(30), |m| m.runs() >= 1.0)
        .await;
    let client = reqwest::Client::new();

    // Prometheus text format by default (curl, promtool).
    let text = client
        .get(monitor.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(
        text.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = text.text().await.expect("body");
    assert!(!text.contains("# EOF"), "{text}");
    assert!(
        text.contains("# TYPE recovery_harness_runs_total counter"),
        "{text}"
    );
    let promtool = program(Needs::Promtool);
    let out = pipe(&promtool, &["check", "metrics"], &text);
    assert!(out.0, "promtool check metrics:\n{}", out.1);
    // It does reject a broken exposition.
    let broken = text.replacen(
        "# TYPE recovery_harness_runs_total counter",
        "# TYPE recovery_harness_runs_total bogus",
        1,
    );
    assert!(!pipe(&promtool, &["check", "metrics"], &broken).0);

    // OpenMetrics when the scrape prefers it, as Prometheus does.
    let om = client
        .get(monitor.url("/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(
        om.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let om = om.text().await.expect("body");
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE recovery_harness_runs counter"), "{om}");
    assert!(
        om.contains("# UNIT recovery_harness_run_duration_seconds seconds"),
        "{om}"
    );

    // /healthz and /last-run.json, which is the run's conformance.json.
    let health = client
        .get(monitor.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let report = monitor.last_run().await.expect("a report");
    let schema: serde_json::Value =
        serde_json::from_str(recovery_harness::report::json::SCHEMA).expect("the schema");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        report["checks"].as_array().map(Vec::len),
        Some(m.passing().len()),
        "one report entry per exported check"
    );
    let not_found = client.get(monitor.url("/nope")).send().await.expect("404");
    assert_eq!(not_found.status(), 404);
}

fn pipe(program: &Path, args: &[&str], input: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the program runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("it ends");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn the_alerting_rules_pass_promtool_check_and_their_unit_tests() {
    let promtool = program(Needs::Promtool);
    let out = Command::new(&promtool)
        .args(["check", "rules"])
        .arg(rules())
        .output()
        .expect("promtool runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("3 rules found"), "{text}");
    let out = Command::new(&promtool)
        .args(["test", "rules"])
        .arg(deploy().join("prometheus/recovery-harness.rules.test.yml"))
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The unit tests do catch a wrong rule: each alert's threshold moved fails them.
    let dir = tempfile::tempdir().expect("tempdir");
    let original = std::fs::read_to_string(rules()).expect("rules");
    for (from, to) in [
        ("} >= 2", "} >= 3"),
        (
            "> 3 * recovery_harness_interval_seconds)\n          and",
            "> 4 * recovery_harness_interval_seconds)\n          and",
        ),
        (
            "recovery_harness_last_run_duration_seconds >= recovery_harness_deadline_seconds",
            "recovery_harness_last_run_duration_seconds > 2 * recovery_harness_deadline_seconds",
        ),
    ] {
        assert!(original.contains(from), "{from}");
        std::fs::write(
            dir.path().join("recovery-harness.rules.yml"),
            original.replace(from, to),
        )
        .expect("write");
        std::fs::copy(
            deploy().join("prometheus/recovery-harness.rules.test.yml"),
            dir.path().join("recovery-harness.rules.test.yml"),
        )
        .expect("copy");
        let out = Command::new(&promtool)
            .args(["test", "rules"])
            .arg(dir.path().join("recovery-harness.rules.test.yml"))
            .output()
            .expect("promtool runs");
        assert!(
            !out.status.success(),
            "the unit tests pass a rule changed from {from} to {to}"
        );
    }
}

fn the_manifests_validate_and_run_the_monitor_as_the_image_expects() {
    let deployment = std::fs::read_to_string(deploy().join("deployment.yaml")).expect("read");
    let service = std::fs::read_to_string(deploy().join("service.yaml")).expect("read");
    // The Deployment's arguments are ones `monitor` accepts, and its port is the Service's.
    assert!(deployment.contains("- monitor\n"), "{deployment}");
    assert!(deployment.contains("0.0.0.0:9477"), "{deployment}");
    assert!(
        service.contains("prometheus.io/port: \"9477\""),
        "{service}"
    );
    assert!(deployment.contains("runAsUser: 65532"), "the image's user");
    assert!(deployment.contains("path: /healthz"));
    let help = Command::new(BIN)
        .args(["monitor", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--listen", "--every", "--deadline"] {
        assert!(deployment.contains(flag) && help.contains(flag), "{flag}");
    }

    let validate = program(Needs::KubernetesValidate);
    let files = [
        deploy().join("deployment.yaml"),
        deploy().join("service.yaml"),
    ];
    let out = Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.37.0"])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    for name in ["deployment.yaml", "service.yaml"] {
        assert!(
            text.lines()
                .any(|l| l.contains(name) && l.contains("passed")),
            "{name}: {text}"
        );
    }
    // Strict validation does refuse a misspelt field.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, deployment.replace("livenessProbe:", "livenesProbe:")).expect("write");
    let out = Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.37.0"])
        .arg(&bad)
        .output()
        .expect("kubernetes-validate runs");
    assert!(!out.status.success(), "a misspelt field must fail");
}
