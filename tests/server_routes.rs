//! The reference server over real HTTP: every route and state of `docs/kratos-behaviour.md`
//! §2–5, bodies validated with the embedded schemas, headers and key order checked.

use recovery_harness::schema::{Component, Schemas};
use recovery_harness::server::{spawn, RecoveryMethod, RunningServer, ServerConfig};
use reqwest::header::{
    HeaderMap, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| Schemas::embedded().expect("embedded schemas compile"))
}

fn client() -> Client {
    recovery_harness::tls::install_default_provider();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn start(config: ServerConfig) -> RunningServer {
    spawn(config).await.expect("server starts")
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn location(&self) -> &str {
        self.header(LOCATION.as_str()).expect("Location header")
    }
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let r = rb.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Resp {
        status,
        headers,
        text,
    }
}

/// A flow body: schema-valid, success content type.
fn assert_flow(r: &Resp) -> Value {
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8"),
        "{}",
        r.text
    );
    let v = r.json();
    if let Err(errs) = schemas().validate(Component::RecoveryFlow, &v) {
        panic!("recoveryFlow violations: {errs:?}\n{}", r.text);
    }
    v
}

/// An error envelope: schema-valid, herodot content type and `Ory-Error-Id`.
fn assert_error(r: &Resp, status: u16, id: Option<&str>) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{}",
        r.text
    );
    let v = r.json();
    if let Err(errs) = schemas().validate(Component::ErrorGeneric, &v) {
        panic!("errorGeneric violations: {errs:?}\n{}", r.text);
    }
    assert_eq!(v["error"]["code"], status);
    assert_eq!(v["error"]["id"].as_str(), id, "{}", r.text);
    assert_eq!(r.header("ory-error-id"), Some(id.unwrap_or("")));
    v
}

/// Go's `http.Error` answer: plain text, `nosniff`, the exact body.
fn assert_plain(r: &Resp, status: u16, body: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("vary"), Some("Cookie"));
    assert_eq!(r.text, body);
}

fn top_keys(text: &str) -> Vec<String> {
    // serde_json with preserve_order is not enabled: read key order from the text itself.
    let v: Value = serde_json::from_str(text).expect("json");
    let mut keys: Vec<(usize, String)> = v
        .as_object()
        .expect("object")
        .keys()
        .map(|k| {
            (
                text.find(&format!("\"{k}\":")).expect("key in text"),
                k.clone(),
            )
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

async fn create_api(s: &RunningServer) -> Value {
    let r = send(client().get(format!("{}/self-service/recovery/api", s.base_url()))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_flow(&r)
}

fn with_return_to(url: &str, value: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", value)
        .finish();
    format!("{url}?{q}")
}

fn flow_id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn submit(s: &RunningServer, id: &str, body: Value) -> Resp {
    send(
        client()
            .post(format!("{}/self-service/recovery?flow={id}", s.base_url()))
            .header(ACCEPT, "application/json")
            .json(&body),
    )
    .await
}

async fn courier(s: &RunningServer, query: &str) -> Vec<Value> {
    let r = send(client().get(format!("{}/admin/courier/messages{query}", s.admin_url()))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json().as_array().expect("array").clone()
}

async fn last_code(s: &RunningServer, recipient: &str) -> String {
    let msgs = courier(s, &format!("?recipient={recipient}")).await;
    let body = msgs[0]["body"].as_str().expect("body");
    body.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .expect("a 6-digit line")
        .to_owned()
}

fn message_ids(v: &Value) -> Vec<i64> {
    v["ui"]["messages"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn create_api_flow_matches_kratos() {
    let s = start(ServerConfig::default()).await;
    let r = send(client().get(format!("{}/self-service/recovery/api", s.base_url()))).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header(CACHE_CONTROL.as_str()),
        Some("private, no-cache, no-store, must-revalidate")
    );
    assert!(r.headers.get(SET_COOKIE).is_none(), "no cookie on api init");
    assert_eq!(r.header("vary"), Some("Cookie"));
    let v = assert_flow(&r);
    assert_eq!(
        top_keys(&r.text),
        [
            "id",
            "type",
            "expires_at",
            "issued_at",
            "request_url",
            "active",
            "ui",
            "state"
        ]
    );
    let id = flow_id(&v);
    let uuid = uuid::Uuid::parse_str(&id).expect("uuid");
    assert_eq!(uuid.get_version_num(), 4);
    assert_eq!(v["type"], "api");
    assert_eq!(v["state"], "choose_method");
    assert_eq!(v["active"], "code");
    assert_eq!(
        v["request_url"],
        format!("{}/self-service/recovery/api", s.base_url())
    );
    assert_eq!(
        v["ui"]["action"],
        format!("{}/self-service/recovery?flow={id}", s.base_url())
    );
    assert_eq!(v["ui"]["method"], "POST");
    assert!(
        v["ui"].get("messages").is_none(),
        "ui.messages omitted when empty"
    );
    let nodes = v["ui"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3);
    assert_eq!(
        nodes[0]["attributes"],
        json!({"name":"csrf_token","type":"hidden","value":"","required":true,"disabled":false,"node_type":"input"})
    );
    assert_eq!(nodes[1]["group"], "code");
    assert_eq!(nodes[1]["attributes"]["name"], "email");
    assert_eq!(nodes[1]["meta"]["label"]["id"], 1070007);
    assert_eq!(nodes[2]["attributes"]["value"], "code");
    assert_eq!(nodes[2]["meta"]["label"]["id"], 1070009);
    let issued = chrono::DateTime::parse_from_rfc3339(v["issued_at"].as_str().expect("issued"))
        .expect("rfc3339");
    let expires = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().expect("expires"))
        .expect("rfc3339");
    assert_eq!((expires - issued).num_seconds(), 3600);
    // The same flow is readable by id.
    let g = send(client().get(format!(
        "{}/self-service/recovery/flows?id={id}",
        s.base_url()
    )))
    .await;
    assert_eq!(g.status, 200);
    assert_eq!(assert_flow(&g), v);
    s.shutdown().await;
}

#[tokio::test]
async fn valid_sessions_are_refused_unknown_ones_ignored() {
    let s = start(ServerConfig {
        session_tokens: vec!["tok-1".into(), "tok-2".into()],
        ..Default::default()
    })
    .await;
    assert_eq!(s.session_token(), "tok-1");
    assert_eq!(s.session_cookie(), "ory_kratos_session=tok-1");
    let url = format!("{}/self-service/recovery/api", s.base_url());
    let expected = r#"{"error":{"id":"session_already_available","code":400,"status":"Bad Request","reason":"A valid session was detected and thus recovery is not possible.","message":"The request was malformed or contained invalid parameters"}}"#;
    for rb in [
        client().get(&url).header("X-Session-Token", "tok-2"),
        client().get(&url).header(COOKIE, s.session_cookie()),
        client().get(&url).header("Authorization", "Bearer tok-1"),
        // An empty X-Session-Token does not hide the cookie.
        client()
            .get(&url)
            .header("X-Session-Token", "")
            .header(COOKIE, "a=b; ory_kratos_session=tok-1"),
    ] {
        let r = send(rb).await;
        assert_error(&r, 400, Some("session_already_available"));
        assert_eq!(r.text.trim_end(), expected);
        assert!(r.headers.get(SET_COOKIE).is_none());
    }
    for rb in [
        client().get(&url).header("X-Session-Token", "nope"),
        client().get(&url).header(COOKIE, "ory_kratos_session=nope"),
        client().get(&url).header("Authorization", "Bearer nope"),
        // X-Session-Token wins when non-empty, even over a valid cookie.
        client()
            .get(&url)
            .header("X-Session-Token", "nope")
            .header(COOKIE, s.session_cookie()),
    ] {
        let r = send(rb).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_flow(&r);
    }
    s.shutdown().await;
}

#[tokio::test]
async fn return_to_is_checked_and_echoed() {
    let s = start(ServerConfig {
        allowed_return_urls: vec!["https://app.example.org/cb".into()],
        ..Default::default()
    })
    .await;
    let api = format!("{}/self-service/recovery/api", s.base_url());
    let r = send(client().get(with_return_to(&api, "https://app.example.org/cb/x?a=1&b=2"))).await;
    let v = assert_flow(&r);
    assert_eq!(v["return_to"], "https://app.example.org/cb/x?a=1&b=2");
    assert!(
        r.text.contains("\\u0026"),
        "Go escapes & in JSON: {}",
        r.text
    );
    assert_eq!(
        top_keys(&r.text),
        [
            "id",
            "type",
            "expires_at",
            "issued_at",
            "request_url",
            "return_to",
            "active",
            "ui",
            "state"
        ]
    );
    // The server's own /self-service is always allowed.
    let own = format!("{}/self-service/login", s.base_url());
    assert_eq!(
        send(client().get(with_return_to(&api, &own))).await.status,
        200
    );
    let r = send(client().get(with_return_to(&api, "https://evil.test/"))).await;
    let v = assert_error(&r, 400, Some("self_service_flow_return_to_forbidden"));
    assert_eq!(
        v["error"]["reason"],
        "Requested return_to URL \"https://evil.test/\" is not allowed."
    );
    let r = send(client().get(with_return_to(&api, "http://[::1"))).await;
    let v = assert_error(&r, 400, None);
    assert!(v["error"]["reason"]
        .as_str()
        .expect("reason")
        .starts_with("Unable to parse the return_to query parameter as an URL: "));
    s.shutdown().await;
}

#[tokio::test]
async fn recovery_disabled_answers_like_default_kratos() {
    let s = start(ServerConfig {
        recovery_disabled: true,
        ..Default::default()
    })
    .await;
    for path in [
        "api",
        "browser",
        "flows?id=00000000-0000-4000-8000-000000000000",
    ] {
        let url = format!("{}/self-service/recovery/{path}", s.base_url());
        let r = send(client().get(&url).header(ACCEPT, "application/json")).await;
        let v = assert_error(&r, 400, None);
        assert_eq!(
            v["error"]["reason"],
            "Recovery is not allowed because it was disabled."
        );
        let r = send(client().get(&url)).await;
        assert_eq!(r.status, 303, "{path}: {}", r.text);
        assert!(r.location().starts_with("http://127.0.0.1:4455/error?id="));
    }
    s.shutdown().await;
}

#[tokio::test]
async fn browser_flows_negotiate_and_need_their_csrf_cookie() {
    let s = start(ServerConfig::default()).await;
    let url = format!("{}/self-service/recovery/browser", s.base_url());
    let r = send(client().get(&url).header(ACCEPT, "application/json")).await;
    assert_eq!(r.status, 200);
    let v = assert_flow(&r);
    assert_eq!(v["type"], "browser");
    let set_cookie = r
        .header(SET_COOKIE.as_str())
        .expect("csrf cookie")
        .to_owned();
    let base_hash = {
        // sha256 of the public base URL with a trailing slash, as Kratos names the cookie.
        let name = set_cookie.split('=').next().expect("name");
        assert!(
            name.starts_with("csrf_token_") && name.len() == "csrf_token_".len() + 64,
            "{set_cookie}"
        );
        name.to_owned()
    };
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Path=/"));
    let pair = set_cookie.split(';').next().expect("pair").to_owned();
    let token = pair.split_once('=').expect("=").1.to_owned();
    // The node holds nosurf's masked token (pad + pad XOR token), never the cookie itself.
    let masked = v["ui"]["nodes"][0]["attributes"]["value"]
        .as_str()
        .expect("csrf value")
        .to_owned();
    assert_eq!(masked.len(), 88, "{masked}");
    assert_eq!(token.len(), 44, "{token}");
    let id = flow_id(&v);
    let get = format!("{}/self-service/recovery/flows?id={id}", s.base_url());
    let r = send(client().get(&get)).await;
    assert_error(&r, 403, Some("security_csrf_violation"));
    let r = send(
        client()
            .get(&get)
            .header(COOKIE, format!("{base_hash}=wrong")),
    )
    .await;
    assert_error(&r, 403, Some("security_csrf_violation"));
    let r = send(client().get(&get).header(COOKIE, &pair)).await;
    assert_eq!(r.status, 200);
    assert_eq!(assert_flow(&r)["id"], id.as_str());
    // Without JSON negotiation: 303 to the UI, cookie issued; Content-Type alone is not JSON here.
    let r = send(client().get(&url).header(CONTENT_TYPE, "application/json")).await;
    assert_eq!(r.status, 303);
    assert!(r
        .location()
        .starts_with("http://127.0.0.1:4455/recovery?flow="));
    assert!(r.headers.get(SET_COOKIE).is_some());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    // An existing CSRF cookie is reused, not re-issued.
    let r = send(
        client()
            .get(&url)
            .header(ACCEPT, "application/json")
            .header(COOKIE, &pair),
    )
    .await;
    assert!(r.headers.get(SET_COOKIE).is_none());
    assert_eq!(
        assert_flow(&r)["ui"]["nodes"][0]["attributes"]["value"]
            .as_str()
            .map(str::len),
        Some(88)
    );
    // Signed in: JSON → 400, browser → 302 to the default return URL.
    let r = send(
        client()
            .get(&url)
            .header(ACCEPT, "application/json")
            .header(COOKIE, s.session_cookie()),
    )
    .await;
    assert_error(&r, 400, Some("session_already_available"));
    let r = send(client().get(&url).header(COOKIE, s.session_cookie())).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.location(), "http://127.0.0.1:4455/");
    // A browser flow submitted with its (masked) CSRF token works; without it: 403, as nosurf.
    let post = format!("{}/self-service/recovery?flow={id}", s.base_url());
    let r = send(
        client()
            .post(&post)
            .header(ACCEPT, "application/json")
            .header(COOKIE, &pair)
            .json(&json!({"method":"code","email":"b@example.org","csrf_token":masked})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(assert_flow(&r)["state"], "sent_email");
    let r = send(
        client()
            .post(&post)
            .header(ACCEPT, "application/json")
            .header(COOKIE, &pair)
            .json(&json!({"method":"code","email":"b@example.org"})),
    )
    .await;
    let v = assert_error(&r, 403, Some("security_csrf_violation"));
    assert!(v["error"]["details"]["reject_reason"]
        .as_str()
        .expect("reject_reason")
        .contains("do not match"));
    assert!(r.headers.get(SET_COOKIE).is_some(), "nosurf regenerates");
    // Without JSON the error manager sends the browser to the error UI.
    let r = send(
        client()
            .post(&post)
            .header(COOKIE, &pair)
            .form(&[("method", "code")]),
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("http://127.0.0.1:4455/error?id="));
    // A form post from a browser goes back to the UI.
    let r = send(client().post(&post).header(COOKIE, &pair).form(&[
        ("method", "code"),
        ("code", "000000"),
        ("csrf_token", token.as_str()),
    ]))
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        r.location(),
        format!("http://127.0.0.1:4455/recovery?flow={id}")
    );
    s.shutdown().await;
}

#[tokio::test]
async fn get_flow_not_found_forms() {
    let s = start(ServerConfig::default()).await;
    let expected =
        r#"{"error":{"code":404,"status":"Not Found","message":"Unable to locate the resource"}}"#;
    for q in [
        "",
        "?id=",
        "?id=not-a-uuid",
        "?id=00000000-0000-4000-8000-000000000000",
    ] {
        let r =
            send(client().get(format!("{}/self-service/recovery/flows{q}", s.base_url()))).await;
        assert_error(&r, 404, None);
        assert_eq!(r.text.trim_end(), expected);
    }
    s.shutdown().await;
}

#[tokio::test]
async fn expired_flows_answer_410_and_restart_on_submit() {
    let s = start(ServerConfig {
        lifespan: Duration::from_millis(300),
        // A relative return_to resolves against the UI URL, which must then be allowed.
        allowed_return_urls: vec!["http://127.0.0.1:4455/".into()],
        ..Default::default()
    })
    .await;
    let api = create_api(&s).await;
    let browser = send(
        client()
            .get(format!(
                "{}/self-service/recovery/browser?return_to=/x",
                s.base_url()
            ))
            .header(ACCEPT, "application/json"),
    )
    .await;
    let cookie = browser
        .header(SET_COOKIE.as_str())
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let browser = assert_flow(&browser);
    // The browser flow was created last: once it answers 410, both have expired.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = send(
            client()
                .get(format!(
                    "{}/self-service/recovery/flows?id={}",
                    s.base_url(),
                    flow_id(&browser)
                ))
                .header(COOKIE, &cookie),
        )
        .await;
        if r.status == 410 {
            break;
        }
        assert_eq!(r.status, 200, "before it expires: {}", r.text);
        assert!(
            std::time::Instant::now() < deadline,
            "a 300 ms flow did not expire in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = send(client().get(format!(
        "{}/self-service/recovery/flows?id={}",
        s.base_url(),
        flow_id(&api)
    )))
    .await;
    let v = assert_error(&r, 410, Some("self_service_flow_expired"));
    assert_eq!(
        v["error"]["details"]["api"],
        format!("{}/self-service/recovery/api", s.base_url())
    );
    assert_eq!(v["error"]["message"], "self-service flow expired");
    let r = send(
        client()
            .get(format!(
                "{}/self-service/recovery/flows?id={}",
                s.base_url(),
                flow_id(&browser)
            ))
            .header(COOKIE, &cookie),
    )
    .await;
    let v = assert_error(&r, 410, None);
    assert_eq!(v["error"]["details"]["return_to"], "/x");
    assert!(v["error"]["details"]["redirect_to"]
        .as_str()
        .expect("redirect_to")
        .ends_with("/self-service/recovery/browser?return_to=%2Fx"));
    // Submitting an expired API flow: 303 to a fresh flow carrying 4060005.
    let r = submit(
        &s,
        &flow_id(&api),
        json!({"method":"code","email":"a@example.org"}),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let loc = r.location().to_owned();
    assert!(loc.starts_with(&format!("{}/self-service/recovery/flows?id=", s.base_url())));
    let r = send(client().get(&loc)).await;
    let v = assert_flow(&r);
    assert_ne!(v["id"], api["id"]);
    assert_eq!(message_ids(&v), vec![4060005]);
    assert!(v["ui"]["messages"][0]["context"]["expired_at_unix"].is_i64());
    s.shutdown().await;
}

#[tokio::test]
async fn code_recovery_end_to_end() {
    let s = start(ServerConfig::default()).await;
    let id = flow_id(&create_api(&s).await);
    let r = submit(
        &s,
        &id,
        json!({"method":"code","email":"alice@example.org"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers.get(CACHE_CONTROL).is_none(),
        "POST responses carry no Cache-Control"
    );
    let v = assert_flow(&r);
    assert_eq!(v["state"], "sent_email");
    assert_eq!(message_ids(&v), vec![1060003]);
    let names: Vec<_> = v["ui"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            format!(
                "{}:{}",
                n["attributes"]["name"].as_str().unwrap_or(""),
                n["attributes"]["type"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "csrf_token:hidden",
            "code:text",
            "method:hidden",
            "method:submit",
            "email:submit"
        ]
    );
    assert_eq!(
        v["ui"]["nodes"][4]["attributes"]["value"],
        "alice@example.org"
    );
    let msgs = courier(&s, "?recipient=alice@example.org").await;
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    for key in [
        "id",
        "status",
        "type",
        "recipient",
        "body",
        "subject",
        "template_type",
        "send_count",
        "created_at",
        "updated_at",
    ] {
        assert!(m.get(key).is_some(), "courier message lacks {key}: {m}");
    }
    assert_eq!(m["template_type"], "recovery_code_valid");
    assert_eq!(m["type"], "email");
    let code = last_code(&s, "alice@example.org").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = submit(&s, &id, json!({"method":"code","code":wrong})).await;
    assert_eq!(r.status, 200);
    let v = assert_flow(&r);
    assert_eq!(v["state"], "sent_email");
    assert_eq!(message_ids(&v), vec![4060006]);
    let r = submit(&s, &id, json!({"code":code})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.header("ory-error-id"),
        Some("browser_location_change_required")
    );
    let v = r.json();
    schemas()
        .validate(Component::ErrorBrowserLocationChangeRequired, &v)
        .expect("valid 422");
    assert_eq!(v["error"]["id"], "browser_location_change_required");
    let to = v["redirect_browser_to"]
        .as_str()
        .expect("redirect_browser_to");
    assert!(to.starts_with("http://127.0.0.1:4455/settings?flow="));
    assert_eq!(
        v["error"]["reason"],
        format!("In order to complete this flow please redirect the browser to: {to}")
    );
    let g = send(client().get(format!(
        "{}/self-service/recovery/flows?id={id}",
        s.base_url()
    )))
    .await;
    let v = assert_flow(&g);
    assert_eq!(v["state"], "passed_challenge");
    assert!(
        v.get("transient_payload").is_none(),
        "only update answers echo it"
    );
    // The used code again: a new flow carrying 4000001 "already used" (as real Kratos answers).
    let r = submit(&s, &id, json!({"code":code})).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let v = assert_flow(&send(client().get(r.location())).await);
    assert_eq!(message_ids(&v), vec![4000001]);
    assert_eq!(
        v["ui"]["messages"][0]["text"],
        "The code was already used. Please request another code."
    );
    assert_eq!(
        v["request_url"],
        format!("{}/self-service/recovery?flow={id}", s.base_url()),
        "a replacing flow records the submit it answered"
    );
    // A later submit with an email: the flow is done, a new one carries 4060001.
    let r = submit(
        &s,
        &id,
        json!({"method":"code","email":"alice@example.org"}),
    )
    .await;
    assert_eq!(r.status, 303);
    let v = assert_flow(&send(client().get(r.location())).await);
    assert_eq!(message_ids(&v), vec![4060001]);
    s.shutdown().await;
}

#[tokio::test]
async fn continue_with_transitions_return_the_session() {
    let s = start(ServerConfig {
        continue_with_transitions: true,
        ..Default::default()
    })
    .await;
    let id = flow_id(&create_api(&s).await);
    assert_eq!(
        submit(&s, &id, json!({"method":"code","email":"bob@example.com"}))
            .await
            .status,
        200
    );
    let code = last_code(&s, "bob@example.com").await;
    let r = submit(&s, &id, json!({"method":"code","code":code})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = assert_flow(&r);
    assert_eq!(v["state"], "passed_challenge");
    let cw = v["continue_with"].as_array().expect("continue_with");
    for item in cw {
        schemas()
            .validate(Component::ContinueWith, item)
            .expect("continueWith item");
    }
    assert_eq!(cw[0]["action"], "set_ory_session_token");
    assert_eq!(cw[1]["action"], "show_settings_ui");
    assert!(r.headers.get(SET_COOKIE).is_none());
    // The issued token is a session now.
    let token = cw[0]["ory_session_token"].as_str().expect("token");
    let r = send(
        client()
            .get(format!("{}/self-service/recovery/api", s.base_url()))
            .header("X-Session-Token", token),
    )
    .await;
    assert_error(&r, 400, Some("session_already_available"));
    s.shutdown().await;
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_message() {
    let s = start(ServerConfig::default()).await;
    let known = flow_id(&create_api(&s).await);
    let unknown = flow_id(&create_api(&s).await);
    let a = submit(&s, &known, json!({"method":"code","email":"k@example.org"})).await;
    let b = submit(
        &s,
        &unknown,
        json!({"method":"code","email":"nobody@unknown.test"}),
    )
    .await;
    assert_eq!(a.status, b.status);
    let (a, b) = (assert_flow(&a), assert_flow(&b));
    assert_eq!(a["state"], b["state"]);
    assert_eq!(a["ui"]["messages"], b["ui"]["messages"]);
    assert!(courier(&s, "?recipient=nobody@unknown.test")
        .await
        .is_empty());
    assert_eq!(courier(&s, "?recipient=k@example.org").await.len(), 1);
    // transient_payload is echoed as sent.
    let r = submit(
        &s,
        &known,
        json!({"method":"code","email":"k@example.org","transient_payload":{"a":[1,"x"]}}),
    )
    .await;
    assert_eq!(assert_flow(&r)["transient_payload"], json!({"a":[1,"x"]}));
    // Any code is wrong for the unknown address.
    let r = submit(&s, &unknown, json!({"code":"123456"})).await;
    assert_eq!(message_ids(&assert_flow(&r)), vec![4060006]);
    s.shutdown().await;
}

#[tokio::test]
async fn validation_errors_are_flows_with_messages() {
    let s = start(ServerConfig::default()).await;
    let id = flow_id(&create_api(&s).await);
    let r = submit(&s, &id, json!({"method":"code"})).await;
    assert_eq!(r.status, 400);
    let v = assert_flow(&r);
    assert_eq!(
        v["ui"]["nodes"][1]["messages"][0],
        json!({"id":4000002,"text":"Property email is missing.","type":"error","context":{"property":"email"}})
    );
    let r = submit(&s, &id, json!({"method":"code","email":"not-an-email"})).await;
    assert_eq!(r.status, 400);
    let v = assert_flow(&r);
    assert_eq!(v["ui"]["nodes"][1]["messages"][0]["id"], 4000040);
    assert_eq!(
        v["ui"]["nodes"][1]["messages"][0]["context"]["value"],
        "not-an-email"
    );
    assert!(
        v["ui"]["nodes"][1]["attributes"].get("value").is_none(),
        "Kratos shows no value on the errored email input: {v}"
    );
    let r = submit(
        &s,
        &id,
        json!({"method":"password","email":"a@example.org"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let v = assert_flow(&r);
    assert_eq!(message_ids(&v), vec![4010005]);
    assert_eq!(v["active"], "default");
    // From then on the code strategy does not take this flow (Kratos's code strategy answers only
    // while `active` is `code`): even a good submit finds no strategy, and `active` stays.
    let r = submit(&s, &id, json!({"method":"code","email":"a@example.org"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(message_ids(&assert_flow(&r)), vec![4010005]);
    // Malformed bodies: a 400 flow with a global 4000001 (`active` unchanged on a fresh flow).
    let id = flow_id(&create_api(&s).await);
    for (ct, body) in [
        ("application/json", "{not json"),
        ("application/json", "[1,2]"),
        ("application/json", r#"{"email":[5]}"#),
        ("text/plain", "x"),
    ] {
        let r = send(
            client()
                .post(format!("{}/self-service/recovery?flow={id}", s.base_url()))
                .header(CONTENT_TYPE, ct)
                .body(body),
        )
        .await;
        assert_eq!(r.status, 400, "{ct} {body}: {}", r.text);
        let v = assert_flow(&r);
        assert_eq!(message_ids(&v), vec![4000001]);
        assert_eq!(v["active"], "code");
    }
    // Form bodies are accepted.
    let r = send(
        client()
            .post(format!("{}/self-service/recovery?flow={id}", s.base_url()))
            .header(ACCEPT, "application/json")
            .form(&[("method", "code"), ("email", "form@example.org")]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(assert_flow(&r)["state"], "sent_email");
    s.shutdown().await;
}

#[tokio::test]
async fn the_sixth_code_attempt_forces_a_new_flow() {
    let s = start(ServerConfig::default()).await;
    let id = flow_id(&create_api(&s).await);
    submit(&s, &id, json!({"method":"code","email":"c@example.org"})).await;
    let code = last_code(&s, "c@example.org").await;
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for _ in 0..5 {
        let r = submit(&s, &id, json!({"code":wrong})).await;
        assert_eq!(r.status, 200);
    }
    let r = submit(&s, &id, json!({"code":code})).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let v = assert_flow(&send(client().get(r.location())).await);
    assert_ne!(flow_id(&v), id);
    assert_eq!(v["type"], "api");
    assert_eq!(
        v["ui"]["messages"][0]["text"],
        "The request was submitted too often. Please request another code."
    );
    s.shutdown().await;
}

#[tokio::test]
async fn api_flow_submits_with_browser_headers_are_refused() {
    let s = start(ServerConfig::default()).await;
    let url = |id: &str| format!("{}/self-service/recovery?flow={id}", s.base_url());
    let body = json!({"method":"code","email":"a@example.org"});
    for (name, value, msg_start) in [
        (
            "cookie",
            "session=x",
            "The HTTP Request Header included the \"Cookie\" key",
        ),
        (
            "origin",
            "https://app.example.org",
            "The HTTP Request Header included the \"Origin\" key",
        ),
    ] {
        let id = flow_id(&create_api(&s).await);
        let r = send(
            client()
                .post(url(&id))
                .header(name, value)
                .header(ACCEPT, "application/json")
                .json(&body),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.text);
        let loc = r.location().to_owned();
        assert!(loc.contains("/self-service/recovery/flows?id="));
        // The replacement is a browser flow, readable with the CSRF cookie it came with.
        let cookie = r
            .header(SET_COOKIE.as_str())
            .expect("csrf cookie")
            .split(';')
            .next()
            .expect("pair")
            .to_owned();
        let v = assert_flow(&send(client().get(&loc).header(COOKIE, cookie)).await);
        assert_eq!(v["type"], "browser");
        assert!(v["ui"]["messages"][0]["text"]
            .as_str()
            .expect("text")
            .starts_with(msg_start));
    }
    // Cloudflare cookies are exempt.
    let id = flow_id(&create_api(&s).await);
    let r = send(
        client()
            .post(url(&id))
            .header(COOKIE, "__cf_bm=1; cf_clearance=2")
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.shutdown().await;
}

#[tokio::test]
async fn update_errors_and_limits() {
    let s = start(ServerConfig {
        max_body: 1024,
        ..Default::default()
    })
    .await;
    let base = s.base_url().to_owned();
    let r = send(
        client()
            .post(format!(
                "{base}/self-service/recovery?flow=00000000-0000-4000-8000-000000000000"
            ))
            .json(&json!({})),
    )
    .await;
    let v = assert_error(&r, 404, None);
    assert_eq!(
        v["error"]["reason"],
        "The recovery request could not be found. Please restart the flow."
    );
    let r = send(
        client()
            .post(format!("{base}/self-service/recovery"))
            .json(&json!({})),
    )
    .await;
    let v = assert_error(&r, 400, None);
    assert_eq!(
        v["error"]["reason"],
        "The flow query parameter is missing or malformed."
    );
    let id = flow_id(&create_api(&s).await);
    let big = "x".repeat(4096);
    let r = send(
        client()
            .post(format!("{base}/self-service/recovery?flow={id}"))
            .json(&json!({"email": big})),
    )
    .await;
    assert_error(&r, 413, None);
    // Wrong methods and unknown routes: Go's plain-text answers, as real Kratos sends them.
    let r = send(client().delete(format!("{base}/self-service/recovery/api"))).await;
    assert_plain(&r, 405, "Method Not Allowed\n");
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = send(client().put(format!("{base}/self-service/recovery"))).await;
    assert_plain(&r, 405, "Method Not Allowed\n");
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    let r = send(client().get(format!("{base}/self-service/nothing"))).await;
    assert_plain(&r, 404, "404 page not found\n");
    assert_eq!(
        r.header(CACHE_CONTROL.as_str()),
        Some("private, no-cache, no-store, must-revalidate")
    );
    // Queries too long to store are refused rather than letting one flow hold them.
    let long = format!("{base}/self-service/recovery/api?x={}", "y".repeat(5000));
    assert_error(&send(client().get(long)).await, 414, None);
    // X-Request-ID is echoed in `request` of an error envelope.
    let r = send(
        client()
            .get(format!("{base}/self-service/recovery/flows?id=x"))
            .header("X-Request-ID", "req-42"),
    )
    .await;
    assert_eq!(assert_error(&r, 404, None)["error"]["request"], "req-42");
    s.shutdown().await;
}

#[tokio::test]
async fn base_path_prefixes_every_route() {
    let s = start(ServerConfig {
        base_path: "/auth/".into(),
        ..Default::default()
    })
    .await;
    assert!(s.base_url().ends_with("/auth"), "{}", s.base_url());
    let v = create_api(&s).await;
    assert!(v["ui"]["action"]
        .as_str()
        .expect("action")
        .starts_with(&format!("{}/self-service/recovery?flow=", s.base_url())));
    let root = s.base_url().trim_end_matches("/auth").to_owned();
    let r = send(client().get(format!("{root}/self-service/recovery/api"))).await;
    assert_plain(&r, 404, "404 page not found\n");
    s.shutdown().await;
    let bad = spawn(ServerConfig {
        base_path: "auth".into(),
        ..Default::default()
    })
    .await;
    assert!(bad.is_err());
}

#[tokio::test]
async fn the_store_is_bounded_oldest_first() {
    let s = start(ServerConfig {
        max_flows: 2,
        ..Default::default()
    })
    .await;
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(flow_id(&create_api(&s).await));
        }
        v
    };
    let get = |id: &str| {
        client().get(format!(
            "{}/self-service/recovery/flows?id={id}",
            s.base_url()
        ))
    };
    assert_eq!(send(get(&ids[0])).await.status, 404);
    assert_eq!(send(get(&ids[1])).await.status, 200);
    assert_eq!(send(get(&ids[2])).await.status, 200);
    s.shutdown().await;
}

#[tokio::test]
async fn courier_listing_filters_and_validates() {
    let s = start(ServerConfig::default()).await;
    for who in ["x@example.org", "y@example.org", "x@example.org"] {
        let id = flow_id(&create_api(&s).await);
        submit(&s, &id, json!({"method":"code","email":who})).await;
    }
    let all = courier(&s, "").await;
    assert_eq!(all.len(), 3);
    let created: Vec<&str> = all
        .iter()
        .map(|m| m["created_at"].as_str().expect("ts"))
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted, "newest first");
    assert_eq!(courier(&s, "?recipient=x@example.org").await.len(), 2);
    assert_eq!(courier(&s, "?page_size=1").await.len(), 1);
    assert_eq!(courier(&s, "?status=queued").await.len(), 0);
    for bad in [
        "?page_size=0",
        "?page_size=1001",
        "?page_size=x",
        "?status=lost",
    ] {
        let r = send(client().get(format!("{}/admin/courier/messages{bad}", s.admin_url()))).await;
        assert_error(&r, 400, None);
    }
    let one_id = all[0]["id"].as_str().expect("id");
    let r = send(client().get(format!("{}/admin/courier/messages/{one_id}", s.admin_url()))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), all[0]);
    let r = send(client().get(format!("{}/admin/courier/messages/nope", s.admin_url()))).await;
    assert_error(&r, 404, None);
    s.shutdown().await;
}

#[tokio::test]
async fn link_method_sends_a_link_that_completes_in_the_browser() {
    let s = start(ServerConfig {
        method: RecoveryMethod::Link,
        ..Default::default()
    })
    .await;
    let v = create_api(&s).await;
    assert_eq!(v["active"], "link");
    assert_eq!(v["ui"]["nodes"][1]["group"], "link");
    let id = flow_id(&v);
    let r = submit(&s, &id, json!({"method":"link","email":"l@example.org"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = assert_flow(&r);
    assert_eq!(v["state"], "sent_email");
    assert_eq!(message_ids(&v), vec![1060002]);
    let msgs = courier(&s, "?recipient=l@example.org").await;
    assert_eq!(msgs[0]["template_type"], "recovery_valid");
    let body = msgs[0]["body"].as_str().expect("body");
    let link = body
        .lines()
        .find(|l| l.contains("token="))
        .expect("link line")
        .trim()
        .to_owned();
    let r = send(client().get(&link)).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(r
        .location()
        .starts_with("http://127.0.0.1:4455/settings?flow="));
    assert!(r
        .header(SET_COOKIE.as_str())
        .expect("session")
        .starts_with("ory_kratos_session=ory_st_"));
    // Used again: invalid, a new browser flow carrying 4060004.
    let r = send(client().get(&link)).await;
    assert_eq!(r.status, 303);
    assert!(r
        .location()
        .starts_with("http://127.0.0.1:4455/recovery?flow="));
    // The code method is not active: a code submit finds no strategy.
    let r = submit(
        &s,
        &flow_id(&create_api(&s).await),
        json!({"method":"code","email":"l@example.org"}),
    )
    .await;
    assert_eq!(message_ids(&assert_flow(&r)), vec![4010005]);
    s.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let s = start(ServerConfig::default()).await;
    let url = format!("{}/self-service/recovery/api", s.base_url());
    assert_eq!(send(client().get(&url)).await.status, 200);
    s.shutdown().await;
    assert!(client().get(&url).send().await.is_err());
}

#[tokio::test]
async fn kratos_middleware_headers_and_nosurf() {
    let s = start(ServerConfig::default()).await;
    let base = s.base_url().to_owned();
    // HEAD is served by every GET route, without Cache-Control (only GET answers carry it).
    let r = send(client().head(format!("{base}/self-service/recovery/api"))).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.get(CACHE_CONTROL).is_none());
    assert_eq!(r.header("vary"), Some("Cookie"));
    // Paths nosurf guards issue the anti-CSRF cookie to a request without one, even on a 404.
    let r = send(client().get(format!("{base}/self-service/recovery/flows?id=x"))).await;
    assert_error(&r, 404, None);
    let cookie = r
        .header(SET_COOKIE.as_str())
        .expect("csrf cookie")
        .to_owned();
    assert!(cookie.starts_with("csrf_token_"), "{cookie}");
    let r = send(client().get(format!("{base}/nothing"))).await;
    assert!(r.headers.get(SET_COOKIE).is_some());
    // …and refuse unsafe methods before routing: 403, not 405.
    for path in [
        "/self-service/recovery/flows",
        "/self-service/recovery/browser",
        "/x",
    ] {
        let r = send(client().post(format!("{base}{path}"))).await;
        let v = assert_error(&r, 403, Some("security_csrf_violation"));
        assert_eq!(
            v["error"]["details"]["reject_reason"],
            "The HTTP Cookie Header is empty or not set."
        );
        assert!(r.headers.get(SET_COOKIE).is_some());
    }
    // The paths it ignores get the router's 405 and no cookie.
    let r = send(client().post(format!("{base}/self-service/recovery/api"))).await;
    assert_plain(&r, 405, "Method Not Allowed\n");
    assert!(r.headers.get(SET_COOKIE).is_none());
    s.shutdown().await;
}

#[tokio::test]
async fn request_url_is_the_request_as_kratos_saw_it() {
    let s = start(ServerConfig::default()).await;
    let url = format!("{}/self-service/recovery/api?x=1", s.base_url());
    let r = send(
        client()
            .get(&url)
            .header("X-Forwarded-Host", "accounts.example.test")
            .header("X-Forwarded-Proto", "https"),
    )
    .await;
    let v = assert_flow(&r);
    assert_eq!(
        v["request_url"],
        "https://accounts.example.test/self-service/recovery/api?x=1"
    );
    // `ui.action` stays on the configured public base URL.
    assert!(v["ui"]["action"]
        .as_str()
        .expect("action")
        .starts_with(s.base_url()));
    let r = send(client().get(&url).header("Host", "other.test:8080")).await;
    assert_eq!(
        assert_flow(&r)["request_url"],
        "http://other.test:8080/self-service/recovery/api?x=1"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn recovery_v2_chooses_the_address_as_kratos_does() {
    let s = start(ServerConfig {
        choose_recovery_address: true,
        ..Default::default()
    })
    .await;
    let v = create_api(&s).await;
    assert_eq!(v["state"], "recovery_awaiting_address");
    let names = |v: &Value| -> Vec<String> {
        v["ui"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                format!(
                    "{}:{}",
                    n["attributes"]["name"].as_str().unwrap_or(""),
                    n["attributes"]["type"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(
        names(&v),
        [
            "csrf_token:hidden",
            "recovery_address:text",
            "method:submit"
        ]
    );
    assert_eq!(v["ui"]["nodes"][1]["meta"]["label"]["id"], 1070016);
    let id = flow_id(&v);
    // `email` is not the v2 field.
    let r = submit(&s, &id, json!({"method":"code","email":"v2@example.org"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        assert_flow(&r)["ui"]["nodes"][1]["messages"][0]["text"],
        "Property recovery_address is missing."
    );
    let r = submit(
        &s,
        &id,
        json!({"method":"code","recovery_address":"v2@example.org"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = assert_flow(&r);
    assert_eq!(v["state"], "recovery_awaiting_code");
    assert_eq!(message_ids(&v), vec![1060004]);
    assert_eq!(
        v["ui"]["messages"][0]["context"]["masked_address"],
        "v2****@example.org"
    );
    assert_eq!(
        names(&v),
        [
            "csrf_token:hidden",
            "code:text",
            "method:submit",
            "method:hidden",
            "recovery_confirm_address:submit",
            "recovery_address:hidden",
            "screen:submit"
        ]
    );
    // Unknown addresses: the same answer, nothing sent.
    let other = flow_id(&create_api(&s).await);
    let u = submit(
        &s,
        &other,
        json!({"method":"code","recovery_address":"nobody@unknown.test"}),
    )
    .await;
    assert_eq!(u.status, 200);
    assert_eq!(assert_flow(&u)["state"], "recovery_awaiting_code");
    assert!(courier(&s, "?recipient=nobody@unknown.test")
        .await
        .is_empty());
    // A wrong code, then the right one.
    let code = last_code(&s, "v2@example.org").await;
    let r = submit(&s, &id, json!({"method":"code","code":"12345x"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(message_ids(&assert_flow(&r)), vec![4060006]);
    let r = submit(&s, &id, json!({"method":"code","code":code})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    // "Back" returns to the address screen.
    let r = submit(&s, &other, json!({"method":"code","screen":"previous"})).await;
    assert_eq!(assert_flow(&r)["state"], "recovery_awaiting_address");
    // An address typed differently from the stored one: the choice screen.
    let third = flow_id(&create_api(&s).await);
    let r = submit(
        &s,
        &third,
        json!({"method":"code","recovery_address":"V2@Example.org"}),
    )
    .await;
    let v = assert_flow(&r);
    assert_eq!(v["state"], "recovery_awaiting_address_choice");
    assert_eq!(message_ids(&v), vec![1060006]);
    let choice = v["ui"]["nodes"][1]["attributes"]["value"]
        .as_str()
        .expect("choice")
        .to_owned();
    // Without the hidden address the form carries: 4000002 on it.
    let r = submit(
        &s,
        &third,
        json!({"method":"code","recovery_select_address":choice}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        assert_flow(&r)["ui"]["nodes"][3]["messages"][0]["id"],
        4000002
    );
    let r = submit(
        &s,
        &third,
        json!({"method":"code","recovery_select_address":choice,"recovery_address":"V2@Example.org"}),
    )
    .await;
    let v = assert_flow(&r);
    assert_eq!(v["state"], "recovery_confirming_address");
    assert_eq!(message_ids(&v), vec![1060005]);
    // The chosen address typed in full: the code is sent.
    let r = submit(
        &s,
        &third,
        json!({"method":"code","recovery_confirm_address":"v2@example.org","recovery_address":"V2@Example.org"}),
    )
    .await;
    assert_eq!(assert_flow(&r)["state"], "recovery_awaiting_code");
    assert_eq!(courier(&s, "?recipient=v2@example.org").await.len(), 2);
    s.shutdown().await;
}
