//! Adversarial QA of `recovery-harness check` as a CI pipeline runs it: what a run that could not
//! be carried out leaves behind, and what its error messages reveal.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");

fn check(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("check")
        .args(args)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A loopback URL nothing listens on (the port was just released).
fn refused_target() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn plant_stale_reports(dir: &Path) {
    for name in ["conformance.json", "junit.xml", "summary.md"] {
        std::fs::write(dir.join(name), "a passed run of yesterday").expect("plant");
    }
}

fn leftovers(dir: &Path) -> Vec<&'static str> {
    ["conformance.json", "junit.xml", "summary.md"]
        .into_iter()
        .filter(|n| dir.join(n).exists())
        .collect()
}

/// A run that exits 2 must not leave an earlier run's verdict in the report directory: a CI
/// step that publishes `junit.xml` "always" would show yesterday's green result for it.
#[test]
fn an_unreachable_target_leaves_no_earlier_reports_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    plant_stale_reports(dir.path());
    let out = check(&[
        "--target",
        &refused_target(),
        "--report-dir",
        &dir.path().to_string_lossy(),
        "--timeout",
        "5s",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(leftovers(dir.path()), Vec::<&str>::new());
    assert!(
        text(&out.stderr).contains("removed"),
        "the user is told why the reports are gone: {}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_flag_leaves_no_earlier_reports_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    plant_stale_reports(dir.path());
    let out = check(&[
        "--only",
        "no.such.check",
        "--report-dir",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(leftovers(dir.path()), Vec::<&str>::new());
}

/// Credentials in `--target` are refused; the refusal must not print the password it refuses.
#[test]
fn a_password_in_the_target_is_not_echoed() {
    for target in [
        "https://qa:hunter2-secret@auth.example.com/auth",
        "https://qa:hunter2-secret@auth.example.com/auth?x=1",
        "ftp://qa:hunter2-secret@auth.example.com/",
        "https://qa:hunter2-secret@[bad/",
    ] {
        let out = check(&["--target", target, "--report-dir", "/nonexistent/unused"]);
        assert_eq!(out.status.code(), Some(2), "{target}");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("hunter2-secret"), "{target}: {all}");
        assert!(all.contains("--target"), "{target}: {all}");
    }
}
