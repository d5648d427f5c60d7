//! The race engine (`check::burst`): requests held back by their last byte and released
//! together, against the reference server and against listeners that misbehave.

use recovery_harness::check::burst;
use recovery_harness::check::client::{Client, Request, TransportKind};
use recovery_harness::codes::{CodeSource, SourceKind};
use recovery_harness::secret::Redactor;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use url::Url;

const KNOWN: &str = "burst-known@example.org";

fn client(timeout: Duration) -> Client {
    recovery_harness::tls::install_default_provider();
    Client::new(timeout, 4 << 20, false, 16, Redactor::default()).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_code_released_sixteen_times_completes_one_recovery() {
    let server = recovery_harness::testing::spawn_faithful()
        .await
        .expect("server starts");
    let base = server.base_url().to_owned();
    let c = client(Duration::from_secs(10));
    let flow = c
        .send(Request::get(
            "t.flow",
            Url::parse(&format!("{base}/self-service/recovery/api")).expect("url"),
        ))
        .await;
    let id = flow.json().expect("a flow")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let submit = Url::parse(&format!("{base}/self-service/recovery?flow={id}")).expect("url");
    let source = CodeSource::new(
        SourceKind::Courier,
        server.admin_url(),
        Duration::from_secs(5),
    )
    .expect("source");
    let mark = source.mark(KNOWN).await.expect("mark");
    let email = c
        .send(Request::post_json(
            "t.email",
            submit.clone(),
            &serde_json::json!({"method": "code", "email": KNOWN}),
        ))
        .await;
    assert_eq!(email.status(), Some(200), "{}", email.describe());
    let code = source
        .code_after(KNOWN, &mark, Duration::from_secs(5))
        .await
        .expect("the code");
    let requests = (0..16)
        .map(|i| {
            Request::post_json(
                format!("t.race.{i}"),
                submit.clone(),
                &serde_json::json!({"method": "code", "code": code.code}),
            )
        })
        .collect();
    let b = burst::release(&c, requests).await;
    assert_eq!(b.released, 16);
    assert_eq!(b.exchanges.len(), 16);
    let statuses: Vec<Option<u16>> = b.exchanges.iter().map(|e| e.status()).collect();
    // The reference server consumes a code atomically: one success (422), the rest refused
    // (303: already used, or the attempt limit).
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(422)).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, Some(422 | 303))),
        "{statuses:?}"
    );
    // The exchanges are whole: JSON bodies, the probe's name, a curl line.
    let success = b
        .exchanges
        .iter()
        .find(|e| e.status() == Some(422))
        .expect("a success");
    assert_eq!(
        success.json().expect("JSON")["error"]["id"],
        "browser_location_change_required"
    );
    assert!(success
        .evidence()
        .curl
        .expect("a curl line")
        .contains(&code.code));
    // Released together: a loose bound (a loaded machine), the engine's point is microseconds.
    assert!(b.spread < Duration::from_secs(1), "{:?}", b.spread);
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_listener_times_out_and_a_closed_port_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accepts and reads, never answers.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            held.push(s);
        }
    });
    let c = client(Duration::from_millis(300));
    let url = Url::parse(&format!("http://{addr}/self-service/recovery?flow=x")).expect("url");
    let requests = (0..3)
        .map(|i| Request::post_json(format!("t.{i}"), url.clone(), &serde_json::json!({})))
        .collect();
    let b = burst::release(&c, requests).await;
    assert_eq!(b.released, 3);
    for ex in &b.exchanges {
        let t = ex.outcome.as_ref().expect_err("no answer");
        assert_eq!(t.kind, TransportKind::Timeout, "{}", t.message);
    }
    silent.abort();

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let url = Url::parse(&format!("http://{closed}/self-service/recovery/api")).expect("url");
    let b = burst::release(&c, vec![Request::get("t.closed", url)]).await;
    assert_eq!(b.released, 0);
    let t = b.exchanges[0].outcome.as_ref().expect_err("refused");
    assert_eq!(t.kind, TransportKind::Connect, "{}", t.message);
}

#[tokio::test]
async fn https_to_a_plain_server_fails_the_handshake() {
    let server = recovery_harness::testing::spawn_faithful()
        .await
        .expect("server starts");
    let url = Url::parse(&format!(
        "{}/self-service/recovery/api",
        server.base_url().replace("http://", "https://")
    ))
    .expect("url");
    for insecure in [false, true] {
        let c = Client::new(
            Duration::from_secs(2),
            4 << 20,
            insecure,
            4,
            Redactor::default(),
        )
        .expect("client");
        let b = burst::release(&c, vec![Request::get("t.tls", url.clone())]).await;
        let t = b.exchanges[0].outcome.as_ref().expect_err("no TLS there");
        assert_eq!(t.kind, TransportKind::Tls, "{}", t.message);
    }
    server.shutdown().await;
}
