//! `get_flow.*`: `GET /self-service/recovery/flows?id=` (getRecoveryFlow): a created flow is
//! retrievable as it was created; unknown and malformed ids answer 404 in the error envelope.

use crate::check::judge::judge;
use crate::check::judge::{json_with_status, precondition, Judge};
use crate::check::model::{Check, Judged, Operation, Verdict};
use crate::check::probes::{Ctx, Probe};
use crate::report::{Level, RuleSource};
use crate::schema::Component;
use serde_json::Value;

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check::new("get_flow.200", "A created flow is retrievable", Operation::GetFlow,
        "getRecoveryFlow with the id of a flow just created answers 200",
        RuleSource::OpenApi, Level::Required, &["create_native.200"], judge!(Judge::Status(Probe::GetFlow, 200))),
    Check::new("get_flow.schema", "The retrieved flow is a valid recoveryFlow", Operation::GetFlow,
        "the 200 body validates against recoveryFlow",
        RuleSource::OpenApi, Level::Required, &["get_flow.200"], judge!(Judge::Schema(Probe::GetFlow, 200, Component::RecoveryFlow))),
    Check::new("get_flow.same_flow", "The retrieved flow is the created one", Operation::GetFlow,
        "the retrieved flow has the created flow's id, type and state",
        RuleSource::SpecProse, Level::Required, &["get_flow.200"], same_flow),
    Check::new("get_flow.unknown_id.404", "An unknown flow id answers 404", Operation::GetFlow,
        "getRecoveryFlow with a well-formed unknown id answers 404 with an errorGeneric body (error.code 404 when present)",
        RuleSource::OpenApi, Level::Required, &["preflight.recovery_enabled"], judge!(Judge::ErrorGeneric(Probe::GetUnknown, 404, None))),
    Check::new("get_flow.malformed_id.404", "A malformed flow id answers 404", Operation::GetFlow,
        "getRecoveryFlow with an id that is not a UUID answers 404 with an errorGeneric body (error.code 404 when present)",
        RuleSource::ObservedKratos, Level::Recommended, &["preflight.recovery_enabled"], judge!(Judge::ErrorGeneric(Probe::GetMalformed, 404, None))),
];

fn same_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let created = ctx.create_native().await;
        let ex = precondition(ctx.get_flow().await)?;
        let a = json_with_status(created, 200)?;
        let b = json_with_status(ex, 200)?;
        let mut diffs = Vec::new();
        for field in ["id", "type", "state"] {
            if a.get(field) != b.get(field) {
                diffs.push((field, a.get(field).cloned(), b.get(field).cloned()));
            }
        }
        if diffs.is_empty() {
            return Ok(Verdict::pass("same id, type and state as at creation"));
        }
        let show = |v: &Option<Value>| v.as_ref().map_or("nothing".to_owned(), Value::to_string);
        let text: Vec<String> = diffs
            .iter()
            .map(|(f, want, got)| {
                format!("{f} is {} but was {} at creation", show(got), show(want))
            })
            .collect();
        let (first, _, _) = diffs[0];
        Ok(
            Verdict::fail(format!("the retrieved flow differs: {}", text.join("; ")))
                .with(ex.evidence_at(&format!("/{first}"), b.get(first)))
                .with(created.evidence_at(&format!("/{first}"), a.get(first))),
        )
    })
}
