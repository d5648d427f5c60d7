//! `check --har FILE`: every exchange of the run as HAR 1.2 with the fields HAR readers need,
//! the session secrets redacted, the file written whole.

mod support;

use recovery_harness::check::{self, RunOptions};
use recovery_harness::cli::check::CheckArgs;
use recovery_harness::cli::common::CredentialArgs;
use recovery_harness::schema::Schemas;
use recovery_harness::testing;
use serde_json::Value;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exchange_is_recorded_as_har_1_2_with_secrets_redacted() {
    let server = testing::spawn_faithful().await.expect("server starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let har = dir.path().join("run.har");
    let args = CheckArgs {
        target: Some(server.base_url().to_owned()),
        credentials: CredentialArgs {
            session_token: Some(server.session_token().into()),
            session_cookie: Some(server.session_cookie().into()),
        },
        fuzz_cases: 8,
        seed: Some(1),
        har: Some(har.clone()),
        ..CheckArgs::default()
    };
    let schemas = Arc::new(Schemas::embedded().expect("schemas"));
    let report = check::run(
        args.config().expect("valid"),
        schemas,
        RunOptions::default(),
    )
    .await
    .expect("run");
    let text = std::fs::read_to_string(&har).expect("HAR written");
    assert!(
        !text.contains(server.session_token()),
        "the session token leaks into the HAR"
    );
    let cookie_value = server
        .session_cookie()
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .expect("NAME=VALUE");
    assert!(!text.contains(&cookie_value), "the session cookie leaks");
    assert!(text.contains("[REDACTED]"));
    let doc: Value = serde_json::from_str(&text).expect("HAR is JSON");
    let log = &doc["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "recovery-harness");
    let entries = log["entries"].as_array().expect("entries");
    assert!(entries.len() > 30, "{} entries", entries.len());
    for e in entries {
        let missing = support::har::missing_fields(e);
        assert!(missing.is_empty(), "{missing:?}: {e}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(e["startedDateTime"].as_str().unwrap_or(""))
                .is_ok()
        );
    }
    // A submission carries its body, a signed-in probe its (redacted) credential, the browser
    // creation its Set-Cookie.
    assert!(entries.iter().any(|e| e["request"]["method"] == "POST"
        && e["request"]["postData"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("method"))));
    assert!(entries.iter().any(|e| e["request"]["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|h| h["name"] == "X-Session-Token" && h["value"] == "[REDACTED]")));
    assert!(entries.iter().any(|e| e["response"]["cookies"]
        .as_array()
        .is_some_and(|c| !c.is_empty())));
    assert!(
        report.notes.iter().any(|n| n.contains("HAR")),
        "{:?}",
        report.notes
    );
    server.shutdown().await;
}

#[test]
fn a_har_path_in_a_missing_directory_exits_2_before_probing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_recovery-harness"))
        .args(["check", "--fuzz-cases", "0", "--report-dir"])
        .arg(dir.path())
        .arg("--har")
        .arg(dir.path().join("no/such/dir/run.har"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--har"));
}
