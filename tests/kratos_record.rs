//! Records real Kratos's recovery exchanges into `tests/fixtures/kratos-recorded/*.har`.
//!
//! `RECOVERY_HARNESS_RECORD=1 cargo test --test kratos_record` (with `RECOVERY_HARNESS_KRATOS_BIN`
//! set) rewrites the files: run it when the Kratos binary (`../shared/kratos/` in CI) changes, and review
//! the diff. Without `RECOVERY_HARNESS_RECORD` the same scripts run against Kratos and their
//! answers are compared, shape for shape (`support::shape`), with the committed files: a Kratos
//! that no longer answers as recorded fails here, before the differential test
//! (`tests/kratos_differential.rs`) compares the reference server with a stale recording.
//!
//! Each script is a sequence of labelled exchanges (the HAR entries' `comment`): flow creation
//! (native, browser, signed in, `return_to`), `getRecoveryFlow` (CSRF, unknown and malformed ids),
//! the update state machine (e-mail, wrong, right and used code, the sixth attempt, validation
//! errors, unknown method, browser context on an API flow, CSRF mismatch), unknown paths and wrong
//! methods, and per configuration: recovery disabled, recovery v2, `continue_with` transitions and
//! expiry.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::har::{self, Recorder, Req, Resp};
use support::recorded::{Recording, KNOWN_EMAIL, SHORT_LIFESPAN, UNKNOWN_EMAIL};
use support::runner::{test, Needs};

fn main() -> std::process::ExitCode {
    support::runner::run(vec![
        test("default", &[Needs::Kratos], default),
        test("recovery_disabled", &[Needs::Kratos], recovery_disabled),
        test("recovery_v2", &[Needs::Kratos], recovery_v2),
        test(
            "continue_with_transitions",
            &[Needs::Kratos],
            continue_with_transitions,
        ),
        test("expiry", &[Needs::Kratos], expiry),
    ])
}

/// What a script needs of its Kratos (owned: the script runs on another thread).
#[derive(Debug, Clone)]
struct Target {
    public: String,
    admin: String,
    token: String,
    cookie: String,
}

fn client() -> reqwest::Client {
    recovery_harness::tls::install_default_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

const JSON: &str = "application/json";

fn flow_id(r: &Resp) -> String {
    r.json()["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no flow id in {} {}", r.status, r.body))
        .to_owned()
}

fn csrf_of(r: &Resp) -> String {
    r.json()["ui"]["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["attributes"]["name"] == "csrf_token"))
        .and_then(|n| n["attributes"]["value"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// `name=value` of the CSRF cookie a response set.
fn csrf_cookie(r: &Resp) -> String {
    r.cookies()
        .into_iter()
        .find(|(n, _)| n.starts_with("csrf_token_"))
        .map(|(n, v)| format!("{n}={v}"))
        .unwrap_or_else(|| panic!("no CSRF cookie in {:?}", r.headers))
}

/// The newest 6-digit code sent to `email`, read from Kratos's courier (`--dev`).
async fn code_for(t: &Target, email: &str) -> String {
    let url = format!("{}/admin/courier/messages?recipient={email}", t.admin);
    let r = har::send(&client(), &Req::get(&url))
        .await
        .expect("courier");
    let list = r.json();
    let body = list[0]["body"].as_str().unwrap_or("");
    body.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in the newest message to {email}: {}", r.body))
        .to_owned()
}

struct Script {
    rec: Recorder,
    t: Target,
}

const NATIVE: &str = "/self-service/recovery/api";
const BROWSER: &str = "/self-service/recovery/browser";
const UNKNOWN_FLOW: &str = "3f0e3fd5-8e3a-4c39-9a36-1f0b0e5d2c11";
const ACCEPT_JSON: &[(&str, &str)] = &[("Accept", JSON)];

/// One scripted GET: label, path, headers.
type Get<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

fn flow_path(id: &str) -> String {
    format!("/self-service/recovery/flows?id={id}")
}

impl Script {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.t.public)
    }
    async fn get(&mut self, label: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = Req::get(&self.url(path));
        for (n, v) in headers {
            req = req.header(n, v);
        }
        self.rec.send(label, req).await
    }
    /// Each GET of `table`, in order.
    async fn gets(&mut self, table: &[Get<'_>]) {
        for (label, path, headers) in table {
            self.get(label, path, headers).await;
        }
    }
    async fn create_api(&mut self, label: &str) -> Resp {
        self.get(label, NATIVE, ACCEPT_JSON).await
    }
    /// A new native flow's id.
    async fn native(&mut self, label: &str) -> String {
        flow_id(&self.create_api(label).await)
    }
    async fn create_browser(&mut self, label: &str, extra: &[(&str, &str)]) -> Resp {
        let headers: Vec<_> = ACCEPT_JSON.iter().chain(extra).copied().collect();
        self.get(label, BROWSER, &headers).await
    }
    async fn get_flow(&mut self, label: &str, id: &str, extra: &[(&str, &str)]) -> Resp {
        let headers: Vec<_> = ACCEPT_JSON.iter().chain(extra).copied().collect();
        self.get(label, &flow_path(id), &headers).await
    }
    async fn submit(
        &mut self,
        label: &str,
        flow: &str,
        body: Value,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut req = Req::post(&self.url(&format!("/self-service/recovery?flow={flow}")))
            .header("Accept", JSON)
            .json(&body);
        for (n, v) in extra {
            req = req.header(n, v);
        }
        self.rec.send(label, req).await
    }
    /// A JSON submit without extra headers.
    async fn update(&mut self, label: &str, flow: &str, body: Value) -> Resp {
        self.submit(label, flow, body, &[]).await
    }
    /// Each `(label, flow, body)` of `table`, in order, as [`Script::update`].
    async fn updates(&mut self, table: &[(&str, &str, Value)]) {
        for (label, flow, body) in table {
            self.update(label, flow, body.clone()).await;
        }
    }
    /// A new native flow for `label`, then `email` submitted to it under `submit`.
    async fn native_with_email(&mut self, label: &str, submit: &str, body: Value) -> String {
        let id = self.native(label).await;
        self.update(submit, &id, body).await;
        id
    }
    /// The code sent to `email`, registered as a secret.
    async fn code(&mut self, email: &str) -> String {
        let code = code_for(&self.t, email).await;
        self.rec.secret(&code, "[REDACTED:code]");
        code
    }
}

fn email(address: &str) -> Value {
    json!({"method": "code", "email": address})
}

fn code(code: &str) -> Value {
    json!({"method": "code", "code": code})
}

async fn script_default(s: &mut Script) {
    let token = s.t.token.clone();
    let cookie = s.t.cookie.clone();
    let bearer = format!("Bearer {token}");

    // Creation of a native flow.
    let api_id = s.native("create native").await;
    s.gets(&[
        ("create native, no Accept", NATIVE, &[]),
        (
            "create native, allowed return_to",
            "/self-service/recovery/api?return_to=https%3A%2F%2Fapp.example.com%2Fafter",
            ACCEPT_JSON,
        ),
        (
            "create native, forbidden return_to",
            "/self-service/recovery/api?return_to=https%3A%2F%2Fevil.example%2Fsteal",
            ACCEPT_JSON,
        ),
        (
            "create native, signed in by X-Session-Token",
            NATIVE,
            &[("Accept", JSON), ("X-Session-Token", &token)],
        ),
        (
            "create native, signed in by Authorization Bearer",
            NATIVE,
            &[("Accept", JSON), ("Authorization", &bearer)],
        ),
        (
            "create native, signed in by cookie",
            NATIVE,
            &[("Accept", JSON), ("Cookie", &cookie)],
        ),
        (
            "create native, unknown session token",
            NATIVE,
            &[
                ("Accept", JSON),
                ("X-Session-Token", "ory_st_unknownunknownunknown1234"),
            ],
        ),
    ])
    .await;

    // getRecoveryFlow.
    let (q, unknown_q) = (flow_path(&api_id), flow_path(UNKNOWN_FLOW));
    s.gets(&[
        ("get flow (api)", &q, ACCEPT_JSON),
        ("get flow, unknown id", &unknown_q, ACCEPT_JSON),
        (
            "get flow, malformed id",
            "/self-service/recovery/flows?id=not-a-uuid",
            ACCEPT_JSON,
        ),
        (
            "get flow, no id",
            "/self-service/recovery/flows",
            ACCEPT_JSON,
        ),
    ])
    .await;

    // Browser creation and its CSRF cookie.
    let browser = s.create_browser("create browser (JSON)", &[]).await;
    let browser_id = flow_id(&browser);
    let browser_cookie = csrf_cookie(&browser);
    s.gets(&[
        ("create browser (HTML)", BROWSER, &[("Accept", "text/html")]),
        (
            "create browser, signed in (JSON)",
            BROWSER,
            &[("Accept", JSON), ("Cookie", &cookie)],
        ),
        (
            "create browser, signed in (HTML)",
            BROWSER,
            &[("Accept", "text/html"), ("Cookie", &cookie)],
        ),
    ])
    .await;
    let fetched = s
        .get_flow(
            "get flow (browser) with its CSRF cookie",
            &browser_id,
            &[("Cookie", &browser_cookie)],
        )
        .await;
    s.get_flow("get flow (browser) without a cookie", &browser_id, &[])
        .await;

    // Browser submits: the CSRF token must match the cookie.
    let csrf = csrf_of(&fetched);
    s.submit(
        "browser submit, email, matching csrf_token",
        &browser_id,
        json!({"method": "code", "email": UNKNOWN_EMAIL, "csrf_token": csrf}),
        &[("Cookie", &browser_cookie)],
    )
    .await;
    let browser2 = s
        .create_browser(
            "create browser (JSON) for the CSRF mismatch",
            &[("Cookie", &browser_cookie)],
        )
        .await;
    let browser2_id = flow_id(&browser2);
    s.submit(
        "browser submit, mismatched csrf_token",
        &browser2_id,
        json!({"method": "code", "email": UNKNOWN_EMAIL, "csrf_token": "bm90LXRoZS10b2tlbg=="}),
        &[("Cookie", &browser_cookie)],
    )
    .await;

    // The update state machine on native flows.
    s.updates(&[
        ("update, missing email", &api_id, json!({"method": "code"})),
        ("update, invalid email", &api_id, email("not-an-address")),
        (
            "update, unknown method",
            &api_id,
            json!({"method": "carrier-pigeon", "email": KNOWN_EMAIL}),
        ),
    ])
    .await;
    let undecodable = Req::post(&s.url(&format!("/self-service/recovery?flow={api_id}")))
        .header("Accept", JSON)
        .header("Content-Type", JSON)
        .body_text("{\"method\": \"code\", ");
    s.rec
        .send("update, undecodable JSON body", undecodable)
        .await;

    s.native_with_email(
        "create native for an unknown address",
        "update, unknown address",
        email(UNKNOWN_EMAIL),
    )
    .await;
    let form = s.native("create native for a form submit").await;
    let req = Req::post(&s.url(&format!("/self-service/recovery?flow={form}")))
        .header("Accept", JSON)
        .form(&[("method", "code"), ("email", UNKNOWN_EMAIL)]);
    s.rec.send("update, form-encoded email", req).await;

    let known = s
        .native_with_email(
            "create native for the known address",
            "update, known address",
            email(KNOWN_EMAIL),
        )
        .await;
    let courier = Req::get(&format!(
        "{}/admin/courier/messages?recipient={KNOWN_EMAIL}",
        s.t.admin
    ));
    let right = s.code(KNOWN_EMAIL).await;
    s.rec
        .send("admin: courier messages of the known address", courier)
        .await;
    s.update("update, wrong code", &known, code("00000000"))
        .await;
    s.get_flow("get flow after a wrong code", &known, &[]).await;
    s.updates(&[
        ("update, right code", &known, code(&right)),
        ("update, the used code again", &known, code(&right)),
    ])
    .await;

    // Brute force: five wrong codes are judged, the sixth submission gets a new flow.
    let guessed = s
        .native_with_email(
            "create native for guessing",
            "update, known address for guessing",
            email(KNOWN_EMAIL),
        )
        .await;
    s.code(KNOWN_EMAIL).await;
    for i in 1..=6 {
        s.update(
            &format!("update, wrong code #{i}"),
            &guessed,
            code(&format!("1234567{i}")),
        )
        .await;
    }

    // Browser context on a native flow.
    for (create, label, header) in [
        (
            "create native for a cookie submit",
            "update native flow with a Cookie",
            ("Cookie", "some_cookie=some-value"),
        ),
        (
            "create native for an Origin submit",
            "update native flow with an Origin",
            ("Origin", "https://app.example.com"),
        ),
    ] {
        let id = s.native(create).await;
        s.submit(label, &id, email(UNKNOWN_EMAIL), &[header]).await;
    }

    // The flow parameter.
    s.updates(&[
        ("update, unknown flow", UNKNOWN_FLOW, email(UNKNOWN_EMAIL)),
        ("update, malformed flow", "not-a-uuid", email(UNKNOWN_EMAIL)),
    ])
    .await;
    let req = Req::post(&s.url("/self-service/recovery"))
        .header("Accept", JSON)
        .json(&email(UNKNOWN_EMAIL));
    s.rec.send("update, no flow parameter", req).await;

    // Undeclared methods and paths.
    for (label, method, path) in [
        ("DELETE create native", "DELETE", NATIVE),
        ("POST create native", "POST", NATIVE),
        ("PUT update", "PUT", "/self-service/recovery"),
        ("POST get flow", "POST", "/self-service/recovery/flows"),
        ("DELETE create browser", "DELETE", BROWSER),
        ("GET unknown path", "GET", "/self-service/recovery/unknown"),
        ("GET unknown root path", "GET", "/no-such-path"),
    ] {
        let req = Req::new(method, &s.url(path)).header("Accept", JSON);
        s.rec.send(label, req).await;
    }
}

async fn script_disabled(s: &mut Script) {
    let unknown_q = flow_path(UNKNOWN_FLOW);
    s.create_api("create native").await;
    s.gets(&[
        ("create native, no Accept", NATIVE, &[]),
        ("create browser (JSON)", BROWSER, ACCEPT_JSON),
        ("create browser (HTML)", BROWSER, &[("Accept", "text/html")]),
        ("get flow, unknown id", &unknown_q, ACCEPT_JSON),
    ])
    .await;
    s.update("update, unknown flow", UNKNOWN_FLOW, email(UNKNOWN_EMAIL))
        .await;
}

async fn script_v2(s: &mut Script) {
    let address = |a: &str| json!({"method": "code", "recovery_address": a});
    let f = s.native("create native").await;
    s.get_flow("get flow (api)", &f, &[]).await;
    s.updates(&[
        ("update, missing address", &f, json!({"method": "code"})),
        ("update, the `email` field of v1", &f, email(KNOWN_EMAIL)),
    ])
    .await;
    s.native_with_email(
        "create native for an unknown address",
        "update, unknown address",
        address(UNKNOWN_EMAIL),
    )
    .await;
    let known = s
        .native_with_email(
            "create native for the known address",
            "update, known address",
            address(KNOWN_EMAIL),
        )
        .await;
    let right = s.code(KNOWN_EMAIL).await;
    s.updates(&[
        ("update, wrong code", &known, code("00000000")),
        ("update, right code", &known, code(&right)),
    ])
    .await;
    let b = s.create_browser("create browser (JSON)", &[]).await;
    flow_id(&b);
}

async fn script_continue_with(s: &mut Script) {
    let known = s
        .native_with_email(
            "create native for the known address",
            "update, known address",
            email(KNOWN_EMAIL),
        )
        .await;
    let right = s.code(KNOWN_EMAIL).await;
    let done = s.update("update, right code", &known, code(&right)).await;
    // The new session token is a secret too.
    let issued = done.json()["continue_with"]
        .as_array()
        .and_then(|c| c.iter().find_map(|c| c["ory_session_token"].as_str()))
        .map(str::to_owned);
    if let Some(t) = issued {
        s.rec.secret(&t, "[REDACTED:session_token]");
    }
    s.update("update, the used code again", &known, code(&right))
        .await;
    let ctx = s.native("create native for a cookie submit").await;
    s.submit(
        "update native flow with a Cookie",
        &ctx,
        email(UNKNOWN_EMAIL),
        &[("Cookie", "some_cookie=some-value")],
    )
    .await;
}

async fn script_expiry(s: &mut Script) {
    let api = s.native("create native").await;
    let browser = s.create_browser("create browser (JSON)", &[]).await;
    let browser_id = flow_id(&browser);
    let cookie = csrf_cookie(&browser);
    let csrf = csrf_of(&browser);
    // Not recorded: the browser flow (created last) is read until Kratos says it expired.
    let probe = Req::get(&s.url(&flow_path(&browser_id)))
        .header("Accept", JSON)
        .header("Cookie", &cookie);
    let deadline = std::time::Instant::now() + SHORT_LIFESPAN + Duration::from_secs(10);
    while har::send(&client(), &probe)
        .await
        .expect("Kratos answers")
        .status
        != 410
    {
        assert!(
            std::time::Instant::now() < deadline,
            "a {SHORT_LIFESPAN:?} flow did not expire"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.get_flow("get flow (api) after expiry", &api, &[]).await;
    s.get_flow(
        "get flow (browser) after expiry",
        &browser_id,
        &[("Cookie", &cookie)],
    )
    .await;
    s.update("update (api) after expiry", &api, email(UNKNOWN_EMAIL))
        .await;
    s.submit(
        "update (browser) after expiry",
        &browser_id,
        json!({"method": "code", "email": UNKNOWN_EMAIL, "csrf_token": csrf}),
        &[("Cookie", &cookie)],
    )
    .await;
}

/// Records `which` against a fresh Kratos; `None` when Kratos is not available.
fn record(which: Recording) -> Option<Value> {
    let kratos = which.kratos_options().start()?;
    kratos.register_native(KNOWN_EMAIL);
    // Registration hashes a password (slow on shared cores): only the default script signs in.
    let (token, cookie) = if which == Recording::Default {
        (
            kratos.register_native("signed-in@example.org"),
            kratos.register_browser("browser@example.org"),
        )
    } else {
        (String::new(), String::new())
    };
    let t = Target {
        public: kratos.public_url().to_owned(),
        admin: kratos.admin_url().to_owned(),
        token,
        cookie,
    };
    let doc = support::block_on(async move {
        let mut s = Script {
            rec: Recorder::new(client()),
            t: t.clone(),
        };
        s.rec.secret(&t.token, "[REDACTED:session_token]");
        if let Some((_, v)) = t.cookie.split_once('=') {
            s.rec.secret(v, "[REDACTED:session_cookie]");
        }
        match which {
            Recording::Default => script_default(&mut s).await,
            Recording::Disabled => script_disabled(&mut s).await,
            Recording::V2 => script_v2(&mut s).await,
            Recording::ContinueWith => script_continue_with(&mut s).await,
            Recording::Expiry => script_expiry(&mut s).await,
        }
        s.rec.har(&which.description())
    });
    Some(doc)
}

fn record_or_compare(which: Recording) {
    let doc = record(which).expect("the runner ignores this test without it");
    let path = which.path();
    if support::required("RECOVERY_HARNESS_RECORD") {
        har::write(&doc, &path).expect("write the recording");
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "recorded {} exchanges into {}",
            doc["log"]["entries"].as_array().map_or(0, Vec::len),
            path.display()
        );
        return;
    }
    let fresh_path = tempfile::NamedTempFile::new().expect("temp file");
    har::write(&doc, fresh_path.path()).expect("write");
    let (_, fresh) = har::read(fresh_path.path()).expect("read back");
    let (_, committed) = har::read(&path).unwrap_or_else(|e| {
        panic!("{e}: record it with RECOVERY_HARNESS_RECORD=1 cargo test --test kratos_record")
    });
    let mut problems = Vec::new();
    let labels = |v: &[har::Entry]| v.iter().map(|e| e.label.clone()).collect::<Vec<_>>();
    if labels(&fresh) != labels(&committed) {
        problems.push(format!(
            "the script's exchanges changed: {:?} vs committed {:?}",
            labels(&fresh),
            labels(&committed)
        ));
    }
    for (f, c) in fresh.iter().zip(&committed) {
        for (_, line) in support::shape::diff(&c.resp, &f.resp) {
            problems.push(format!("{}: {}", f.label, line.replace("reference", "now")));
        }
    }
    assert!(
        problems.is_empty(),
        "real Kratos no longer answers as {} records (re-record with RECOVERY_HARNESS_RECORD=1 \
         cargo test --test kratos_record and review the diff):\n  {}",
        path.display(),
        problems.join("\n  ")
    );
}

fn default() {
    record_or_compare(Recording::Default);
}

fn recovery_disabled() {
    record_or_compare(Recording::Disabled);
}

fn recovery_v2() {
    record_or_compare(Recording::V2);
}

fn continue_with_transitions() {
    record_or_compare(Recording::ContinueWith);
}

fn expiry() {
    record_or_compare(Recording::Expiry);
}
