//! The leak test: secrets planted in every input path of `check`, `load` and `monitor` never come
//! out.
//!
//! A reference server runs in this process and accepts two planted session tokens (one given as
//! `--session-token`, the other as the session cookie's value), so the signed-in checks and the
//! `signed-in-rejection` scenario really send them. A password-looking credential
//! (`user:pa55word@`) rides on every URL that can carry one: `check`'s courier URL and `load`'s
//! admin URL (the reference server ignores the basic authentication it becomes and answers, so
//! codes are read through them and submitted), the Mailpit URL, and the targets (refused). Every
//! secret is given once by flag and once by environment variable. Targets that quote back what
//! they were sent (in plain text, in a JSON error; as the target and as the courier) put the
//! token, the cookie and the basic authentication into the bodies that failure excerpts and
//! reasons keep. The recovery codes the server issued are read from its courier after the
//! runs. Then every file the runs wrote (`conformance.json`, `junit.xml`, `summary.md`,
//! `report.html`, the HAR, `load-summary.json`, Goose's reports), what `monitor` serves
//! (`/metrics`, `/last-run.json`) and everything they printed on stdout and stderr, error messages
//! included, must hold none of them.

use recovery_harness::server::{self, ServerConfig};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_recovery-harness");
/// Given as `--session-token` / `RECOVERY_HARNESS_SESSION_TOKEN`.
const TOKEN: &str = "planted-token-7f3a9c";
/// Given as the session cookie's value (`--session-cookie` / `RECOVERY_HARNESS_SESSION_COOKIE`).
const COOKIE: &str = "planted-cookie-51d0e2";
/// The password of every URL that carries credentials.
const PASSWORD: &str = "pa55word";

/// Runs the binary with `args` and `env`, nothing inherited that could hold another secret.
fn run(args: &[String], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .env_remove("RECOVERY_HARNESS_SESSION_COOKIE")
        .env_remove("RECOVERY_HARNESS_TARGET")
        .env_remove("RECOVERY_HARNESS_COURIER_URL")
        .env_remove("RECOVERY_HARNESS_MAILPIT_URL")
        .env_remove("RECOVERY_HARNESS_ADMIN_URL")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

/// `http://user:pa55word@host:port/path` from `http://host:port/path`.
fn with_credentials(url: &str) -> String {
    url.replacen("://", &format!("://user:{PASSWORD}@"), 1)
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Every file under `dir`, recursively, as (path, text).
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).expect("readable");
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    out
}

/// Whether `text` shows `secret`. A recovery code (six digits) counts only as a number of its
/// own: a run sends dozens of codes (the race checks one per trial), and the digits of a HAR's
/// timings ("5.3232230000000005") would otherwise hold one by chance.
fn shows(text: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return text.contains(secret);
    }
    let numeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    text.match_indices(secret).any(|(at, _)| {
        !numeric(text[..at].chars().next_back())
            && !numeric(text[at + secret.len()..].chars().next())
    })
}

/// Panics with where each secret appears, if any does.
fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !shows(text, s),
            "{what} shows the secret {s:?}:\n{}",
            text.lines()
                .filter(|l| shows(l, s))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn assert_clean(label: &str, out: &Output, dir: &Path, secrets: &[String]) {
    assert_no_secret(
        &format!("{label}: stdout"),
        &String::from_utf8_lossy(&out.stdout),
        secrets,
    );
    assert_no_secret(
        &format!("{label}: stderr"),
        &String::from_utf8_lossy(&out.stderr),
        secrets,
    );
    for (path, text) in files(dir) {
        assert_no_secret(&format!("{label}: {path}"), &text, secrets);
    }
}

/// The codes the reference server sent, from its courier listing.
async fn codes_sent(admin: &str) -> Vec<String> {
    let listing: serde_json::Value = reqwest::get(format!("{admin}/admin/courier/messages"))
        .await
        .expect("courier answers")
        .json()
        .await
        .expect("courier listing is JSON");
    listing
        .as_array()
        .expect("a listing")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .filter_map(recovery_harness::codes::code_in)
        .collect()
}

/// A target that quotes back what it was sent, as a misconfigured proxy or a debugging page does:
/// every answer is a 503 page in plain text naming the request's credentials (`json`: a 400
/// Kratos error whose message and reason name them). The failure excerpts and reasons the runs
/// keep must show none of it. Serves on this test's runtime.
async fn echo(json: bool) -> String {
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let handler = move |headers: HeaderMap| async move {
        let said = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let token = said("x-session-token");
        let cookie = said("cookie");
        let auth = said("authorization");
        if json {
            let body = serde_json::json!({"error": {
                "code": 500,
                "status": "Internal Server Error",
                "message": format!("session {token} is locked"),
                "reason": format!("cookie {cookie}; {auth}"),
            }});
            (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html")],
                format!("<html><p>upstream refused X-Session-Token: {token}</p><p>Cookie: {cookie}</p><p>Authorization: {auth}</p></html>"),
            )
                .into_response()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().fallback(handler)).await;
    });
    format!("http://{addr}")
}

/// Stops the monitor (by its PID) if the test ends before it sent SIGTERM.
struct KillOnDrop(Option<std::process::Child>);

impl KillOnDrop {
    fn id(&self) -> u32 {
        self.0.as_ref().expect("the monitor is still ours").id()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One run: its label, arguments, environment and the exit code expected.
type Run = (&'static str, Vec<String>, Vec<(&'static str, String)>, i32);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_planted_secret_leaves_check_load_or_monitor() {
    let server = server::spawn(ServerConfig {
        session_tokens: vec![TOKEN.to_owned(), COOKIE.to_owned()],
        ..ServerConfig::default()
    })
    .await
    .expect("reference server starts");
    let base = server.base_url().to_owned();
    let cookie = format!("{}={COOKIE}", server.session_cookie_name());
    let courier = with_credentials(server.admin_url());
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let echo_text = echo(false).await;
    let echo_json = echo(true).await;
    let work = tempfile::tempdir().expect("temp dir");
    let dir = |name: &str| work.path().join(name);
    let s = |v: &str| v.to_owned();
    let path = |name: &str| dir(name).display().to_string();

    let runs: Vec<Run> = vec![
        (
            "check, secrets as flags, codes read through a courier URL with credentials",
            vec![
                s("check"),
                s("--target"),
                base.clone(),
                s("--session-token"),
                s(TOKEN),
                s("--session-cookie"),
                cookie.clone(),
                s("--courier-url"),
                courier.clone(),
                // The reference server has identities at example.org: the code checks run.
                s("--known-email"),
                s("leak-test@example.org"),
                s("--har"),
                path("check-flags/run.har"),
                s("--report-dir"),
                path("check-flags"),
            ],
            vec![],
            0,
        ),
        (
            "check, secrets as environment variables",
            vec![
                s("check"),
                s("--har"),
                path("check-env/run.har"),
                s("--report-dir"),
                path("check-env"),
            ],
            vec![
                ("RECOVERY_HARNESS_TARGET", base.clone()),
                ("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN)),
                ("RECOVERY_HARNESS_SESSION_COOKIE", cookie.clone()),
                ("RECOVERY_HARNESS_COURIER_URL", courier.clone()),
            ],
            0,
        ),
        (
            "check, a target URL with credentials (refused)",
            vec![
                s("check"),
                s("--target"),
                with_credentials(&base),
                s("--report-dir"),
                path("check-cred-target"),
            ],
            vec![("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN))],
            2,
        ),
        (
            "check, an unreachable target and an unreachable Mailpit with credentials",
            vec![
                s("check"),
                s("--target"),
                dead.clone(),
                s("--session-token"),
                s(TOKEN),
                s("--mailpit-url"),
                with_credentials(&dead),
                s("--report-dir"),
                path("check-dead"),
            ],
            vec![("RECOVERY_HARNESS_SESSION_COOKIE", cookie.clone())],
            2,
        ),
        (
            "check, a malformed courier URL with credentials",
            vec![
                s("check"),
                s("--target"),
                base.clone(),
                s("--courier-url"),
                format!("ftp://user:{PASSWORD}@[::1"),
                s("--report-dir"),
                path("check-bad-courier"),
            ],
            vec![],
            2,
        ),
        (
            "load signed-in-rejection, the token as a flag",
            vec![
                s("load"),
                s("--target"),
                base.clone(),
                s("--scenario"),
                s("signed-in-rejection"),
                s("--session-token"),
                s(TOKEN),
                s("--users"),
                s("2"),
                s("--duration"),
                s("1s"),
                s("--throttle"),
                s("50"),
                s("--report-dir"),
                path("load-token"),
            ],
            vec![],
            0,
        ),
        (
            "load full-recovery, codes read through an admin URL with credentials",
            vec![
                s("load"),
                s("--target"),
                base.clone(),
                s("--scenario"),
                s("full-recovery"),
                s("--users"),
                s("2"),
                s("--duration"),
                s("1s"),
                s("--throttle"),
                s("20"),
                s("--report-dir"),
                path("load-cred-admin"),
            ],
            vec![
                ("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN)),
                ("RECOVERY_HARNESS_ADMIN_URL", courier.clone()),
            ],
            0,
        ),
        (
            "load signed-in-rejection against a target that echoes the token in plain text",
            vec![
                s("load"),
                s("--target"),
                echo_text.clone(),
                s("--scenario"),
                s("signed-in-rejection"),
                s("--session-token"),
                s(TOKEN),
                s("--users"),
                s("1"),
                s("--duration"),
                s("1s"),
                s("--throttle"),
                s("20"),
                s("--report-dir"),
                path("load-echo-text"),
            ],
            vec![],
            1,
        ),
        (
            "load signed-in-rejection against a target that names the token in its JSON error",
            vec![
                s("load"),
                s("--target"),
                echo_json.clone(),
                s("--scenario"),
                s("signed-in-rejection"),
                s("--users"),
                s("1"),
                s("--duration"),
                s("1s"),
                s("--throttle"),
                s("20"),
                s("--report-dir"),
                path("load-echo-json"),
            ],
            vec![("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN))],
            1,
        ),
        (
            "load full-recovery, an admin URL with credentials at a courier that echoes them",
            vec![
                s("load"),
                s("--target"),
                base.clone(),
                s("--scenario"),
                s("full-recovery"),
                s("--courier-url"),
                with_credentials(&echo_text),
                s("--users"),
                s("1"),
                s("--duration"),
                s("1s"),
                s("--throttle"),
                s("20"),
                s("--report-dir"),
                path("load-echo-courier"),
            ],
            vec![("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN))],
            1,
        ),
        (
            "check against a target that echoes the credentials in plain text",
            vec![
                s("check"),
                s("--target"),
                echo_text.clone(),
                s("--session-token"),
                s(TOKEN),
                s("--session-cookie"),
                cookie.clone(),
                s("--fuzz-cases"),
                s("0"),
                s("--har"),
                path("check-echo/run.har"),
                s("--report-dir"),
                path("check-echo"),
            ],
            vec![],
            1,
        ),
        (
            "load full-recovery, the token in the environment, codes read from the courier",
            vec![
                s("load"),
                s("--target"),
                base.clone(),
                s("--scenario"),
                s("full-recovery"),
                s("--users"),
                s("2"),
                s("--duration"),
                s("1s"),
                s("--throttle"),
                s("20"),
                s("--report-dir"),
                path("load-codes"),
            ],
            vec![
                ("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN)),
                ("RECOVERY_HARNESS_ADMIN_URL", s(server.admin_url())),
            ],
            0,
        ),
        (
            "load, a target URL with credentials (refused)",
            vec![
                s("load"),
                s("--target"),
                with_credentials(&base),
                s("--duration"),
                s("1s"),
                s("--report-dir"),
                path("load-cred-target"),
            ],
            vec![("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN))],
            2,
        ),
        (
            "load, an unreachable target",
            vec![
                s("load"),
                s("--target"),
                dead.clone(),
                s("--scenario"),
                s("signed-in-rejection"),
                s("--users"),
                s("1"),
                s("--duration"),
                s("1s"),
                s("--report-dir"),
                path("load-dead-target"),
            ],
            vec![("RECOVERY_HARNESS_SESSION_TOKEN", s(TOKEN))],
            2,
        ),
        (
            "load, an unreachable target, a Mailpit URL with credentials",
            vec![
                s("load"),
                s("--target"),
                dead.clone(),
                s("--scenario"),
                s("full-recovery"),
                s("--mailpit-url"),
                with_credentials(&dead),
                s("--session-token"),
                s(TOKEN),
                s("--users"),
                s("1"),
                s("--duration"),
                s("1s"),
                s("--report-dir"),
                path("load-dead"),
            ],
            vec![],
            2,
        ),
    ];

    let mut outputs = Vec::new();
    for (label, args, env, _) in &runs {
        let (args, env) = (args.clone(), env.clone());
        let out = tokio::task::spawn_blocking(move || run(&args, &env))
            .await
            .expect("joined");
        outputs.push((label, out));
    }

    // monitor: one run with the secrets (token by flag, cookie by variable), its /metrics and
    // /last-run.json read, then SIGTERM.
    let listen = format!("127.0.0.1:{}", closed_port());
    let monitor_dir = path("monitor");
    let monitor = Command::new(BIN)
        .args([
            "monitor", "--target", &base, "--every", "30s", "--listen", &listen,
        ])
        .args(["--session-token", TOKEN, "--report-dir", &monitor_dir])
        .env("RECOVERY_HARNESS_SESSION_COOKIE", &cookie)
        .env_remove("RECOVERY_HARNESS_SESSION_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("monitor starts");
    let mut monitor = KillOnDrop(Some(monitor));
    let mut served = String::new();
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(60) {
        if let Ok(r) = reqwest::get(format!("http://{listen}/last-run.json")).await {
            if r.status() == 200 {
                served.push_str(&r.text().await.unwrap_or_default());
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(!served.is_empty(), "monitor finished no run within 60 s");
    served.push_str(
        &reqwest::get(format!("http://{listen}/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text"),
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &monitor.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(stopped.success());
    let child = monitor.0.take().expect("still ours");
    let monitor_out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joined")
        .expect("monitor output");

    let codes = codes_sent(server.admin_url()).await;
    assert!(
        !codes.is_empty(),
        "the runs read and submitted recovery codes (none was sent)"
    );
    // The basic authentication `user:pa55word@` becomes (the echoing courier quotes it).
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("user:{PASSWORD}"))
    };
    let mut secrets = vec![s(TOKEN), s(COOKIE), s(PASSWORD), basic];
    secrets.extend(codes);
    for ((label, out), (_, _, _, expected)) in outputs.iter().zip(&runs) {
        assert_eq!(
            out.status.code(),
            Some(*expected),
            "{label}: exit code; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(label, out, work.path(), &secrets);
    }
    assert_eq!(
        monitor_out.status.code(),
        Some(0),
        "monitor stops with 0 on SIGTERM"
    );
    assert_clean("monitor", &monitor_out, work.path(), &secrets);
    assert_no_secret("monitor: /last-run.json and /metrics", &served, &secrets);
    assert!(
        served.contains("create_native.signed_in.token.400"),
        "{served}"
    );
    // The runs did write what is checked above.
    for file in [
        "check-flags/conformance.json",
        "check-flags/junit.xml",
        "check-flags/summary.md",
        "check-flags/report.html",
        "check-flags/run.har",
        "check-env/run.har",
        "load-token/load-summary.json",
        "load-token/report.html",
        "load-codes/load-summary.json",
        "load-cred-admin/load-summary.json",
        "load-echo-text/load-summary.json",
        "load-echo-json/load-summary.json",
        "load-echo-courier/load-summary.json",
        "check-echo/run.har",
        "monitor/conformance.json",
    ] {
        assert!(dir(file).is_file(), "{file} was not written");
    }
    // The signed-in checks really sent the planted credentials (and the code checks the codes).
    let conformance: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir("check-flags/conformance.json")).expect("read"),
    )
    .expect("JSON");
    let status = |id: &str| {
        conformance["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
    };
    for id in [
        "create_native.signed_in.token.400",
        "create_native.signed_in.cookie.400",
    ] {
        assert_eq!(status(id).as_deref(), Some("passed"), "{id}");
    }
    assert_eq!(status("recover.right_code").as_deref(), Some("passed"));
}
