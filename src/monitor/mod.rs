//! `recovery-harness monitor`: runs the checks that are safe for production on a schedule and
//! exports the results to Prometheus, until SIGINT or SIGTERM.
//!
//! | file | owns |
//! |------|------|
//! | this file | the loop: one run at a time, the schedule, publishing each run, stopping cleanly |
//! | [`http`] | `GET /metrics`, `GET /healthz`, `GET /last-run.json` |
//! | [`metrics`] | the registry, every metric and its labels, the exposition formats |
//! | [`outcome`] | one run bounded by its deadline, and what it came to ([`Finished`]) |
//! | [`schedule`] | when runs start: interval, jitter, overruns |
//! | [`suite`] | which checks run: the production-safe ones the configuration has inputs for |
//! | [`error`] | [`MonitorError`]: why the monitor could not start or serve (exit 2) |
//!
//! It hands plain models to `report/` (the `conformance.json` of each run, the optional report
//! directory) and knows no flag: `cli/monitor.rs` builds its [`MonitorConfig`].

pub mod error;
pub mod http;
pub mod metrics;
pub mod outcome;
pub mod schedule;
pub mod suite;

pub use error::MonitorError;
pub use outcome::{Finished, RunOutcome};
pub use suite::Suite;

use crate::check::RunConfig;
use crate::schema::Schemas;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// After SIGINT or SIGTERM, how long the current run may go on to finish (and be published)
/// before it is abandoned; the metrics server then gets as long again to close its connections.
/// Both together stay under the 5 s a stop may take.
pub const FINISH_ON_STOP: Duration = Duration::from_secs(2);

/// A validated monitor configuration.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Each run's configuration (the target, credentials, timeouts, `deadline`); its `seed` is
    /// drawn again for each run.
    pub run: RunConfig,
    /// The checks of every run.
    pub suite: Suite,
    /// `--every`.
    pub every: Duration,
    /// `--jitter`: the most a run's start is delayed past its slot.
    pub jitter: Duration,
    /// `--listen`.
    pub listen: SocketAddr,
    /// `--report-dir`: where each run's reports are written (none: not written).
    pub report_dir: Option<PathBuf>,
}

/// Runs the monitor until SIGINT or SIGTERM (then `Ok`), or until it cannot serve.
pub async fn run(config: MonitorConfig, schemas: Arc<Schemas>) -> Result<(), MonitorError> {
    let stop = Stop::on_signals()?;
    if let Some(dir) = &config.report_dir {
        crate::check::config::ensure_writable(dir).map_err(|source| MonitorError::ReportDir {
            path: dir.clone(),
            source,
        })?;
    }
    let target = outcome::shown_target(&config.run);
    let started = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let shared = Arc::new(http::Shared::new(metrics::Metrics::new(&metrics::Setup {
        target: target.clone(),
        every: config.every,
        deadline: config.run.deadline,
        started,
    })));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| MonitorError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| MonitorError::Bind {
        addr: config.listen,
        source,
    })?;
    let server = {
        let stop = stop.clone();
        let app = http::router(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.wait().await })
                .await
        })
    };
    crate::say!(
        "monitor: checking {target} every {} ({} checks, each run bounded by --deadline {}); metrics at http://{addr}/metrics",
        humantime::format_duration(config.every),
        config.suite.checks.len(),
        humantime::format_duration(config.run.deadline),
    );
    for note in &config.suite.left_out {
        crate::say!("monitor: {note}");
    }

    let mut schedule =
        schedule::Schedule::new(tokio::time::Instant::now(), config.every, config.jitter);
    let mut previous: Option<RunOutcome> = None;
    let mut overrunning = false;
    loop {
        let mut current = pin!(outcome::run_once(
            &config.run,
            &config.suite,
            schemas.clone()
        ));
        let finished = tokio::select! {
            finished = &mut current => Some(finished),
            () = stop.wait() => tokio::time::timeout(FINISH_ON_STOP, &mut current).await.ok(),
        };
        if let Some(finished) = finished {
            publish(&config, &shared, &finished, previous);
            previous = Some(finished.outcome);
        }
        if stop.stopped() {
            break;
        }
        let next = schedule.next_after(tokio::time::Instant::now(), schedule::uniform);
        shared.metrics.overrun(next.overruns);
        // Said once when runs start to overrun, not at every run while they do.
        if next.overruns > 0 && !overrunning {
            tracing::warn!(
                slots = next.overruns,
                "a run took longer than --every: the slots that passed meanwhile were dropped (recovery_harness_overruns_total counts them)"
            );
        }
        overrunning = next.overruns > 0;
        tokio::select! {
            () = tokio::time::sleep_until(next.at) => {}
            () = stop.wait() => break,
        }
    }
    let served = match tokio::time::timeout(FINISH_ON_STOP, server).await {
        Ok(Ok(Err(e))) => Err(MonitorError::Serve(e)),
        _ => Ok(()),
    };
    crate::say!("monitor: stopped");
    served
}

/// Exports a run: metrics, `/last-run.json`, the report directory, and a log line when the
/// outcome changed.
fn publish(
    config: &MonitorConfig,
    shared: &http::Shared,
    finished: &Finished,
    previous: Option<RunOutcome>,
) {
    shared.metrics.record(finished, &config.suite.checks);
    shared.set_last_run(crate::report::json::render(&finished.report));
    if let Some(dir) = &config.report_dir {
        if let Err(e) = crate::report::write_check_reports(&finished.report, dir) {
            crate::say!("monitor: warning: {}", crate::causes::render(&e));
        }
    }
    if previous != Some(finished.outcome) {
        let failing: Vec<&str> = finished
            .report
            .checks
            .iter()
            .filter(|c| {
                matches!(
                    c.status,
                    crate::report::Status::Failed | crate::report::Status::Error
                )
            })
            .map(|c| c.id.as_str())
            .collect();
        let mut line = format!(
            "monitor: run {} in {}",
            finished.outcome.as_str(),
            humantime::format_duration(Duration::from_millis(
                u64::try_from(finished.duration.as_millis()).unwrap_or(u64::MAX)
            ))
        );
        if !failing.is_empty() {
            line.push_str(&format!(
                "; failed or unanswered: {}",
                shorten_list(&failing, 8)
            ));
        }
        crate::say!("{line}");
    }
}

fn shorten_list(ids: &[&str], max: usize) -> String {
    let shown = ids[..ids.len().min(max)].join(", ");
    if ids.len() > max {
        format!("{shown} and {} more", ids.len() - max)
    } else {
        shown
    }
}

/// SIGINT or SIGTERM, seen by every part of the monitor.
#[derive(Debug, Clone)]
struct Stop(watch::Receiver<bool>);

impl Stop {
    fn on_signals() -> Result<Stop, MonitorError> {
        let (tx, rx) = watch::channel(false);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut int = signal(SignalKind::interrupt()).map_err(MonitorError::Signals)?;
            let mut term = signal(SignalKind::terminate()).map_err(MonitorError::Signals)?;
            tokio::spawn(async move {
                let name = tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                };
                crate::say!("monitor: {name} received, stopping");
                let _ = tx.send(true);
            });
        }
        #[cfg(not(unix))]
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                crate::say!("monitor: interrupted, stopping");
                let _ = tx.send(true);
            }
        });
        Ok(Stop(rx))
    }

    fn stopped(&self) -> bool {
        *self.0.borrow()
    }

    async fn wait(&self) {
        let mut rx = self.0.clone();
        // An error means the sender is gone without a signal: then nothing will stop us but a
        // signal the runtime no longer sees, so wait forever as before.
        if rx.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
