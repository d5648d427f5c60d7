//! Proof that every check can fail: for each deliberately broken variant of the reference server
//! (`recovery_harness::testing::FAULTS`) the suite fails exactly the checks listed here, every
//! check id of the catalogue is failed by at least one variant (a new check without its proving
//! fault fails this test), and the faithful server passes everything.

use recovery_harness::check::{self, catalogue, CheckArgs, RunConfig, RunOptions};
use recovery_harness::report::{RunReport, Status};
use recovery_harness::schema::Schemas;
use recovery_harness::server::RunningServer;
use recovery_harness::testing::{self, FAULTS};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// fault name → the exact set of checks it fails.
const TABLE: &[(&str, &[&str])] = &[
    ("recovery_disabled", &["preflight.recovery_enabled"]),
    ("create_native_500", &["create_native.200"]),
    ("create_native_text_plain", &["create_native.content_type"]),
    ("create_native_cacheable", &["create_native.cache_control"]),
    (
        "flow_missing_required_field",
        &["create_native.schema", "fuzz.create_native"],
    ),
    (
        "type_browser_on_api",
        &["create_native.type", "fuzz.create_native"],
    ),
    ("state_sent_email_on_create", &["create_native.state"]),
    (
        "state_not_in_enum",
        &[
            "create_native.schema",
            "create_native.state",
            "get_flow.same_flow",
            "fuzz.create_native",
        ],
    ),
    (
        "id_not_uuid",
        &[
            "create_native.schema",
            "create_native.id.uuid",
            "get_flow.200",
        ],
    ),
    ("repeated_id", &["create_native.id.unique"]),
    ("issued_long_ago", &["create_native.timestamps.issued_now"]),
    ("issued_after_expiry", &["create_native.timestamps.order"]),
    ("already_expired", &["create_native.timestamps.not_expired"]),
    ("request_url_internal", &["create_native.request_url.host"]),
    ("request_url_other_path", &["create_native.request_url"]),
    ("action_other_flow", &["create_native.ui.action"]),
    ("action_internal_host", &["create_native.ui.action"]),
    ("ui_method_get", &["create_native.ui.method"]),
    ("no_email_node", &["create_native.ui.nodes"]),
    ("return_to_dropped", &["create_native.return_to.echo"]),
    (
        "return_to_unchecked",
        &["create_native.return_to.forbidden.400"],
    ),
    (
        "session_token_ignored",
        &["create_native.signed_in.token.400"],
    ),
    (
        "session_cookie_ignored",
        &["create_native.signed_in.cookie.400"],
    ),
    ("bearer_ignored", &["create_native.signed_in.bearer.400"]),
    (
        "any_token_is_a_session",
        &["create_native.invalid_token.200"],
    ),
    (
        "signed_in_wrong_error_id",
        &[
            "create_native.signed_in.token.400",
            "create_native.signed_in.cookie.400",
            "create_native.signed_in.bearer.400",
        ],
    ),
    ("get_flow_500", &["get_flow.200"]),
    (
        "get_flow_missing_required_field",
        &["get_flow.schema", "fuzz.get_flow"],
    ),
    ("get_flow_stale_state", &["get_flow.same_flow"]),
    (
        "unknown_flow_200",
        &["get_flow.unknown_id.404", "fuzz.get_flow"],
    ),
    (
        "html_404",
        &[
            "get_flow.unknown_id.404",
            "get_flow.malformed_id.404",
            "fuzz.get_flow",
            "fuzz.update",
        ],
    ),
    ("malformed_id_400", &["get_flow.malformed_id.404"]),
    ("error_code_mismatch", &["get_flow.unknown_id.404"]),
    // Real Kratos's own answer to a method the spec does not declare: nothing may fail.
    ("method_not_allowed_plain", &[]),
    ("undeclared_method_500", &["default.undeclared_method"]),
    ("undeclared_path_502", &["default.undeclared_path"]),
    ("browser_html", &["create_browser.200"]),
    (
        "browser_bad_gateway",
        &["create_browser.200", "default.error_bodies"],
    ),
    ("browser_type_api", &["create_browser.type"]),
    ("browser_missing_required_field", &["create_browser.schema"]),
    (
        "browser_not_json",
        &["create_browser.schema", "create_browser.type"],
    ),
    ("update_email_500", &["update.email.200"]),
    (
        "update_email_missing_required_field",
        &["update.email.schema"],
    ),
    ("update_email_state", &["update.email.state"]),
    ("update_email_no_message", &["update.email.message"]),
    ("missing_email_200", &["update.missing_email.400"]),
    (
        "missing_email_missing_required_field",
        &["update.missing_email.schema"],
    ),
    (
        "missing_email_no_node_message",
        &["update.missing_email.message"],
    ),
    ("wrong_code_400", &["update.wrong_code.200"]),
    (
        "wrong_code_missing_required_field",
        &["update.wrong_code.schema"],
    ),
    ("wrong_code_state", &["update.wrong_code.state"]),
    ("wrong_code_no_message", &["update.wrong_code.message"]),
    ("crash_on_non_ascii_return_to", &["fuzz.create_native"]),
    ("crash_on_upper_case_id", &["fuzz.get_flow"]),
    ("crash_on_form_body", &["fuzz.update"]),
    ("browser_never_answers", &["create_browser.200"]),
    ("get_flow_truncated", &["get_flow.200"]),
    ("browser_reset", &["create_browser.200"]),
    ("browser_oversized", &["create_browser.200"]),
];

fn args_for(server: &RunningServer) -> CheckArgs {
    CheckArgs {
        target: Some(server.base_url().to_owned()),
        session_token: Some(server.session_token().to_owned()),
        session_cookie: Some(server.session_cookie()),
        seed: Some(7),
        fuzz_cases: 32,
        timeout: Duration::from_secs(5),
        ..CheckArgs::default()
    }
}

async fn run(args: &CheckArgs) -> RunReport {
    let schemas = Arc::new(Schemas::embedded().expect("embedded schemas compile"));
    let config = RunConfig::from_args(args).expect("valid arguments");
    check::run(config, schemas, RunOptions::default())
        .await
        .expect("the run can be carried out")
}

fn failed(report: &RunReport) -> BTreeSet<String> {
    report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Warning | Status::Error))
        .map(|c| c.id.clone())
        .collect()
}

#[test]
fn every_check_has_a_proving_fault() {
    let covered: BTreeSet<&str> = TABLE
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    let missing: Vec<&str> = catalogue::all()
        .map(|c| c.id)
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "these checks have no broken server variant that makes them fail (add one to testing::FAULTS and TABLE): {missing:?}"
    );
    for (_, ids) in TABLE {
        for id in *ids {
            assert!(
                catalogue::by_id(id).is_some(),
                "TABLE names unknown check {id}"
            );
        }
    }
    for fault in FAULTS {
        assert!(
            TABLE.iter().any(|(name, _)| *name == fault.name),
            "fault {} is not in TABLE",
            fault.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_faithful_server_passes_every_check() {
    let server = testing::spawn_faithful().await.expect("server starts");
    let mut args = args_for(&server);
    args.fuzz_cases = 64;
    let report = run(&args).await;
    let not_passed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Passed)
        .map(|c| format!("{} {:?}: {}", c.id, c.status, c.detail))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(report.checks.len(), catalogue::all().count());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_fails_exactly_its_checks() {
    let mut mismatches = Vec::new();
    for (name, expected) in TABLE {
        let fault = testing::fault(name).unwrap_or_else(|| panic!("no fault named {name}"));
        let server = testing::spawn_faulty(fault).await.expect("server starts");
        let mut args = args_for(&server);
        if *name == "browser_never_answers" {
            // Long enough for every other probe on a loaded machine, short enough to keep the test quick.
            args.timeout = Duration::from_secs(2);
        }
        let report = run(&args).await;
        let got = failed(&report);
        let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        if got != want {
            let details: Vec<String> = report
                .checks
                .iter()
                .filter(|c| matches!(c.status, Status::Failed | Status::Warning | Status::Error))
                .map(|c| format!("    {}: {}", c.id, c.detail))
                .collect();
            mismatches.push(format!(
                "{name}: expected {want:?}, failed {got:?}\n{}",
                details.join("\n")
            ));
        }
        server.shutdown().await;
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}
