//! `monitor` against every kind of target, as a child process: real Kratos (every safe check at
//! 1 after one interval, no mail queued, no identity changed), an unreachable target, a hung one,
//! one that answers 64 MiB bodies; SIGINT and SIGTERM between runs and in a hung run; overruns;
//! secrets kept out of every output; `--report-dir` rewritten each run.

mod monitor_support;
mod support;

use monitor_support::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "an_unreachable_target_is_an_error_run_not_a_crash",
            &[],
            an_unreachable_target_is_an_error_run_not_a_crash,
        ),
        test(
            "a_hung_target_is_an_error_run_and_the_endpoints_answer_meanwhile",
            &[],
            a_hung_target_is_an_error_run_and_the_endpoints_answer_meanwhile,
        ),
        test(
            "a_run_longer_than_the_interval_is_counted_as_an_overrun_not_queued",
            &[],
            a_run_longer_than_the_interval_is_counted_as_an_overrun_not_queued,
        ),
        test(
            "sixty_four_megabyte_answers_are_cut_at_the_body_cap",
            &[],
            sixty_four_megabyte_answers_are_cut_at_the_body_cap,
        ),
        test(
            "secrets_stay_out_of_metrics_reports_and_logs_and_reports_are_rewritten",
            &[],
            secrets_stay_out_of_metrics_reports_and_logs_and_reports_are_rewritten,
        ),
        test(
            "real_kratos_one_interval_passes_every_safe_check_and_sends_no_mail",
            &[Needs::Kratos],
            real_kratos_one_interval_passes_every_safe_check_and_sends_no_mail,
        ),
    ])
}

fn exit_zero(status: &str) -> bool {
    status.ends_with("exit status: 0")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_an_error_run_not_a_crash() {
    let target = unreachable();
    let mut monitor = Monitor::start(&target, &["--every", "500ms"]);
    let m = monitor
        .wait_for("two error runs", Duration::from_secs(30), |m| {
            m.value("recovery_harness_runs_total", &[("outcome", "error")]) >= Some(2.0)
        })
        .await;
    assert!(!m.passing().is_empty());
    assert!(m.passing().values().all(|v| *v == 0.0), "{:?}", m.passing());
    assert_eq!(
        m.value("recovery_harness_last_success_timestamp_seconds", &[]),
        Some(0.0)
    );
    assert!(
        m.sum("recovery_harness_probes_total", &[("answer", "connect")]) >= 1.0,
        "{}",
        m.text
    );
    let report = monitor.last_run().await.expect("a report");
    let checks = report["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), m.passing().len());
    assert!(checks.iter().all(|c| c["status"] == "error"), "{report}");
    assert!(
        checks[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("could not be carried out")),
        "{report}"
    );
    assert!(monitor.exited().is_none(), "{}", monitor.log());
    let (status, took) = monitor.signal_and_wait("INT");
    assert!(exit_zero(&status), "{status}\n{}", monitor.log());
    assert!(
        monitor.log().contains("SIGINT received"),
        "{}",
        monitor.log()
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_target_is_an_error_run_and_the_endpoints_answer_meanwhile() {
    let target = hung().await;
    // Short requests: each run gets no answer and ends as an error.
    let monitor = Monitor::start(&target, &["--every", "1s", "--timeout", "200ms"]);
    let m = monitor
        .wait_for("an error run", Duration::from_secs(30), |m| {
            m.value("recovery_harness_runs_total", &[("outcome", "error")]) >= Some(1.0)
        })
        .await;
    assert_eq!(
        m.value(
            "recovery_harness_check_passing",
            &[("check", "preflight.recovery_enabled")]
        ),
        Some(0.0)
    );
    assert!(
        m.sum("recovery_harness_probes_total", &[("answer", "timeout")]) >= 1.0,
        "{}",
        m.text
    );
    drop(monitor);

    // Long requests: the first run hangs for its whole deadline, and /metrics, /healthz and
    // /last-run.json answer at once meanwhile; SIGTERM then stops it within 5 s, exit 0.
    let mut monitor = Monitor::start(&target, &["--every", "60s", "--timeout", "60s"]);
    for _ in 0..5 {
        let start = Instant::now();
        let m = monitor.metrics().await;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(m.runs(), 0.0, "the run hangs: {}", m.text);
        assert!(answers_within(
            &monitor.addr,
            "/healthz",
            Duration::from_secs(1)
        ));
        assert!(monitor.last_run().await.is_none(), "no run has finished");
    }
    let (status, took) = monitor.signal_and_wait("TERM");
    assert!(exit_zero(&status), "{status}\n{}", monitor.log());
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    assert!(
        monitor.log().contains("SIGTERM received"),
        "{}",
        monitor.log()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_longer_than_the_interval_is_counted_as_an_overrun_not_queued() {
    let target = hung().await;
    // Each run waits 2 × 700 ms (a timeout, then the request sent again alone) while a run is due
    // every 500 ms.
    let monitor = Monitor::start(
        &target,
        &["--every", "500ms", "--deadline", "5s", "--timeout", "700ms"],
    );
    let m = monitor
        .wait_for("an overrun", Duration::from_secs(30), |m| {
            m.value("recovery_harness_overruns_total", &[]) >= Some(1.0) && m.runs() >= 2.0
        })
        .await;
    let runs = m.runs();
    let overruns = m
        .value("recovery_harness_overruns_total", &[])
        .unwrap_or(0.0);
    let longest = m
        .value("recovery_harness_last_run_duration_seconds", &[])
        .unwrap_or(0.0);
    assert!(longest > 0.5, "{longest}");
    // One run at a time: the dropped slots are not run later, so runs stay far fewer than slots.
    assert!(overruns >= runs - 1.0, "{runs} runs, {overruns} overruns");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_megabyte_answers_are_cut_at_the_body_cap() {
    let target = oversized().await;
    let monitor = Monitor::start(&target, &["--every", "1s"]);
    let m = monitor
        .wait_for("two runs", Duration::from_secs(60), |m| m.runs() >= 2.0)
        .await;
    assert_eq!(
        m.value(
            "recovery_harness_check_passing",
            &[("check", "create_native.schema")]
        ),
        Some(0.0)
    );
    assert!(
        m.sum("recovery_harness_probes_total", &[("answer", "broken")]) >= 4.0,
        "{}",
        m.text
    );
    let report = monitor.last_run().await.expect("a report");
    assert!(
        report.to_string().contains("--max-body-size"),
        "the body cap is named: {report}"
    );
    // Every body is cut at --max-body-size (4 MiB): with 4 requests in flight, whole answers
    // would take 256 MiB; the run keeps its exchanges' evidence until it ends, so the peak is the
    // process's own plus a few capped bodies (58 MiB measured in a debug build).
    let peak = peak_rss_kib(monitor.pid()).expect("VmHWM");
    assert!(
        peak < 2 * (OVERSIZED as u64 / 1024),
        "peak RSS {peak} KiB after 64 MiB answers"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_metrics_reports_and_logs_and_reports_are_rewritten() {
    let switch = Switch::start(broken_config("recovery_disabled")).await;
    let token = switch.session_token.clone();
    let cookie = format!("ory_kratos_session={token}");
    let reports = tempfile::tempdir().expect("tempdir");
    let dir = reports.path().to_string_lossy().into_owned();
    let mut monitor = Monitor::start_with_env(
        &switch.url,
        &["--every", "500ms", "--report-dir", &dir],
        &[
            ("RECOVERY_HARNESS_SESSION_TOKEN", &token),
            ("RECOVERY_HARNESS_SESSION_COOKIE", &cookie),
        ],
    );
    let m = monitor
        .wait_for("two runs", Duration::from_secs(30), |m| m.runs() >= 2.0)
        .await;
    // The credentials add the signed-in checks, which pass.
    for check in [
        "create_native.signed_in.token.400",
        "create_native.signed_in.cookie.400",
    ] {
        assert_eq!(
            m.value("recovery_harness_check_passing", &[("check", check)]),
            Some(1.0),
            "{check}: {}",
            m.text
        );
    }
    let conformance = reports.path().join("conformance.json");
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(&conformance).expect("written"))
            .expect("JSON");
    monitor
        .wait_for("a later run", Duration::from_secs(30), |later| {
            later.runs() > m.runs() + 1.0
        })
        .await;
    let later: Value =
        serde_json::from_str(&std::fs::read_to_string(&conformance).expect("written"))
            .expect("JSON");
    assert_ne!(
        first["started_at"], later["started_at"],
        "conformance.json is rewritten each run"
    );
    for name in ["junit.xml", "summary.md", "report.html"] {
        assert!(reports.path().join(name).is_file(), "{name}");
    }

    let exposition = monitor.metrics().await.text;
    let last_run = monitor.last_run().await.expect("a report").to_string();
    let (status, _) = monitor.signal_and_wait("TERM");
    assert!(exit_zero(&status), "{status}");
    let mut outputs = vec![
        ("/metrics", exposition),
        ("/last-run.json", last_run),
        ("the log", monitor.log()),
    ];
    for entry in std::fs::read_dir(reports.path()).expect("the report dir") {
        let path = entry.expect("entry").path();
        outputs.push((
            "a report",
            std::fs::read_to_string(&path).unwrap_or_default(),
        ));
    }
    for (what, text) in outputs {
        assert!(!text.is_empty(), "{what} is empty");
        assert!(
            !text.contains(&token),
            "{what} holds the session token:\n{text}"
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn real_kratos_one_interval_passes_every_safe_check_and_sends_no_mail() {
    let kratos = support::kratos::KratosOptions::new()
        .start()
        .expect("the runner ignores this test without Kratos");
    // The address the monitor submits is a real identity's here: a submission that got through
    // would queue a recovery mail, and the courier listing would show it.
    let token = kratos.register_native("recovery-harness@example.com");
    let cookie = kratos.register_browser("recovery-harness-browser@example.org");
    let admin = kratos.admin_url().to_owned();
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let client = client.clone();
        let url = format!("{admin}{path}");
        async move {
            let resp = client.get(&url).send().await.expect("admin API");
            assert_eq!(resp.status(), 200, "{url}");
            resp.json::<Value>().await.expect("JSON")
        }
    };
    let identities_before = get("/admin/identities").await;
    assert_eq!(identities_before.as_array().map(Vec::len), Some(2));
    assert_eq!(
        get("/admin/courier/messages").await,
        Value::Array(Vec::new())
    );

    let mut monitor = Monitor::start_with_env(
        kratos.public_url(),
        &["--every", "60s"],
        &[
            ("RECOVERY_HARNESS_SESSION_TOKEN", &token),
            ("RECOVERY_HARNESS_SESSION_COOKIE", &cookie),
        ],
    );
    let m = monitor
        .wait_for("the first run", Duration::from_secs(60), |m| {
            m.runs() >= 1.0
        })
        .await;
    let passing = m.passing();
    let not_passing: Vec<&String> = passing
        .iter()
        .filter(|(_, v)| **v != 1.0)
        .map(|(k, _)| k)
        .collect();
    if !not_passing.is_empty() {
        kratos.print_log_tail("a safe check did not pass");
        panic!(
            "not passing against real Kratos: {not_passing:?}\n{}",
            monitor.last_run().await.unwrap_or_default()
        );
    }
    assert!(passing.len() >= 45, "{passing:?}");
    assert!(passing.contains_key("create_native.signed_in.token.400"));
    assert!(passing.contains_key("create_native.signed_in.cookie.400"));
    assert_eq!(
        m.value("recovery_harness_runs_total", &[("outcome", "passed")]),
        Some(1.0)
    );
    let (status, _) = monitor.signal_and_wait("TERM");
    assert!(exit_zero(&status), "{status}");

    assert_eq!(
        get("/admin/courier/messages").await,
        Value::Array(Vec::new()),
        "the monitor queued mail"
    );
    assert_eq!(
        get("/admin/identities").await,
        identities_before,
        "an identity changed"
    );
}
