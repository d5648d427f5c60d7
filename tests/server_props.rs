//! Property tests of the reference server: whatever the client sends (query strings, `return_to`,
//! header values, cookies, flow ids, JSON/form/garbage bodies, methods), the server never answers
//! 5xx and never panics, and every non-2xx answer is a valid errorGeneric (Go's plain-text 404 and
//! 405 for unknown paths and wrong methods, as Kratos's router sends them) — or, on the update
//! endpoint, a documented alternative (a 400 flow with errors, the 422
//! `browser_location_change_required`, a redirect with `Location`).
//!
//! Two drivers: `oneshot` on [`recovery_harness::server::router`] (many cases, no sockets; a
//! handler panic fails the test) and real HTTP against a spawned server (fewer cases).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use recovery_harness::schema::{Component, Schemas};
use recovery_harness::server::{router, spawn, RunningServer, ServerConfig};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;
use tower::ServiceExt;

const ORIGIN: &str = "http://127.0.0.1:4433";
const TOKEN: &str = "prop-token";

fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| Schemas::embedded().expect("embedded schemas compile"))
}

fn config() -> ServerConfig {
    ServerConfig {
        session_tokens: vec![TOKEN.into()],
        allowed_return_urls: vec!["https://app.example.org/".into()],
        max_flows: 10_000,
        ..Default::default()
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// One router shared by every oneshot case, so flows created by one case are visible to the next.
fn app() -> &'static axum::Router {
    static APP: OnceLock<axum::Router> = OnceLock::new();
    APP.get_or_init(|| router(&config(), ORIGIN).expect("router"))
}

/// A real server for the HTTP cases (started on the shared runtime).
fn server() -> &'static RunningServer {
    static S: OnceLock<RunningServer> = OnceLock::new();
    S.get_or_init(|| runtime().block_on(spawn(config())).expect("server starts"))
}

/// Checks one answer against the invariants; `Err` says what broke.
fn check(path: &str, status: u16, headers: &[(String, String)], body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if status >= 500 {
        return Err(format!(
            "{status} on {path}: {}",
            String::from_utf8_lossy(body)
        ));
    }
    if (300..400).contains(&status) {
        return match header("location") {
            Some(l) if !l.is_empty() => Ok(()),
            _ => Err(format!("{status} without Location on {path}")),
        };
    }
    // Go's router answers unknown paths and wrong methods in plain text, exactly these bytes.
    if header("content-type") == Some("text/plain; charset=utf-8") {
        let expected: &[u8] = match status {
            404 => b"404 page not found\n",
            405 => b"Method Not Allowed\n",
            _ => {
                return Err(format!(
                    "{status} on {path}: plain text is only for 404/405"
                ))
            }
        };
        return if body == expected || body.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{status} on {path}: plain body {:?}",
                String::from_utf8_lossy(body)
            ))
        };
    }
    let parse = || -> Result<Value, String> {
        serde_json::from_slice(body).map_err(|e| {
            format!(
                "{status} on {path}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(body)
            )
        })
    };
    let validate = |c: Component, v: &Value| {
        schemas()
            .validate(c, v)
            .map_err(|errs| format!("{status} on {path}: not a valid {c:?}: {errs:?}\n{v}"))
    };
    if (200..300).contains(&status) {
        let v = parse()?;
        if path.contains("/admin/courier/messages") {
            return Ok(());
        }
        return validate(Component::RecoveryFlow, &v);
    }
    let v = parse()?;
    let is_update =
        path.contains("/self-service/recovery?") || path.ends_with("/self-service/recovery");
    if is_update && status == 400 && v.get("ui").is_some() {
        return validate(Component::RecoveryFlow, &v);
    }
    if is_update && status == 422 {
        return validate(Component::ErrorBrowserLocationChangeRequired, &v);
    }
    if header("content-type") != Some("application/json") {
        return Err(format!(
            "{status} on {path}: error content type {:?}",
            header("content-type")
        ));
    }
    validate(Component::ErrorGeneric, &v)
}

fn path_strategy() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        Just(String::new()),
        "[0-9a-f-]{0,40}",
        any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        "\\PC{0,20}".prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect()),
    ];
    let query_value = prop_oneof![
        "[ -~]{0,40}",
        Just("https://app.example.org/cb".to_owned()),
        Just("http://[::1".to_owned()),
        Just("/relative".to_owned()),
    ]
    .prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>());
    let raw_query = "[a-zA-Z0-9=&%_.~+-]{0,60}";
    (
        prop_oneof![
            Just("/self-service/recovery/api"),
            Just("/self-service/recovery/browser"),
            Just("/self-service/recovery/flows"),
            Just("/self-service/recovery"),
            Just("/admin/courier/messages"),
            Just("/self-service/recovery/unknown"),
            Just("/"),
        ],
        id,
        query_value,
        raw_query,
        0..4u8,
    )
        .prop_map(|(route, id, value, raw, shape)| match shape {
            0 => format!("{route}?flow={id}&id={id}"),
            1 => format!("{route}?return_to={value}&page_size={value}&recipient={value}"),
            2 => format!("{route}?{raw}"),
            _ => route.to_owned(),
        })
}

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("accept"),
        Just("content-type"),
        Just("cookie"),
        Just("x-session-token"),
        Just("authorization"),
        Just("origin"),
        Just("x-request-id"),
    ];
    let value = prop_oneof![
        "[ -~]{0,60}",
        Just("application/json".to_owned()),
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("text/html;q=0.1, application/json;q=0.9".to_owned()),
        Just(format!("ory_kratos_session={TOKEN}")),
        Just(format!("Bearer {TOKEN}")),
        Just(TOKEN.to_owned()),
        Just("__cf_bm=1; a=b; ;;=".to_owned()),
    ];
    proptest::collection::vec((name.prop_map(str::to_owned), value), 0..5).prop_map(|hs| {
        hs.into_iter()
            .map(|(n, v)| (n, v.trim().to_owned()))
            .collect()
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        Just(Value::String("code".into())),
        Just(Value::String("a@example.org".into())),
        // Addresses near the known-address patterns, multi-byte included.
        "\\PC{0,16}@example\\.(org|com)\\PC{0,3}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("method".to_owned()),
                        Just("email".to_owned()),
                        Just("code".to_owned()),
                        Just("csrf_token".to_owned()),
                        Just("token".to_owned()),
                        Just("transient_payload".to_owned()),
                        "[a-z]{1,8}",
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(("[a-z_]{0,10}", "\\PC{0,20}"), 0..5).prop_map(|kv| {
            let mut s = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in kv {
                s.append_pair(&k, &v);
            }
            s.finish().into_bytes()
        }),
    ]
}

fn method_strategy() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just("GET"),
        3 => Just("POST"),
        1 => Just("HEAD"),
        1 => Just("PUT"),
        1 => Just("DELETE"),
        1 => Just("PATCH"),
    ]
}

/// A flow id that exists, so the update state machine is exercised beyond the 404.
fn existing_flow(browser: bool) -> String {
    let path = if browser {
        "/self-service/recovery/browser"
    } else {
        "/self-service/recovery/api"
    };
    runtime().block_on(async {
        let req = Request::get(path)
            .header("accept", "application/json")
            .body(Body::empty())
            .expect("request");
        let resp = app().clone().oneshot(req).await.expect("infallible");
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let v: Value = serde_json::from_slice(&bytes).expect("flow");
        v["id"].as_str().expect("id").to_owned()
    })
}

async fn oneshot(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req.body(Body::from(body)).expect("valid request");
    let resp = app().clone().oneshot(req).await.expect("infallible");
    let status = resp.status().as_u16();
    let hs = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, hs, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_a_well_formed_answer(
        method in method_strategy(),
        path in path_strategy(),
        headers in header_strategy(),
        body in body_strategy(),
    ) {
        let (status, hs, bytes) = runtime().block_on(oneshot(method, &path, &headers, body));
        let checked_path = if method == "HEAD" { "HEAD".to_owned() } else { path.clone() };
        if method != "HEAD" {
            prop_assert!(check(&checked_path, status, &hs, &bytes).is_ok(), "{}", check(&path, status, &hs, &bytes).err().unwrap_or_default());
        } else {
            prop_assert!(status < 500);
        }
    }

    #[test]
    fn updates_of_existing_flows_never_break(
        browser in any::<bool>(),
        headers in header_strategy(),
        body in body_strategy(),
        extra_query in "[a-z=&]{0,20}",
        submits in 1..4usize,
    ) {
        let id = existing_flow(browser);
        let path = format!("/self-service/recovery?flow={id}&{extra_query}");
        for _ in 0..submits {
            let (status, hs, bytes) = runtime().block_on(oneshot("POST", &path, &headers, body.clone()));
            let res = check(&path, status, &hs, &bytes);
            prop_assert!(res.is_ok(), "{}", res.err().unwrap_or_default());
        }
        // The flow stays readable (or answers a well-formed error) afterwards.
        let get = format!("/self-service/recovery/flows?id={id}");
        let (status, hs, bytes) = runtime().block_on(oneshot("GET", &get, &headers, Vec::new()));
        let res = check(&get, status, &hs, &bytes);
        prop_assert!(res.is_ok(), "{}", res.err().unwrap_or_default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn over_real_http_too(
        method in prop_oneof![Just("GET"), Just("POST"), Just("DELETE")],
        path in path_strategy(),
        headers in header_strategy(),
        body in body_strategy(),
    ) {
        let s = server();
        let url = format!("{}{}", s.base_url(), path);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let result = runtime().block_on(async {
            let mut rb = client.request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), &url);
            for (k, v) in &headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            let resp = rb.body(body).send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let hs: Vec<(String, String)> = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            let bytes = resp.bytes().await.map_err(|e| e.to_string())?.to_vec();
            Ok::<_, String>((status, hs, bytes))
        });
        let (status, hs, bytes) = match result {
            Ok(r) => r,
            Err(e) => return Err(TestCaseError::fail(format!("request failed: {e}"))),
        };
        let res = check(&path, status, &hs, &bytes);
        prop_assert!(res.is_ok(), "{}", res.err().unwrap_or_default());
    }
}

#[test]
fn the_server_survives_the_property_runs() {
    // Runs after (or alongside) the properties in this binary: the shared router still answers.
    let (status, _, body) = runtime().block_on(oneshot(
        "GET",
        "/self-service/recovery/api",
        &[],
        Vec::new(),
    ));
    assert_eq!(
        status,
        StatusCode::OK.as_u16(),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[test]
fn the_invariant_check_rejects_broken_answers() {
    let json_ct = vec![("content-type".to_owned(), "application/json".to_owned())];
    let ok_err = br#"{"error":{"code":404,"status":"Not Found","message":"x"}}"#;
    assert!(check("/self-service/recovery/flows", 404, &json_ct, ok_err).is_ok());
    assert!(check("/self-service/recovery/flows", 500, &json_ct, ok_err).is_err());
    assert!(check("/self-service/recovery/flows", 404, &json_ct, b"not json").is_err());
    assert!(check(
        "/self-service/recovery/flows",
        404,
        &json_ct,
        br#"{"error":{"code":404}}"#
    )
    .is_err());
    let html_ct = vec![("content-type".to_owned(), "text/html".to_owned())];
    assert!(check("/self-service/recovery/flows", 404, &html_ct, ok_err).is_err());
    assert!(
        check("/self-service/recovery", 303, &[], b"").is_err(),
        "303 needs Location"
    );
    assert!(check(
        "/self-service/recovery/api",
        200,
        &json_ct,
        br#"{"id":"x"}"#
    )
    .is_err());
}
