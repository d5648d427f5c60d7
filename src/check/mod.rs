//! The conformance runner (`recovery-harness check`): the check catalogue, the runner, the HTTP
//! client that probes the target, and property-based probing.
//!
//! Layout (a newcomer finds a check from its id: the first segment names the file):
//!
//! | file | owns |
//! |------|------|
//! | [`config`] | a validated run's configuration ([`RunConfig`]: the flags are `cli/check.rs`'s), the embedded target |
//! | [`client`] | one HTTP exchange: timeouts, body cap, transport-error classes, evidence, `curl` lines |
//! | [`probes`] | the shared exchanges of a run (each sent once, judged by many checks) |
//! | [`catalogue`] | the checks as data: `catalogue/<first id segment>.rs` |
//! | [`fuzz`] | proptest strategies, invariants, shrinking to a minimal failing request |
//! | [`har`] | `--har FILE`: every exchange of the run as HAR 1.2, redacted |
//! | [`runner`] | selection (`--only`, `--skip`), levels, dependencies, concurrency, the deadline, the [`RunReport`] |

pub mod catalogue;
pub mod client;
pub mod config;
pub mod fuzz;
pub mod har;
pub mod probes;
pub mod runner;
pub mod security_probes;

pub use catalogue::{Check, Needs, Operation, Phase, Verdict};
pub use config::{Credentials, RunConfig, SessionCookie};
pub use runner::{run, RunOptions};

use crate::exit::Outcome;
use crate::report::{ReportError, RunReport};
use crate::schema::Schemas;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a conformance run could not be carried out (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--target` is not an absolute http(s) URL.
    #[error("--target `{value}` is not usable: {reason}; give the base URL of the public API, e.g. https://auth.example.com or https://host/auth")]
    BadTarget {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--session-cookie` is not `NAME=VALUE`.
    #[error("--session-cookie must be NAME=VALUE as the browser sends it (e.g. ory_kratos_session=MTY...): {reason}")]
    BadCookie {
        /// What is wrong with it.
        reason: String,
    },
    /// Another flag has a value that cannot work.
    #[error("--{flag}: {reason}")]
    BadFlag {
        /// The flag, without dashes.
        flag: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
    /// `--only` selected nothing.
    #[error(
        "--only {pattern} matches no check id; `recovery-harness check --list` prints every id"
    )]
    NothingSelected {
        /// The patterns given.
        pattern: String,
    },
    /// A `--skip` pattern matched nothing (a typo would otherwise run everything).
    #[error(
        "--skip {pattern} matches no check id; `recovery-harness check --list` prints every id"
    )]
    NothingSkipped {
        /// The pattern given.
        pattern: String,
    },
    /// The report directory cannot be created or written.
    #[error(
        "report directory {path} is not writable ({source}); choose another with --report-dir"
    )]
    ReportDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The `--har` file could not be written.
    #[error("cannot write the HAR file {path} ({source}); choose another path with --har")]
    Har {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built (TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Every request failed to connect: nothing could be checked.
    #[error("cannot reach {target}: every request failed to connect ({cause}); is the deployment running, is --target right (and its TLS certificate valid)?")]
    Unreachable {
        /// The base URL (redacted).
        target: String,
        /// The first connection error.
        cause: String,
    },
    /// The embedded reference server could not start.
    #[error("cannot start the embedded reference server: {0}")]
    Embedded(String),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// Where a run reports: the terminal (`quiet`: failures and the summary line only, no progress)
/// and the directory that receives `conformance.json`, `junit.xml`, `summary.md` and
/// `report.html`.
#[derive(Debug, Clone)]
pub struct Reporting {
    /// The report directory (created if missing).
    pub report_dir: PathBuf,
    /// Only failures and the summary on the terminal.
    pub quiet: bool,
}

/// Runs the suite as `recovery-harness check` does: against `config`'s target, or the embedded
/// reference server (with its short-lived twin for the expiry checks) when it has none; prints
/// it and writes the reports. The report directory is proven writable before any request, and
/// an earlier run's reports there are removed before this run starts.
pub async fn run_and_report(
    mut config: RunConfig,
    schemas: Arc<Schemas>,
    reporting: &Reporting,
) -> Result<Outcome, CheckError> {
    let report_dir = &reporting.report_dir;
    let quiet = reporting.quiet;
    if config.insecure {
        crate::say!(
            "warning: --insecure: the target's TLS certificate is NOT verified; the reports say so"
        );
    }
    // Fail before probing anything: an unwritable directory would otherwise waste a whole run.
    config::ensure_writable(report_dir)?;
    if let Some(har) = &config.har {
        let dir = har.parent().filter(|p| !p.as_os_str().is_empty());
        if har.is_dir() || dir.is_some_and(|d| !d.is_dir()) {
            return Err(CheckError::Har {
                path: har.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "its directory does not exist, or the path is a directory",
                ),
            });
        }
    }
    // An interrupted run must not leave the earlier verdict behind either.
    crate::report::remove_check_reports(report_dir);

    let embedded = match config.target {
        Some(_) => None,
        None => {
            let server = crate::server::spawn(crate::server::ServerConfig::default())
                .await
                .map_err(|e| CheckError::Embedded(crate::causes::render(&e)))?;
            config.use_embedded(&server)?;
            let twin = crate::server::spawn(crate::server::ServerConfig {
                lifespan: config::EMBEDDED_EXPIRY_LIFESPAN,
                ..crate::server::ServerConfig::default()
            })
            .await
            .map_err(|e| CheckError::Embedded(crate::causes::render(&e)))?;
            config.use_expiry_twin(&twin)?;
            if config.ignored_credentials {
                crate::say!(
                    "note: no --target: the session credentials given (--session-token, --session-cookie or RECOVERY_HARNESS_SESSION_TOKEN) are not used; the embedded server accepts only its own"
                );
            }
            if !quiet {
                crate::say!(
                    "no --target: checking the embedded reference server at {} with its own session credentials",
                    server.base_url()
                );
            }
            Some((server, twin))
        }
    };

    let total = catalogue::select(&config.only, &config.skip)?.len() as u64;
    let progress = crate::report::terminal::Progress::detect(total, quiet);
    let result = run(
        config,
        schemas,
        RunOptions {
            progress: Some(progress),
        },
    )
    .await;
    if let Some((server, twin)) = embedded {
        server.shutdown().await;
        twin.shutdown().await;
    }
    let report = result?;
    print_and_write(&report, report_dir, quiet)?;
    Ok(report.outcome())
}

fn print_and_write(
    report: &RunReport,
    dir: &std::path::Path,
    quiet: bool,
) -> Result<(), ReportError> {
    let opts = crate::report::terminal::TerminalOptions::detect(quiet);
    let mut out = std::io::stdout().lock();
    // A closed stdout (`| head`) must not turn a finished run into an error.
    let _ = crate::report::terminal::render(report, &opts, &mut out);
    drop(out);
    let written = crate::report::write_check_reports(report, dir)?;
    if !quiet {
        for path in written {
            crate::say!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// Prints every check's id, operation, level and title, one a line (`check --list`).
pub fn print_catalogue() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for check in catalogue::all() {
        // `--list | head` closes the pipe early: stop quietly, it is not an error.
        if writeln!(
            out,
            "{:<44} {:<28} {:<12} {}",
            check.id,
            check.operation.name(),
            check.level.as_str(),
            check.title
        )
        .is_err()
        {
            return;
        }
    }
    let _ = out.flush();
}
