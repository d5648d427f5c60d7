//! `load --mailpit-url` with a URL that is no Mailpit: nothing listens there, something answers
//! that is not Mailpit's JSON, or something accepts and never answers. Each is a clear exit 2
//! before any user starts, within the run's `--timeout`, never a hang and never a run that waits
//! for codes that cannot come. Then real Mailpit behind a target that sends no mail (the reference
//! server): each read-code step waits `--timeout`, with a bounded number of searches, and fails
//! with what to look at; a SIGINT ends the wait at once. (The run against real Kratos sending to
//! real Mailpit is in `kratos_load.rs`.)

mod support;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test(
            "a_mailpit_url_that_is_no_mailpit_is_a_clear_error_before_the_run",
            &[],
            a_mailpit_url_that_is_no_mailpit_is_a_clear_error_before_the_run,
        ),
        test(
            "mailpit_is_refused_with_the_embedded_server_and_with_the_courier",
            &[],
            mailpit_is_refused_with_the_embedded_server_and_with_the_courier,
        ),
        test(
            "with_real_mailpit_a_code_that_never_comes_fails_in_bounded_time",
            &[Needs::Mailpit],
            with_real_mailpit_a_code_that_never_comes_fails_in_bounded_time,
        ),
        test(
            "a_signal_ends_a_wait_for_mail_at_once",
            &[Needs::Mailpit],
            a_signal_ends_a_wait_for_mail_at_once,
        ),
    ])
}

/// How long a stand-in server lives, and how many connections it serves: bounded, so that it
/// ends by itself whatever the test does.
const SERVER_LIFE: Duration = Duration::from_secs(60);
const SERVER_CONNECTIONS: usize = 20;

#[derive(Clone, Copy)]
enum Answer {
    /// `200 text/html`, as a web server or an SSO page in front of the mail catcher answers.
    Html,
    /// Accepts the connection, reads the request, never answers.
    Silent,
}

/// A stand-in HTTP server on an ephemeral loopback port.
fn serve(answer: Answer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut held = Vec::new();
        let mut served = 0;
        while start.elapsed() < SERVER_LIFE && served < SERVER_CONNECTIONS {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    served += 1;
                    let _ = conn.set_nonblocking(false);
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf);
                    match answer {
                        Answer::Html => {
                            let body = "<!DOCTYPE html><html><body>Sign in</body></html>";
                            let _ = write!(
                                conn,
                                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                        }
                        Answer::Silent => held.push(conn),
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    addr
}

struct Run {
    code: Option<i32>,
    stderr: String,
    elapsed: Duration,
}

fn load(args: &[&str], dir: &Path) -> Run {
    load_signalled(args, dir, None)
}

/// [`load`], sending SIGINT after `signal_after` if given.
fn load_signalled(args: &[&str], dir: &Path, signal_after: Option<Duration>) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_recovery-harness"))
        .arg("load")
        .args(args)
        .arg("--report-dir")
        .arg(dir)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .env_remove("RECOVERY_HARNESS_ADMIN_URL")
        .env_remove("RECOVERY_HARNESS_MAILPIT_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = started + Duration::from_secs(60);
    let mut signal_at = signal_after.map(|d| started + d);
    loop {
        if signal_at.is_some_and(|at| Instant::now() >= at) {
            signal_at = None;
            let status = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill -INT");
        }
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            return Run {
                code: status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                elapsed: started.elapsed(),
            };
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("load hung for 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

fn a_mailpit_url_that_is_no_mailpit_is_a_clear_error_before_the_run() {
    // The target only needs to answer its probe (any status).
    let target = format!("http://{}", serve(Answer::Html));
    let html = format!("http://{}", serve(Answer::Html));
    let silent = format!("http://{}", serve(Answer::Silent));
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let cases: [(&str, &str, &[&str]); 3] = [
        ("nothing listens", &closed, &["did not answer"]),
        ("an HTML page", &html, &["not JSON", "Sign in"]),
        ("no answer", &silent, &["did not answer"]),
    ];
    for (what, url, said) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = load(
            &[
                "--target",
                &target,
                "--scenario",
                "full-recovery",
                "--users",
                "1",
                "--duration",
                "2s",
                "--timeout",
                "2s",
                "-q",
                "--mailpit-url",
                url,
            ],
            dir.path(),
        );
        assert_eq!(run.code, Some(2), "{what}: {}", run.stderr);
        assert!(
            run.stderr.contains("--mailpit-url") && run.stderr.contains(url),
            "{what}: the flag and the URL are named: {}",
            run.stderr
        );
        for s in said {
            assert!(run.stderr.contains(s), "{what}: says {s:?}: {}", run.stderr);
        }
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{what}: one line: {}",
            run.stderr
        );
        // Bounded by --timeout 2s (plus the process's start), not by the 2 s run or a wait for
        // codes.
        assert!(
            run.elapsed < Duration::from_secs(15),
            "{what}: took {:?}",
            run.elapsed
        );
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read_dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            left.is_empty(),
            "{what}: no report of a run that never ran: {left:?}"
        );
    }
}

fn mailpit_is_refused_with_the_embedded_server_and_with_the_courier() {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded = load(
        &[
            "--scenario",
            "full-recovery",
            "--mailpit-url",
            "http://127.0.0.1:9",
        ],
        dir.path(),
    );
    assert_eq!(embedded.code, Some(2), "{}", embedded.stderr);
    assert!(
        embedded.stderr.contains("sends no mail"),
        "{}",
        embedded.stderr
    );
    let both = load(
        &[
            "--target",
            "http://127.0.0.1:9",
            "--scenario",
            "full-recovery",
            "--mailpit-url",
            "http://127.0.0.1:9",
            "--admin-url",
            "http://127.0.0.1:9",
        ],
        dir.path(),
    );
    assert_eq!(both.code, Some(2), "{}", both.stderr);
    assert!(both.stderr.contains("one code source"), "{}", both.stderr);
}

/// The reference server on an ephemeral loopback port, in a thread of its own: a target that
/// answers every recovery step and sends no mail. Bounded: it stops after `SERVER_LIFE`.
fn reference_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let server = recovery_harness::server::spawn(Default::default())
                .await
                .expect("the reference server starts");
            tx.send(server.base_url().to_owned()).expect("send");
            tokio::time::sleep(SERVER_LIFE).await;
            server.shutdown().await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the reference server is up")
}

fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("load-summary.json")).expect("load-summary.json");
    serde_json::from_str(&text).expect("JSON")
}

fn with_real_mailpit_a_code_that_never_comes_fails_in_bounded_time() {
    let mailpit =
        support::mailpit::Mailpit::start().expect("the runner ignores this test without it");
    let target = reference_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = load(
        &[
            "--target",
            &target,
            "--scenario",
            "full-recovery",
            "--users",
            "2",
            "--duration",
            "2s",
            "--timeout",
            "3s",
            "-q",
            "--mailpit-url",
            &mailpit.api_url(),
        ],
        dir.path(),
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let s = summary(dir.path());
    assert_eq!(s["verdict"], "failed", "{s:#}");
    assert_eq!(
        s["schema_failures"], 0,
        "Mailpit's answers are no spec failure: {s:#}"
    );
    let reason = s["top_reasons"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("GET read code: mailpit: no new message to the recipient within 3s")
            && reason.contains("courier.smtp.connection_uri"),
        "{s:#}"
    );
    // The example names the address searched, never a code.
    let example = s["top_reasons"][0]["example"].as_str().unwrap_or_default();
    assert!(
        example.contains("recovery-load-") && example.contains("0 message(s)"),
        "{example}"
    );
    // Each wait is one user's, and makes a bounded number of searches: 0.1 s growing to 1 s
    // pauses over 3 s are 8 searches.
    let read = s["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["request"] == "GET read code"))
        .cloned()
        .unwrap_or_else(|| panic!("no read-code step: {s:#}"));
    let (reads, waits) = (
        read["requests"].as_u64().unwrap_or(0),
        read["errors"].as_u64().unwrap_or(0),
    );
    assert!(
        waits >= 1 && reads <= waits * 9,
        "{reads} searches for {waits} waits: {s:#}"
    );
    // The run ends by itself: its 2 s, plus at most one wait still going at the end.
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    // Nothing was sent to Mailpit.
    assert_eq!(mailpit.messages()["messages_count"], 0);
}

fn a_signal_ends_a_wait_for_mail_at_once() {
    let mailpit =
        support::mailpit::Mailpit::start().expect("the runner ignores this test without it");
    let target = reference_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = load_signalled(
        &[
            "--target",
            &target,
            "--scenario",
            "full-recovery",
            "--users",
            "2",
            "--duration",
            "30s",
            "--timeout",
            "30s",
            "-q",
            "--mailpit-url",
            &mailpit.api_url(),
        ],
        dir.path(),
        Some(Duration::from_secs(3)),
    );
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(12),
        "the users waited for mail after SIGINT: {:?}",
        run.elapsed
    );
    let s = summary(dir.path());
    assert_eq!(s["verdict"], "interrupted", "{s:#}");
    assert_eq!(s["errors"], 0, "an abandoned wait is no failure: {s:#}");
}
