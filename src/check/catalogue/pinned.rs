//! `pinned.*`: the error forms of updateRecoveryFlow and flow creation as real Kratos sends them
//! (docs/kratos-behaviour.md §1.4, §3, §5.1, §5.3, §5.4 A, §5.6; a "§" in the rules below is
//! a section of that page), where the spec leaves them open or says otherwise.

use crate::check::judge::{
    error_generic, exchange, has_ui_message, json_with_status, node_error, precondition, schema,
    status,
};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::{Ctx, Probe, Variant};
use crate::check::security_probes as sp;
use crate::report::{Effect, Level, RuleSource};
use crate::schema::Component;
use serde_json::Value;

const PRE: &[&str] = &["preflight.recovery_enabled"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "pinned.update.unknown_flow.404",
        title: "A submit to an unknown flow answers 404 with the reason",
        operation: Operation::Update,
        rule: "POST /self-service/recovery?flow=<unknown uuid> (JSON) answers 404 errorGeneric with error.reason (Kratos: \"The recovery request could not be found. Please restart the flow.\", §5.6)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: unknown_flow,
        fault: "unknown_flow_no_reason",
    },
    Check {
        id: "pinned.update.missing_flow.400",
        title: "A submit without flow answers a 400 errorGeneric",
        operation: Operation::Update,
        rule: "POST /self-service/recovery without ?flow= answers 400 errorGeneric (\"The flow query parameter is missing or malformed.\", §5.1), not a recoveryFlow",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: missing_flow,
        fault: "missing_flow_plain",
    },
    Check {
        id: "pinned.update.malformed_flow.400",
        title: "A submit with a malformed flow answers a 400 errorGeneric",
        operation: Operation::Update,
        rule: "POST /self-service/recovery?flow=not-a-flow-id answers 400 errorGeneric (§5.1)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: malformed_flow,
        fault: "malformed_flow_404",
    },
    Check {
        id: "pinned.update.invalid_email.400",
        title: "An invalid e-mail is reported on the email node",
        operation: Operation::Update,
        rule: "submitting an address that is not an e-mail answers 400 with the flow, whose `email` node carries an error message (Kratos master: 4000040 \"Enter a valid email address\"; v1.1.0: 4000001) (§5.4 A)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: invalid_email,
        fault: "invalid_email_unreported",
    },
    Check {
        id: "pinned.update.unknown_method.400",
        title: "An unknown method answers 400 and says so",
        operation: Operation::Update,
        rule: "submitting a method no strategy takes answers 400 with the flow, whose ui.messages carry 4010005 \"Could not find a strategy to recover your account with.\" (§5.3); Kratos v1.1.0 validates `method` against its enum first and puts 4000001 (\"value must be one of \"code\", \"link\"\") on the `method` node instead, which is accepted as that release's form",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: unknown_method,
        fault: "unknown_method_unreported",
    },
    Check {
        id: "pinned.create_browser.signed_in.400",
        title: "Signed in, browser creation answers 400 session_already_available",
        operation: Operation::CreateBrowser,
        rule: "GET /self-service/recovery/browser (JSON) with a valid X-Session-Token answers 400 errorGeneric, error.id session_already_available (§3)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[],
        requires: PRE,
        needs: Needs::SessionToken,
        phase: Phase::Main,
        judge: browser_signed_in,
        fault: "browser_session_ignored",
    },
    Check {
        id: "pinned.create_browser.html.303",
        title: "Browser creation for a browser redirects to the UI",
        operation: Operation::CreateBrowser,
        rule: "GET /self-service/recovery/browser asking for HTML answers 303 with a Location naming the new flow (?flow=<id>) in the recovery UI (§3)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: browser_html,
        fault: "browser_always_json",
    },
    Check {
        id: "pinned.get_flow.cache_control",
        title: "A retrieved flow is not cacheable",
        operation: Operation::GetFlow,
        rule: "getRecoveryFlow's 200 carries Cache-Control with no-store (Kratos: private, no-cache, no-store, must-revalidate on every GET answer)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: &["get_flow.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: get_flow_cache_control,
        fault: "get_flow_cacheable",
    },
];

fn unknown_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = sp::update_unknown_flow(ctx).await;
        error_generic(ctx, &ex, 404, None)?;
        let body = json_with_status(&ex, 404)?;
        match body.pointer("/error/reason").and_then(Value::as_str) {
            Some(r) if !r.is_empty() => Ok(Verdict::pass(format!("404 errorGeneric, reason {r:?}"))),
            _ => Ok(Verdict::fail("the 404 has no error.reason saying the flow is not found (Kratos: \"The recovery request could not be found. Please restart the flow.\")")
                .with(ex.evidence_at("/error/reason", body.pointer("/error/reason")))),
        }
    })
}

fn missing_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { error_generic(ctx, &*sp::update_missing_flow(ctx).await, 400, None) })
}

fn malformed_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { error_generic(ctx, &*sp::update_malformed_flow(ctx).await, 400, None) })
}

fn invalid_email(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = precondition(sp::update_invalid_email(ctx).await)?;
        status(&ex, 400)?;
        schema(ctx, &ex, Component::RecoveryFlow)?;
        let body = json_with_status(&ex, 400)?;
        let kratos_invalid = |m: &Value| {
            m.get("id")
                .and_then(Value::as_u64)
                .is_some_and(|id| id == 4000040 || id == 4000001)
        };
        node_error(
            &ex,
            body,
            "email",
            kratos_invalid,
            (
                "the 400 flow has no `email` node".to_owned(),
                "400; the email node says".to_owned(),
                "the email node carries no error 4000040 (or 4000001)".to_owned(),
            ),
        )
    })
}

fn unknown_method(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        // Recovery v2's code strategy takes every method but `link`
        // (selfservice/strategy/code/strategy_recovery.go): there is no 4010005 to pin there.
        if Variant::of(exchange(ctx, Probe::UpdateFlow).await?) == Variant::V2 {
            return Ok(Verdict::skip(
                "recovery v2 (feature_flags.choose_recovery_address) takes every method but `link`, so no submit gets 4010005",
            ));
        }
        let ex = precondition(sp::update_unknown_method(ctx).await)?;
        let body = json_with_status(&ex, 400)?;
        let no_strategy = has_ui_message(
            &ex,
            body,
            "error",
            &[4010005],
            "the \"no strategy\" message 4010005",
        );
        let Err(Verdict::Failed { detail, evidence }) = no_strategy else {
            return no_strategy;
        };
        // Kratos v1.1.0 decodes the body against a schema whose `method` is an enum of `code` and
        // `link` (selfservice/strategy/code/.schema/recovery.schema.json) before any strategy
        // sees it: its own form of the same refusal.
        let enum_error = |m: &Value| m.get("id").and_then(Value::as_u64) == Some(4000001);
        let on_method = node_error(
            &ex,
            body,
            "method",
            enum_error,
            (
                String::new(),
                "400; Kratos v1.1.0's form: the method node says".to_owned(),
                String::new(),
            ),
        );
        match on_method {
            Ok(passed @ Verdict::Passed { .. }) => Ok(passed),
            _ => Err(Verdict::Failed {
                detail: format!(
                    "{detail}; nor does the `method` node carry 4000001 (Kratos v1.1.0's form of this refusal)"
                ),
                evidence,
            }),
        }
    })
}

fn browser_signed_in(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = precondition(sp::browser_signed_in(ctx).await)?;
        error_generic(ctx, &ex, 400, Some("session_already_available"))
    })
}

fn browser_html(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = sp::browser_html(ctx).await;
        status(&ex, 303)?;
        match (ex.response().and_then(|r| r.header("location")), sp::redirect_flow(&ex)) {
            (Some(loc), Some(id)) if uuid::Uuid::parse_str(&id).is_ok() => {
                Ok(Verdict::pass(format!("303 to {}", ex.redact(loc))))
            }
            (loc, _) => Ok(Verdict::fail(format!(
                "the 303 must send the browser to the recovery UI with ?flow=<new flow id>; Location is {}",
                loc.map_or("missing".to_owned(), |l| format!("`{}`", ex.redact(l)))
            ))
            .with(ex.evidence())),
        }
    })
}

fn get_flow_cache_control(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::GetFlow).await?;
        let resp = status(ex, 200)?;
        match resp.header("cache-control") {
            Some(cc) if cc.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store")) => {
                Ok(Verdict::pass(format!("Cache-Control: {cc}")))
            }
            other => Ok(Verdict::fail(format!(
                "getRecoveryFlow's 200 must carry Cache-Control with no-store (a cached flow hands one user's flow to another), got {}",
                other.map_or("no Cache-Control".to_owned(), |c| format!("`{c}`"))
            ))
            .with(ex.evidence())),
        }
    })
}
