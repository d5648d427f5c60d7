//! Running a checked [`Plan`]: the report directory prepared ([`Reports`]), the target (the
//! in-process reference server, or `--target` probed once), the Goose attack executed with the
//! live progress line (and, in the open model, the dispatcher beside it), and the summary handed
//! to [`super::summary`]. `load capacity` runs many attacks on one target and one probed
//! [`Session`] ([`execute`]).

use super::console;
use super::error::{flag, goose_error, LoadError};
use super::open::OpenModel;
use super::plan::Plan;
use super::reports::Reports;
use super::steps::{LiveStats, MailpitCodes, Shared};
use super::summary::{self, RunFacts};
use super::target::{TargetSpec, EMBEDDED_MAX_FLOWS};
use crate::codes::{courier, CodeSource, Endpoint, SourceKind};
use crate::exit::Outcome;
use crate::report::load_summary::{self, LoadSummary};
use crate::schema::Schemas;
use crate::secret::{redact_userinfo, Redactor};
use std::sync::Arc;
use std::time::Duration;

/// Sends one request to `url` to learn whether anything answers there: any HTTP status will do,
/// except, for a code source (`auth`), a refusal of its credentials (401, 407), which no
/// read-code step would get past.
async fn probe(
    what: &'static str,
    url: &str,
    auth: Option<&Endpoint>,
    timeout: Duration,
    insecure: bool,
) -> Result<(), LoadError> {
    let unreachable = |reason: String| LoadError::Unreachable {
        what,
        url: redact_userinfo(url),
        reason,
    };
    crate::tls::install_default_provider();
    let client = reqwest::Client::builder()
        .timeout(timeout.min(Duration::from_secs(10)))
        .tls_danger_accept_invalid_certs(insecure)
        .build()
        .map_err(|e| unreachable(crate::causes::render(&e)))?;
    let mut rb = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(endpoint) = auth {
        rb = endpoint.authorize(rb);
    }
    let status = rb
        .send()
        .await
        .map_err(|e| unreachable(crate::causes::render(&e)))?
        .status();
    match (auth, status.as_u16()) {
        (Some(endpoint), 401 | 407) => Err(unreachable(format!(
            "it answered {status}: {}",
            if endpoint.has_credentials() {
                "it refused the credentials of the URL"
            } else {
                "it wants credentials; give them in the URL (https://user:password@host)"
            }
        ))),
        _ => Ok(()),
    }
}

/// Runs a checked plan: starts or probes the target, runs the Goose attack, writes the reports
/// and prints the summary. Returns the verdict and the summary written.
pub async fn run(plan: &Plan, schemas: Arc<Schemas>) -> Result<(Outcome, LoadSummary), LoadError> {
    let reports = Reports::prepare(&plan.report_dir, plan.baseline.as_ref())?;
    let target = match Target::start(plan).await {
        Ok(t) => t,
        Err(e) => {
            reports.discard();
            return Err(e);
        }
    };
    announce(plan, &target);
    let result = async {
        let session = Session::open(plan, &target).await?;
        let done = execute(plan, schemas, &reports, &session, true).await?;
        match done.stopped {
            Some(e) => Err(e),
            None => Ok((done.outcome, done.summary)),
        }
    }
    .await;
    if result.is_err() {
        reports.discard();
    }
    target.stop().await;
    result
}

/// Where the attack goes, once the target is up.
pub struct Target {
    /// The base URL, no trailing slash.
    pub base: String,
    /// `embedded` or `external`.
    pub kind: &'static str,
    /// The embedded server's own session token.
    session_token: Option<crate::secret::Secret>,
    /// The embedded server's admin API.
    admin: Option<String>,
    server: Option<crate::server::RunningServer>,
}

impl Target {
    /// The plan's target: the in-process reference server started, or the external URL.
    pub async fn start(plan: &Plan) -> Result<Target, LoadError> {
        // Goose builds one reqwest client per user.
        crate::tls::install_default_provider();
        Ok(match &plan.target {
            TargetSpec::External(url) => Target {
                base: url.clone(),
                kind: "external",
                session_token: None,
                admin: None,
                server: None,
            },
            TargetSpec::Embedded => {
                let server = crate::server::spawn(crate::server::ServerConfig {
                    max_flows: EMBEDDED_MAX_FLOWS,
                    ..crate::server::ServerConfig::default()
                })
                .await?;
                Target {
                    base: server.base_url().to_owned(),
                    kind: "embedded",
                    session_token: Some(crate::secret::Secret::from(server.session_token())),
                    admin: Some(server.admin_url().to_owned()),
                    server: Some(server),
                }
            }
        })
    }

    /// Stops the embedded server, if one was started.
    pub async fn stop(self) {
        if let Some(server) = self.server {
            server.shutdown().await;
        }
    }
}

fn announce(plan: &Plan, target: &Target) {
    if plan.quiet {
        return;
    }
    let shown_target = redact_userinfo(&target.base);
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
    let load = match &plan.open {
        Some(open) => format!(
            "open model, {} iterations/s ({}), at most {} in flight",
            super::arrivals::show_rate(open.share.mean_rate()),
            open.share.schedule.describe(),
            open.max_in_flight
        ),
        None => format!(
            "{} users, hatch rate {}/s, {}s",
            plan.users, plan.hatch_rate, plan.duration_s
        ),
    };
    crate::say!(
        "load: scenario {} against {shown_target}: {load}, validate {}{thresholds}",
        plan.scenario.name,
        plan.validate,
    );
}

/// The target once probed, with what every attack on it shares: probed once per command, so
/// that a capacity search's steps do not probe again.
pub struct Session {
    base: String,
    shown: String,
    kind: &'static str,
    courier: Endpoint,
    token: Option<reqwest::header::HeaderValue>,
    mailpit: Option<MailpitCodes>,
    redactor: Redactor,
}

impl Session {
    /// Probes the target (and the admin API or Mailpit the scenario reads codes from).
    pub async fn open(plan: &Plan, target: &Target) -> Result<Session, LoadError> {
        let base = target.base.as_str();
        probe(
            "target",
            &format!("{base}/self-service/recovery/api"),
            None,
            plan.timeout,
            plan.insecure,
        )
        .await?;
        let courier = match &plan.admin_url {
            Some(given) => given.clone(),
            None => {
                let admin = target.admin.as_deref().unwrap_or(base);
                Endpoint::parse(SourceKind::Courier, admin)
                    .map_err(|e| flag("--courier-url", e.to_string()))?
            }
        };
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
                courier.url(courier::LISTING_PATH, &[]).as_str(),
                Some(&courier),
                plan.timeout,
                plan.insecure,
            )
            .await?;
        }
        // The embedded server only knows its own sessions: a token from the flag or the
        // environment would turn signed-in-rejection into 100% errors against a faithful server
        // (as for `check`).
        if target.session_token.is_some() && plan.session_token.is_some() && !plan.quiet {
            crate::say!(
                "note: --session-token / RECOVERY_HARNESS_SESSION_TOKEN is not used without --target: the embedded server's own session is"
            );
        }
        let token = target
            .session_token
            .clone()
            .or_else(|| plan.session_token.clone())
            .and_then(|t| reqwest::header::HeaderValue::from_str(t.expose()).ok())
            // Goose logs request headers with `Debug`: a sensitive value prints as `Sensitive`.
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
        // Every secret of the run, used or not: the excerpts of failed answers never show one.
        let redactor = Redactor::new(
            plan.session_token
                .iter()
                .chain(target.session_token.iter())
                .chain(courier.secrets())
                .chain(plan.mailpit_url.iter().flat_map(Endpoint::secrets)),
        );
        Ok(Session {
            base: base.to_owned(),
            shown: redact_userinfo(base),
            kind: target.kind,
            courier,
            token,
            mailpit,
            redactor,
        })
    }
}

/// A finished attack.
pub struct Executed {
    /// Its verdict.
    pub outcome: Outcome,
    /// Its summary, written as `load-summary.json`.
    pub summary: LoadSummary,
    /// Set when the open model's watchdog stopped the run: the target went silent. The reports
    /// are written; the command ends with this error (exit 2).
    pub stopped: Option<LoadError>,
}

/// Runs one attack of `plan` on the probed `session`, writes its reports into `reports`, and
/// prints its summary when `print`.
pub async fn execute(
    plan: &Plan,
    schemas: Arc<Schemas>,
    reports: &Reports,
    session: &Session,
    print: bool,
) -> Result<Executed, LoadError> {
    let stats = Arc::new(LiveStats::default());
    let open = plan.open.as_ref().map(|o| {
        OpenModel::new(
            o.share.clone(),
            plan.users,
            o.max_in_flight,
            o.drain(plan.timeout, plan.iteration_len()),
            plan.timeout,
        )
    });
    let mut shared = Shared::new(
        schemas,
        plan.validate,
        session.base.clone(),
        session.courier.clone(),
        session.token.clone(),
        plan.scenario.email_template().to_owned(),
        stats.clone(),
    )
    .map_err(|m| flag("--target", m))?
    .with_redactor(session.redactor.clone())
    .with_user_offset(plan.shard.as_ref().map_or(0, |s| s.user_offset))
    .with_mailpit(session.mailpit.clone())
    .with_open(open.clone());
    shared.iteration_len = plan.iteration_len();
    let attack = plan.goose_attack(&session.base, reports, Arc::new(shared))?;

    // The open model's dispatcher waits for `--start-at` itself, with every user already up.
    if let (Some(at), None) = (plan.start_at, &open) {
        super::shard::wait_until(at, plan.quiet).await;
    }
    let started_at = chrono::Utc::now();
    let progress = (print && !plan.quiet)
        .then(|| console::Progress::start(stats.clone(), plan.planned(), open.clone()));
    let driver = open.clone().map(|o| tokio::spawn(o.drive(plan.start_at)));
    let executed = attack.execute().await;
    if let Some(driver) = driver {
        // It ended the attack; if Goose ended first (its run time, an error), it is not needed.
        driver.abort();
    }
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
            url: session.shown.clone(),
            requests: LiveStats::get(&stats.requests),
            transport_errors: LiveStats::get(&stats.transport_errors),
        });
    }
    let open_facts = match (&plan.open, &open) {
        (Some(p), Some(o)) => Some((p, o.figures(), o.started_at(), o.stopped_answering())),
        _ => None,
    };
    let stopped = open_facts.as_ref().and_then(|(_, f, _, silent)| {
        silent.map(|silent| LoadError::StoppedAnswering {
            url: session.shown.clone(),
            silent_s: silent.as_secs_f64(),
            at: format!("{:.1}s into the schedule", f.window_s),
        })
    });

    reports.publish()?;
    let facts = RunFacts {
        target: session.shown.clone(),
        target_kind: session.kind,
        started_at,
        finished_at,
        stats: &stats,
        reports,
        interrupted,
        open: open_facts
            .as_ref()
            .map(|(p, f, t0, silent)| summary::OpenFacts {
                plan: p,
                figures: *f,
                window_start: t0.unwrap_or(started_at),
                stopped_answering: *silent,
            }),
    };
    let (outcome, summary) = summary::summarize(plan, &metrics, facts);
    load_summary::write(&summary, &reports.dir)?;
    // Our report.html replaces the engine's stock page (published above), whose charts load a
    // script from a CDN and stay empty offline.
    crate::report::write_load_html(
        &crate::report::load_report::LoadReport::from_summary(&summary, series(plan, &stats)),
        &reports.dir,
    )?;
    if print {
        // A closed stdout (`load | head -1`) ends the output, not the process.
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(console::render(&summary, plan.quiet).as_bytes())
            .and_then(|()| out.flush());
    }
    Ok(Executed {
        outcome,
        summary,
        stopped,
    })
}

/// The read-code step's Mailpit source, asked once before the run: an unreachable URL, or one
/// that answers something other than Mailpit's JSON, stops here with exit 2.
async fn mailpit_codes(
    plan: &Plan,
    endpoint: &Endpoint,
) -> Result<MailpitCodes, crate::codes::CodeError> {
    let source = CodeSource::at(endpoint.clone(), plan.timeout.min(Duration::from_secs(10)))?;
    let not_before = source.mailpit_clock().await?;
    // `Date` has whole seconds: only an offset beyond that is known, and corrected.
    let clock_offset = not_before
        .map(|t| t - chrono::Utc::now())
        .filter(|d| d.num_milliseconds().abs() > 2_000)
        .unwrap_or_default();
    Ok(MailpitCodes {
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
