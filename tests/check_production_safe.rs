//! What `monitor` may run against production ([`catalogue::production_safe`]) really is safe: run
//! against the reference server with every input a full suite gets (session credentials, the
//! courier as code source, a known address, fuzzing), the selection passes, its courier receives
//! no message and no request submits a code. The same server does mail a check that is not safe,
//! so the courier is read right.

use recovery_harness::check::config::EMBEDDED_KNOWN_EMAIL;
use recovery_harness::check::{self, catalogue, Check, RunOptions};
use recovery_harness::cli::check::CheckArgs;
use recovery_harness::report::{RunReport, Status};
use recovery_harness::schema::Schemas;
use recovery_harness::server::RunningServer;
use recovery_harness::testing::{self, Received, Route};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn args_for(server: &RunningServer, fuzz_cases: u32) -> CheckArgs {
    CheckArgs {
        target: Some(server.base_url().to_owned()),
        session_token: Some(server.session_token().to_owned()),
        session_cookie: Some(server.session_cookie()),
        courier_url: Some(server.admin_url().to_owned()),
        known_email: Some(EMBEDDED_KNOWN_EMAIL.to_owned()),
        seed: Some(7),
        fuzz_cases,
        timeout: Duration::from_secs(5),
        ..CheckArgs::default()
    }
}

async fn run(args: &CheckArgs, checks: Option<Vec<&'static Check>>) -> RunReport {
    let schemas = Arc::new(Schemas::embedded().expect("embedded schemas compile"));
    let config = args.config().expect("valid arguments");
    check::run(
        config,
        schemas,
        RunOptions {
            progress: None,
            checks,
            ..RunOptions::default()
        },
    )
    .await
    .expect("the run can be carried out")
}

/// Every message the server's courier holds (the admin listing, all recipients).
async fn courier_messages(server: &RunningServer) -> Vec<Value> {
    let url = format!("{}/admin/courier/messages", server.admin_url());
    let body: Value = reqwest::get(&url)
        .await
        .expect("the courier listing answers")
        .json()
        .await
        .expect("the courier listing is JSON");
    body.as_array().cloned().expect("the listing is an array")
}

/// The update submissions that carried a code.
fn code_submissions(received: &Received) -> Vec<String> {
    received
        .lock()
        .expect("log")
        .iter()
        .filter(|r| r.route == Some(Route::Update) && r.field("code").is_some())
        .map(|r| r.body.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_safe_checks_send_no_mail_and_use_no_code() {
    for (checks, fuzz_cases) in [
        (catalogue::production_safe(), 0),
        (catalogue::production_safe_with_fuzz(), 32),
    ] {
        let (server, received) = testing::spawn_recording().await.expect("server starts");
        let report = run(&args_for(&server, fuzz_cases), Some(checks.clone())).await;
        let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
        let wanted: Vec<&str> = checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, wanted, "the run judged exactly the selection");
        let not_passed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| c.status != Status::Passed)
            .map(|c| format!("{} {:?}: {}", c.id, c.status, c.detail))
            .collect();
        assert!(not_passed.is_empty(), "{not_passed:#?}");
        assert!(
            !received.lock().expect("log").is_empty(),
            "the run sent requests"
        );
        let mail = courier_messages(&server).await;
        assert!(
            mail.is_empty(),
            "the production-safe selection made the server send {} message(s): {mail:#?}",
            mail.len()
        );
        assert_eq!(code_submissions(&received), Vec::<String>::new());
        server.shutdown().await;
    }
}

/// The control: a check that submits an address does send mail there, and the full selection
/// submits codes, so the assertions above can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsafe_check_does_send_mail_to_the_same_server() {
    let (server, received) = testing::spawn_recording().await.expect("server starts");
    let unsafe_checks = vec![
        catalogue::by_id("preflight.recovery_enabled").expect("check"),
        catalogue::by_id("update.email.200").expect("check"),
        catalogue::by_id("update.email.state").expect("check"),
        catalogue::by_id("recover.right_code").expect("check"),
    ];
    assert!(unsafe_checks.iter().skip(1).all(|c| !c.production_safe()));
    let report = run(&args_for(&server, 0), Some(unsafe_checks)).await;
    assert!(
        report.checks.iter().all(|c| c.status == Status::Passed),
        "{:#?}",
        report.checks
    );
    assert!(!courier_messages(&server).await.is_empty());
    assert!(!code_submissions(&received).is_empty());
    server.shutdown().await;
}
