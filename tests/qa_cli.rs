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
    for name in ["conformance.json", "junit.xml", "summary.md", "report.html"] {
        std::fs::write(dir.join(name), "a passed run of yesterday").expect("plant");
    }
}

fn leftovers(dir: &Path) -> Vec<&'static str> {
    ["conformance.json", "junit.xml", "summary.md", "report.html"]
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

/// A target that accepts every connection and closes it at once answers nothing: no check may
/// pass for it (`default.error_bodies` used to pass, "no unexpected status" among no answers).
#[test]
fn a_target_that_never_answers_passes_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = format!("http://{}", listener.local_addr().expect("addr"));
    listener.set_nonblocking(true).expect("nonblocking");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let closer = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            // Bounded: the test ends it, and it gives up after 60 s in any case.
            let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && std::time::Instant::now() < end
            {
                match listener.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(2)),
                }
            }
        })
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = check(&[
        "--target",
        &target,
        "--report-dir",
        &dir.path().to_string_lossy(),
        "--timeout",
        "5s",
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = closer.join();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("conformance.json")).expect("report"),
    )
    .expect("JSON");
    let passed: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "passed")
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(passed, Vec::<&str>::new());
}

/// Log lines on a non-terminal stderr (a CI log, `2> file`) carry no ANSI escapes.
#[test]
fn logs_through_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["check", "--target", &refused_target(), "--report-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "trace")
        .env_remove("NO_COLOR")
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.lines().count() > 2, "trace logs were written: {err}");
    assert!(!err.contains('\u{1b}'), "{err}");
}

/// `serve --help` names its values as a user writes them, and a host name in `--listen` gets a
/// message that says what to write instead.
#[test]
fn serve_flags_read_as_written() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("the binary runs");
    let help = text(&help.stdout);
    for flag in [
        "--listen <ADDR>",
        "--base-path <PREFIX>",
        "--session-token <TOKEN>",
        "--lifespan <DURATION>",
        "--max-flows <N>",
        "--max-body <BYTES>",
    ] {
        assert!(help.contains(flag), "{flag} in:\n{help}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--listen", "localhost:0"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("127.0.0.1:4433"),
        "{}",
        text(&out.stderr)
    );
}

/// A report directory that is a file is named as such, not as "File exists".
#[test]
fn a_report_dir_that_is_a_file_is_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("reports");
    std::fs::write(&file, "not a directory").expect("plant");
    let out = check(&["--report-dir", &file.to_string_lossy(), "--fuzz-cases", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("is a file, not a directory"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("not a directory"),
        "the file is left alone"
    );
}

/// A signed-in check that sees a 200 says that the credential itself may be the cause (a renamed
/// cookie, an expired session), not only the deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_failure_names_the_credential_as_a_cause() {
    use recovery_harness::server::{spawn, ServerConfig};
    let server = spawn(ServerConfig {
        session_cookie_name: "chx_auth_session".to_owned(),
        ..ServerConfig::default()
    })
    .await
    .expect("server starts");
    let dir = tempfile::tempdir().expect("tempdir");
    // The right session under Kratos's default cookie name: this deployment renamed it.
    let cookie = format!("ory_kratos_session={}", server.session_token());
    let args = vec![
        "check".to_owned(),
        "--target".to_owned(),
        server.base_url().to_owned(),
        "--session-cookie".to_owned(),
        cookie,
        "--only".to_owned(),
        "create_native.signed_in.cookie".to_owned(),
        "--report-dir".to_owned(),
        dir.path().to_string_lossy().into_owned(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("blocking task");
    server.shutdown().await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("conformance.json")).expect("report"),
    )
    .expect("JSON");
    let detail = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "create_native.signed_in.cookie.400")
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("session cookie name"), "{detail}");
}

/// Without `--target` the embedded server is checked with its own session: a token left in the
/// environment for a real deployment (or given by flag) must not fail a faithful server.
#[test]
fn the_embedded_run_uses_its_own_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args([
            "check",
            "--only",
            "create_native.signed_in",
            "--session-cookie",
            "chx_auth_session=from-another-deployment",
            "--report-dir",
        ])
        .arg(dir.path())
        .env("RECOVERY_HARNESS_SESSION_TOKEN", "from-another-deployment")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}{err}", text(&out.stdout));
    assert!(err.contains("not used"), "{err}");
}

/// Extreme but well-formed numbers are a result or a clear error, never a panic (exit 101).
#[test]
fn extreme_numbers_do_not_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_string_lossy().into_owned();
    let out = check(&[
        "--clock-tolerance",
        "99999999999h",
        "--only",
        "create_native.timestamps.issued_now",
        "--report-dir",
        &d,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = check(&["--concurrency", "18446744073709551615", "--report-dir", &d]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--concurrency"),
        "{}",
        text(&out.stderr)
    );
}

/// `check --list | head -1` and `check 2>&1 | head -1`: a closed pipe ends the output, not the
/// process with a panic (exit 101).
#[test]
fn a_closed_pipe_is_not_a_crash() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["check".to_owned(), "--list".to_owned()],
        vec![
            "check".to_owned(),
            "--fuzz-cases".to_owned(),
            "0".to_owned(),
            "--report-dir".to_owned(),
            dir.path().to_string_lossy().into_owned(),
        ],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .env("NO_COLOR", "1")
            .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close both pipes before the child writes: every write of it fails with EPIPE.
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().expect("wait");
        assert_ne!(status.code(), Some(101), "{args:?} panicked");
        assert!(status.code().is_some(), "{args:?} killed by a signal");
    }
}

/// `serve` whose stdout reader went away (`serve | head -1` in a script) keeps serving.
#[test]
fn serve_survives_a_closed_stdout() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    drop(child.stderr.take());
    // Bounded wait for the listener (at most 10 s).
    let mut answer = String::new();
    for _ in 0..200 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = s.write_all(
                b"GET /self-service/recovery/api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            );
            let _ = s.read_to_string(&mut answer);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let alive = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(alive, "serve exited: {answer}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Empty values (an unset shell variable) and values no browser or mail server could use are
/// refused with exit 2 instead of silently widening or breaking the run.
#[test]
fn empty_or_unusable_values_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report_dir = dir.path().to_str().expect("utf-8 path");
    for (args, says) in [
        (vec!["--only", ""], "--only"),
        (vec!["--email", "qa\u{7}@example.com"], "--email"),
    ] {
        let mut all = args.clone();
        all.extend(["--report-dir", report_dir]);
        let out = check(&all);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    for (args, says) in [
        (vec!["--session-token", ""], "--session-token"),
        (vec!["--ui-url", "ftp://ui.example"], "--ui-url"),
    ] {
        let out = Command::new(BIN)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the binary runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
