//! The exported state: one [`Metrics`] with one registry (prefix `recovery_harness_`), every
//! metric registered when the monitor starts, then updated from each [`Finished`] run and
//! encoded on every scrape, in the Prometheus text format (0.0.4) or OpenMetrics 1.0.
//!
//! Labels are bounded and never carry a secret: check ids and levels from the catalogue,
//! operations and outcomes from enums, and the target as the one redaction path shows it.

use super::outcome::{Answer, Finished, ProbeOperation, RunOutcome};
use crate::check::probes::Variant;
use crate::check::runner::ReleaseGuess;
use crate::check::Check;
use crate::report::Status;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;

/// The content type of the Prometheus text format.
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// The content type of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The buckets of a run's duration, in seconds: 25 ms to about 100 s (a run is bounded by
/// `--deadline`).
fn run_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.025, 2.0, 13)
}

/// The buckets of one request, in seconds: 1 ms to about 16 s (`--timeout` defaults to 10 s).
fn probe_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.001, 2.0, 15)
}

macro_rules! label_value {
    ($($t:ty),*) => {$(
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    )*};
}
label_value!(RunOutcome, ProbeOperation, Answer);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    check: &'static str,
    level: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: RunOutcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: ProbeOperation,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    operation: ProbeOperation,
    answer: Answer,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    version: &'static str,
    target: String,
    variant: &'static str,
    kratos_release_guess: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// What the monitor exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    check_passing: Family<CheckLabels, Gauge>,
    check_failures: Family<CheckLabels, Gauge>,
    checks: Family<StatusLabels, Gauge>,
    run_duration: Histogram,
    runs: Family<OutcomeLabels, Counter>,
    overruns: Counter,
    last_run: FloatGauge,
    last_success: FloatGauge,
    last_duration: FloatGauge,
    probe_duration: Family<OperationLabels, Histogram>,
    probes: Family<ProbeLabels, Counter>,
    info: Family<InfoLabels, Gauge>,
    info_now: Mutex<InfoLabels>,
}

/// What the monitor is configured with, exported once.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The target as shown (redacted).
    pub target: String,
    /// `--every`.
    pub every: Duration,
    /// `--deadline`.
    pub deadline: Duration,
    /// When the monitor started, in seconds since the Unix epoch.
    pub started: f64,
}

impl Metrics {
    /// Registers every metric.
    pub fn new(setup: &Setup) -> Metrics {
        let mut registry = Registry::with_prefix("recovery_harness");
        let check_passing = Family::<CheckLabels, Gauge>::default();
        registry.register(
            "check_passing",
            "1 when the check passed in the last run, 0 when it failed, warned, got no answer or was skipped for a failed prerequisite",
            check_passing.clone(),
        );
        let check_failures = Family::<CheckLabels, Gauge>::default();
        registry.register(
            "check_consecutive_failures",
            "Runs in a row in which the check failed, warned or got no answer (0 after a pass or a skip)",
            check_failures.clone(),
        );
        let checks = Family::<StatusLabels, Gauge>::default();
        registry.register("checks", "Checks of the last run by status", checks.clone());
        let run_duration = Histogram::new(run_buckets());
        registry.register_with_unit(
            "run_duration",
            "Wall time of a run of the suite",
            Unit::Seconds,
            run_duration.clone(),
        );
        let runs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "runs",
            "Runs of the suite by outcome: passed, failed (a required check failed), error (no answer from the target), deadline (cut by --deadline)",
            runs.clone(),
        );
        for outcome in RunOutcome::ALL {
            let _ = runs.get_or_create(&OutcomeLabels { outcome });
        }
        let overruns = Counter::default();
        registry.register(
            "overruns",
            "Scheduled runs dropped because the previous run was still going",
            overruns.clone(),
        );
        let last_run = FloatGauge::default();
        registry.register_with_unit(
            "last_run_timestamp",
            "When the last run ended (Unix time)",
            Unit::Seconds,
            last_run.clone(),
        );
        let last_success = FloatGauge::default();
        registry.register_with_unit(
            "last_success_timestamp",
            "When the last passed run ended (Unix time; 0: none yet)",
            Unit::Seconds,
            last_success.clone(),
        );
        let last_duration = FloatGauge::default();
        registry.register_with_unit(
            "last_run_duration",
            "Wall time of the last run",
            Unit::Seconds,
            last_duration.clone(),
        );
        let probe_duration = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(probe_buckets())
        });
        registry.register_with_unit(
            "probe_duration",
            "Time of one request to the target, by operation",
            Unit::Seconds,
            probe_duration.clone(),
        );
        let probes = Family::<ProbeLabels, Counter>::default();
        registry.register(
            "probes",
            "Requests sent to the target, by operation and answer (status class or transport failure)",
            probes.clone(),
        );
        let interval = FloatGauge::default();
        interval.set(setup.every.as_secs_f64());
        registry.register_with_unit(
            "interval",
            "--every: the time between two runs",
            Unit::Seconds,
            interval,
        );
        let deadline = FloatGauge::default();
        deadline.set(setup.deadline.as_secs_f64());
        registry.register_with_unit(
            "deadline",
            "--deadline: the longest a run may take",
            Unit::Seconds,
            deadline,
        );
        let start_time = FloatGauge::default();
        start_time.set(setup.started);
        registry.register_with_unit(
            "start_time",
            "When the monitor started (Unix time)",
            Unit::Seconds,
            start_time,
        );
        let info = Family::<InfoLabels, Gauge>::default();
        registry.register(
            "info",
            "The monitor's version and target, and the flow variant and Kratos release the last created flow showed",
            info.clone(),
        );
        let info_now = InfoLabels {
            version: env!("CARGO_PKG_VERSION"),
            target: setup.target.clone(),
            variant: "unknown",
            kratos_release_guess: "unknown",
        };
        info.get_or_create(&info_now).set(1);
        Metrics {
            registry,
            check_passing,
            check_failures,
            checks,
            run_duration,
            runs,
            overruns,
            last_run,
            last_success,
            last_duration,
            probe_duration,
            probes,
            info,
            info_now: Mutex::new(info_now),
        }
    }

    /// Exports a finished run.
    pub fn record(&self, run: &Finished, suite: &[&'static Check]) {
        let seconds = run.duration.as_secs_f64();
        let ended = run.finished_at.timestamp_millis() as f64 / 1000.0;
        self.run_duration.observe(seconds);
        self.last_duration.set(seconds);
        self.runs
            .get_or_create(&OutcomeLabels {
                outcome: run.outcome,
            })
            .inc();
        for check in suite {
            let labels = CheckLabels {
                check: check.id,
                level: check.level.as_str(),
            };
            let status = run
                .report
                .checks
                .iter()
                .find(|c| c.id == check.id)
                .map_or(Status::Error, |c| c.status);
            self.check_passing
                .get_or_create(&labels)
                .set(i64::from(status == Status::Passed));
            let failures = self.check_failures.get_or_create(&labels);
            match status {
                Status::Failed | Status::Warning | Status::Error => {
                    failures.inc();
                }
                Status::Passed | Status::Skipped => {
                    failures.set(0);
                }
            }
        }
        let summary = run.report.summary();
        for (status, n) in [
            (Status::Passed, summary.passed),
            (Status::Failed, summary.failed),
            (Status::Warning, summary.warnings),
            (Status::Skipped, summary.skipped),
            (Status::Error, summary.errors),
        ] {
            self.checks
                .get_or_create(&StatusLabels {
                    status: status.as_str(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        for sample in &run.samples {
            self.probe_duration
                .get_or_create(&OperationLabels {
                    operation: sample.operation,
                })
                .observe(sample.seconds);
            self.probes
                .get_or_create(&ProbeLabels {
                    operation: sample.operation,
                    answer: sample.answer,
                })
                .inc();
        }
        if let Some((variant, release)) = run.flow {
            self.set_flow(variant, release);
        }
        // Timestamps last: a scrape that sees this run's time sees its verdicts.
        self.last_run.set(ended);
        if run.outcome == RunOutcome::Passed {
            self.last_success.set(ended);
        }
    }

    /// Counts scheduled runs dropped because a run was still going.
    pub fn overrun(&self, slots: u64) {
        if slots > 0 {
            self.overruns.inc_by(slots);
        }
    }

    fn set_flow(&self, variant: Variant, release: Option<ReleaseGuess>) {
        let Ok(mut now) = self.info_now.lock() else {
            return;
        };
        let next = InfoLabels {
            variant: match variant {
                Variant::V1 => "v1",
                Variant::V2 => "v2",
            },
            kratos_release_guess: match release {
                Some(ReleaseGuess::BeforeV1_3) => "before-v1.3",
                Some(ReleaseGuess::V1_3OrLater) => "v1.3-or-later",
                None => "unknown",
            },
            ..now.clone()
        };
        if next != *now {
            // The new series first, then the old one goes: a scrape in between sees both, never
            // none.
            self.info.get_or_create(&next).set(1);
            self.info.remove(&now);
            *now = next;
        }
    }

    /// The exposition: OpenMetrics 1.0 text when `openmetrics`, else the Prometheus text format.
    /// Writing into a `String` fails only if a label encoder does; the scrape then gets an error,
    /// never a partial exposition taken for the truth.
    pub fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        }
        Ok(out)
    }
}

/// Whether a scrape's `Accept` header prefers OpenMetrics to the Prometheus text format (by
/// quality; a tie goes to OpenMetrics, the format Prometheus asks for first).
pub fn wants_openmetrics(accept: &str) -> bool {
    let mut openmetrics: f32 = 0.0;
    let mut text: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "application/openmetrics-text" => openmetrics = openmetrics.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    openmetrics > 0.0 && openmetrics >= text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::catalogue::by_id;
    use crate::monitor::outcome::Sample;
    use crate::report::RunReport;

    fn check(id: &str) -> &'static Check {
        by_id(id).unwrap_or_else(|| panic!("{id}"))
    }

    fn finished(outcome: RunOutcome, statuses: &[(&'static Check, Status)]) -> Finished {
        let checks = statuses
            .iter()
            .map(|(c, status)| c.result(*status, String::new(), Vec::new(), Duration::ZERO))
            .collect();
        Finished {
            report: RunReport {
                tool_version: "0".to_owned(),
                target: "http://t".to_owned(),
                embedded_target: false,
                insecure: false,
                strict: false,
                started_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                duration: Duration::from_millis(300),
                notes: Vec::new(),
                checks,
            },
            outcome,
            duration: Duration::from_millis(300),
            finished_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
                + chrono::Duration::seconds(1_800_000_000),
            samples: vec![Sample {
                operation: ProbeOperation::CreateNative,
                answer: Answer::ServerError,
                seconds: 0.003,
            }],
            flow: Some((Variant::V2, Some(ReleaseGuess::V1_3OrLater))),
        }
    }

    fn line<'a>(text: &'a str, start: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start} in\n{text}"))
    }

    #[test]
    fn runs_become_the_series_a_scrape_depends_on() {
        let metrics = Metrics::new(&Setup {
            target: "https://auth.example.org".to_owned(),
            every: Duration::from_secs(60),
            deadline: Duration::from_secs(30),
            started: 1_799_999_000.0,
        });
        let pre = check("preflight.recovery_enabled");
        let cache = check("create_native.cache_control");
        let suite = [pre, cache];
        // Before any run: runs by outcome at 0, no check series yet, the info series unknown.
        let text = metrics.encode(false).expect("encodes");
        assert_eq!(
            line(&text, "recovery_harness_runs_total{outcome=\"passed\"}"),
            "recovery_harness_runs_total{outcome=\"passed\"} 0"
        );
        assert!(!text.contains("recovery_harness_check_passing{"), "{text}");
        assert!(text.contains("variant=\"unknown\""), "{text}");

        metrics.record(
            &finished(
                RunOutcome::Passed,
                &[(pre, Status::Passed), (cache, Status::Warning)],
            ),
            &suite,
        );
        metrics.record(
            &finished(
                RunOutcome::Failed,
                &[(pre, Status::Failed), (cache, Status::Warning)],
            ),
            &suite,
        );
        metrics.record(
            &finished(
                RunOutcome::Failed,
                &[(pre, Status::Failed), (cache, Status::Skipped)],
            ),
            &suite,
        );
        metrics.overrun(2);
        let text = metrics.encode(false).expect("encodes");
        for expected in [
            "recovery_harness_check_passing{check=\"preflight.recovery_enabled\",level=\"required\"} 0",
            "recovery_harness_check_passing{check=\"create_native.cache_control\",level=\"recommended\"} 0",
            "recovery_harness_check_consecutive_failures{check=\"preflight.recovery_enabled\",level=\"required\"} 2",
            "recovery_harness_check_consecutive_failures{check=\"create_native.cache_control\",level=\"recommended\"} 0",
            "recovery_harness_runs_total{outcome=\"failed\"} 2",
            "recovery_harness_runs_total{outcome=\"passed\"} 1",
            "recovery_harness_runs_total{outcome=\"deadline\"} 0",
            "recovery_harness_overruns_total 2",
            "recovery_harness_run_duration_seconds_count 3",
            "recovery_harness_run_duration_seconds_bucket{le=\"0.4\"} 3",
            "recovery_harness_last_run_timestamp_seconds 1800000000",
            "recovery_harness_last_success_timestamp_seconds 1800000000",
            "recovery_harness_interval_seconds 60",
            "recovery_harness_deadline_seconds 30",
            "recovery_harness_probe_duration_seconds_count{operation=\"createNativeRecoveryFlow\"} 3",
            "recovery_harness_probes_total{operation=\"createNativeRecoveryFlow\",answer=\"5xx\"} 3",
            "recovery_harness_checks{status=\"skipped\"} 1",
            "recovery_harness_info{version=\"",
        ] {
            let name = expected.split(' ').next().unwrap_or(expected);
            let found = line(&text, name);
            assert!(found.starts_with(expected) && (expected.ends_with('"') || found == expected || found.starts_with(&format!("{expected}.0"))), "{found} is not {expected}");
        }
        let info = line(&text, "recovery_harness_info{");
        assert_eq!(info, format!("recovery_harness_info{{version=\"{}\",target=\"https://auth.example.org\",variant=\"v2\",kratos_release_guess=\"v1.3-or-later\"}} 1", env!("CARGO_PKG_VERSION")));
        assert_eq!(
            text.matches("recovery_harness_info{").count(),
            1,
            "the unknown series went"
        );
        assert!(text.contains("# TYPE recovery_harness_run_duration_seconds histogram"));
        assert!(!text.contains("# EOF"));

        let om = metrics.encode(true).expect("encodes");
        assert!(om.ends_with("# EOF\n"), "{om}");
        assert!(
            om.contains("# UNIT recovery_harness_last_run_timestamp_seconds seconds"),
            "{om}"
        );
        assert!(om.contains("# TYPE recovery_harness_runs counter"), "{om}");
    }

    #[test]
    fn prometheus_asks_for_openmetrics_and_curl_gets_text() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(prometheus));
        assert!(!wants_openmetrics("*/*"));
        assert!(!wants_openmetrics(""));
        assert!(!wants_openmetrics("text/plain"));
        assert!(!wants_openmetrics(
            "application/openmetrics-text;q=0.2, text/plain"
        ));
        assert!(!wants_openmetrics("application/openmetrics-text;q=0"));
        assert!(wants_openmetrics("Application/OpenMetrics-Text"));
    }
}
