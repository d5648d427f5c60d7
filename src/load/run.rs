//! Running a checked [`Plan`]: the report directory prepared ([`Reports`]), the target (the
//! in-process reference server, or `--target` probed once), the Goose attack executed with the
//! live progress line, and the summary handed to [`super::summary`].

use super::plan::Plan;
use super::reports::Reports;
use super::steps::{LiveStats, Shared};
use super::summary::{self, RunFacts};
use super::{console, flag, goose_error, redact_url, LoadError, TargetSpec, EMBEDDED_MAX_FLOWS};
use crate::exit::Outcome;
use crate::report::load_summary::{self, LoadSummary};
use crate::schema::Schemas;
use std::sync::Arc;
use std::time::Duration;

/// Sends one request to `url` to learn whether anything answers there (any HTTP status will do).
async fn probe(
    what: &'static str,
    url: &str,
    timeout: Duration,
    insecure: bool,
) -> Result<(), LoadError> {
    let unreachable = |reason: String| LoadError::Unreachable {
        what,
        url: redact_url(url),
        reason,
    };
    crate::tls::install_default_provider();
    let client = reqwest::Client::builder()
        .timeout(timeout.min(Duration::from_secs(10)))
        .tls_danger_accept_invalid_certs(insecure)
        .build()
        .map_err(|e| unreachable(crate::causes::render(&e)))?;
    client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map(drop)
        .map_err(|e| unreachable(crate::causes::render(&e)))
}

/// Runs a checked plan: starts or probes the target, runs the Goose attack, writes the reports
/// and prints the summary. Returns the verdict and the summary written.
pub async fn run(plan: &Plan, schemas: Arc<Schemas>) -> Result<(Outcome, LoadSummary), LoadError> {
    // Goose builds one reqwest client per user.
    crate::tls::install_default_provider();
    let reports = Reports::prepare(&plan.report_dir, plan.baseline.as_ref())?;

    let mut embedded = None;
    let target = match &plan.target {
        TargetSpec::External(url) => Target {
            base: url.clone(),
            kind: "external",
            session_token: None,
            admin: None,
        },
        TargetSpec::Embedded => {
            let server = crate::server::spawn(crate::server::ServerConfig {
                max_flows: EMBEDDED_MAX_FLOWS,
                ..crate::server::ServerConfig::default()
            })
            .await?;
            let target = Target {
                base: server.base_url().to_owned(),
                kind: "embedded",
                session_token: Some(server.session_token().to_owned()),
                admin: Some(server.admin_url().to_owned()),
            };
            embedded = Some(server);
            target
        }
    };
    let result = attack(plan, schemas, &reports, target).await;
    if result.is_err() {
        reports.discard();
    }
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    result
}

/// Where the attack goes, once the target is up.
struct Target {
    base: String,
    /// `embedded` or `external`.
    kind: &'static str,
    /// The embedded server's own session token.
    session_token: Option<String>,
    /// The embedded server's admin API.
    admin: Option<String>,
}

fn announce(plan: &Plan, target: &Target, shown_target: &str) {
    if plan.quiet {
        return;
    }
    if target.kind == "embedded" {
        crate::say!(
            "no --target: started the reference server in-process at {shown_target} (ephemeral loopback port)"
        );
    }
    let thresholds = if plan.thresholds.is_empty() {
        String::new()
    } else {
        let rules: Vec<&str> = plan.thresholds.iter().map(|(r, _)| r.as_str()).collect();
        format!(", thresholds {}", rules.join(" "))
    };
    crate::say!(
        "load: scenario {} against {shown_target}: {} users, hatch rate {}/s, {}s, validate {}{thresholds}",
        plan.scenario.name,
        plan.users,
        plan.hatch_rate,
        plan.duration_s,
        plan.validate,
    );
}

async fn attack(
    plan: &Plan,
    schemas: Arc<Schemas>,
    reports: &Reports,
    target: Target,
) -> Result<(Outcome, LoadSummary), LoadError> {
    let base = target.base.as_str();
    let shown_target = redact_url(base);
    announce(plan, &target, &shown_target);

    probe(
        "target",
        &format!("{base}/self-service/recovery/api"),
        plan.timeout,
        plan.insecure,
    )
    .await?;
    let admin_base = plan
        .admin_url
        .clone()
        .or(target.admin)
        .unwrap_or_else(|| base.to_owned());
    let mailpit = match &plan.mailpit_url {
        Some(url) if plan.scenario.reads_courier() => Some(
            mailpit_codes(plan, url)
                .await
                .map_err(|e| flag("--mailpit-url", e.to_string()))?,
        ),
        _ => None,
    };
    if plan.scenario.reads_courier() && mailpit.is_none() {
        probe(
            "admin API",
            &format!("{admin_base}/admin/courier/messages"),
            plan.timeout,
            plan.insecure,
        )
        .await?;
    }

    // The embedded server only knows its own sessions: a token from the flag or the environment
    // would turn signed-in-rejection into 100% errors against a faithful server (as for `check`).
    if target.session_token.is_some() && plan.session_token.is_some() && !plan.quiet {
        crate::say!(
            "note: --session-token / RECOVERY_HARNESS_SESSION_TOKEN is not used without --target: the embedded server's own session is"
        );
    }
    let token = target
        .session_token
        .or_else(|| plan.session_token.clone())
        .and_then(|t| reqwest::header::HeaderValue::from_str(&t).ok());
    let stats = Arc::new(LiveStats::default());
    let shared = Arc::new(
        Shared::new(
            schemas,
            plan.validate,
            base.to_owned(),
            admin_base,
            token,
            plan.scenario.email_template().to_owned(),
            stats.clone(),
        )
        .map_err(|m| flag("--target", m))?
        .with_user_offset(plan.shard.as_ref().map_or(0, |s| s.user_offset))
        .with_mailpit(mailpit),
    );
    let attack = plan.goose_attack(base, reports, shared)?;

    if let Some(at) = plan.start_at {
        super::shard::wait_until(at, plan.quiet).await;
    }
    let started_at = chrono::Utc::now();
    let progress = (!plan.quiet).then(|| console::Progress::start(stats.clone(), plan.planned()));
    let executed = attack.execute().await;
    if let Some(p) = progress {
        p.finish();
    }
    let finished_at = chrono::Utc::now();
    let metrics = match executed {
        Ok(m) => m,
        Err(goose::GooseError::ThresholdsFailed { metrics, .. }) => *metrics.0,
        Err(e) => return Err(LoadError::Goose(goose_error(&e))),
    };

    let interrupted = super::signals::received();
    let responses = LiveStats::get(&stats.responses);
    if responses == 0 && interrupted.is_none() {
        return Err(LoadError::NoResponse {
            url: shown_target,
            requests: LiveStats::get(&stats.requests),
            transport_errors: LiveStats::get(&stats.transport_errors),
        });
    }

    reports.publish()?;
    let facts = RunFacts {
        target: shown_target,
        target_kind: target.kind,
        started_at,
        finished_at,
        stats: &stats,
        reports,
        interrupted,
    };
    let (outcome, summary) = summary::summarize(plan, &metrics, facts);
    load_summary::write(&summary, &plan.report_dir)?;
    // Our report.html replaces the engine's stock page (published above), whose charts load a
    // script from a CDN and stay empty offline.
    crate::report::write_load_html(
        &crate::report::load_report::LoadReport::from_summary(&summary, series(plan, &stats)),
        &plan.report_dir,
    )?;
    // A closed stdout (`load | head -1`) ends the output, not the process.
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(console::render(&summary, plan.quiet).as_bytes())
            .and_then(|()| out.flush());
    }
    Ok((outcome, summary))
}

/// The read-code step's Mailpit source, asked once before the run: an unreachable URL, or one
/// that answers something other than Mailpit's JSON, stops here with exit 2.
async fn mailpit_codes(
    plan: &Plan,
    url: &str,
) -> Result<super::steps::MailpitCodes, crate::codes::CodeError> {
    let source = crate::codes::CodeSource::new(
        crate::codes::SourceKind::Mailpit,
        url,
        plan.timeout.min(Duration::from_secs(10)),
    )?;
    let not_before = source.mailpit_clock().await?;
    // `Date` has whole seconds: only an offset beyond that is known, and corrected.
    let clock_offset = not_before
        .map(|t| t - chrono::Utc::now())
        .filter(|d| d.num_milliseconds().abs() > 2_000)
        .unwrap_or_default();
    Ok(super::steps::MailpitCodes {
        source,
        not_before,
        clock_offset,
        wait: plan.timeout,
    })
}

/// The per-step response-time series recorded during the run, each named by the step's request
/// key (as the summary's steps are) and in scenario order.
fn series(plan: &Plan, stats: &LiveStats) -> Vec<crate::report::load_report::StepSeries> {
    let mut recorded = stats.latency.take();
    let mut out = Vec::with_capacity(recorded.len());
    for step in &plan.scenario.steps {
        if let Some(i) = recorded.iter().position(|s| s.step == step.name) {
            let mut s = recorded.swap_remove(i);
            s.step = step.request_key();
            out.push(s);
        }
    }
    out
}
