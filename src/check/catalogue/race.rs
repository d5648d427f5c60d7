//! `race.*`: rules that hold only if the deployment's check and write are one atomic step, seen
//! by releasing the same submission `--race-width` times at once ([`crate::check::burst`]).
//!
//! - `race.code.single_use`: one right code completes recovery at most once. Kratos up to
//!   v26.2.0 read the code as unused, then marked it used without a guard, so on READ COMMITTED
//!   databases (PostgreSQL, MySQL) two concurrent submissions could both succeed and both get a
//!   session (HackerOne #3692149; fixed by ory/kratos commit 6ce2bd861, "make one-time secret
//!   consumption atomic", whose regression test releases 16 consumers at once, as here).
//! - `race.brute_force.limit`: wrong codes at once are judged at most `--max-submissions` times,
//!   and the right code afterwards is refused (ory/kratos #4251 made the submit count an atomic
//!   increment before anything else; before v25.4.0 it was checked inside each transaction).
//!
//! SQLite serializes writes, so the races cannot show there; what SQLite does instead (`database
//! is locked`: a 400 whose `error.code` is 500, or no answer for many seconds) is reported in the
//! evidence and never judged: a race check judges only the answers that say something about the
//! rule.

use crate::check::burst::Burst;
use crate::check::client::{Exchange, TransportKind};
use crate::check::judge::scenario;
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::Ctx;
use crate::check::race_probes::{code_race, guess_race, Trial};
use crate::check::security_probes::{judged_on, redirect_flow};
use crate::report::{Effect, Evidence, Level, RuleSource};
use serde_json::Value;
use std::time::Duration;

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "race.code.single_use",
        title: "One code, submitted many times at once, recovers once",
        operation: Operation::Update,
        rule: "in each of --race-trials trials (a fresh flow, --known-email submitted, its code read from the code source), --race-width submissions of that code released together, one connection each, give at most one success (422 browser_location_change_required, or 200 passed_challenge with continue_with); 5xx answers, Kratos's `database is locked` (a 400 whose error.code is 500) and requests with no answer within --timeout are reported, not judged (ory/kratos 6ce2bd861, HackerOne #3692149)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[
            Effect::CreatesFlows,
            Effect::SendsMail,
            Effect::ConsumesCode,
            Effect::ChangesIdentity,
        ],
        requires: &["recover.right_code"],
        needs: Needs::Nothing,
        // After the checks that run concurrently: the bursts' writes must meet no others.
        phase: Phase::Final,
        judge: single_use,
        fault: "racy_code_use",
    },
    Check {
        id: "race.brute_force.limit",
        title: "Wrong codes at once are judged no more often than the limit allows",
        operation: Operation::Update,
        rule: "--race-width wrong codes released together on one flow of --known-email are judged (200 on the flow, 4060006) at most --max-submissions times (Kratos's selfservice.methods.code.config.max_submissions), and once the limit is reached the flow's right code, submitted afterwards, is refused; 5xx answers, `database is locked` and requests with no answer are reported, not judged (ory/kratos #4251)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        // The right code submitted last is refused by a deployment that keeps the rule: nothing
        // is used up (its prerequisite recover.right_code declares its own recovery).
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["brute_force.limit", "recover.right_code"],
        needs: Needs::Nothing,
        phase: Phase::Final,
        judge: brute_force_limit,
        fault: "racy_attempt_count",
    },
];

/// What an answer in a burst says about the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The code recovered the account.
    Success,
    /// A wrong code was judged on the flow (200, the flow itself).
    Judged,
    /// Refused: a redirect to another flow, or a 4xx with a 4xx error.
    Refused,
    /// A 5xx, or a 4xx whose error says 500 (Kratos's `database is locked`), or a broken
    /// connection: the deployment failed, which says nothing about the rule.
    Trouble,
    /// No answer within `--timeout`: the deployment was slow.
    Silent,
}

fn error_code(ex: &Exchange) -> Option<u64> {
    ex.json()?.pointer("/error/code")?.as_u64()
}

fn classify(ex: &Exchange, flow: &str) -> Answer {
    match &ex.outcome {
        Err(t) if t.kind == TransportKind::Timeout => return Answer::Silent,
        Err(_) => return Answer::Trouble,
        Ok(_) => {}
    }
    if super::recover::success(ex).is_some() {
        return Answer::Success;
    }
    if judged_on(ex, flow) {
        return Answer::Judged;
    }
    let status = ex.status().unwrap_or(0);
    if status >= 500 || error_code(ex).is_some_and(|c| c >= 500) {
        Answer::Trouble
    } else {
        Answer::Refused
    }
}

/// How an answer is counted in the tallies: its status, with what matters beside it.
fn label(ex: &Exchange) -> String {
    match &ex.outcome {
        Ok(resp) => match error_code(ex) {
            Some(code) if code >= 500 && resp.status < 500 => {
                format!("{} with error.code {code}", resp.status)
            }
            _ => resp.status.to_string(),
        },
        Err(t) => match t.kind {
            TransportKind::Timeout => "no answer".to_owned(),
            TransportKind::Connect => "no connection".to_owned(),
            TransportKind::Tls => "TLS failure".to_owned(),
            TransportKind::TooLarge => "body too large".to_owned(),
            TransportKind::Broken | TransportKind::Other => "broken answer".to_owned(),
        },
    }
}

/// `422 ×2, 303 ×14`, in order of first appearance.
fn tally<'a>(exchanges: impl IntoIterator<Item = &'a Exchange>) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for ex in exchanges {
        let l = label(ex);
        match counts.iter_mut().find(|(k, _)| *k == l) {
            Some((_, n)) => *n += 1,
            None => counts.push((l, 1)),
        }
    }
    counts
        .iter()
        .map(|(l, n)| format!("{l} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn micros(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

/// How closely the bursts were released: median and worst spread.
fn spreads(bursts: &[&Burst]) -> String {
    let mut s: Vec<Duration> = bursts.iter().map(|b| b.spread).collect();
    s.sort();
    match (s.get(s.len() / 2), s.last()) {
        (Some(median), Some(max)) if s.len() > 1 => {
            format!(
                "released within {} (median), {} at most",
                micros(*median),
                micros(*max)
            )
        }
        (Some(one), _) => format!("released within {}", micros(*one)),
        _ => String::new(),
    }
}

/// The probability that a race showing in a share `rate` of trials goes unseen in `trials`.
fn unseen(rate: f64, trials: usize) -> f64 {
    (1.0 - rate).powi(i32::try_from(trials).unwrap_or(i32::MAX))
}

/// What was reported but not judged, or an empty string.
fn not_judged(answers: &[(Answer, &Exchange)], timeout: Duration) -> String {
    let trouble = answers
        .iter()
        .filter(|(a, _)| *a == Answer::Trouble)
        .count();
    let slow = answers.iter().filter(|(a, _)| *a == Answer::Silent).count();
    let mut parts = Vec::new();
    if trouble > 0 {
        parts.push(format!(
            "{trouble} answer(s) were 5xx, a 400 whose error.code is 500 (Kratos's `database is locked`) or broken: the deployment failed, which says nothing of the rule"
        ));
    }
    if slow > 0 {
        parts.push(format!(
            "{slow} request(s) got no answer within --timeout {}: the deployment was slow under concurrency (SQLite stalls so), not wrong",
            humantime::format_duration(timeout)
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" Not judged: {}.", parts.join("; "))
    }
}

fn with_all(mut v: Verdict, evidence: impl IntoIterator<Item = Evidence>) -> Verdict {
    for ev in evidence {
        v = v.with(ev);
    }
    v
}

/// Trials shown one by one in a detail (the rest are counted).
const SHOWN_TRIALS: usize = 4;
/// Exchanges given as evidence at most (each with its `curl` line).
const SHOWN_EVIDENCE: usize = 8;

fn describe_trial(t: &Trial, successes: usize) -> String {
    format!(
        "trial {}: {successes} successes of {} ({}; {})",
        t.number,
        t.burst.exchanges.len(),
        tally(&t.burst.exchanges),
        spreads(&[&t.burst])
    )
}

fn single_use(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = code_race(ctx).await;
        let race = scenario(&out)?;
        let timeout = ctx.cfg.timeout;
        let judged: Vec<(&Trial, Vec<(Answer, &Exchange)>)> = race
            .trials
            .iter()
            .map(|t| {
                let answers = t
                    .burst
                    .exchanges
                    .iter()
                    .map(|ex| (classify(ex, &t.flow), ex))
                    .collect();
                (t, answers)
            })
            .collect();
        let successes = |answers: &[(Answer, &Exchange)]| {
            answers
                .iter()
                .filter(|(a, _)| *a == Answer::Success)
                .count()
        };
        let n = race.trials.len();
        let all: Vec<(Answer, &Exchange)> =
            judged.iter().flat_map(|(_, a)| a.iter().copied()).collect();
        let bursts: Vec<&Burst> = race.trials.iter().map(|t| &t.burst).collect();
        let stopped = race
            .stopped
            .as_ref()
            .map(|why| format!(" Only {n} of {} trials ran: {why}.", race.planned))
            .unwrap_or_default();
        let doubles: Vec<&(&Trial, Vec<(Answer, &Exchange)>)> =
            judged.iter().filter(|(_, a)| successes(a) > 1).collect();
        if !doubles.is_empty() {
            let shown: Vec<String> = doubles
                .iter()
                .take(SHOWN_TRIALS)
                .map(|(t, a)| describe_trial(t, successes(a)))
                .collect();
            let more = doubles.len().saturating_sub(SHOWN_TRIALS);
            let rate = doubles.len() as f64 / n as f64;
            let detail = format!(
                "one code recovered the account more than once: {} of {n} trials had two or more successes for one code, each a session of its own ({}{}). A double success in {} of {n} trials is a per-trial rate of about {:.0} %: {} trials miss it with probability {:.1} %. The check and the write of the code are not one atomic step (Kratos up to v26.2.0; fixed by ory/kratos 6ce2bd861, HackerOne #3692149). Kratos version: {}. Codes read from {}.{}{stopped}",
                doubles.len(),
                shown.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                },
                doubles.len(),
                rate * 100.0,
                race.planned,
                unseen(rate, race.planned) * 100.0,
                race.version,
                race.source,
                not_judged(&all, timeout)
            );
            let evidence = doubles
                .iter()
                .flat_map(|(_, a)| {
                    a.iter()
                        .filter(|(ans, _)| *ans == Answer::Success)
                        .map(|(_, ex)| ex.evidence())
                })
                .take(SHOWN_EVIDENCE);
            return Ok(with_all(Verdict::fail(detail), evidence));
        }
        let single = judged.iter().filter(|(_, a)| successes(a) == 1).count();
        if single == 0 {
            return Ok(Verdict::skip(format!(
                "the race could not be judged: no submission of the right code succeeded in any of {n} trial(s) ({}).{}{stopped}",
                tally(all.iter().map(|(_, ex)| *ex)),
                not_judged(&all, timeout)
            )));
        }
        Ok(Verdict::pass(format!(
            "{n} trial(s) of {} submissions of one right code at once ({}): at most one success in every trial ({single} with exactly one, {} with none). A race that shows in 1 trial of 4 goes unseen in {n} trials with probability {:.1} %. Kratos version: {}. Codes read from {}.{}{stopped}",
            ctx.cfg.race_width,
            spreads(&bursts),
            n - single,
            unseen(0.25, n) * 100.0,
            race.version,
            race.source,
            not_judged(&all, timeout)
        )))
    })
}

fn message_ids(ex: &Exchange) -> Vec<String> {
    ex.json()
        .and_then(|b| b.pointer("/ui/messages"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("id").map(Value::to_string))
        .collect()
}

fn brute_force_limit(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = guess_race(ctx).await;
        let race = scenario(&out)?;
        let max = ctx.cfg.max_submissions;
        let answers: Vec<(Answer, &Exchange)> = race
            .burst
            .exchanges
            .iter()
            .map(|ex| (classify(ex, &race.flow), ex))
            .collect();
        let count = |want: Answer| answers.iter().filter(|(a, _)| *a == want).count();
        let (judged, refused) = (count(Answer::Judged), count(Answer::Refused));
        let width = answers.len();
        let released = spreads(&[&race.burst]);
        let messages = {
            let mut ids: Vec<String> = answers
                .iter()
                .filter(|(a, _)| *a == Answer::Judged)
                .flat_map(|(_, ex)| message_ids(ex))
                .collect();
            ids.sort();
            ids.dedup();
            ids.join(", ")
        };
        let not_judged = not_judged(&answers, ctx.cfg.timeout);
        if judged > max {
            let evidence = answers
                .iter()
                .filter(|(a, _)| *a == Answer::Judged)
                .map(|(_, ex)| ex.evidence())
                .take(SHOWN_EVIDENCE);
            return Ok(with_all(
                Verdict::fail(format!(
                    "{width} wrong codes released at once ({released}) on flow {}: {judged} were judged (200 on the flow, messages [{messages}]), more than --max-submissions {max}: the deployment counts the submissions without an atomic increment, so concurrent guesses get past its limit (ory/kratos #4251). All answers: {}.{not_judged}",
                    race.flow,
                    tally(answers.iter().map(|(_, ex)| *ex)),
                )),
                evidence,
            ));
        }
        if judged == 0 && refused == 0 {
            return Ok(Verdict::skip(format!(
                "the burst of {width} wrong codes got no answer that says anything of the limit ({}).{not_judged}",
                tally(answers.iter().map(|(_, ex)| *ex))
            )));
        }
        let reached = judged >= max || refused > 0;
        let right = &race.right;
        let right_said = match (right.status(), redirect_flow(right)) {
            (Some(303), Some(new)) if new != race.flow => format!("303 to a new flow {new}"),
            _ => right.describe(),
        };
        if let Some(how) = super::recover::success(right) {
            if reached {
                return Ok(Verdict::fail(format!(
                    "after {width} wrong codes at once ({judged} judged, {refused} refused), the flow's right code still recovered the account ({how}): the limit of {max} submissions was not enforced for it.{not_judged}"
                ))
                .with(right.evidence()));
            }
            return Ok(Verdict::pass(format!(
                "{width} wrong codes released at once ({released}): {judged} judged, {refused} refused, none beyond the limit of {max}; the limit was not reached, so the right code's success afterwards is not judged.{not_judged}"
            )));
        }
        Ok(Verdict::pass(format!(
            "{width} wrong codes released at once ({released}): {judged} judged (at most --max-submissions {max}; messages [{messages}]), {refused} refused ({}); the right code afterwards was refused: {right_said}. Codes read from {}.{not_judged}",
            tally(
                answers
                    .iter()
                    .filter(|(a, _)| *a == Answer::Refused)
                    .map(|(_, ex)| *ex)
            ),
            race.source
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_trials_miss_a_race_of_one_in_four_about_once_in_a_hundred() {
        // 0.75^16 = 1.0023 %: the contract's default 16 trials detect it with 98.998 %; 17
        // would pass 99 %.
        assert!((unseen(0.25, 16) - 0.010_023).abs() < 1e-6);
        assert!(unseen(0.25, 17) < 0.01);
        assert_eq!(unseen(0.0, 16), 1.0);
    }

    #[test]
    fn microseconds_and_milliseconds_read_well() {
        assert_eq!(micros(Duration::from_micros(52)), "52 µs");
        assert_eq!(micros(Duration::from_micros(1500)), "1.5 ms");
    }
}
