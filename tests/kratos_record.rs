//! Records real Kratos's recovery exchanges into `tests/fixtures/kratos-recorded/*.har`.
//!
//! `RECOVERY_HARNESS_RECORD=1 cargo test --test kratos_record` (with `RECOVERY_HARNESS_KRATOS_BIN`
//! set) rewrites the files: run it when the Kratos in `/work/shared/kratos` changes, and review
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
    async fn create_api(&mut self, label: &str) -> Resp {
        self.get(label, "/self-service/recovery/api", &[("Accept", JSON)])
            .await
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
    /// The code sent to `email`, registered as a secret.
    async fn code(&mut self, email: &str) -> String {
        let code = code_for(&self.t, email).await;
        self.rec.secret(&code, "[REDACTED:code]");
        code
    }
}

async fn script_default(s: &mut Script) {
    let token = s.t.token.clone();
    let cookie = s.t.cookie.clone();

    // Creation of a native flow.
    let api = s.create_api("create native").await;
    let api_id = flow_id(&api);
    s.get(
        "create native, no Accept",
        "/self-service/recovery/api",
        &[],
    )
    .await;
    s.get(
        "create native, allowed return_to",
        "/self-service/recovery/api?return_to=https%3A%2F%2Fapp.example.com%2Fafter",
        &[("Accept", JSON)],
    )
    .await;
    s.get(
        "create native, forbidden return_to",
        "/self-service/recovery/api?return_to=https%3A%2F%2Fevil.example%2Fsteal",
        &[("Accept", JSON)],
    )
    .await;
    s.get(
        "create native, signed in by X-Session-Token",
        "/self-service/recovery/api",
        &[("Accept", JSON), ("X-Session-Token", &token)],
    )
    .await;
    s.get(
        "create native, signed in by Authorization Bearer",
        "/self-service/recovery/api",
        &[
            ("Accept", JSON),
            ("Authorization", &format!("Bearer {token}")),
        ],
    )
    .await;
    s.get(
        "create native, signed in by cookie",
        "/self-service/recovery/api",
        &[("Accept", JSON), ("Cookie", &cookie)],
    )
    .await;
    s.get(
        "create native, unknown session token",
        "/self-service/recovery/api",
        &[
            ("Accept", JSON),
            ("X-Session-Token", "ory_st_unknownunknownunknown1234"),
        ],
    )
    .await;

    // getRecoveryFlow.
    let q = format!("/self-service/recovery/flows?id={api_id}");
    s.get("get flow (api)", &q, &[("Accept", JSON)]).await;
    s.get(
        "get flow, unknown id",
        "/self-service/recovery/flows?id=3f0e3fd5-8e3a-4c39-9a36-1f0b0e5d2c11",
        &[("Accept", JSON)],
    )
    .await;
    s.get(
        "get flow, malformed id",
        "/self-service/recovery/flows?id=not-a-uuid",
        &[("Accept", JSON)],
    )
    .await;
    s.get(
        "get flow, no id",
        "/self-service/recovery/flows",
        &[("Accept", JSON)],
    )
    .await;

    // Browser creation and its CSRF cookie.
    let browser = s
        .get(
            "create browser (JSON)",
            "/self-service/recovery/browser",
            &[("Accept", JSON)],
        )
        .await;
    let browser_id = flow_id(&browser);
    let browser_cookie = csrf_cookie(&browser);
    s.get(
        "create browser (HTML)",
        "/self-service/recovery/browser",
        &[("Accept", "text/html")],
    )
    .await;
    s.get(
        "create browser, signed in (JSON)",
        "/self-service/recovery/browser",
        &[("Accept", JSON), ("Cookie", &cookie)],
    )
    .await;
    s.get(
        "create browser, signed in (HTML)",
        "/self-service/recovery/browser",
        &[("Accept", "text/html"), ("Cookie", &cookie)],
    )
    .await;
    let bq = format!("/self-service/recovery/flows?id={browser_id}");
    let fetched = s
        .get(
            "get flow (browser) with its CSRF cookie",
            &bq,
            &[("Accept", JSON), ("Cookie", &browser_cookie)],
        )
        .await;
    s.get(
        "get flow (browser) without a cookie",
        &bq,
        &[("Accept", JSON)],
    )
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
        .get(
            "create browser (JSON) for the CSRF mismatch",
            "/self-service/recovery/browser",
            &[("Accept", JSON), ("Cookie", &browser_cookie)],
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
    s.submit(
        "update, missing email",
        &api_id,
        json!({"method": "code"}),
        &[],
    )
    .await;
    s.submit(
        "update, invalid email",
        &api_id,
        json!({"method": "code", "email": "not-an-address"}),
        &[],
    )
    .await;
    s.submit(
        "update, unknown method",
        &api_id,
        json!({"method": "carrier-pigeon", "email": KNOWN_EMAIL}),
        &[],
    )
    .await;
    let undecodable = Req::post(&s.url(&format!("/self-service/recovery?flow={api_id}")))
        .header("Accept", JSON)
        .header("Content-Type", JSON)
        .body_text("{\"method\": \"code\", ");
    s.rec
        .send("update, undecodable JSON body", undecodable)
        .await;

    let unknown = flow_id(&s.create_api("create native for an unknown address").await);
    s.submit(
        "update, unknown address",
        &unknown,
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[],
    )
    .await;
    let form = flow_id(&s.create_api("create native for a form submit").await);
    let req = Req::post(&s.url(&format!("/self-service/recovery?flow={form}")))
        .header("Accept", JSON)
        .form(&[("method", "code"), ("email", UNKNOWN_EMAIL)]);
    s.rec.send("update, form-encoded email", req).await;

    let known = flow_id(&s.create_api("create native for the known address").await);
    s.submit(
        "update, known address",
        &known,
        json!({"method": "code", "email": KNOWN_EMAIL}),
        &[],
    )
    .await;
    let courier = Req::get(&format!(
        "{}/admin/courier/messages?recipient={KNOWN_EMAIL}",
        s.t.admin
    ));
    let code = s.code(KNOWN_EMAIL).await;
    s.rec
        .send("admin: courier messages of the known address", courier)
        .await;
    s.submit(
        "update, wrong code",
        &known,
        json!({"method": "code", "code": "00000000"}),
        &[],
    )
    .await;
    s.get(
        "get flow after a wrong code",
        &format!("/self-service/recovery/flows?id={known}"),
        &[("Accept", JSON)],
    )
    .await;
    s.submit(
        "update, right code",
        &known,
        json!({"method": "code", "code": code}),
        &[],
    )
    .await;
    s.submit(
        "update, the used code again",
        &known,
        json!({"method": "code", "code": code}),
        &[],
    )
    .await;

    // Brute force: five wrong codes are judged, the sixth submission gets a new flow.
    let guessed = flow_id(&s.create_api("create native for guessing").await);
    s.submit(
        "update, known address for guessing",
        &guessed,
        json!({"method": "code", "email": KNOWN_EMAIL}),
        &[],
    )
    .await;
    s.code(KNOWN_EMAIL).await;
    for i in 1..=6 {
        s.submit(
            &format!("update, wrong code #{i}"),
            &guessed,
            json!({"method": "code", "code": format!("1234567{i}")}),
            &[],
        )
        .await;
    }

    // Browser context on a native flow.
    let ctx = flow_id(&s.create_api("create native for a cookie submit").await);
    s.submit(
        "update native flow with a Cookie",
        &ctx,
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[("Cookie", "some_cookie=some-value")],
    )
    .await;
    let origin = flow_id(&s.create_api("create native for an Origin submit").await);
    s.submit(
        "update native flow with an Origin",
        &origin,
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[("Origin", "https://app.example.com")],
    )
    .await;

    // The flow parameter.
    s.submit(
        "update, unknown flow",
        "3f0e3fd5-8e3a-4c39-9a36-1f0b0e5d2c11",
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[],
    )
    .await;
    s.submit(
        "update, malformed flow",
        "not-a-uuid",
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[],
    )
    .await;
    let req = Req::post(&s.url("/self-service/recovery"))
        .header("Accept", JSON)
        .json(&json!({"method": "code", "email": UNKNOWN_EMAIL}));
    s.rec.send("update, no flow parameter", req).await;

    // Undeclared methods and paths.
    for (label, method, path) in [
        (
            "DELETE create native",
            "DELETE",
            "/self-service/recovery/api",
        ),
        ("POST create native", "POST", "/self-service/recovery/api"),
        ("PUT update", "PUT", "/self-service/recovery"),
        ("POST get flow", "POST", "/self-service/recovery/flows"),
        (
            "DELETE create browser",
            "DELETE",
            "/self-service/recovery/browser",
        ),
        ("GET unknown path", "GET", "/self-service/recovery/unknown"),
        ("GET unknown root path", "GET", "/no-such-path"),
    ] {
        let req = Req::new(method, &s.url(path)).header("Accept", JSON);
        s.rec.send(label, req).await;
    }
}

async fn script_disabled(s: &mut Script) {
    s.create_api("create native").await;
    s.get(
        "create native, no Accept",
        "/self-service/recovery/api",
        &[],
    )
    .await;
    s.get(
        "create browser (JSON)",
        "/self-service/recovery/browser",
        &[("Accept", JSON)],
    )
    .await;
    s.get(
        "create browser (HTML)",
        "/self-service/recovery/browser",
        &[("Accept", "text/html")],
    )
    .await;
    s.get(
        "get flow, unknown id",
        "/self-service/recovery/flows?id=3f0e3fd5-8e3a-4c39-9a36-1f0b0e5d2c11",
        &[("Accept", JSON)],
    )
    .await;
    s.submit(
        "update, unknown flow",
        "3f0e3fd5-8e3a-4c39-9a36-1f0b0e5d2c11",
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[],
    )
    .await;
}

async fn script_v2(s: &mut Script) {
    let f = flow_id(&s.create_api("create native").await);
    s.get(
        "get flow (api)",
        &format!("/self-service/recovery/flows?id={f}"),
        &[("Accept", JSON)],
    )
    .await;
    s.submit(
        "update, missing address",
        &f,
        json!({"method": "code"}),
        &[],
    )
    .await;
    s.submit(
        "update, the `email` field of v1",
        &f,
        json!({"method": "code", "email": KNOWN_EMAIL}),
        &[],
    )
    .await;
    let unknown = flow_id(&s.create_api("create native for an unknown address").await);
    s.submit(
        "update, unknown address",
        &unknown,
        json!({"method": "code", "recovery_address": UNKNOWN_EMAIL}),
        &[],
    )
    .await;
    let known = flow_id(&s.create_api("create native for the known address").await);
    s.submit(
        "update, known address",
        &known,
        json!({"method": "code", "recovery_address": KNOWN_EMAIL}),
        &[],
    )
    .await;
    let code = s.code(KNOWN_EMAIL).await;
    s.submit(
        "update, wrong code",
        &known,
        json!({"method": "code", "code": "00000000"}),
        &[],
    )
    .await;
    s.submit(
        "update, right code",
        &known,
        json!({"method": "code", "code": code}),
        &[],
    )
    .await;
    let b = s
        .get(
            "create browser (JSON)",
            "/self-service/recovery/browser",
            &[("Accept", JSON)],
        )
        .await;
    flow_id(&b);
}

async fn script_continue_with(s: &mut Script) {
    let known = flow_id(&s.create_api("create native for the known address").await);
    s.submit(
        "update, known address",
        &known,
        json!({"method": "code", "email": KNOWN_EMAIL}),
        &[],
    )
    .await;
    let code = s.code(KNOWN_EMAIL).await;
    let done = s
        .submit(
            "update, right code",
            &known,
            json!({"method": "code", "code": code}),
            &[],
        )
        .await;
    // The new session token is a secret too.
    let issued = done.json()["continue_with"]
        .as_array()
        .and_then(|c| c.iter().find_map(|c| c["ory_session_token"].as_str()))
        .map(str::to_owned);
    if let Some(t) = issued {
        s.rec.secret(&t, "[REDACTED:session_token]");
    }
    s.submit(
        "update, the used code again",
        &known,
        json!({"method": "code", "code": code}),
        &[],
    )
    .await;
    let ctx = flow_id(&s.create_api("create native for a cookie submit").await);
    s.submit(
        "update native flow with a Cookie",
        &ctx,
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[("Cookie", "some_cookie=some-value")],
    )
    .await;
}

async fn script_expiry(s: &mut Script) {
    let api = flow_id(&s.create_api("create native").await);
    let browser = s
        .get(
            "create browser (JSON)",
            "/self-service/recovery/browser",
            &[("Accept", JSON)],
        )
        .await;
    let browser_id = flow_id(&browser);
    let cookie = csrf_cookie(&browser);
    let csrf = csrf_of(&browser);
    tokio::time::sleep(SHORT_LIFESPAN + Duration::from_millis(700)).await;
    s.get(
        "get flow (api) after expiry",
        &format!("/self-service/recovery/flows?id={api}"),
        &[("Accept", JSON)],
    )
    .await;
    s.get(
        "get flow (browser) after expiry",
        &format!("/self-service/recovery/flows?id={browser_id}"),
        &[("Accept", JSON), ("Cookie", &cookie)],
    )
    .await;
    s.submit(
        "update (api) after expiry",
        &api,
        json!({"method": "code", "email": UNKNOWN_EMAIL}),
        &[],
    )
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
    let Some(doc) = record(which) else {
        return;
    };
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

#[test]
fn default() {
    record_or_compare(Recording::Default);
}

#[test]
fn recovery_disabled() {
    record_or_compare(Recording::Disabled);
}

#[test]
fn recovery_v2() {
    record_or_compare(Recording::V2);
}

#[test]
fn continue_with_transitions() {
    record_or_compare(Recording::ContinueWith);
}

#[test]
fn expiry() {
    record_or_compare(Recording::Expiry);
}
