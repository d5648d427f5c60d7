//! `fuzz.*`: property-based probing (`--fuzz-cases`, `--seed`). Generated requests per operation;
//! the invariants (never 5xx, every error an errorGeneric, every 200 a valid flow) are judged per
//! answer, and a failure is shrunk to a minimal request with a `curl` line. See
//! [`crate::check::fuzz`] for the strategies.

use crate::check::fuzz::{self, Target};
use crate::check::model::{Check, Judged, Needs, Operation, Phase};
use crate::check::probes::Ctx;
use crate::report::{Effect, Level, RuleSource};

const PRE: &[&str] = &["preflight.recovery_enabled"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "fuzz.create_native",
        title: "Generated creation requests keep the invariants",
        operation: Operation::CreateNative,
        rule: "for generated query strings, return_to values, session headers and cookies: never 5xx, every 200 a valid recoveryFlow of type api, every other answer errorGeneric JSON with error.code equal to the status",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::FuzzCases,
        phase: Phase::Main,
        judge: create_native,
        fault: "crash_on_non_ascii_return_to",
    },
    Check {
        id: "fuzz.get_flow",
        title: "Generated flow lookups keep the invariants",
        operation: Operation::GetFlow,
        rule: "for generated flow ids (real, unknown, malformed, missing, repeated): never 5xx, every 200 a valid recoveryFlow with the id asked for, every other answer errorGeneric JSON with error.code equal to the status",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::FuzzCases,
        phase: Phase::Main,
        judge: get_flow,
        fault: "crash_on_upper_case_id",
    },
    Check {
        id: "fuzz.update",
        title: "Generated submissions keep the invariants",
        operation: Operation::Update,
        rule: "for generated JSON and form bodies (methods, emails, codes, garbage) on fresh flows: never 5xx, every 200 a valid recoveryFlow, every 400 a recoveryFlow or errorGeneric, a 303 names its Location, every other answer errorGeneric JSON",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: PRE,
        needs: Needs::FuzzCases,
        phase: Phase::Main,
        judge: update,
        fault: "crash_on_form_body",
    },
];

fn create_native(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { Ok(fuzz::probe(ctx, Target::CreateNative).await) })
}

fn get_flow(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { Ok(fuzz::probe(ctx, Target::GetFlow).await) })
}

fn update(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { Ok(fuzz::probe(ctx, Target::Update).await) })
}
