//! `native_context.*`: a native (API) flow refuses a submit that carries browser context, a
//! `Cookie` or an `Origin` header (docs/kratos-behaviour.md §5.2; Kratos
//! `selfservice/flow/request.go`): the submit is not processed, the flow stays in
//! `choose_method`, and Kratos answers 303 to a new browser flow carrying 4000001.

use crate::check::judge::{scenario, still_initial};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Step, Verdict};
use crate::check::probes::{Ctx, Variant};
use crate::check::security_probes::{context_header, native_context, redirect_flow, Context};
use crate::report::{Effect, Level, RuleSource};

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
];

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
