//! `csrf.*`: Kratos's anti-CSRF protection of browser flows (docs/kratos-behaviour.md §3 "The
//! CSRF cookie", §4 step 3 and §5.2; a "§" in the rules below is a section of that page):
//! creation sets the `csrf_token_*` cookie and the hidden `csrf_token` node, the flow is served
//! only with that cookie, and a submit whose `csrf_token` does not match is refused without
//! touching the flow.

use crate::check::judge::{error_generic, json_with_status, scenario, still_initial};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::{Ctx, Variant};
use crate::check::security_probes::{browser_csrf, redirect_flow};
use crate::report::{Effect, Level, RuleSource};
use serde_json::Value;

const PRE: &[&str] = &["preflight.recovery_enabled"];
const COOKIE: &[&str] = &["csrf.browser.cookie"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "csrf.browser.cookie",
        title: "Browser creation issues the anti-CSRF cookie and token",
        operation: Operation::CreateBrowser,
        rule: "GET /self-service/recovery/browser (JSON) answers 200 with Set-Cookie csrf_token_<hash>=<non-empty> and a hidden `csrf_token` node with a non-empty value (docs/kratos-behaviour.md §3, the CSRF cookie)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: cookie,
        fault: "csrf_token_empty",
    },
    Check {
        id: "csrf.get_flow.without_cookie.403",
        title: "A browser flow is not served without its CSRF cookie",
        operation: Operation::GetFlow,
        rule: "getRecoveryFlow of a browser flow without any cookie answers 403 errorGeneric, error.id security_csrf_violation (§4 step 3)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: COOKIE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: without_cookie,
        fault: "csrf_get_unprotected",
    },
    Check {
        id: "csrf.get_flow.with_cookie.200",
        title: "A browser flow is served with its CSRF cookie",
        operation: Operation::GetFlow,
        rule: "getRecoveryFlow of a browser flow with the cookie its creation set answers 200 with that flow (§4: browser flows need the CSRF cookie)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: COOKIE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: with_cookie,
        fault: "csrf_cookie_refused",
    },
    Check {
        id: "csrf.submit.mismatch.refused",
        title: "A browser submit with a wrong csrf_token is refused",
        operation: Operation::Update,
        rule: "a browser-flow submit with the CSRF cookie but a mismatched csrf_token is refused: 403 errorGeneric security_csrf_violation (Kratos master), or the code strategy's 303 to a new flow (§5.2); the flow stays in its first state (choose_method; v2: recovery_awaiting_address)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["csrf.get_flow.with_cookie.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: mismatch,
        fault: "csrf_token_unchecked",
    },
];

fn cookie(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = browser_csrf(ctx).await;
        let s = scenario(&out)?;
        let body = json_with_status(&s.create, 200)?;
        let Some(cookie) = &s.cookie else {
            return Ok(Verdict::fail(format!(
                "the browser creation set no csrf_token_* cookie (Set-Cookie: {})",
                s.create
                    .response()
                    .map(|r| r
                        .headers
                        .get_all("set-cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .map(|v| v.split('=').next().unwrap_or_default().to_owned())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            ))
            .with(s.create.evidence()));
        };
        let nodes = body.pointer("/ui/nodes").and_then(Value::as_array);
        let token = nodes.into_iter().flatten().enumerate().find(|(_, n)| {
            n.pointer("/attributes/name").and_then(Value::as_str) == Some("csrf_token")
        });
        let Some((i, node)) = token else {
            return Ok(Verdict::fail("the browser flow has no `csrf_token` node")
                .with(s.create.evidence_at("/ui/nodes", body.pointer("/ui/nodes"))));
        };
        let pointer = format!("/ui/nodes/{i}/attributes/value");
        let value = node
            .pointer("/attributes/value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if value.is_empty() {
            return Ok(
                Verdict::fail(format!("the `csrf_token` node has no value ({pointer})")).with(
                    s.create
                        .evidence_at(&pointer, node.pointer("/attributes/value")),
                ),
            );
        }
        let name = cookie.split('=').next().unwrap_or_default();
        Ok(Verdict::pass(format!(
            "Set-Cookie {name}=… and a csrf_token node of {} characters",
            value.len()
        )))
    })
}

fn without_cookie(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = browser_csrf(ctx).await;
        let s = scenario(&out)?;
        error_generic(ctx, &s.get_without, 403, Some("security_csrf_violation"))
    })
}

fn with_cookie(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = browser_csrf(ctx).await;
        let s = scenario(&out)?;
        let body = json_with_status(&s.get_with, 200)?;
        let want = s.create.json().and_then(|b| b.get("id"));
        if body.get("id") != want {
            return Ok(Verdict::fail(format!(
                "the flow served is {} but {} was created",
                body.get("id").unwrap_or(&Value::Null),
                want.unwrap_or(&Value::Null)
            ))
            .with(s.get_with.evidence_at("/id", body.get("id"))));
        }
        Ok(Verdict::pass(
            "200 with the created flow when its CSRF cookie is sent",
        ))
    })
}

fn mismatch(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = browser_csrf(ctx).await;
        let s = scenario(&out)?;
        let ex = &s.mismatch;
        let flow = s
            .create
            .json()
            .and_then(|b| b.get("id"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let form = match ex.status() {
            Some(403) => {
                error_generic(ctx, ex, 403, Some("security_csrf_violation"))?;
                "403 security_csrf_violation".to_owned()
            }
            Some(303) => match redirect_flow(ex) {
                Some(new) if new != flow => format!("303 to a new flow {new}"),
                _ => {
                    return Ok(Verdict::fail(format!(
                        "a 303 that does not name a new flow: {}",
                        ex.describe()
                    ))
                    .with(ex.evidence()))
                }
            },
            _ => {
                return Ok(Verdict::fail(format!(
                    "a mismatched csrf_token was not refused: expected 403 security_csrf_violation (or a 303 to a new flow), got {}",
                    ex.describe()
                ))
                .with(ex.evidence()))
            }
        };
        // The state of a new flow: `choose_method`, or `recovery_awaiting_address` in v2.
        let initial = Variant::of(&s.create).initial_state();
        still_initial(
            &s.after,
            initial,
            format!("refused with {form}; the flow is still in {initial}"),
            |state| {
                format!("refused with {form}, but the flow moved on to {state} (the e-mail was processed)")
            },
        )
    })
}
