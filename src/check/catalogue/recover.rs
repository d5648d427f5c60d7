//! `recover.*`: the code that really recovers (docs/kratos-behaviour.md §5.4 B, Kratos
//! `selfservice/strategy/code/strategy_recovery.go`). With a code source (`--courier-url`,
//! `--mailpit-url`; the embedded server is its own) and `--known-email`: the code sent for a
//! flow completes it, the same code cannot complete it again, and a code sent for another flow
//! is refused.

use crate::check::client::Exchange;
use crate::check::judge::{error_envelope, json, scenario};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Step, Verdict};
use crate::check::probes::Ctx;
use crate::check::security_probes::{recovery, redirect_flow};
use crate::report::{Effect, Level, RuleSource};
use serde_json::Value;

/// The scenario behind every check of this file: three mails, a code used, a recovery completed.
const RECOVERY: &[Effect] = &[
    Effect::CreatesFlows,
    Effect::SendsMail,
    Effect::ConsumesCode,
    Effect::ChangesIdentity,
];

/// The checks of this file. All judged after the concurrent checks ([`Phase::Final`]): real
/// Kratos on SQLite may refuse a right code when other writes hold the database, which would be
/// a verdict on the harness, not the deployment.
pub const CHECKS: &[Check] = &[
    Check {
        id: "recover.right_code",
        title: "The code that was sent recovers the account",
        operation: Operation::Update,
        rule: "the code read from the code source, submitted to its flow, gives Kratos's success answer: 422 errorGeneric browser_location_change_required with redirect_browser_to, or (use_continue_with_transitions) 200 with state passed_challenge and continue_with (§5.4 B, correct code)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: RECOVERY,
        requires: &["update.email.state"],
        needs: Needs::Nothing,
        phase: Phase::Final,
        judge: right_code,
        fault: "right_code_ignored",
    },
    Check {
        id: "recover.code_reused.refused",
        title: "A used code does not recover again",
        operation: Operation::Update,
        rule: "the same code submitted again to its flow gets no success answer (Kratos: 303 to a new flow)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: RECOVERY,
        requires: &["recover.right_code"],
        needs: Needs::Nothing,
        phase: Phase::Final,
        judge: reused,
        fault: "code_reusable",
    },
    Check {
        id: "recover.other_flow_code.refused",
        title: "A code sent for another flow is refused",
        operation: Operation::Update,
        rule: "a code sent for one flow (C), submitted to another flow (B) of the same address before any code is used, gets no success answer (Kratos: 200, 4060006, state sent_email); it is sent before the right code, so a deployment that takes any flow's code fails this check, not recover.right_code",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: RECOVERY,
        requires: &["recover.right_code"],
        needs: Needs::Nothing,
        phase: Phase::Final,
        judge: other_flow,
        fault: "code_completes_any_flow",
    },
];

/// Kratos's success answer, described, or `None`.
pub(crate) fn success(ex: &Exchange) -> Option<String> {
    let body = ex.json()?;
    match ex.status()? {
        422 if body.pointer("/error/id").and_then(Value::as_str)
            == Some("browser_location_change_required") =>
        {
            Some(format!(
                "422 browser_location_change_required to {}",
                body.get("redirect_browser_to").unwrap_or(&Value::Null)
            ))
        }
        // A 200 in passed_challenge that repeats a wrong-code message (a used code on a
        // completed flow) is a refusal; success hands out where to continue.
        200 if body.get("state").and_then(Value::as_str) == Some("passed_challenge")
            && body
                .get("continue_with")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
            && !body
                .pointer("/ui/messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|m| m.get("type").and_then(Value::as_str) == Some("error")) =>
        {
            Some("200 passed_challenge with continue_with".to_owned())
        }
        _ => None,
    }
}

fn right_code(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = recovery(ctx).await;
        let s = scenario(&out)?;
        let ex = &s.right;
        let body = json(ex)?;
        let how = match ex.status() {
            Some(422) => {
                let resp = ex.response().ok_or_else(|| Verdict::fail("no answer"))?;
                error_envelope(ctx, ex, resp)?;
                let id = body.pointer("/error/id");
                if id.and_then(Value::as_str) != Some("browser_location_change_required") {
                    return Ok(Verdict::fail(format!(
                        "the 422 has error.id {}, not browser_location_change_required",
                        id.unwrap_or(&Value::Null)
                    ))
                    .with(ex.evidence_at("/error/id", id)));
                }
                let to = body.get("redirect_browser_to");
                if to.and_then(Value::as_str).is_none_or(|t| url::Url::parse(t).is_err()) {
                    return Ok(Verdict::fail(format!(
                        "the 422 has no redirect_browser_to URL (got {})",
                        to.unwrap_or(&Value::Null)
                    ))
                    .with(ex.evidence_at("/redirect_browser_to", to)));
                }
                "422 browser_location_change_required with redirect_browser_to".to_owned()
            }
            Some(200) => {
                let state = body.get("state");
                if state.and_then(Value::as_str) != Some("passed_challenge") {
                    return Ok(Verdict::fail(format!(
                        "the right code answered 200 with state {} (expected passed_challenge: the code did not recover the account)",
                        state.unwrap_or(&Value::Null)
                    ))
                    .with(ex.evidence_at("/state", state)));
                }
                let cw = body.get("continue_with");
                if cw.and_then(Value::as_array).is_none_or(|a| a.is_empty()) {
                    return Ok(Verdict::fail("200 passed_challenge without continue_with (use_continue_with_transitions answers where to go next)")
                        .with(ex.evidence_at("/continue_with", cw)));
                }
                "200 passed_challenge with continue_with".to_owned()
            }
            _ => {
                return Ok(Verdict::fail(format!(
                    "the right code (read from {}) did not recover the account: expected 422 browser_location_change_required or 200 passed_challenge, got {}",
                    s.source,
                    ex.describe()
                ))
                .with(ex.evidence()))
            }
        };
        Ok(Verdict::pass(format!(
            "{how} (code read from {})",
            s.source
        )))
    })
}

fn refused(ex: &Exchange, what: &str) -> Step<Verdict> {
    if let Some(how) = success(ex) {
        return Ok(
            Verdict::fail(format!("{what} recovered the account: {how}")).with(ex.evidence()),
        );
    }
    match ex.status() {
        Some(200) => {
            let body = json(ex)?;
            let ids: Vec<String> = body
                .pointer("/ui/messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("id").map(Value::to_string))
                .collect();
            Ok(Verdict::pass(format!(
                "{what} was refused: 200, state {}, messages [{}]",
                body.get("state").unwrap_or(&Value::Null),
                ids.join(", ")
            )))
        }
        Some(303) => Ok(Verdict::pass(format!(
            "{what} was refused: 303 to a new flow {}",
            redirect_flow(ex).unwrap_or_default()
        ))),
        Some(s @ 400..=499) => Ok(Verdict::pass(format!("{what} was refused with {s}"))),
        _ => Ok(Verdict::fail(format!(
            "{what} must be refused as a wrong code (200 with 4060006, or a 303 to a new flow), got {}",
            ex.describe()
        ))
        .with(ex.evidence())),
    }
}

fn reused(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = recovery(ctx).await;
        let s = scenario(&out)?;
        refused(&s.reused, "the used code, submitted again,")
    })
}

fn other_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = recovery(ctx).await;
        let s = scenario(&out)?;
        refused(
            &s.other_flow_code,
            &format!(
                "flow {}'s code, submitted to flow {},",
                s.code_flow, s.other_flow
            ),
        )
    })
}
