//! Adversarial QA of the reference server over raw TCP: what keep-alive clients (load tools,
//! browsers, `http.client`) see when the server answers before reading a request body.

use recovery_harness::server::{spawn, ServerConfig};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body) from `s`; `None` when the
/// connection ends first.
fn read_response(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// A request answered without its body being read must either leave the connection usable or
/// say `Connection: close`; closing it silently breaks the client's next request on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_before_the_body_keep_the_connection_honest() {
    let server = spawn(ServerConfig {
        // The test body (42 bytes) is over this: the update route answers 413 unread.
        max_body: 16,
        ..ServerConfig::default()
    })
    .await
    .expect("server starts");
    let addr = server
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let body = b"{\"method\":\"code\",\"email\":\"a@example.com\"}";
    // Each request is answered without its body: bad flow id, no flow id, unknown route, wrong
    // method, declared body over --max-body.
    let cases: Vec<(&str, String)> = vec![
        ("POST", "/self-service/recovery?flow=abc".to_owned()),
        ("POST", "/self-service/recovery".to_owned()),
        ("POST", "/nothing/here".to_owned()),
        ("DELETE", "/self-service/recovery/api".to_owned()),
        ("PUT", "/self-service/recovery/flows?id=x".to_owned()),
        (
            "POST",
            "/self-service/recovery?flow=6f1c1b8e-3c1a-4d6b-9a51-0c7e2b8f4a11".to_owned(),
        ),
    ];
    let outcome = tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        for (method, path) in cases {
            let mut s = TcpStream::connect(&addr).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            // Headers first, the body a moment later: the server answers in between.
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).expect("write head");
            let Some((first, _)) = read_response(&mut s) else {
                problems.push(format!("{method} {path}: no answer"));
                continue;
            };
            if first.contains("\r\nconnection: close") {
                continue;
            }
            let _ = s.write_all(body);
            let second = format!(
                "GET /self-service/recovery/api HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n"
            );
            let answered = s.write_all(second.as_bytes()).is_ok()
                && read_response(&mut s).is_some_and(|(h, _)| h.starts_with("http/1.1 200"));
            if !answered {
                problems.push(format!(
                    "{method} {path}: answered `{}` without `Connection: close`, then dropped the connection",
                    first.lines().next().unwrap_or_default().trim()
                ));
            }
        }
        problems
    })
    .await
    .expect("client thread");
    server.shutdown().await;
    assert!(outcome.is_empty(), "{outcome:#?}");
}

/// A body the handler did read keeps the connection alive (no needless `Connection: close`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_body_keeps_the_connection_alive() {
    let server = spawn(ServerConfig::default()).await.expect("server starts");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let flow: serde_json::Value = client
        .get(format!("{}/self-service/recovery/api", server.base_url()))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("flow JSON");
    let id = flow["id"].as_str().expect("flow id").to_owned();
    let r = client
        .post(format!(
            "{}/self-service/recovery?flow={id}",
            server.base_url()
        ))
        .json(&serde_json::json!({"method": "code", "email": "a@example.com"}))
        .send()
        .await
        .expect("update");
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("connection").is_none(), "{:?}", r.headers());
    server.shutdown().await;
}

/// `--max-flows 0` used to start a server whose every created flow was already evicted (200 on
/// creation, 404 on every fetch); `--max-body 0` one that refused every submission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_bounds_are_refused_at_start() {
    for (config, flag) in [
        (
            ServerConfig {
                max_flows: 0,
                ..ServerConfig::default()
            },
            "--max-flows",
        ),
        (
            ServerConfig {
                max_body: 0,
                ..ServerConfig::default()
            },
            "--max-body",
        ),
    ] {
        match spawn(config).await {
            Ok(server) => {
                server.shutdown().await;
                panic!("{flag} 0 was accepted");
            }
            Err(e) => assert!(e.to_string().contains(flag), "{flag}: {e}"),
        }
    }
}

/// An unknown route (here: the right path without the prefix) gets Go's plain `404 page not
/// found`, exactly as Kratos's router answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_404_is_gos_plain_text() {
    let server = spawn(ServerConfig {
        base_path: "/auth".to_owned(),
        ..ServerConfig::default()
    })
    .await
    .expect("server starts");
    let origin = server.base_url().trim_end_matches("/auth").to_owned();
    let r = reqwest::Client::new()
        .get(format!("{origin}/self-service/recovery/api"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=utf-8")
    );
    let body = r.text().await.expect("body");
    server.shutdown().await;
    assert_eq!(body, "404 page not found\n");
}
