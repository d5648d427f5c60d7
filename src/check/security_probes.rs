//! The multi-step probes of the security checks (`csrf`, `native_context`, `brute_force`,
//! `recover`, `enumeration`, `expiry`, `pinned`): each scenario creates its own flows, runs
//! once per run (memoized in [`Ctx::shared`]) and hands its exchanges to every check that judges
//! it. Scenarios that submit e-mails run one at a time: real Kratos on SQLite refuses concurrent
//! recovery writes (`database is locked`), and a code read from a mail catcher must be the one
//! this scenario caused.
//!
//! A scenario that cannot get as far as its checks need (no flow created, no code source, no
//! `--known-email`) returns `Err(reason)`, which the checks report as a skip with that reason;
//! what the deployment answered on the way is the evidence.

use super::client::{Exchange, Request};
use super::probes::{flow_id, flow_method, paths, Ctx, Variant, UNKNOWN_FLOW_ID, WRONG_CODE};
use crate::codes::Mark;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

/// A scenario's outcome: its exchanges, or why it could not be carried out.
pub type Outcome<T> = Arc<Result<T, String>>;

type Memo<T> = OnceCell<Outcome<T>>;

/// Statuses of a submit that Kratos answers by moving the client to another flow.
const REDIRECT: &[u16] = &[303];

/// The lock the e-mail-submitting scenarios take in turn.
pub(super) fn writes(ctx: &Ctx) -> Arc<Mutex<()>> {
    ctx.shared::<Mutex<()>>("security.writes")
}

pub(super) async fn memo<T, F>(ctx: &Ctx, key: &'static str, run: F) -> Outcome<T>
where
    T: Send + Sync + 'static,
    F: std::future::Future<Output = Result<T, String>>,
{
    let cell = ctx.shared::<Memo<T>>(key);
    cell.get_or_init(|| async { Arc::new(run.await) })
        .await
        .clone()
}

fn url_in(base: &Url, path: &str, query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{path}", url.path().trim_end_matches('/'));
    url.set_path(&joined);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

pub(super) fn base(ctx: &Ctx) -> Url {
    ctx.url("")
}

pub(super) async fn send(ctx: &Ctx, request: Request, expected: &'static [u16]) -> Arc<Exchange> {
    ctx.send_logged(request, expected).await
}

pub(super) async fn create_api(
    ctx: &Ctx,
    on: &Url,
    probe: &str,
) -> (Arc<Exchange>, Result<String, String>) {
    let ex = send(
        ctx,
        Request::get(probe, url_in(on, paths::CREATE_NATIVE, &[])),
        &[200],
    )
    .await;
    let id = flow_id(&ex);
    (ex, id)
}

/// `{"method": M, <address field>: A}`: the address goes where the flow's variant reads it
/// (`email` in v1, `recovery_address` in recovery v2), so a submit that is not refused would
/// really be processed.
fn address_body(created: &Exchange, method: &str, address: &str) -> Value {
    let mut body = json!({ "method": method });
    body[Variant::of(created).address_field()] = json!(address);
    body
}

fn with_field(mut body: Value, name: &str, value: &str) -> Value {
    body[name] = json!(value);
    body
}

pub(super) fn submit(on: &Url, probe: &str, flow: &str, body: &Value) -> Request {
    Request::post_json(probe, url_in(on, paths::UPDATE, &[("flow", flow)]), body)
}

fn get_flow(on: &Url, probe: &str, flow: &str) -> Request {
    Request::get(probe, url_in(on, paths::GET_FLOW, &[("id", flow)]))
}

/// The flow id a redirect's `Location` names (`…/self-service/recovery/flows?id=<id>` or a UI
/// URL with `?flow=<id>`).
pub fn redirect_flow(ex: &Exchange) -> Option<String> {
    let loc = ex.response()?.header("location")?;
    let url = Url::parse(loc)
        .or_else(|_| Url::parse("http://relative.invalid/").and_then(|b| b.join(loc)))
        .ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "id" || k == "flow")
        .map(|(_, v)| v.into_owned())
}

// ---------------------------------------------------------------------------------------------
// Browser CSRF.

/// A browser flow, read without and with its anti-CSRF cookie, then submitted with a wrong
/// `csrf_token`.
#[derive(Debug)]
pub struct BrowserCsrf {
    /// The creation (asking for JSON).
    pub create: Arc<Exchange>,
    /// The `csrf_token_*` cookie it set (`name=value`), if any.
    pub cookie: Option<String>,
    /// getRecoveryFlow without any cookie.
    pub get_without: Arc<Exchange>,
    /// getRecoveryFlow with the cookie.
    pub get_with: Arc<Exchange>,
    /// The submit with the cookie and a mismatched `csrf_token`.
    pub mismatch: Arc<Exchange>,
    /// getRecoveryFlow with the cookie after that submit.
    pub after: Arc<Exchange>,
}

/// The anti-CSRF cookie a response sets, as `name=value`.
pub fn csrf_cookie(ex: &Exchange) -> Option<String> {
    ex.response()?
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::trim)
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(n, v)| n.starts_with("csrf_token") && !v.is_empty())
        })
        .map(str::to_owned)
}

/// The browser CSRF scenario.
pub async fn browser_csrf(ctx: &Ctx) -> Outcome<BrowserCsrf> {
    memo(ctx, "security.browser_csrf", async {
        let on = base(ctx);
        let create = send(
            ctx,
            Request::get("csrf.create", url_in(&on, paths::CREATE_BROWSER, &[])),
            &[200],
        )
        .await;
        let id = flow_id(&create)?;
        let cookie = csrf_cookie(&create);
        let get_without = send(ctx, get_flow(&on, "csrf.get_without_cookie", &id), &[403]).await;
        let with_cookie = |r: Request| match &cookie {
            Some(c) => r.header("Cookie", c.clone()),
            None => r,
        };
        let get_with = send(
            ctx,
            with_cookie(get_flow(&on, "csrf.get_with_cookie", &id)),
            &[200],
        )
        .await;
        let method = flow_method(&create);
        let _turn = writes(ctx).lock_owned().await;
        let mismatch = send(
            ctx,
            with_cookie(submit(
                &on,
                "csrf.submit_mismatch",
                &id,
                &with_field(
                    address_body(&create, &method, &ctx.cfg.email),
                    "csrf_token",
                    "recovery-harness-mismatched-csrf-token",
                ),
            )),
            &[403, 303],
        )
        .await;
        let after = send(
            ctx,
            with_cookie(get_flow(&on, "csrf.after_mismatch", &id)),
            &[200],
        )
        .await;
        Ok(BrowserCsrf {
            create,
            cookie,
            get_without,
            get_with,
            mismatch,
            after,
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Native flows with browser context.

/// Browser context added to a native submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A `Cookie` header (not one of Cloudflare's exempt names).
    Cookie,
    /// An `Origin` header.
    Origin,
}

/// An API flow submitted with browser context, and the flow read back.
#[derive(Debug)]
pub struct NativeContext {
    /// The API flow's id.
    pub flow: String,
    /// The submit carrying the context.
    pub submit: Arc<Exchange>,
    /// getRecoveryFlow of the API flow afterwards.
    pub after: Arc<Exchange>,
}

/// The header a [`Context`] adds.
pub fn context_header(context: Context) -> (&'static str, &'static str) {
    match context {
        Context::Cookie => ("Cookie", "recovery_harness_browser=1"),
        Context::Origin => ("Origin", "https://recovery-harness.invalid"),
    }
}

/// The native-flow browser-context scenario.
pub async fn native_context(ctx: &Ctx, context: Context) -> Outcome<NativeContext> {
    let key = match context {
        Context::Cookie => "security.native_context.cookie",
        Context::Origin => "security.native_context.origin",
    };
    memo(ctx, key, async {
        let on = base(ctx);
        let tag = match context {
            Context::Cookie => "cookie",
            Context::Origin => "origin",
        };
        let (created, id) = create_api(ctx, &on, &format!("native_context.{tag}.flow")).await;
        let id = id?;
        let (name, value) = context_header(context);
        let _turn = writes(ctx).lock_owned().await;
        let submit = send(
            ctx,
            submit(
                &on,
                &format!("native_context.{tag}"),
                &id,
                &address_body(&created, &flow_method(&created), &ctx.cfg.email),
            )
            .header(name, value),
            REDIRECT,
        )
        .await;
        let after = send(
            ctx,
            get_flow(&on, &format!("native_context.{tag}.after"), &id),
            &[200],
        )
        .await;
        Ok(NativeContext {
            flow: id,
            submit,
            after,
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Brute force.

/// Wrong codes submitted to one flow until it stops taking them.
#[derive(Debug)]
pub struct BruteForce {
    /// The flow's id.
    pub flow: String,
    /// The e-mail submission.
    pub email: Arc<Exchange>,
    /// Every wrong-code submission, in order (at most the limit plus one).
    pub guesses: Vec<Arc<Exchange>>,
}

/// Whether a submit was judged on `flow` (a 200 answer that is that flow).
pub fn judged_on(ex: &Exchange, flow: &str) -> bool {
    ex.status() == Some(200)
        && ex.json().and_then(|b| b.get("id")).and_then(Value::as_str) == Some(flow)
}

/// The brute-force scenario: wrong codes until one is not judged on the flow, at most the limit
/// plus one.
pub async fn brute_force(ctx: &Ctx) -> Outcome<BruteForce> {
    memo(ctx, "security.brute_force", async {
        let on = base(ctx);
        let (created, id) = create_api(ctx, &on, "brute_force.flow").await;
        let id = id?;
        if flow_method(&created) != "code" {
            return Err(format!(
                "the active method is `{}`, which has no code to guess",
                flow_method(&created)
            ));
        }
        let _turn = writes(ctx).lock_owned().await;
        let email = send(
            ctx,
            submit(
                &on,
                "brute_force.email",
                &id,
                &address_body(&created, "code", &ctx.cfg.email),
            ),
            &[200],
        )
        .await;
        if email.status() != Some(200) {
            return Err(format!(
                "the e-mail submission that starts the guessing answered {}",
                email.describe()
            ));
        }
        let mut guesses = Vec::new();
        let max = ctx.cfg.max_submissions;
        for n in 0..=max {
            let ex = send(
                ctx,
                submit(
                    &on,
                    &format!("brute_force.guess.{}", n + 1),
                    &id,
                    &json!({"method": "code", "code": WRONG_CODE}),
                ),
                if n < max { &[200] } else { REDIRECT },
            )
            .await;
            let judged = judged_on(&ex, &id);
            guesses.push(ex);
            if !judged {
                break;
            }
        }
        Ok(BruteForce {
            flow: id,
            email,
            guesses,
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The code that really recovers.

/// Three flows of the known address with their codes, and the code submissions.
#[derive(Debug)]
pub struct Recovery {
    /// Flow A's id: its code is the right one, then the reused one.
    pub flow: String,
    /// Flow B's id: it gets flow C's code.
    pub other_flow: String,
    /// Flow C's id: its code goes to B, and C is left alone.
    pub code_flow: String,
    /// C's code submitted to B, before any code was used.
    pub other_flow_code: Arc<Exchange>,
    /// A's code submitted to A.
    pub right: Arc<Exchange>,
    /// A's code submitted to A again.
    pub reused: Arc<Exchange>,
    /// Where the codes were read.
    pub source: String,
}

/// Statuses of Kratos's success answer (422 browser_location_change_required, or 200 with
/// `continue_with` under `use_continue_with_transitions`).
const SUCCESS: &[u16] = &[422, 200];

/// Why the code checks cannot run, if they cannot.
pub fn code_prerequisites(ctx: &Ctx) -> Result<(&crate::codes::CodeSource, &str), String> {
    let source = ctx.cfg.code_source.as_ref().ok_or_else(|| {
        "needs a code source to read the sent code: pass --courier-url URL (Kratos's admin API, under `kratos serve --dev`) or --mailpit-url URL".to_owned()
    })?;
    let known = ctx.cfg.known_email.as_deref().ok_or_else(|| {
        "needs an address that receives a code: pass --known-email ADDR (an identity's recovery address)".to_owned()
    })?;
    Ok((source, known))
}

pub(super) async fn flow_with_code(
    ctx: &Ctx,
    on: &Url,
    prefix: &str,
    seen: &mut Mark,
) -> Result<(String, String), String> {
    let (source, known) = code_prerequisites(ctx)?;
    let (created, id) = create_api(ctx, on, &format!("{prefix}.flow")).await;
    let id = id?;
    if flow_method(&created) != "code" {
        return Err(format!(
            "the active method is `{}`; only `code` has a code to submit",
            flow_method(&created)
        ));
    }
    let mark = source.mark(known).await.map_err(|e| e.to_string())?;
    let email = send(
        ctx,
        submit(
            on,
            &format!("{prefix}.email"),
            &id,
            &address_body(&created, "code", known),
        ),
        &[200],
    )
    .await;
    if email.status() != Some(200) {
        return Err(format!(
            "submitting --known-email answered {}",
            email.describe()
        ));
    }
    let mut after = mark;
    for id in seen_ids(seen) {
        after.insert(id);
    }
    let wait = ctx.cfg.timeout.max(Duration::from_secs(5));
    let code = source
        .code_after(known, &after, wait)
        .await
        .map_err(|e| e.to_string())?;
    seen.insert(code.message_id.clone());
    // A sent code is a secret: the evidence, the details and the HAR show it redacted.
    ctx.client
        .redactor()
        .learn(crate::secret::Secret::from(code.code.as_str()));
    Ok((id, code.code))
}

fn seen_ids(mark: &Mark) -> Vec<String> {
    mark.ids().map(str::to_owned).collect()
}

/// The recovery scenario (needs a code source and a known address).
pub async fn recovery(ctx: &Ctx) -> Outcome<Recovery> {
    memo(ctx, "security.recovery", async {
        let (source, _) = code_prerequisites(ctx)?;
        let on = base(ctx);
        let _turn = writes(ctx).lock_owned().await;
        let mut seen = Mark::empty();
        // A foreign code first, and one that neither the right code nor its flow shares: a
        // deployment that takes any flow's code completes B here (and may use C's code up), so
        // `recover.other_flow_code.refused` names it, while A, created afterwards, still shows
        // that the right code works. Each flow is submitted to one code read after it was
        // created: flows of a short lifespan stay alive (a read from Mailpit takes 2.5 s).
        let (c, code_c) = flow_with_code(ctx, &on, "recover.c", &mut seen).await?;
        let (b, _) = flow_with_code(ctx, &on, "recover.b", &mut seen).await?;
        let other_flow_code = send(
            ctx,
            submit(
                &on,
                "recover.other_flow_code",
                &b,
                &json!({"method": "code", "code": code_c}),
            ),
            &[200],
        )
        .await;
        let (a, code_a) = flow_with_code(ctx, &on, "recover.a", &mut seen).await?;
        let body = json!({"method": "code", "code": code_a});
        let right = send(ctx, submit(&on, "recover.right_code", &a, &body), SUCCESS).await;
        let reused = send(
            ctx,
            submit(&on, "recover.reused_code", &a, &body),
            &[200, 303],
        )
        .await;
        Ok(Recovery {
            flow: a,
            other_flow: b,
            code_flow: c,
            other_flow_code,
            right,
            reused,
            source: source.describe(),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Enumeration.

/// One e-mail submission of the enumeration comparison.
#[derive(Debug)]
pub struct Submission {
    /// The address submitted.
    pub address: String,
    /// The exchange.
    pub exchange: Arc<Exchange>,
}

/// Known and unknown addresses submitted in turn.
#[derive(Debug)]
pub struct Enumeration {
    /// Submissions of `--known-email`.
    pub known: Vec<Submission>,
    /// Submissions of an address without identity.
    pub unknown: Vec<Submission>,
}

/// Pairs compared, one known and one unknown address each, in turn: `enumeration.timing` takes
/// at least 10 latency samples per address.
pub const ENUMERATION_PAIRS: usize = 10;

/// The enumeration scenario (needs `--known-email`).
pub async fn enumeration(ctx: &Ctx) -> Outcome<Enumeration> {
    memo(ctx, "security.enumeration", async {
        let known = ctx.cfg.known_email.clone().ok_or_else(|| {
            "needs --known-email ADDR (an address that has an identity) to compare with an unknown one".to_owned()
        })?;
        // A code read from a mail catcher must be the recovery scenario's own: when it runs, let
        // it finish first, so these e-mails cannot arrive while it waits. Started from here it
        // would use a code and change an identity that this check does not declare.
        if ctx.cfg.code_source.is_some() && ctx.runs("recover.right_code") {
            let _ = recovery(ctx).await;
        }
        let unknown = format!(
            "recovery-harness-unknown-{:08x}@example.net",
            rand::random::<u32>()
        );
        let on = base(ctx);
        let _turn = writes(ctx).lock_owned().await;
        let mut out = Enumeration {
            known: Vec::new(),
            unknown: Vec::new(),
        };
        for n in 0..ENUMERATION_PAIRS {
            for (address, list, tag) in [
                (&known, &mut out.known, "known"),
                (&unknown, &mut out.unknown, "unknown"),
            ] {
                let (created, id) =
                    create_api(ctx, &on, &format!("enumeration.{tag}.flow.{}", n + 1)).await;
                let id = id?;
                let exchange = send(
                    ctx,
                    submit(
                        &on,
                        &format!("enumeration.{tag}.{}", n + 1),
                        &id,
                        &address_body(&created, &flow_method(&created), address),
                    ),
                    &[200],
                )
                .await;
                list.push(Submission {
                    address: address.clone(),
                    exchange,
                });
            }
        }
        Ok(out)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Expiry.

/// Two API flows left to expire, then read and submitted.
#[derive(Debug)]
pub struct Expiry {
    /// getRecoveryFlow of the first expired flow.
    pub get: Arc<Exchange>,
    /// The expired flow submitted.
    pub submit: Arc<Exchange>,
    /// getRecoveryFlow of the flow the submit's redirect names (None: no redirect to a flow).
    pub new_flow: Option<Arc<Exchange>>,
    /// How long the scenario waited for the flows to expire.
    pub lifespan: Duration,
}

/// `expires_at - issued_at` of a flow.
fn lifespan_of(ex: &Exchange) -> Option<Duration> {
    let body = ex.json()?;
    let at = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    (at("expires_at")? - at("issued_at")?).to_std().ok()
}

/// How long after `ex` arrived its flow expires, by its `expires_at` (negative: zero).
fn time_left(ex: &Exchange) -> Option<Duration> {
    let at = ex
        .json()?
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())?;
    Some(
        (at.with_timezone(&chrono::Utc) - ex.received_at)
            .to_std()
            .unwrap_or_default(),
    )
}

/// The expiry scenario (needs `--expiry-wait`; the embedded run uses its short-lived twin).
pub async fn expiry(ctx: &Ctx) -> Outcome<Expiry> {
    memo(ctx, "security.expiry", async {
        let wait = ctx.cfg.expiry_wait.ok_or_else(|| {
            "opt-in: pass --expiry-wait DURATION against a deployment whose recovery flows live at most that long (Kratos selfservice.flows.recovery.lifespan)".to_owned()
        })?;
        let on = ctx.cfg.expiry_target.clone().unwrap_or_else(|| base(ctx));
        let (first, id) = create_api(ctx, &on, "expiry.flow").await;
        let id = id?;
        let (second, other) = create_api(ctx, &on, "expiry.submit.flow").await;
        let other = other?;
        let left = time_left(&first)
            .ok_or_else(|| "the new flow's expires_at is not an RFC 3339 date-time".to_owned())?
            .max(time_left(&second).unwrap_or_default());
        let lifespan = lifespan_of(&first).unwrap_or_default().max(left);
        if lifespan > wait {
            return Err(format!(
                "the deployment's new flows live about {}s (issued_at to expires_at), longer than --expiry-wait {}",
                lifespan.as_secs(),
                humantime::format_duration(wait)
            ));
        }
        // Sleep past expires_at, with a margin for the clocks of this machine and the target.
        let margin = (left / 10).max(Duration::from_millis(100));
        tokio::time::sleep(left + margin).await;
        let waited = left + margin;
        let get = send(ctx, get_flow(&on, "expiry.get_flow", &id), &[410]).await;
        let _turn = writes(ctx).lock_owned().await;
        let submit = send(
            ctx,
            submit(
                &on,
                "expiry.submit",
                &other,
                &address_body(&second, &flow_method(&second), &ctx.cfg.email),
            ),
            REDIRECT,
        )
        .await;
        let new_flow = match redirect_flow(&submit) {
            Some(new) => Some(send(ctx, get_flow(&on, "expiry.new_flow", &new), &[200]).await),
            None => None,
        };
        Ok(Expiry {
            get,
            submit,
            new_flow,
            lifespan: waited,
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Pinned error forms of updateRecoveryFlow and flow creation.

/// A submit to a flow id no deployment has.
pub async fn update_unknown_flow(ctx: &Ctx) -> Arc<Exchange> {
    single(ctx, "security.pinned.unknown_flow", &[404], |ctx| {
        submit(
            &base(ctx),
            "pinned.update.unknown_flow",
            UNKNOWN_FLOW_ID,
            &json!({"method": "code", "email": ctx.cfg.email}),
        )
    })
    .await
}

/// A submit without the `flow` parameter.
pub async fn update_missing_flow(ctx: &Ctx) -> Arc<Exchange> {
    single(ctx, "security.pinned.missing_flow", &[], |ctx| {
        Request::post_json(
            "pinned.update.missing_flow",
            url_in(&base(ctx), paths::UPDATE, &[]),
            &json!({"method": "code", "email": ctx.cfg.email}),
        )
    })
    .await
}

/// A submit whose `flow` is not a UUID.
pub async fn update_malformed_flow(ctx: &Ctx) -> Arc<Exchange> {
    single(ctx, "security.pinned.malformed_flow", &[], |ctx| {
        submit(
            &base(ctx),
            "pinned.update.malformed_flow",
            "not-a-flow-id",
            &json!({"method": "code", "email": ctx.cfg.email}),
        )
    })
    .await
}

/// Browser creation while signed in through `X-Session-Token`.
pub async fn browser_signed_in(ctx: &Ctx) -> Result<Arc<Exchange>, String> {
    let token =
        ctx.cfg.credentials.session_token.clone().ok_or_else(|| {
            "no --session-token (or RECOVERY_HARNESS_SESSION_TOKEN) given".to_owned()
        })?;
    Ok(
        single(ctx, "security.pinned.browser_signed_in", &[], move |ctx| {
            Request::get(
                "pinned.create_browser.signed_in",
                url_in(&base(ctx), paths::CREATE_BROWSER, &[]),
            )
            .header("X-Session-Token", token.expose())
        })
        .await,
    )
}

/// Browser creation asking for HTML (a browser's navigation).
pub async fn browser_html(ctx: &Ctx) -> Arc<Exchange> {
    single(ctx, "security.pinned.browser_html", REDIRECT, |ctx| {
        Request::get(
            "pinned.create_browser.html",
            url_in(&base(ctx), paths::CREATE_BROWSER, &[]),
        )
        .header("Accept", "text/html,application/xhtml+xml")
    })
    .await
}

/// A new API flow submitted with `body` (the flow's method filled in when `body` has none).
async fn submit_new(
    ctx: &Ctx,
    key: &'static str,
    probe: &'static str,
    body: fn(&str, &str) -> Value,
) -> Result<Arc<Exchange>, String> {
    let cell = ctx.shared::<OnceCell<Result<Arc<Exchange>, String>>>(key);
    cell.get_or_init(|| async {
        let on = base(ctx);
        let (created, id) = create_api(ctx, &on, &format!("{probe}.flow")).await;
        let id = id?;
        let _turn = writes(ctx).lock_owned().await;
        Ok(send(
            ctx,
            submit(
                &on,
                probe,
                &id,
                &body(&flow_method(&created), &ctx.cfg.email),
            ),
            &[],
        )
        .await)
    })
    .await
    .clone()
}

/// A new flow submitted with an address that is not an e-mail address.
pub async fn update_invalid_email(ctx: &Ctx) -> Result<Arc<Exchange>, String> {
    submit_new(
        ctx,
        "security.pinned.invalid_email",
        "pinned.update.invalid_email",
        |method, _| json!({"method": method, "email": "not-an-email-address"}),
    )
    .await
}

/// A new flow submitted with a method no deployment has.
pub async fn update_unknown_method(ctx: &Ctx) -> Result<Arc<Exchange>, String> {
    submit_new(
        ctx,
        "security.pinned.unknown_method",
        "pinned.update.unknown_method",
        |_, email| json!({"method": "recovery-harness-unknown-method", "email": email}),
    )
    .await
}

async fn single<F>(ctx: &Ctx, key: &'static str, expected: &'static [u16], make: F) -> Arc<Exchange>
where
    F: FnOnce(&Ctx) -> Request,
{
    let cell = ctx.shared::<OnceCell<Arc<Exchange>>>(key);
    cell.get_or_init(|| send(ctx, make(ctx), expected))
        .await
        .clone()
}
