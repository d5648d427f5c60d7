//! A hand-made conformance run shared by the report tests: two operations, every status, and
//! evidence full of characters that each format must escape (`<>&"'`, `|`, a backtick, unicode,
//! control characters) plus an already-redacted secret.

#![allow(dead_code, unreachable_pub)]

use chrono::{TimeZone, Utc};
use recovery_harness::report::{CheckResult, Evidence, RuleSource, RunReport, Status};
use std::path::PathBuf;
use std::time::Duration;

/// The run every golden file renders.
pub fn sample_report() -> RunReport {
    RunReport {
        tool_version: "0.1.0".into(),
        target: "https://id.example.com/auth".into(),
        embedded_target: false,
        insecure: true,
        started_at: Utc
            .with_ymd_and_hms(2026, 11, 25, 15, 4, 5)
            .single()
            .expect("a valid fixed date")
            + chrono::Duration::milliseconds(678),
        duration: Duration::from_micros(10_412_345),
        notes: vec![
            "fuzzing seed 42 (64 cases)".into(),
            "target answered with header \"server: <kratos>\"".into(),
        ],
        checks: vec![
            CheckResult {
                id: "create_native.200.status".into(),
                title: "Creating a native flow answers 200".into(),
                operation: "createNativeRecoveryFlow".into(),
                rule: "GET /self-service/recovery/api answers 200 with a recoveryFlow".into(),
                source: RuleSource::OpenApi,
                status: Status::Passed,
                detail: "status 200 as expected".into(),
                evidence: vec![Evidence {
                    method: "GET".into(),
                    url: "https://id.example.com/auth/self-service/recovery/api".into(),
                    request_headers: vec![("Accept".into(), "application/json".into())],
                    status: Some(200),
                    ..Evidence::default()
                }],
                duration: Duration::from_micros(3_125),
            },
            CheckResult {
                id: "create_native.signed_in.token.400".into(),
                title: "A signed-in token gets 400 <session_already_available>".into(),
                operation: "createNativeRecoveryFlow".into(),
                rule: "A valid X-Session-Token makes flow creation fail with 400 & error.id \
                       \"session_already_available\""
                    .into(),
                source: RuleSource::SpecProse,
                status: Status::Failed,
                detail: "expected status 400, got 200; /error/id: expected 'session_already_available'\n\
                         seen | a `flow` instead"
                    .into(),
                evidence: vec![Evidence {
                    method: "GET".into(),
                    url: "https://id.example.com/auth/self-service/recovery/api?return_to=a&b=<c>".into(),
                    request_headers: vec![
                        ("Accept".into(), "application/json".into()),
                        ("X-Session-Token".into(), "[REDACTED]".into()),
                    ],
                    status: Some(200),
                    response_headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
                    pointer: Some("/ui/nodes/0/attributes/value".into()),
                    value: Some("\"héllo | `tick` \u{1b}[31mred\u{7}\"".into()),
                    body_excerpt: Some("{\"id\":\"7f0c…\",\n\"type\":\"api\"}".into()),
                    curl: Some(
                        "curl -sS -H 'Accept: application/json' -H 'X-Session-Token: [REDACTED]' \
                         'https://id.example.com/auth/self-service/recovery/api?return_to=a&b=<c>'"
                            .into(),
                    ),
                    transport_error: None,
                }],
                duration: Duration::from_micros(12_500),
            },
            CheckResult {
                id: "create_native.signed_in.cookie.400".into(),
                title: "A signed-in cookie gets 400".into(),
                operation: "createNativeRecoveryFlow".into(),
                rule: "A valid session cookie makes flow creation fail with 400".into(),
                source: RuleSource::ObservedKratos,
                status: Status::Skipped,
                detail: "no --session-cookie NAME=VALUE given".into(),
                evidence: Vec::new(),
                duration: Duration::ZERO,
            },
            CheckResult {
                id: "get.unknown_id.404".into(),
                title: "An unknown flow id gets 404 errorGeneric".into(),
                operation: "getRecoveryFlow".into(),
                rule: "Every non-200/400 status carries an errorGeneric body".into(),
                source: RuleSource::OpenApi,
                status: Status::Failed,
                detail: "no response: the request timed out".into(),
                evidence: vec![Evidence {
                    method: "GET".into(),
                    url: "https://id.example.com/auth/self-service/recovery/flows?id=00000000-0000-4000-8000-000000000000".into(),
                    status: None,
                    transport_error: Some("timed out after 10s".into()),
                    ..Evidence::default()
                }],
                duration: Duration::from_secs(10),
            },
            CheckResult {
                id: "get.same_flow".into(),
                title: "The flow is retrievable by id | `Accept` stays JSON".into(),
                operation: "getRecoveryFlow".into(),
                rule: "getRecoveryFlow returns the created flow".into(),
                source: RuleSource::OpenApi,
                status: Status::Passed,
                detail: "same id, type and state".into(),
                evidence: Vec::new(),
                duration: Duration::from_micros(2_000),
            },
        ],
    }
}

/// `tests/data/report/NAME`.
pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/report")
        .join(name)
}

/// Compares `actual` with the golden file `name` byte for byte. With `BLESS=1` in the
/// environment the golden file is (re)written instead: review the diff before committing it.
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {} ({e}); run with BLESS=1",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from {} at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             full output:\n{actual}\n(run with BLESS=1 to accept)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}
