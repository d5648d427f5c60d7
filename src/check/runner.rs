//! The runner: selects checks (`--only` plus prerequisites), judges them concurrently (each check
//! awaits its prerequisites' verdicts, shared exchanges are sent once), skips what lacks inputs or
//! a passed prerequisite, bounds everything by the overall deadline, and assembles the
//! [`RunReport`]. A run in which every request failed to connect is an error (exit 2), not a
//! report full of failures.

use super::catalogue;
use super::client::{Client, Exchange, TransportKind};
use super::config::RunConfig;
use super::error::CheckError;
use super::model::{Check, Needs, Phase, Verdict};
use super::probes::Ctx;
use crate::report::terminal::Progress;
use crate::report::{CheckResult, Level, RunReport, Status};
use crate::schema::Schemas;
use futures::future::{join_all, FutureExt, LocalBoxFuture};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::OnceCell;

/// Options of a run that are not flags.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The live progress indicator (none: no indicator).
    pub progress: Option<Progress>,
    /// The checks to run, instead of the choice of `--only` and `--skip` (`monitor` passes
    /// [`catalogue::production_safe`]); each must come with its prerequisites, or it is judged
    /// without them.
    pub checks: Option<Vec<&'static Check>>,
    /// When set, receives every exchange of the run once it is over, in the order they completed
    /// (`monitor` times its probes by operation and reads the flow variant from them).
    pub exchanges: Option<ExchangeSink>,
}

/// Where [`RunOptions::exchanges`] hands a run's exchanges.
pub type ExchangeSink = Arc<std::sync::Mutex<Vec<Exchange>>>;

struct Runner<'a> {
    ctx: &'a Ctx,
    selected: Vec<&'static Check>,
    cells: HashMap<&'static str, OnceCell<CheckResult>>,
    deadline: tokio::time::Instant,
    progress: Option<&'a Progress>,
}

impl<'a> Runner<'a> {
    /// The check's result, judged once (concurrent callers wait for the first); `None` for a
    /// check outside the selection (cannot happen: `select` adds every prerequisite).
    fn evaluate(&'a self, check: &'static Check) -> LocalBoxFuture<'a, Option<&'a CheckResult>> {
        async move {
            let cell = self.cells.get(check.id)?;
            let result = cell
                .get_or_init(|| async move {
                    let result = self.judge(check).await;
                    if let Some(p) = self.progress {
                        p.check_done(check.id);
                    }
                    result
                })
                .await;
            Some(result)
        }
        .boxed_local()
    }

    async fn judge(&'a self, check: &'static Check) -> CheckResult {
        let start = Instant::now();
        let verdict = 'verdict: {
            for dep in check.requires {
                let Some(dep_check) = self.selected.iter().find(|c| c.id == *dep) else {
                    continue;
                };
                let Some(dep_result) = self.evaluate(dep_check).await else {
                    continue;
                };
                match dep_result.status {
                    Status::Passed => {}
                    Status::Failed => {
                        break 'verdict Verdict::skip(format!("prerequisite {dep} failed"))
                    }
                    Status::Warning => {
                        break 'verdict Verdict::skip(format!(
                            "prerequisite {dep} warned (its recommended rule was broken)"
                        ))
                    }
                    Status::Error => {
                        break 'verdict Verdict::skip(format!("prerequisite {dep} got no answer"))
                    }
                    Status::Skipped => {
                        break 'verdict Verdict::skip(format!(
                            "prerequisite {dep} was skipped: {}",
                            dep_result.detail
                        ))
                    }
                }
            }
            if let Some(reason) = self.missing_input(check.needs) {
                break 'verdict Verdict::skip(reason);
            }
            match tokio::time::timeout_at(self.deadline, (check.judge)(self.ctx)).await {
                Ok(Ok(v) | Err(v)) => v,
                Err(_) => Verdict::fail(format!(
                    "the run's --deadline ({}) passed before this check got its answers",
                    humantime::format_duration(self.ctx.cfg.deadline)
                )),
            }
        };
        let redactor = self.ctx.client.redactor();
        let (status, detail, evidence) = match verdict {
            Verdict::Passed { detail, evidence } => (Status::Passed, detail, evidence),
            Verdict::Failed { detail, evidence } => match check.level {
                Level::Required => (Status::Failed, detail, evidence),
                Level::Recommended => (Status::Warning, detail, evidence),
            },
            Verdict::Skipped { reason } => (Status::Skipped, reason, Vec::new()),
            Verdict::Error { detail, evidence } => (Status::Error, detail, evidence),
            Verdict::Flaky { detail, evidence } => (Status::Warning, detail, evidence),
        };
        // Evidence is built redacted; the detail may quote a body, so redact it too.
        check.result(status, redactor.redact(&detail), evidence, start.elapsed())
    }

    fn missing_input(&self, needs: Needs) -> Option<String> {
        let cfg = &self.ctx.cfg;
        match needs {
            Needs::Nothing => None,
            Needs::SessionToken if cfg.credentials.session_token.is_none() => Some(
                "needs a signed-in session: pass --session-token TOKEN (or RECOVERY_HARNESS_SESSION_TOKEN)".to_owned(),
            ),
            Needs::SessionCookie if cfg.credentials.session_cookie.is_none() => Some(
                "needs a signed-in session cookie: pass --session-cookie NAME=VALUE (e.g. ory_kratos_session=...)".to_owned(),
            ),
            Needs::FuzzCases if cfg.fuzz_cases == 0 => Some("--fuzz-cases 0".to_owned()),
            _ => None,
        }
    }
}

/// Runs the selected checks against the configured target and returns the report.
pub async fn run(
    config: RunConfig,
    schemas: Arc<Schemas>,
    options: RunOptions,
) -> Result<RunReport, CheckError> {
    let started_at = chrono::Utc::now();
    let start = Instant::now();
    let base = config.base()?.clone();
    let shown_base = base.as_str().trim_end_matches('/').to_owned();
    let redactor = config.redactor();
    let mut client = Client::new(
        config.timeout,
        config.max_body_size,
        config.insecure,
        config.concurrency,
        redactor.clone(),
    )?;
    if config.har.is_some() || options.exchanges.is_some() {
        client = client.recording();
    }
    let selected = match options.checks {
        Some(checks) => checks,
        None => catalogue::select(&config.only, &config.skip)?,
    };
    let config = Arc::new(config);
    let ctx = Ctx::new(
        config.clone(),
        client,
        schemas,
        selected.iter().map(|c| c.id),
    );
    let runner = Runner {
        ctx: &ctx,
        cells: selected.iter().map(|c| (c.id, OnceCell::new())).collect(),
        selected: selected.clone(),
        deadline: tokio::time::Instant::now() + config.deadline,
        progress: options.progress.as_ref(),
    };
    for phase in [Phase::Main, Phase::Final, Phase::Last] {
        join_all(
            selected
                .iter()
                .filter(|c| c.phase == phase)
                .map(|c| runner.evaluate(c)),
        )
        .await;
    }
    if let Some(p) = &options.progress {
        p.finish();
    }
    if let Some(sink) = &options.exchanges {
        if let Ok(mut kept) = sink.lock() {
            *kept = ctx.client.recorded();
        }
    }

    let log = ctx.log();
    // Refused (or TLS-rejected) on every request: nothing was checked, so this is not a verdict.
    let unreachable = |l: &super::probes::Logged| matches!(&l.exchange.outcome, Err(t) if matches!(t.kind, TransportKind::Connect | TransportKind::Tls));
    if !log.is_empty() && log.iter().all(unreachable) {
        let cause = log
            .first()
            .map(|l| l.exchange.describe())
            .unwrap_or_default();
        return Err(CheckError::Unreachable {
            target: redactor.redact(&shown_base),
            cause: redactor.redact(&cause),
        });
    }

    let checks: Vec<CheckResult> = selected
        .iter()
        .filter_map(|c| runner.cells.get(c.id).and_then(OnceCell::get).cloned())
        .collect();
    let mut notes = Vec::new();
    if let Some(path) = &config.har {
        let recorded = ctx.client.recorded();
        super::har::write(path, &recorded, &redactor).map_err(|source| CheckError::Har {
            path: path.clone(),
            source,
        })?;
        notes.push(format!(
            "recorded {} exchanges as HAR 1.2 in {}",
            recorded.len(),
            path.display()
        ));
    }
    if config.embedded {
        notes.push(format!(
            "target: the embedded reference server at {shown_base} (started in-process, checked with its own session credentials)"
        ));
    }
    if config.insecure {
        notes.push("TLS certificate verification was OFF (--insecure): the target's identity was not verified".to_owned());
    }
    if checks
        .iter()
        .any(|c| c.id == "preflight.recovery_enabled" && c.status == Status::Failed)
    {
        if let Some(c) = checks.iter().find(|c| c.id == "preflight.recovery_enabled") {
            notes.push(c.detail.clone());
        }
    }
    if config.fuzz_cases > 0 && selected.iter().any(|c| c.needs == Needs::FuzzCases) {
        notes.push(format!(
            "property-based probing: {} cases per operation, seed {} (replay with --seed {})",
            config.fuzz_cases, config.seed, config.seed
        ));
    }
    if !config.only.is_empty() {
        notes.push(format!(
            "only checks matching {} (and their prerequisites)",
            config.only.join(",")
        ));
    }
    if let Some(note) = retry_note(&ctx.client) {
        notes.push(note);
    }
    if let Some(note) = variant_note(&log) {
        notes.push(note);
    }
    if config.strict {
        notes.push("--strict: warnings (failed recommended checks) fail the run".to_owned());
    }
    if !config.skip.is_empty() {
        notes.push(format!(
            "left out the checks matching --skip {}",
            config.skip.join(",")
        ));
    }
    Ok(RunReport {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        target: redactor.redact(&shown_base),
        embedded_target: config.embedded,
        insecure: config.insecure,
        strict: config.strict,
        started_at,
        duration: start.elapsed(),
        notes,
        checks,
    })
}

/// Which recovery flow variant the deployment runs, read from the first flow a creation
/// returned (every report names it: the update checks judge each variant by its own states).
fn variant_note(log: &[super::probes::Logged]) -> Option<String> {
    let (variant, release) = flow_seen(log.iter().map(|l| l.exchange.as_ref()))?;
    let mut note = format!("recovery flow variant seen: {}", variant.describe());
    if let Some(release) = release {
        note.push_str(&format!("; Kratos version: {}", release.describe()));
    }
    Some(note)
}

/// The flow variant and the Kratos release that the first flow created in `exchanges` shows;
/// `None` when no creation answered a flow.
pub fn flow_seen<'a>(
    exchanges: impl IntoIterator<Item = &'a Exchange>,
) -> Option<(super::probes::Variant, Option<ReleaseGuess>)> {
    let flow = exchanges.into_iter().find(|ex| {
        ex.status() == Some(200)
            && ex
                .request
                .url
                .path()
                .ends_with(super::probes::paths::CREATE_NATIVE)
            && ex.json().is_some_and(|b| b.get("ui").is_some())
    })?;
    Some((super::probes::Variant::of(flow), version_hint(flow)))
}

/// What a flow tells of the Kratos release. Where releases differ (docs/kratos-behaviour.md §7), the
/// checks accept each release's documented behaviour; this only says which one was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseGuess {
    /// The submit button is 1070005 "Submit", as in v1.1.
    BeforeV1_3,
    /// The submit button is 1070009 "Continue".
    V1_3OrLater,
}

impl ReleaseGuess {
    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            ReleaseGuess::BeforeV1_3 => {
                "before v1.3 (the submit button is 1070005 \"Submit\", as in v1.1)"
            }
            ReleaseGuess::V1_3OrLater => {
                "v1.3 or later (the submit button is 1070009 \"Continue\")"
            }
        }
    }
}

fn version_hint(ex: &Exchange) -> Option<ReleaseGuess> {
    let label = ex
        .json()?
        .pointer("/ui/nodes")?
        .as_array()?
        .iter()
        .find(|n| {
            n.pointer("/attributes/type")
                .and_then(serde_json::Value::as_str)
                == Some("submit")
        })?
        .pointer("/meta/label/id")?
        .as_u64()?;
    match label {
        1070005 => Some(ReleaseGuess::BeforeV1_3),
        1070009 => Some(ReleaseGuess::V1_3OrLater),
        _ => None,
    }
}

/// One note for every request that timed out under concurrency and was sent again alone.
fn retry_note(client: &Client) -> Option<String> {
    let r = client.retries();
    if r.answered.is_empty() && r.unanswered.is_empty() && r.not_retried.is_empty() {
        return None;
    }
    let n = client.concurrency();
    let list = |v: &[String]| {
        let mut shown: Vec<&str> = v.iter().map(String::as_str).take(8).collect();
        shown.dedup();
        let more = v.len().saturating_sub(8);
        format!(
            "{}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    };
    let mut parts = Vec::new();
    if !r.answered.is_empty() {
        parts.push(format!(
            "the target hung under --concurrency {n} and answered at 1: {} request(s) timed out and answered when sent again alone, and were judged on that answer ({})",
            r.answered.len(),
            list(&r.answered)
        ));
    }
    if !r.unanswered.is_empty() {
        parts.push(format!(
            "{} request(s) got no answer even alone: their checks are errors of the run, not failures ({})",
            r.unanswered.len(),
            list(&r.unanswered)
        ));
    }
    if !r.not_retried.is_empty() {
        parts.push(format!(
            "{} later timeout(s) were not retried, the target having hung alone {} times ({})",
            r.not_retried.len(),
            super::client::MAX_UNANSWERED_ALONE,
            list(&r.not_retried)
        ));
    }
    Some(parts.join("; "))
}
