//! One monitor run: the conformance runner on the suite, bounded by the deadline, and what it
//! becomes for the metrics and `/last-run.json` ([`Finished`]): always a complete report, even
//! when the run could not be carried out (every check then says why, as an error), so the
//! exported state never keeps an earlier run's verdict.

use super::suite::Suite;
use crate::check::client::{Exchange, TransportKind};
use crate::check::probes::{paths, Variant};
use crate::check::runner::{flow_seen, ExchangeSink, ReleaseGuess};
use crate::check::{RunConfig, RunOptions};
use crate::report::{RunReport, Status};
use crate::schema::Schemas;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after `--deadline` a run that has not returned is abandoned. The runner itself stops
/// waiting at the deadline; this bounds whatever it does after.
pub const ABANDON_AFTER_DEADLINE: Duration = Duration::from_secs(2);

/// What a run came to (the `outcome` label of `recovery_harness_runs_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    /// No required check failed, every check got its answers (warnings allowed).
    Passed,
    /// A required check failed.
    Failed,
    /// The run could not get answers: the target was unreachable, hung or refused every request.
    Error,
    /// The run reached `--deadline` before every check was judged.
    Deadline,
}

impl RunOutcome {
    /// Every outcome, for series that exist from the start.
    pub const ALL: [RunOutcome; 4] = [
        RunOutcome::Passed,
        RunOutcome::Failed,
        RunOutcome::Error,
        RunOutcome::Deadline,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Passed => "passed",
            RunOutcome::Failed => "failed",
            RunOutcome::Error => "error",
            RunOutcome::Deadline => "deadline",
        }
    }
}

/// The operation a request exercised (the `operation` label of the probe metrics): the
/// operation ids of the OpenAPI document, or `undeclared` for a method or path it does not
/// declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeOperation {
    /// `GET /self-service/recovery/api`.
    CreateNative,
    /// `GET /self-service/recovery/browser`.
    CreateBrowser,
    /// `GET /self-service/recovery/flows`.
    GetFlow,
    /// `POST /self-service/recovery`.
    Update,
    /// Anything else (the undeclared method and path).
    Undeclared,
}

impl ProbeOperation {
    /// The operation of a request, from its method and the end of its path (the target's
    /// prefix comes before).
    pub fn of(method: &reqwest::Method, path: &str) -> ProbeOperation {
        let get = method == reqwest::Method::GET;
        if get && path.ends_with(paths::CREATE_NATIVE) {
            ProbeOperation::CreateNative
        } else if get && path.ends_with(paths::CREATE_BROWSER) {
            ProbeOperation::CreateBrowser
        } else if get && path.ends_with(paths::GET_FLOW) {
            ProbeOperation::GetFlow
        } else if method == reqwest::Method::POST && path.ends_with(paths::UPDATE) {
            ProbeOperation::Update
        } else {
            ProbeOperation::Undeclared
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        use crate::check::Operation;
        match self {
            ProbeOperation::CreateNative => Operation::CreateNative.name(),
            ProbeOperation::CreateBrowser => Operation::CreateBrowser.name(),
            ProbeOperation::GetFlow => Operation::GetFlow.name(),
            ProbeOperation::Update => Operation::Update.name(),
            ProbeOperation::Undeclared => "undeclared",
        }
    }
}

/// How a request was answered (the `answer` label of `recovery_harness_probes_total`): a status
/// class, or the transport failure that stood for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// 1xx or 2xx.
    Success,
    /// 3xx.
    Redirect,
    /// 4xx.
    ClientError,
    /// 5xx.
    ServerError,
    /// No complete answer within `--timeout`.
    Timeout,
    /// Connection refused or unreachable, or TLS refused.
    Connect,
    /// The connection broke, or the body was larger than `--max-body-size`.
    Broken,
}

impl Answer {
    fn of(ex: &Exchange) -> Answer {
        match &ex.outcome {
            Ok(r) if r.status < 300 => Answer::Success,
            Ok(r) if r.status < 400 => Answer::Redirect,
            Ok(r) if r.status < 500 => Answer::ClientError,
            Ok(_) => Answer::ServerError,
            Err(t) => match t.kind {
                TransportKind::Timeout => Answer::Timeout,
                TransportKind::Connect | TransportKind::Tls => Answer::Connect,
                TransportKind::Broken | TransportKind::TooLarge | TransportKind::Other => {
                    Answer::Broken
                }
            },
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Success => "2xx",
            Answer::Redirect => "3xx",
            Answer::ClientError => "4xx",
            Answer::ServerError => "5xx",
            Answer::Timeout => "timeout",
            Answer::Connect => "connect",
            Answer::Broken => "broken",
        }
    }
}

/// One request of a run, as the probe metrics count it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Its operation.
    pub operation: ProbeOperation,
    /// How it was answered.
    pub answer: Answer,
    /// From sending to the end of the body (or the failure), in seconds.
    pub seconds: f64,
}

/// A finished (or abandoned) run, ready to be exported.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The report: every check of the suite, with a status.
    pub report: RunReport,
    /// What the run came to.
    pub outcome: RunOutcome,
    /// Its wall time.
    pub duration: Duration,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Its requests.
    pub samples: Vec<Sample>,
    /// The flow variant and Kratos release it saw (`None`: no flow was created).
    pub flow: Option<(Variant, Option<ReleaseGuess>)>,
}

/// Runs `suite` once with `template` (a fresh fuzz seed each run), never longer than its
/// deadline and [`ABANDON_AFTER_DEADLINE`].
pub async fn run_once(template: &RunConfig, suite: &Suite, schemas: Arc<Schemas>) -> Finished {
    let mut config = template.clone();
    config.seed = rand::random();
    let deadline = config.deadline;
    let seed = config.seed;
    let fuzz = config.fuzz_cases;
    let sink = ExchangeSink::default();
    let options = RunOptions {
        progress: None,
        checks: Some(suite.checks.clone()),
        exchanges: Some(sink.clone()),
    };
    let started_at = Utc::now();
    let start = Instant::now();
    let result = tokio::time::timeout(
        deadline + ABANDON_AFTER_DEADLINE,
        crate::check::run(config, schemas, options),
    )
    .await;
    let duration = start.elapsed();
    let exchanges = sink.lock().map(|l| l.clone()).unwrap_or_default();
    let shown = shown_target(template);
    let suite_note = format!(
        "monitor: the {} checks that are safe for production (no mail, no identity changed){}",
        suite.checks.len(),
        if fuzz > 0 {
            format!(", property-based probing with {fuzz} cases, seed {seed}")
        } else {
            String::new()
        }
    );
    let ran = match result {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(err)) => Err((
            format!(
                "the run could not be carried out: {}",
                crate::causes::render(&err)
            ),
            RunOutcome::Error,
        )),
        Err(_) => Err((
            format!(
                "the run was abandoned: no result {} after --deadline {}",
                humantime::format_duration(ABANDON_AFTER_DEADLINE),
                humantime::format_duration(deadline)
            ),
            RunOutcome::Deadline,
        )),
    };
    let (report, outcome) = match ran {
        Ok(mut report) => {
            report.notes.insert(0, suite_note);
            let outcome = classify(&report, duration, deadline);
            (report, outcome)
        }
        // A run without verdicts still gives a whole report: every check an error saying why.
        Err((why, outcome)) => (
            unanswered(
                template, suite, &shown, started_at, duration, suite_note, &why,
            ),
            outcome,
        ),
    };
    Finished {
        report,
        outcome,
        duration,
        finished_at: Utc::now(),
        samples: exchanges
            .iter()
            .map(|ex| Sample {
                operation: ProbeOperation::of(&ex.request.method, ex.request.url.path()),
                answer: Answer::of(ex),
                seconds: ex.elapsed.as_secs_f64(),
            })
            .collect(),
        flow: flow_seen(&exchanges),
    }
}

/// The target as reports and labels show it (the one redaction path; a target never carries
/// `user:password@`, `--target` refuses it).
pub fn shown_target(config: &RunConfig) -> String {
    let base = config
        .target
        .as_ref()
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    config.redactor().redact(&base)
}

fn classify(report: &RunReport, duration: Duration, deadline: Duration) -> RunOutcome {
    if duration >= deadline {
        RunOutcome::Deadline
    } else if report.checks.iter().any(|c| c.status == Status::Error) {
        RunOutcome::Error
    } else if report.checks.iter().any(|c| c.status == Status::Failed) {
        RunOutcome::Failed
    } else {
        RunOutcome::Passed
    }
}

/// A report for a run without verdicts: every check an error saying why.
fn unanswered(
    config: &RunConfig,
    suite: &Suite,
    shown: &str,
    started_at: DateTime<Utc>,
    duration: Duration,
    suite_note: String,
    why: &str,
) -> RunReport {
    let why = config.redactor().redact(why);
    RunReport {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        target: shown.to_owned(),
        embedded_target: false,
        insecure: config.insecure,
        strict: false,
        started_at,
        duration,
        notes: vec![suite_note, why.clone()],
        checks: suite
            .checks
            .iter()
            .map(|c| c.result(Status::Error, why.clone(), Vec::new(), Duration::ZERO))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    #[test]
    fn requests_are_labelled_by_operation_under_any_prefix() {
        let cases = [
            (
                Method::GET,
                "/auth/self-service/recovery/api",
                "createNativeRecoveryFlow",
            ),
            (
                Method::GET,
                "/self-service/recovery/browser",
                "createBrowserRecoveryFlow",
            ),
            (
                Method::GET,
                "/self-service/recovery/flows",
                "getRecoveryFlow",
            ),
            (Method::POST, "/self-service/recovery", "updateRecoveryFlow"),
            (Method::DELETE, "/self-service/recovery/api", "undeclared"),
            (
                Method::GET,
                "/self-service/recovery/recovery-harness-undeclared",
                "undeclared",
            ),
        ];
        for (method, path, label) in cases {
            assert_eq!(
                ProbeOperation::of(&method, path).as_str(),
                label,
                "{method} {path}"
            );
        }
    }
}
