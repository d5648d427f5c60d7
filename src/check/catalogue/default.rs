//! `default.*`: the spec's `default` response. Every status other than 200 and 400 must carry the
//! errorGeneric envelope as JSON, with `error.code` equal to the status when present: a wrong
//! method (405) and every unexpected status any probe of the run provoked.

use super::{error_envelope, error_generic, Check, Ctx, Judged, Needs, Operation, Phase, Verdict};
use crate::report::{Level, RuleSource};

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "default.method_not_allowed.405",
        title: "A wrong HTTP method answers 405 in the error envelope",
        operation: Operation::CreateNative,
        rule: "DELETE /self-service/recovery/api answers 405 with an errorGeneric JSON body (error.code 405 when present)",
        source: RuleSource::OpenApi,
        level: Level::Required,
        requires: &[],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: method_not_allowed,
    },
    Check {
        id: "default.error_bodies",
        title: "Every unexpected status carries the error envelope",
        operation: Operation::Any,
        rule: "any status other than 200 and 400 seen in the run, beyond the ones a check provoked on purpose, is errorGeneric JSON with error.code equal to the status",
        source: RuleSource::OpenApi,
        level: Level::Required,
        requires: &[],
        needs: Needs::Nothing,
        phase: Phase::Final,
        judge: error_bodies,
    },
];

fn method_not_allowed(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { error_generic(ctx, ctx.wrong_method().await, 405, None) })
}

fn error_bodies(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let log = ctx.log();
        // Without a single answer there is nothing to judge: passing would be a silent pass.
        if !log.iter().any(|entry| entry.exchange.response().is_some()) {
            return Ok(Verdict::skip(format!(
                "none of the {} exchanges got an answer, so no status could be judged",
                log.len()
            )));
        }
        let mut judged = 0;
        let mut failures = Vec::new();
        for entry in &log {
            let ex = &entry.exchange;
            let Some(resp) = ex.response() else { continue };
            if resp.status == 200 || resp.status == 400 || entry.expected.contains(&resp.status) {
                continue;
            }
            judged += 1;
            if let Err(v) = error_envelope(ctx, ex, resp) {
                failures.push((ex.request.probe.clone(), v));
            }
        }
        if failures.is_empty() {
            return Ok(Verdict::pass(if judged == 0 {
                format!(
                    "none of the {} exchanges had an unexpected status",
                    log.len()
                )
            } else {
                format!("all {judged} unexpected statuses carried the error envelope")
            }));
        }
        let mut detail = format!(
            "{} of {judged} unexpected answers lack the error envelope: ",
            failures.len()
        );
        let mut evidence = Vec::new();
        let parts: Vec<String> = failures
            .into_iter()
            .map(|(probe, v)| match v {
                Verdict::Failed {
                    detail,
                    evidence: ev,
                } => {
                    evidence.extend(ev);
                    format!("[{probe}] {detail}")
                }
                other => format!("[{probe}] {other:?}"),
            })
            .collect();
        detail.push_str(&parts.join("; "));
        Ok(Verdict::Failed { detail, evidence })
    })
}
