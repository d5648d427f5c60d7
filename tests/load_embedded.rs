//! Every shipped scenario against the in-process reference server (no `--target`): short,
//! bounded runs (1 s, 2 users, throttled) that must hold their thresholds with no schema
//! failure, with the binary run as a separate process (Goose keeps process-wide state).

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run_scenario(scenario: &str, dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_recovery-harness"))
        .args(["load", "--scenario", scenario])
        .args(["--duration", "1s", "--users", "2", "--throttle", "300"])
        .args(["--threshold", "error-rate<1%", "--threshold", "p95<2s"])
        .args(extra)
        .arg("--report-dir")
        .arg(dir)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{scenario} did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn passes(scenario: &str, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = run_scenario(scenario, dir.path(), extra);
    assert_eq!(code, 0, "{scenario}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("started the reference server in-process"),
        "says where the load goes: {stderr}"
    );
    let text = std::fs::read_to_string(dir.path().join("load-summary.json")).expect("summary");
    let s: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(s["schema_failures"], 0, "{s:#}");
    assert_eq!(s["errors"], 0, "{s:#}");
    assert_eq!(s["target_kind"], "embedded");
    assert!(s["requests"].as_u64().unwrap_or(0) > 0, "{s:#}");
    assert!(s["thresholds"]
        .as_array()
        .is_some_and(|t| t.len() == 2 && t.iter().all(|t| t["passed"] == true)));
    for key in ["rps", "p50_ms", "p95_ms", "p99_ms"] {
        assert!(s[key].is_number(), "{key}: {s:#}");
    }
    for f in ["report.html", "report.json", "report.md"] {
        let len = std::fs::metadata(dir.path().join(f)).map_or(0, |m| m.len());
        assert!(len > 0, "{f} is written and not empty");
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("report.html");
    assert!(html.contains("<h1>Passed</h1>"), "{html}");
    assert!(html.contains("(embedded reference server)"), "{html}");
    // Per-step percentiles over time, as an inline SVG chart per step.
    assert!(
        html.contains("<figure class=\"chart\">") && html.contains("<svg "),
        "{html}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("report dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        left.is_empty(),
        "no staging or temporary file is left: {left:?}"
    );
    s
}

#[test]
fn create_native_flow_passes() {
    let s = passes("create-native-flow", &[]);
    assert_eq!(s["steps"][0]["request"], "GET create flow");
    assert!(s["validated_bodies"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn create_and_fetch_passes() {
    let s = passes("create-and-fetch", &[]);
    assert_eq!(s["steps"][1]["request"], "GET fetch flow");
    assert!(s["steps"][1]["requests"].as_u64().unwrap_or(0) > 0, "{s:#}");
}

#[test]
fn full_recovery_reads_codes_and_passes() {
    let s = passes("full-recovery", &[]);
    let submit = s["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|x| x["request"] == "POST submit code"))
        .cloned()
        .expect("submit code step");
    assert!(submit["requests"].as_u64().unwrap_or(0) > 0, "{s:#}");
}

#[test]
fn signed_in_rejection_passes_with_the_embedded_token() {
    passes("signed-in-rejection", &[]);
}

#[test]
fn validate_none_and_sample_still_check_statuses() {
    let s = passes("create-native-flow", &["--validate", "none"]);
    assert_eq!(s["validated_bodies"], 0, "{s:#}");
    assert_eq!(s["validate"], "none");
    let s = passes("create-native-flow", &["--validate", "sample:10"]);
    let validated = s["validated_bodies"].as_u64().unwrap_or(0);
    let responses = s["requests"].as_u64().unwrap_or(0);
    assert!(validated > 0 && validated < responses, "{s:#}");
}

/// A token from the flag (or `RECOVERY_HARNESS_SESSION_TOKEN`) means nothing to the embedded
/// server; using it made signed-in-rejection fail 100% against a faithful server (QA finding).
#[test]
fn a_foreign_token_does_not_replace_the_embedded_session() {
    let s = passes(
        "signed-in-rejection",
        &[
            "--session-token",
            "ory_st_foreign_token_of_another_deployment",
        ],
    );
    assert!(s["requests"].as_u64().unwrap_or(0) > 0);
}

/// `load | head -1`: a closed stdout ends the output, not the process (was a panic, exit 101).
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_recovery-harness"))
        .args([
            "load",
            "--duration",
            "1s",
            "--users",
            "1",
            "--throttle",
            "100",
        ])
        .args(["--threshold", "error-rate<1%"])
        .arg("--report-dir")
        .arg(dir.path())
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    drop(child.stdout.take());
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("load did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
