//! The runner under adverse conditions and its contracts: transport failures become evidence and
//! the run continues, the deadline holds, an unreachable target is an error, secrets never reach
//! a report, missing credentials skip (never pass), property-based failures shrink to a minimal,
//! reproducible request, and `--only` / `--fuzz-cases 0` / `--insecure` do what they say.

use recovery_harness::check::{self, CheckError, RunOptions};
use recovery_harness::cli::check::CheckArgs;
use recovery_harness::cli::common::CredentialArgs;
use recovery_harness::report::{CheckResult, RunReport, Status};
use recovery_harness::schema::Schemas;
use recovery_harness::server::RunningServer;
use recovery_harness::testing;
use std::sync::Arc;
use std::time::Duration;

fn args_for(server: &RunningServer) -> CheckArgs {
    CheckArgs {
        target: Some(server.base_url().to_owned()),
        credentials: CredentialArgs {
            session_token: Some(server.session_token().into()),
            session_cookie: Some(server.session_cookie().into()),
        },
        seed: Some(11),
        fuzz_cases: 24,
        timeout: Duration::from_secs(5),
        ..CheckArgs::default()
    }
}

async fn try_run(args: &CheckArgs) -> Result<RunReport, CheckError> {
    let schemas = Arc::new(Schemas::embedded().expect("embedded schemas compile"));
    let config = args.config()?;
    check::run(config, schemas, RunOptions::default()).await
}

async fn run(args: &CheckArgs) -> RunReport {
    try_run(args).await.expect("the run can be carried out")
}

fn check<'a>(report: &'a RunReport, id: &str) -> &'a CheckResult {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} is in the report"))
}

async fn faulty(name: &str) -> RunningServer {
    let fault = testing::fault(name).unwrap_or_else(|| panic!("fault {name}"));
    testing::spawn_faulty(fault).await.expect("server starts")
}

fn transport_error(c: &CheckResult) -> String {
    c.evidence
        .iter()
        .find_map(|e| e.transport_error.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_fails_its_checks_by_timeout_and_the_run_continues() {
    let server = faulty("browser_never_answers").await;
    let mut args = args_for(&server);
    args.timeout = Duration::from_secs(1);
    let report = run(&args).await;
    let c = check(&report, "create_browser.200");
    // No answer even when sent alone: an error of the run, not a failure of the rule.
    assert_eq!(c.status, Status::Error, "{c:?}");
    assert!(transport_error(c).contains("--timeout"), "{c:?}");
    assert!(
        transport_error(c).contains("again when sent alone"),
        "{c:?}"
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("no answer even alone")),
        "{:?}",
        report.notes
    );
    let junit = recovery_harness::report::junit::render(&report);
    assert!(junit.contains(r#"<error message="#), "{junit}");
    assert_eq!(
        check(&report, "create_browser.schema").status,
        Status::Skipped
    );
    assert_eq!(
        check(&report, "update.wrong_code.message").status,
        Status::Passed
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overall_deadline_fails_what_is_still_waiting() {
    let server = faulty("browser_never_answers").await;
    let mut args = args_for(&server);
    args.timeout = Duration::from_secs(30);
    args.deadline = Duration::from_secs(2);
    let report = run(&args).await;
    let c = check(&report, "create_browser.200");
    assert_eq!(c.status, Status::Failed);
    assert!(c.detail.contains("--deadline"), "{}", c.detail);
    assert_eq!(check(&report, "create_native.200").status, Status::Passed);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_not_read_past_the_cap() {
    let server = faulty("browser_oversized").await;
    let mut args = args_for(&server);
    args.max_body_size = 64 * 1024;
    let report = run(&args).await;
    let c = check(&report, "create_browser.200");
    assert_eq!(c.status, Status::Failed);
    let err = transport_error(c);
    assert!(err.contains("--max-body-size (65536 bytes"), "{err}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_reset_answers_are_evidence() {
    let server = faulty("get_flow_truncated").await;
    let report = run(&args_for(&server)).await;
    let c = check(&report, "get_flow.200");
    assert_eq!(c.status, Status::Failed);
    assert!(transport_error(c).contains("broke off"), "{c:?}");
    assert_eq!(
        c.evidence[0].status,
        Some(200),
        "the status arrived before the cut"
    );
    server.shutdown().await;

    let server = faulty("browser_reset").await;
    let report = run(&args_for(&server)).await;
    let c = check(&report, "create_browser.200");
    assert_eq!(c.status, Status::Failed);
    assert!(!transport_error(c).is_empty(), "{c:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_and_wrong_content_type_are_named() {
    let server = faulty("browser_not_json").await;
    let report = run(&args_for(&server)).await;
    let c = check(&report, "create_browser.schema");
    assert!(c.detail.contains("not JSON"), "{}", c.detail);
    assert!(c.evidence[0]
        .body_excerpt
        .as_deref()
        .is_some_and(|b| b.contains("<html>")));
    server.shutdown().await;

    let server = faulty("create_native_text_plain").await;
    let report = run(&args_for(&server)).await;
    let c = check(&report, "create_native.content_type");
    assert!(c.detail.contains("text/plain"), "{}", c.detail);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_an_error_not_a_report() {
    // Bind then drop: the port is very likely closed afterwards.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("ephemeral port")
        .port();
    let args = CheckArgs {
        target: Some(format!("http://127.0.0.1:{port}")),
        timeout: Duration::from_secs(2),
        ..CheckArgs::default()
    };
    match try_run(&args).await {
        Err(CheckError::Unreachable { target, cause }) => {
            assert_eq!(target, format!("http://127.0.0.1:{port}"));
            assert!(!cause.is_empty());
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_a_report() {
    let server = faulty("session_token_ignored").await;
    let args = args_for(&server);
    let report = run(&args).await;
    let c = check(&report, "create_native.signed_in.token.400");
    assert_eq!(c.status, Status::Failed);
    let curl = c.evidence[0].curl.as_deref().unwrap_or_default();
    assert!(curl.contains("X-Session-Token: [REDACTED]"), "{curl}");
    let dir = tempfile::tempdir().expect("tempdir");
    recovery_harness::report::write_check_reports(&report, dir.path()).expect("reports written");
    let token = server.session_token().to_owned();
    for file in ["conformance.json", "junit.xml", "summary.md", "report.html"] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect("report readable");
        assert!(!text.contains(&token), "{file} leaks the session token");
    }
    assert!(
        !format!("{report:?}").contains(&token),
        "the report model leaks the token"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_skip_with_the_reason() {
    let server = testing::spawn_faithful().await.expect("server starts");
    let mut args = args_for(&server);
    args.credentials = CredentialArgs::default();
    let report = run(&args).await;
    for id in [
        "create_native.signed_in.token.400",
        "create_native.signed_in.bearer.400",
    ] {
        let c = check(&report, id);
        assert_eq!(c.status, Status::Skipped, "{id}");
        assert!(c.detail.contains("--session-token"), "{}", c.detail);
    }
    let c = check(&report, "create_native.signed_in.cookie.400");
    assert_eq!(c.status, Status::Skipped);
    assert!(c.detail.contains("--session-cookie"), "{}", c.detail);
    assert_eq!(report.summary().failed, 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_disabled_is_one_diagnosis_not_noise() {
    let server = faulty("recovery_disabled").await;
    let report = run(&args_for(&server)).await;
    let c = check(&report, "preflight.recovery_enabled");
    assert_eq!(c.status, Status::Failed);
    assert!(
        c.detail
            .contains("selfservice.flows.recovery.enabled: true"),
        "{}",
        c.detail
    );
    let s = report.summary();
    assert_eq!(s.failed, 1);
    assert!(s.skipped > 30, "{s:?}");
    assert!(report.notes.iter().any(|n| n.contains("disabled")));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fuzz_failure_shrinks_to_a_minimal_reproducible_request() {
    let server = faulty("crash_on_non_ascii_return_to").await;
    let mut args = args_for(&server);
    args.fuzz_cases = 64;
    args.only = vec!["fuzz.create_native".to_owned()];
    let first = run(&args).await;
    let c = check(&first, "fuzz.create_native");
    assert_eq!(c.status, Status::Failed);
    assert!(c.detail.contains("shrunk"), "{}", c.detail);
    let ev = &c.evidence[0];
    assert_eq!(ev.status, Some(500));
    let curl = ev.curl.as_deref().unwrap_or_default();
    // Minimal: no session headers or cookies, one query pair whose value is one character.
    assert!(
        !curl.contains("X-Session-Token")
            && !curl.contains("Cookie")
            && !curl.contains("Authorization"),
        "{curl}"
    );
    let url = url::Url::parse(&ev.url).expect("evidence URL parses");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0].0, "return_to");
    assert_eq!(pairs[0].1.chars().count(), 1, "{pairs:?}");
    // The same seed replays the same cases and the same minimal request.
    let again = run(&args).await;
    assert_eq!(check(&again, "fuzz.create_native").detail, c.detail);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_selects_checks_and_their_prerequisites() {
    let server = testing::spawn_faithful().await.expect("server starts");
    let mut args = args_for(&server);
    args.only = vec!["update.wrong_code".to_owned()];
    let report = run(&args).await;
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.contains(&"update.wrong_code.message"));
    assert!(
        ids.contains(&"update.email.state"),
        "prerequisite runs: {ids:?}"
    );
    assert!(!ids.contains(&"create_browser.200"), "{ids:?}");
    assert!(report.checks.iter().all(|c| c.status == Status::Passed));
    args.only = vec!["no.such.check".to_owned()];
    assert!(matches!(
        try_run(&args).await,
        Err(CheckError::NothingSelected { .. })
    ));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_fuzz_cases_skip_the_probes_and_insecure_is_reported() {
    let server = testing::spawn_faithful().await.expect("server starts");
    let mut args = args_for(&server);
    args.fuzz_cases = 0;
    args.insecure = true;
    let report = run(&args).await;
    for id in ["fuzz.create_native", "fuzz.get_flow", "fuzz.update"] {
        assert_eq!(check(&report, id).status, Status::Skipped, "{id}");
    }
    assert!(report.insecure);
    assert!(report.notes.iter().any(|n| n.contains("--insecure")));
    server.shutdown().await;
}

#[test]
fn bad_inputs_are_clear_errors() {
    let bad = |f: fn(&mut CheckArgs)| {
        let mut a = CheckArgs::default();
        f(&mut a);
        a.config().map(|_| ()).map_err(|e| e.to_string())
    };
    assert!(bad(|a| a.target = Some("localhost:4433".into()))
        .unwrap_err()
        .contains("--target"));
    assert!(
        bad(|a| a.credentials.session_cookie = Some("novalue".into()))
            .unwrap_err()
            .contains("NAME=VALUE")
    );
    assert!(bad(|a| a.timeout = Duration::ZERO)
        .unwrap_err()
        .contains("--timeout"));
    assert!(bad(|a| a.return_to = Some("/relative".into()))
        .unwrap_err()
        .contains("--return-to"));
    assert!(bad(|a| a.only = vec!["zzz".into()])
        .unwrap_err()
        .contains("--list"));
    assert!(bad(|_| {}).is_ok());
}

/// A target that accepts every connection and never answers costs a bounded number of requests:
/// the checks that need an answer are skipped after the preflight's, each request is sent once,
/// and one that times out is sent again alone only until `MAX_UNANSWERED_ALONE` requests got no
/// answer even alone (later timeouts are not retried). Counted on the target's side, not timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_accepts_but_never_answers_fails_by_timeout_within_bounds() {
    use recovery_harness::check::client::MAX_UNANSWERED_ALONE;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    // Accept every connection and hold it open without a byte of answer.
    let holder = tokio::spawn({
        let accepted = Arc::clone(&accepted);
        async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        }
    });
    let args = CheckArgs {
        target: Some(format!("http://{addr}")),
        timeout: Duration::from_millis(300),
        ..CheckArgs::default()
    };
    let report = run(&args).await;
    holder.abort();
    let c = check(&report, "preflight.recovery_enabled");
    assert_eq!(c.status, Status::Error);
    assert!(transport_error(c).contains("--timeout"), "{c:?}");
    assert_eq!(check(&report, "create_native.200").status, Status::Skipped);
    assert_eq!(
        check(&report, "default.undeclared_method").status,
        Status::Failed,
        "an undeclared request's hang fails (it is judged on no answer at all)"
    );

    // The bound. Every request that was sent got no answer; the run's notes say how many were
    // sent again alone.
    let count = |needle: &str| -> usize {
        report
            .notes
            .iter()
            .find(|n| n.contains(needle))
            .and_then(|n| n.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let retried_alone = count("got no answer even alone");
    assert!(
        (1..=MAX_UNANSWERED_ALONE).contains(&retried_alone),
        "{retried_alone} requests retried alone: {:?}",
        report.notes
    );
    let accepted = accepted.load(Ordering::SeqCst);
    let decided = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Skipped)
        .count();
    assert!(
        accepted >= 2 * retried_alone,
        "each lone retry is a second connection: {accepted} connections, {retried_alone} retries"
    );
    assert!(
        accepted <= decided + MAX_UNANSWERED_ALONE,
        "{accepted} connections for {decided} decided checks: the skipped checks sent nothing and \
         at most {MAX_UNANSWERED_ALONE} requests were sent again alone ({:?})",
        report.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_required_when_the_target_says_https() {
    // A plain-HTTP server behind an https:// URL: every TLS handshake fails, nothing is checked.
    let server = testing::spawn_faithful().await.expect("server starts");
    let args = CheckArgs {
        target: Some(server.base_url().replace("http://", "https://")),
        timeout: Duration::from_secs(2),
        ..CheckArgs::default()
    };
    match try_run(&args).await {
        Err(e @ CheckError::Unreachable { .. }) => {
            assert!(e.to_string().contains("TLS certificate"), "{e}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    server.shutdown().await;
}

/// A deployment that stalls under concurrency and answers every request sent alone (Kratos v1.x
/// on SQLite) is slow, not wrong: the timed-out probes are retried alone and judged on that
/// answer, one note says so, and the verdict is the one of a run at --concurrency 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stalls_under_concurrency_gets_the_verdict_of_concurrency_1() {
    let server = testing::spawn_stalling_under_concurrency(2)
        .await
        .expect("server starts");
    let mut args = args_for(&server);
    args.timeout = Duration::from_millis(800);
    args.fuzz_cases = 8;
    args.concurrency = 16;
    let busy = run(&args).await;
    args.concurrency = 1;
    let alone = run(&args).await;
    let statuses = |r: &RunReport| -> Vec<(String, Status)> {
        r.checks.iter().map(|c| (c.id.clone(), c.status)).collect()
    };
    // An outside target without a code source, known address or expiry wait: the checks that
    // need those are skipped (they say why); every other check must pass.
    let opt_in = ["recover.", "enumeration.", "expiry.", "race."];
    let not_passed: Vec<String> = busy
        .checks
        .iter()
        .filter(|c| {
            c.status != Status::Passed
                && !(c.status == Status::Skipped && opt_in.iter().any(|p| c.id.starts_with(p)))
        })
        .map(|c| format!("{} {:?}: {}", c.id, c.status, c.detail))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(statuses(&busy), statuses(&alone));
    let notes = busy.notes.join("\n");
    assert!(
        notes.contains("hung under --concurrency 16 and answered at 1"),
        "{notes}"
    );
    assert!(
        !alone.notes.iter().any(|n| n.contains("hung under")),
        "{:?}",
        alone.notes
    );
    server.shutdown().await;
}
