//! `recovery-harness serve` as a process: the two start-up lines, a working server, graceful
//! shutdown on SIGTERM with exit 0, and clear errors for unusable flags.

use recovery_harness::server::{spawn, ServerConfig, ServerError};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_recovery-harness"));
    c.env_remove("RUST_LOG");
    c
}

#[test]
#[cfg(unix)]
fn serve_prints_url_and_token_and_stops_on_sigterm() {
    let mut child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--base-path",
            "/auth",
            "--session-token",
            "cli-token",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").expect("utf-8");
    let second = lines.next().expect("a second line").expect("utf-8");
    let url = first
        .strip_prefix("recovery-harness serve: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/auth"),
        "{url}"
    );
    assert_eq!(second, "session token: cli-token");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    recovery_harness::tls::install_default_provider();
    let status = rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        client
            .get(format!("{url}/self-service/recovery/api"))
            .header("X-Session-Token", "cli-token")
            .send()
            .await
            .expect("request")
            .status()
    });
    assert_eq!(status, 400, "the configured token is a session");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_flags_are_errors_with_exit_2() {
    let out = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--base-path", "auth"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--base-path `auth` is invalid"), "{err}");
    let out = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allowed-return-url",
            "not a url",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allowed-return-url"));
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error_naming_the_address() {
    let first = spawn(ServerConfig::default()).await.expect("first server");
    let taken = first.local_addr();
    let second = spawn(ServerConfig {
        listen: taken,
        ..Default::default()
    })
    .await;
    match second {
        Err(e @ ServerError::Bind { .. }) => {
            assert!(e.to_string().contains(&taken.to_string()), "{e}")
        }
        other => panic!("expected a bind error, got {other:?}"),
    }
    first.shutdown().await;
}
