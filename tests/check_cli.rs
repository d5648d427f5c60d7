//! `recovery-harness check` as a CI pipeline runs it: the built binary, its exit codes (0 all
//! passed or skipped, 1 a check failed, 2 the run could not be carried out), its report files and
//! its error messages.

use recovery_harness::testing;
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

/// Runs the binary off the async runtime, so an in-process server keeps answering meanwhile.
async fn check_async(args: Vec<String>, env_token: Option<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(BIN);
        cmd.arg("check").args(&args).env("NO_COLOR", "1");
        match env_token {
            Some(t) => cmd.env("RECOVERY_HARNESS_SESSION_TOKEN", t),
            None => cmd.env_remove("RECOVERY_HARNESS_SESSION_TOKEN"),
        };
        cmd.output().expect("the binary runs")
    })
    .await
    .expect("the blocking task completes")
}

fn conformance(dir: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(dir.join("conformance.json")).expect("conformance.json written");
    serde_json::from_str(&text).expect("conformance.json is JSON")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_embedded_server_passes_with_exit_0_and_writes_every_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = check(&["--report-dir", &dir.path().to_string_lossy(), "--seed", "3"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("embedded reference server"),
        "{}",
        text(&out.stderr)
    );
    for file in ["conformance.json", "junit.xml", "summary.md", "report.html"] {
        assert!(dir.path().join(file).is_file(), "{file} written");
    }
    let json = conformance(dir.path());
    assert_eq!(json["summary"]["failed"], 0);
    assert_eq!(
        json["summary"]["skipped"], 0,
        "the embedded server supplies its own credentials"
    );
    let ids: Vec<&str> = json["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids.len(), recovery_harness::check::catalogue::all().count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_target_exits_1_with_the_failure_in_the_reports() {
    let fault = testing::fault("session_token_ignored").expect("fault exists");
    let server = testing::spawn_faulty(fault).await.expect("server starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = check_async(
        vec![
            "--target".into(),
            server.base_url().into(),
            "--report-dir".into(),
            dir.path().to_string_lossy().into_owned(),
            "--quiet".into(),
        ],
        Some(server.session_token().to_owned()),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("create_native.signed_in.token.400"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(server.session_token()),
        "the token leaks to stdout"
    );
    let json = conformance(dir.path());
    assert_eq!(json["summary"]["failed"], 1);
    let cookie = json["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == "create_native.signed_in.cookie.400")
        .expect("cookie check reported");
    assert_eq!(
        cookie["status"], "skipped",
        "no --session-cookie given: skipped, never passed"
    );
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit written");
    assert!(junit.contains("<failure"), "{junit}");
    server.shutdown().await;
}

/// A broken recommended rule is a warning: exit 0 with the warning in every report; `--strict`
/// makes it exit 1; `--skip` leaves the check out entirely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_exits_0_unless_strict_and_skip_leaves_it_out() {
    let fault = testing::fault("create_native_cacheable").expect("fault exists");
    let server = testing::spawn_faulty(fault).await.expect("server starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let base = vec![
        "--target".to_owned(),
        server.base_url().to_owned(),
        "--report-dir".to_owned(),
        dir.path().to_string_lossy().into_owned(),
        "--fuzz-cases".to_owned(),
        "4".to_owned(),
    ];
    let with = |extra: &[&str]| {
        let mut args = base.clone();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let token = Some(server.session_token().to_owned());

    let out = check_async(with(&[]), token.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("WARN create_native.cache_control"),
        "{stdout}"
    );
    assert!(stdout.contains("1 warning"), "{stdout}");
    let json = conformance(dir.path());
    assert_eq!(json["summary"]["warnings"], 1);
    assert_eq!(json["summary"]["failed"], 0);
    assert_eq!(json["outcome"], "passed");
    let cache = json["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == "create_native.cache_control")
        .expect("reported");
    assert_eq!(
        (&cache["status"], &cache["level"]),
        (&"warning".into(), &"recommended".into())
    );
    let md = std::fs::read_to_string(dir.path().join("summary.md")).expect("summary.md");
    assert!(md.contains("passed with warnings"), "{md}");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("WARNING (recommended rule"), "{junit}");

    let out = check_async(with(&["--strict"]), token.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(conformance(dir.path())["outcome"], "failed");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit.xml");
    assert!(junit.contains(r#"type="warning""#), "{junit}");

    let out = check_async(
        with(&["--strict", "--skip", "create_native.cache_control"]),
        token.clone(),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let json = conformance(dir.path());
    assert_eq!(json["summary"]["warnings"], 0);
    assert!(json["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|c| c["id"] != "create_native.cache_control"));
    server.shutdown().await;
}

#[test]
fn an_unreachable_target_exits_2_with_a_clear_message() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("ephemeral port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = check(&[
        "--target",
        &format!("http://127.0.0.1:{port}/auth"),
        "--report-dir",
        &dir.path().to_string_lossy(),
        "--timeout",
        "2s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot reach") && stderr.contains("--target"),
        "{stderr}"
    );
}

#[test]
fn bad_arguments_exit_2_with_what_to_do() {
    let cases: &[(&[&str], &str)] = &[
        (&["--target", "localhost:4433"], "--target"),
        (&["--target", "https://host/?x=1"], "no query"),
        (&["--session-cookie", "ory_kratos_session"], "NAME=VALUE"),
        (&["--timeout", "soon"], "duration"),
        (&["--max-body-size", "huge"], "size"),
        (&["--only", "nothing.like.this"], "--list"),
        (&["--skip", "nothing.like.this"], "--skip"),
        (&["--skip", ""], "--skip"),
        (&["--fuzz-cases", "many"], "many"),
    ];
    for (args, needle) in cases {
        let out = check(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unwritable_report_dir_exits_2_before_probing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("file written");
    let out = check(&["--report-dir", &file.join("reports").to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--report-dir"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn list_prints_every_check_with_its_level_and_effects() {
    let out = check(&["--list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let checks: Vec<_> = recovery_harness::check::catalogue::all().collect();
    assert_eq!(lines.len(), checks.len(), "{stdout}");
    for (line, c) in lines.iter().zip(&checks) {
        // Space-separated columns, the title last: id, operation, level, effects.
        let columns: Vec<&str> = line.split_whitespace().take(4).collect();
        let effects = if c.effects.is_empty() {
            "none".to_owned()
        } else {
            let words: Vec<&str> = c.effects.iter().map(|e| e.as_str()).collect();
            words.join(",")
        };
        assert_eq!(
            columns,
            [c.id, c.operation.name(), c.level.as_str(), effects.as_str()],
            "{line}"
        );
        assert!(line.trim_end().ends_with(c.title), "{line}");
    }
    // A table: each of the five columns starts at the same place on every line, the rows
    // with the most effects (a whole recovery) included.
    let starts = |line: &str| -> Vec<usize> {
        let bytes = line.as_bytes();
        (0..bytes.len())
            .filter(|&i| bytes[i] != b' ' && (i == 0 || bytes[i - 1] == b' '))
            .take(5)
            .collect()
    };
    let first = starts(lines[0]);
    assert_eq!(first.len(), 5, "{}", lines[0]);
    for line in &lines {
        assert_eq!(starts(line), first, "misaligned:\n{}\n{line}", lines[0]);
    }
}
