//! `native_context.*`: a native (API) flow refuses a submit that carries browser context, a
//! `Cookie` or an `Origin` header (docs/kratos-behaviour.md §5.2; Kratos
//! `selfservice/flow/request.go`): the submit is not processed, the flow stays in
//! `choose_method`, and Kratos answers 303 to a new browser flow carrying 4000001. And the
//! other way round: answers of a native flow set no cookie (`native_context.no_cookies`), a
//! native client keeps no cookie jar.

use crate::check::client::Exchange;
use crate::check::judge::{exchange, scenario, still_initial};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Step, Verdict};
use crate::check::probes::{flow_id, paths, Ctx, Probe, Variant};
use crate::check::security_probes::{context_header, native_context, redirect_flow, Context};
use crate::report::{Effect, Level, RuleSource};
use std::collections::HashSet;

const PRE: &[&str] = &["preflight.recovery_enabled"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "native_context.cookie.refused",
        title: "A native submit carrying a Cookie is refused",
        operation: Operation::Update,
        rule: "a submit to an API flow with a Cookie header (not Cloudflare's __cf*/_cf*/cf_*) is not processed: 303 to getRecoveryFlow of another (browser) flow, and the API flow stays in its first state (choose_method; v2: recovery_awaiting_address) (§5.2)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: cookie,
        fault: "native_cookie_processed",
    },
    Check {
        id: "native_context.origin.refused",
        title: "A native submit carrying an Origin header is refused",
        operation: Operation::Update,
        rule: "a submit to an API flow with an Origin header is not processed: 303 to getRecoveryFlow of another (browser) flow, and the API flow stays in its first state (choose_method; v2: recovery_awaiting_address) (§5.2)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: origin,
        fault: "native_origin_processed",
    },
    Check {
        id: "native_context.no_cookies",
        title: "Native flow answers set no cookie",
        operation: Operation::Any,
        rule: "the answers of a native (API) flow itself carry no Set-Cookie, Cloudflare's __cf*/_cf*/cf_* aside: GET /self-service/recovery/api, and every 2xx or 422 answer (the flow, or the success) to a submit to an API flow without browser context (no Cookie, no Origin); Kratos's own tests assert it for the creation (selfservice/flow/recovery/handler_test.go) and for the right code (strategy_recovery_test.go, \"does not issue csrf cookie when submitting API flow\", the regression test of ory/kratos #3705: v1.0.0 set a CSRF cookie there). A redirect to a new flow (a retry) is not judged: real Kratos sets a fresh CSRF cookie on it, API flow or not",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        // It reads every exchange of the run.
        phase: Phase::Last,
        judge: no_cookies,
        fault: "api_success_sets_cookie",
    },
];

/// Whether a cookie name is one Kratos itself leaves to the infrastructure (Cloudflare's).
fn infrastructure(name: &str) -> bool {
    name.starts_with("__cf") || name.starts_with("_cf") || name.starts_with("cf_")
}

/// The cookies a response sets (`name`, the header with the value hidden), Cloudflare's aside.
fn set_cookies(ex: &Exchange) -> Vec<(String, String)> {
    let headers = match &ex.outcome {
        Ok(resp) => &resp.headers,
        Err(t) => &t.headers,
    };
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (pair, attributes) = v.split_once(';').unwrap_or((v, ""));
            let name = pair.split('=').next().unwrap_or("").trim().to_owned();
            (!name.is_empty() && !infrastructure(&name))
                .then(|| (name.clone(), format!("{name}=<value hidden>;{attributes}")))
        })
        .collect()
}

fn has_browser_context(ex: &Exchange) -> bool {
    ex.request
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("cookie") || n.eq_ignore_ascii_case("origin"))
}

fn no_cookies(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        // At least the plain creation, whichever checks ran.
        exchange(ctx, Probe::CreateNative).await?;
        let log = ctx.log();
        let is_creation = |ex: &Exchange| {
            ex.request.method == reqwest::Method::GET
                && ex.request.url.path().ends_with(paths::CREATE_NATIVE)
        };
        let api_flows: HashSet<String> = log
            .iter()
            .filter(|l| is_creation(&l.exchange) && l.exchange.status() == Some(200))
            .filter_map(|l| flow_id(&l.exchange).ok())
            .collect();
        let submit_to_api = |ex: &Exchange| {
            ex.request.method == reqwest::Method::POST
                && ex.request.url.path().ends_with(paths::UPDATE)
                && ex
                    .request
                    .url
                    .query_pairs()
                    .any(|(k, v)| k == "flow" && api_flows.contains(v.as_ref()))
        };
        let (mut creations, mut submits) = (0, 0);
        for l in &log {
            let ex = &l.exchange;
            if has_browser_context(ex) {
                continue;
            }
            let creation = is_creation(ex);
            // The flow's own answers: a retry's redirect (or its 400 under
            // use_continue_with_transitions) hands over a new flow, with Kratos's fresh CSRF
            // cookie even for an API flow.
            let own = matches!(ex.status(), Some(200..=299 | 422));
            if !own || (!creation && !submit_to_api(ex)) {
                continue;
            }
            if creation {
                creations += 1;
            } else {
                submits += 1;
            }
            let cookies = set_cookies(ex);
            if !cookies.is_empty() {
                let names: Vec<&str> = cookies.iter().map(|(n, _)| n.as_str()).collect();
                let mut ev = ex.evidence();
                ev.response_headers.extend(
                    cookies
                        .iter()
                        .map(|(_, shown)| ("set-cookie".to_owned(), shown.clone())),
                );
                return Ok(Verdict::fail(format!(
                    "an answer of a native (API) flow sets {} ({}): {} {} answered {} with it. A native client keeps no cookie jar; Kratos sets none there (v1.0.0 set a CSRF cookie on the right code's answer, ory/kratos #3705)",
                    if names.len() == 1 { "a cookie" } else { "cookies" },
                    names.join(", "),
                    ex.request.method,
                    ex.redact(ex.request.url.as_str()),
                    ex.describe()
                ))
                .with(ev));
            }
        }
        Ok(Verdict::pass(format!(
            "no Set-Cookie on {creations} API-flow creation(s) and {submits} submit(s) to API flows (Cloudflare's cookies aside)"
        )))
    })
}

fn cookie(ctx: &Ctx) -> Judged<'_> {
    Box::pin(judge(ctx, Context::Cookie))
}

fn origin(ctx: &Ctx) -> Judged<'_> {
    Box::pin(judge(ctx, Context::Origin))
}

async fn judge(ctx: &Ctx, context: Context) -> Step<Verdict> {
    let out = native_context(ctx, context).await;
    let s = scenario(&out)?;
    let (header, _) = context_header(context);
    let ex = &s.submit;
    let new = match (ex.status(), redirect_flow(ex)) {
        (Some(303), Some(new)) if new != s.flow => new,
        _ => {
            return Ok(Verdict::fail(format!(
                "a submit to an API flow carrying {header} must be refused with a 303 to a new flow (Kratos's anti-CSRF rule for API flows), got {}",
                ex.describe()
            ))
            .with(ex.evidence()))
        }
    };
    // The state of a new flow: `choose_method`, or `recovery_awaiting_address` in v2.
    let initial = Variant::of(&s.after).initial_state();
    still_initial(
        &s.after,
        initial,
        format!("303 to the new flow {new}; the API flow is still in {initial}"),
        |state| {
            format!("answered 303 to {new}, but the API flow moved on to {state} (the submit carrying {header} was processed)")
        },
    )
}
