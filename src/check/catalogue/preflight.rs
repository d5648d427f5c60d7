//! `preflight.*`: conditions without which the rest of the suite only produces noise. When Kratos
//! has recovery switched off (its default), one check says so and how to enable it, and every
//! check that depends on it is skipped instead of failing twenty times.

use crate::check::judge::{answered, exchange};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::{Ctx, Probe};
use crate::report::{Effect, Level, RuleSource};
use serde_json::Value;

/// The reason Kratos gives when `selfservice.flows.recovery.enabled` is false.
pub const DISABLED_REASON: &str = "recovery is not allowed because it was disabled";

/// The checks of this file.
pub const CHECKS: &[Check] = &[Check {
    id: "preflight.recovery_enabled",
    title: "Recovery is enabled on the deployment",
    operation: Operation::CreateNative,
    rule: "createNativeRecoveryFlow must not answer Kratos's \"Recovery is not allowed because it was disabled.\" error",
    source: RuleSource::ObservedKratos,
    level: Level::Required,
    effects: &[Effect::CreatesFlows],
    requires: &[],
    needs: Needs::Nothing,
    phase: Phase::Main,
    judge: recovery_enabled,
    fault: "recovery_disabled",
}];

/// Whether a body is Kratos's "recovery disabled" error.
pub fn is_disabled_answer(body: &Value) -> bool {
    body.pointer("/error/reason")
        .and_then(Value::as_str)
        .is_some_and(|r| r.to_ascii_lowercase().contains(DISABLED_REASON))
}

fn recovery_enabled(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::CreateNative).await?;
        let resp = answered(ex)?;
        if ex.json().is_some_and(is_disabled_answer) {
            return Ok(Verdict::fail(
                "account recovery is disabled on this deployment: Kratos answered \"Recovery is not allowed \
                 because it was disabled.\" Enable it in the Kratos configuration with \
                 `selfservice.flows.recovery.enabled: true` (and a method, e.g. \
                 `selfservice.methods.code.enabled: true`), restart Kratos, and run the check again. \
                 The checks that need recovery are skipped.",
            )
            .with(ex.evidence()));
        }
        Ok(Verdict::pass(format!(
            "the creation answered {} without the \"recovery disabled\" error",
            resp.status
        )))
    })
}
