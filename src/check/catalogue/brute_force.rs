//! `brute_force.*`: a flow stops taking code guesses after Kratos's limit
//! (`selfservice.methods.code.config.max_submissions`, default 5; docs/kratos-behaviour.md
//! §5.4 B, Kratos `persistence/sql/persister_code.go`): the next submission is not judged on the
//! same flow (Kratos answers 303 to a new flow carrying 4000001).

use crate::check::judge::scenario;
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::Ctx;
use crate::check::security_probes::{brute_force, judged_on, redirect_flow};
use crate::report::{Effect, Level, RuleSource};

/// The checks of this file.
pub const CHECKS: &[Check] = &[Check {
    id: "brute_force.limit",
    title: "Code guesses stop after Kratos's limit",
    operation: Operation::Update,
    rule: "after --max-submissions wrong codes on one flow (5: Kratos's default selfservice.methods.code.config.max_submissions), the next submission is not judged on that flow: Kratos answers 303 to a new flow (§5.4 B); a deployment that keeps answering the same flow keeps taking guesses",
    source: RuleSource::ObservedKratos,
    level: Level::Required,
    effects: &[Effect::CreatesFlows, Effect::SendsMail],
    requires: &["update.wrong_code.200"],
    needs: Needs::Nothing,
    phase: Phase::Main,
    judge: limit,
    fault: "guesses_unlimited",
}];

fn limit(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = brute_force(ctx).await;
        let s = scenario(&out)?;
        let Some(last) = s.guesses.last() else {
            return Ok(Verdict::skip("no guess was submitted"));
        };
        let n = s.guesses.len();
        if judged_on(last, &s.flow) {
            return Ok(Verdict::fail(format!(
                "the flow took {n} wrong codes and judged every one of them (the {n}th answered {} on the same flow); the limit is --max-submissions {}",
                last.describe(),
                ctx.cfg.max_submissions
            ))
            .with(last.evidence()));
        }
        let how = match (last.status(), redirect_flow(last)) {
            (Some(303), Some(new)) if new != s.flow => format!("303 to a new flow {new}"),
            // A rate limit or another refusal also stops the guessing.
            (Some(status @ 400..=499), _) => format!("refused with {status}"),
            _ => {
                return Ok(Verdict::fail(format!(
                    "submission {n} was neither judged nor refused: expected a 303 to a new flow (Kratos) or a 4xx refusal, got {}",
                    last.describe()
                ))
                .with(last.evidence()))
            }
        };
        Ok(Verdict::pass(format!(
            "{} wrong codes were judged; submission {n} was not judged on the flow: {how}",
            n - 1
        )))
    })
}
