//! `expiry.*`: an expired flow (docs/kratos-behaviour.md §4 step 4 and §5.6, "An expired
//! flow"). Opt-in with `--expiry-wait DURATION` against a deployment whose
//! flows live at most that long; the embedded run uses a short-lived twin of its server.

use crate::check::judge::{error_generic, has_ui_message, json_with_status, scenario};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::Ctx;
use crate::check::security_probes::{expiry, redirect_flow};
use crate::report::{Effect, Level, RuleSource};
use serde_json::Value;

const PRE: &[&str] = &["preflight.recovery_enabled"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "expiry.get_flow.410",
        title: "An expired API flow answers 410",
        operation: Operation::GetFlow,
        rule: "getRecoveryFlow of an expired API flow answers 410 errorGeneric, error.id self_service_flow_expired, with error.details.api naming where to start a new flow (§4 step 4)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows, Effect::WaitsForExpiry],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: get_410,
        fault: "expired_without_details",
    },
    Check {
        id: "expiry.submit.new_flow",
        title: "A submit to an expired flow moves to a new flow saying so",
        operation: Operation::Update,
        rule: "a submit to an expired API flow answers 303 to getRecoveryFlow of a new flow, whose ui.messages carry 4060005 \"The recovery flow expired …\" (§5.6, flag off)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows, Effect::WaitsForExpiry],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: submit_new_flow,
        fault: "expired_flow_silent",
    },
];

fn get_410(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = expiry(ctx).await;
        let s = scenario(&out)?;
        error_generic(ctx, &s.get, 410, Some("self_service_flow_expired"))?;
        let body = json_with_status(&s.get, 410)?;
        let api = body.pointer("/error/details/api");
        if !api
            .and_then(Value::as_str)
            .is_some_and(|a| a.contains("/self-service/recovery/api"))
        {
            return Ok(Verdict::fail(format!(
                "the 410 lacks error.details.api (where to start a new API flow), got {}",
                api.unwrap_or(&Value::Null)
            ))
            .with(s.get.evidence_at("/error/details/api", api)));
        }
        Ok(Verdict::pass(format!(
            "410 self_service_flow_expired with details.api {} (after waiting {})",
            api.unwrap_or(&Value::Null),
            humantime::format_duration(s.lifespan)
        )))
    })
}

fn submit_new_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = expiry(ctx).await;
        let s = scenario(&out)?;
        let (Some(303), Some(new), Some(got)) =
            (s.submit.status(), redirect_flow(&s.submit), &s.new_flow)
        else {
            return Ok(Verdict::fail(format!(
                "a submit to an expired API flow must answer 303 to a new flow, got {}",
                s.submit.describe()
            ))
            .with(s.submit.evidence()));
        };
        let body = json_with_status(got, 200)?;
        has_ui_message(
            got,
            body,
            "error",
            &[4060005],
            "the \"flow expired\" message 4060005",
        )?;
        Ok(Verdict::pass(format!(
            "303 to the new flow {new}, which carries 4060005"
        )))
    })
}
