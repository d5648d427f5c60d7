//! `get_flow.*`: `GET /self-service/recovery/flows?id=` (getRecoveryFlow): a created flow is
//! retrievable as it was created; unknown and malformed ids answer 404 in the error envelope.

use crate::check::judge::judge;
use crate::check::judge::{exchange, json_with_status, Judge};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::{Ctx, Probe};
use crate::report::{Effect, Level, RuleSource};
use crate::schema::Component;
use serde_json::Value;

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "get_flow.200",
        title: "A created flow is retrievable",
        operation: Operation::GetFlow,
        rule: "getRecoveryFlow with the id of a flow just created answers 200",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["create_native.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Status(Probe::GetFlow, 200)),
        fault: "get_flow_500",
    },
    Check {
        id: "get_flow.schema",
        title: "The retrieved flow is a valid recoveryFlow",
        operation: Operation::GetFlow,
        rule: "the 200 body validates against recoveryFlow",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["get_flow.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Schema(Probe::GetFlow, 200, Component::RecoveryFlow)),
        fault: "get_flow_missing_required_field",
    },
    Check {
        id: "get_flow.same_flow",
        title: "The retrieved flow is the created one",
        operation: Operation::GetFlow,
        rule: "the retrieved flow has the created flow's id, type and state",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["get_flow.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: same_flow,
        fault: "get_flow_stale_state",
    },
    Check {
        id: "get_flow.unknown_id.404",
        title: "An unknown flow id answers 404",
        operation: Operation::GetFlow,
        rule: "getRecoveryFlow with a well-formed unknown id answers 404 with an errorGeneric body (error.code 404 when present)",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[],
        requires: &["preflight.recovery_enabled"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::ErrorGeneric(Probe::GetUnknown, 404, None)),
        fault: "unknown_flow_200",
    },
    Check {
        id: "get_flow.malformed_id.404",
        title: "A malformed flow id answers 404",
        operation: Operation::GetFlow,
        rule: "getRecoveryFlow with an id that is not a UUID answers 404 with an errorGeneric body (error.code 404 when present)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[],
        requires: &["preflight.recovery_enabled"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::ErrorGeneric(Probe::GetMalformed, 404, None)),
        fault: "malformed_id_400",
    },
];

fn same_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let created = exchange(ctx, Probe::CreateNative).await?;
        let ex = exchange(ctx, Probe::GetFlow).await?;
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
