//! What a check is, as data: its stable id, [`Operation`], [`Level`], [`Effect`]s, rule and
//! [`RuleSource`], prerequisites, the inputs it [`Needs`], its [`Phase`] and its judging function
//! ([`JudgeFn`]), which returns a [`Verdict`] with evidence. The catalogue files (`catalogue/<first id
//! segment>.rs`) are lists of [`Check`] items; the runner and the report read them.

use super::probes::Ctx;
use crate::report::{CheckResult, Effect, Evidence, Level, RuleSource, Status};
use futures::future::LocalBoxFuture;
use std::time::Duration;

/// The operation a check exercises; reports group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /self-service/recovery/api`.
    CreateNative,
    /// `GET /self-service/recovery/browser`.
    CreateBrowser,
    /// `GET /self-service/recovery/flows?id=`.
    GetFlow,
    /// `POST /self-service/recovery?flow=`.
    Update,
    /// Every operation (rules about every response of the run).
    Any,
}

impl Operation {
    /// The operation id of the OpenAPI document.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateNative => "createNativeRecoveryFlow",
            Operation::CreateBrowser => "createBrowserRecoveryFlow",
            Operation::GetFlow => "getRecoveryFlow",
            Operation::Update => "updateRecoveryFlow",
            Operation::Any => "allOperations",
        }
    }
}

/// What a check needs beyond the target; without it, it is skipped with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing.
    Nothing,
    /// `--session-token`.
    SessionToken,
    /// `--session-cookie`.
    SessionCookie,
    /// `--fuzz-cases` above 0.
    FuzzCases,
}

/// When a check is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// With the others, concurrently.
    Main,
    /// After every main check: it judges the exchanges of the whole run.
    Final,
    /// After every other check, the [`Phase::Final`] scenarios included: it reads every
    /// exchange the run sent.
    Last,
}

/// The verdict of a judging function.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The rule holds.
    Passed {
        /// What was seen.
        detail: String,
        /// Supporting exchanges.
        evidence: Vec<Evidence>,
    },
    /// The rule is broken (or could not be checked because the target did not answer).
    Failed {
        /// Expected, seen, where.
        detail: String,
        /// The exchanges to blame.
        evidence: Vec<Evidence>,
    },
    /// Not judged, with the reason.
    Skipped {
        /// Why.
        reason: String,
    },
    /// The run could not establish a verdict: the target gave no answer even to the request
    /// sent alone. Not a broken rule, but it fails the run.
    Error {
        /// What happened.
        detail: String,
        /// The exchanges involved.
        evidence: Vec<Evidence>,
    },
    /// A generated failure that did not reproduce when replayed (a transient 500 under
    /// concurrency, such as SQLite's `database is locked`): reported as a warning with the
    /// original request, so that the verdict does not depend on `--concurrency`.
    Flaky {
        /// What happened, and what the replay answered.
        detail: String,
        /// The original request first, then the replay.
        evidence: Vec<Evidence>,
    },
}

impl Verdict {
    /// Passed with a detail.
    pub fn pass(detail: impl Into<String>) -> Self {
        Verdict::Passed {
            detail: detail.into(),
            evidence: Vec::new(),
        }
    }
    /// Failed with a detail.
    pub fn fail(detail: impl Into<String>) -> Self {
        Verdict::Failed {
            detail: detail.into(),
            evidence: Vec::new(),
        }
    }
    /// Skipped with a reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Verdict::Skipped {
            reason: reason.into(),
        }
    }
    /// Adds evidence.
    pub fn with(mut self, ev: Evidence) -> Self {
        if let Verdict::Passed { evidence, .. }
        | Verdict::Failed { evidence, .. }
        | Verdict::Error { evidence, .. }
        | Verdict::Flaky { evidence, .. } = &mut self
        {
            evidence.push(ev);
        }
        self
    }
}

/// A step of judging: `Err` ends the check early with that verdict (usually a failure).
pub type Step<T> = Result<T, Verdict>;

/// What a judging function returns (`Err` and `Ok` are both verdicts; `Err` allows `?`).
pub type Judged<'a> = LocalBoxFuture<'a, Step<Verdict>>;

/// A judging function.
pub type JudgeFn = for<'a> fn(&'a Ctx) -> Judged<'a>;

/// One check of the catalogue, declared as a struct literal: every field is named and none has a
/// default, so a check cannot leave out its level or its effects.
#[derive(Clone, Copy)]
pub struct Check {
    /// Stable dotted id; the first segment is the file under `catalogue/`.
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// The operation exercised.
    pub operation: Operation,
    /// The rule, in words.
    pub rule: &'static str,
    /// Where the rule comes from.
    pub source: RuleSource,
    /// How binding the rule is: `Required` (the spec or its prose) fails the run,
    /// `Recommended` (Kratos practice, hardening) is a warning unless `--strict`.
    pub level: Level,
    /// What its requests do to a deployment that keeps the rule, counting every exchange it
    /// reads (shared probes and scenarios included, whichever check sends them first); its
    /// prerequisites declare their own. `&[]`: it only reads, or is refused.
    pub effects: &'static [Effect],
    /// Checks that must pass first (otherwise this one is skipped, naming them).
    pub requires: &'static [&'static str],
    /// Inputs without which it is skipped.
    pub needs: Needs,
    /// When it is judged.
    pub phase: Phase,
    /// The judging function.
    pub judge: JudgeFn,
    /// The broken variant of the reference server that proves this check can fail: a fault
    /// of that name in `src/testing/`, whose row in `tests/check_faults_table.in` fails this
    /// check (`tests/check_faults.rs` holds each check to it).
    pub fault: &'static str,
}

impl Check {
    /// Whether `monitor` may run it: it creates flows at most (no mail, no code used, no
    /// identity changed, no wait for expiry).
    pub fn production_safe(&self) -> bool {
        self.effects.iter().all(|e| *e == Effect::CreatesFlows)
    }

    /// This check's line of a report: its declaration with what judging it came to. The one
    /// place a [`CheckResult`] is made from a check (the runner's verdicts, and `monitor`'s run
    /// that got no verdict at all).
    pub fn result(
        &self,
        status: Status,
        detail: String,
        evidence: Vec<Evidence>,
        duration: Duration,
    ) -> CheckResult {
        CheckResult {
            id: self.id.to_owned(),
            title: self.title.to_owned(),
            operation: self.operation.name().to_owned(),
            rule: self.rule.to_owned(),
            source: self.source,
            level: self.level,
            effects: self.effects.to_vec(),
            status,
            detail,
            evidence,
            duration,
        }
    }
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
