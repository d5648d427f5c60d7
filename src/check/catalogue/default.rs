//! `default.*`: the spec's `default` response, a rule of the operations the spec declares: every
//! status other than 200 and 400 that a probe of a declared operation provoked must carry the
//! errorGeneric envelope as JSON, with `error.code` equal to the status when present.
//!
//! A method or a path the spec does not declare is outside that rule: Kratos answers them with
//! Go's plain-text `405 Method Not Allowed` (`Allow: GET, HEAD`) and `404 page not found`, in
//! every version (httprouter in v1.x behaves the same). Those probes report what was seen and fail
//! only on a 5xx or no answer, which no faithful deployment gives.

use crate::check::client::Exchange;
use crate::check::judge::{error_envelope, exchange};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::{Ctx, Probe};
use crate::report::{Level, RuleSource};

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "default.undeclared_method",
        title: "A method the spec does not declare gets an answer, not a 5xx",
        operation: Operation::CreateNative,
        rule: "DELETE /self-service/recovery/api (no such operation in the spec) answers without a 5xx and without hanging; any 4xx, plain text included (Kratos: 405 Method Not Allowed, Allow: GET, HEAD), is reported as seen",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[],
        requires: &[],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: undeclared_method,
        fault: "undeclared_method_500",
    },
    Check {
        id: "default.undeclared_path",
        title: "A path the spec does not declare gets an answer, not a 5xx",
        operation: Operation::Any,
        rule: "GET of an unknown path under /self-service/recovery answers without a 5xx and without hanging; any 4xx, plain text included (Kratos: 404 page not found), is reported as seen",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[],
        requires: &[],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: undeclared_path,
        fault: "undeclared_path_502",
    },
    Check {
        id: "default.error_bodies",
        title: "Every unexpected status carries the error envelope",
        operation: Operation::Any,
        rule: "any status other than 200 and 400 that a probe of a declared operation provoked, beyond the ones a check provoked on purpose, is errorGeneric JSON with error.code equal to the status",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[],
        requires: &[],
        needs: Needs::Nothing,
        phase: Phase::Final,
        judge: error_bodies,
        fault: "browser_bad_gateway",
    },
];

fn undeclared_method(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { Ok(undeclared(exchange(ctx, Probe::UndeclaredMethod).await?)) })
}

fn undeclared_path(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move { Ok(undeclared(exchange(ctx, Probe::UndeclaredPath).await?)) })
}

/// Passes on any answer below 500, saying what it was; fails on a 5xx or no answer.
fn undeclared(ex: &Exchange) -> Verdict {
    let Some(resp) = ex.response() else {
        return Verdict::fail(format!(
            "no usable answer to {} {}: {}",
            ex.request.method,
            ex.redact(ex.request.url.as_str()),
            ex.describe()
        ))
        .with(ex.evidence());
    };
    if resp.status >= 500 {
        return Verdict::fail(format!(
            "a request the spec does not declare must not break the server: got {}",
            ex.describe()
        ))
        .with(ex.evidence());
    }
    let allow = resp
        .header("allow")
        .map(|a| format!(", Allow: {a}"))
        .unwrap_or_default();
    let shape = if resp.is_json_content_type() {
        "a JSON body"
    } else {
        "a non-JSON body (as Kratos answers: Go's plain-text error)"
    };
    Verdict::pass(format!(
        "answered {}{allow}, {shape}; the spec declares no such operation, so any answer below 500 is accepted",
        ex.describe()
    ))
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
            if entry.undeclared
                || resp.status == 200
                || resp.status == 400
                || entry.expected.contains(&resp.status)
            {
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
