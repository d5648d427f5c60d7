//! The conformance runner (`recovery-harness check`): the check catalogue, the runner, the HTTP
//! client that probes the target, and property-based probing.
//!
//! Layout (a newcomer finds a check from its id: the first segment names the file), from the top
//! down: a file imports only files below it in this table.
//!
//! | file | owns |
//! |------|------|
//! | this file | a run as `recovery-harness check` makes it ([`run_and_report`]): the embedded target, the terminal, the reports |
//! | [`runner`] | levels, dependencies, concurrency, the deadline, the [`RunReport`] |
//! | [`har`] | `--har FILE`: every exchange of the run as HAR 1.2, redacted |
//! | [`catalogue`] | the list of checks (one registry of files, `FILES`) and the choice from it (`--only`, `--skip`, [`catalogue::production_safe`]); the checks as data in `catalogue/<first id segment>.rs` |
//! | [`fuzz`] | proptest strategies, invariants, shrinking to a minimal failing request |
//! | [`judge`] | turning an exchange into a [`Verdict`]: the helpers and the declarative rules |
//! | [`model`] | what a check is: [`Check`], [`Operation`], [`Needs`], [`Phase`], [`Verdict`] |
//! | [`race_probes`] | the scenarios of the concurrency checks: right and wrong codes released in bursts |
//! | [`security_probes`] | the multi-step scenarios of the security checks |
//! | [`burst`] | requests released at the same instant, one connection each (the race checks) |
//! | [`probes`] | the shared exchanges of a run, declared once each in `probes!` (each sent once, judged by many checks) |
//! | [`config`] | a validated run's configuration ([`RunConfig`]: the flags are `cli/check.rs`'s), the embedded target |
//! | [`client`] | one HTTP exchange: timeouts, body cap, transport-error classes, evidence, `curl` lines |
//! | [`error`] | [`CheckError`]: why a run could not be carried out (exit 2) |

pub mod burst;
pub mod catalogue;
pub mod client;
pub mod config;
pub mod error;
pub mod fuzz;
pub mod har;
pub mod judge;
pub mod model;
pub mod probes;
pub mod race_probes;
pub mod runner;
pub mod security_probes;

pub use config::{Credentials, RunConfig, SessionCookie};
pub use error::CheckError;
pub use model::{Check, Needs, Operation, Phase, Verdict};
pub use runner::{run, RunOptions};

use crate::exit::Outcome;
use crate::report::{ReportError, RunReport};
use crate::schema::Schemas;
use std::path::PathBuf;
use std::sync::Arc;

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
            ..RunOptions::default()
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

/// Prints every check's id, operation, level, effects and title, one a line (`check --list`):
/// columns separated by spaces, the title last (the only one with spaces), effects joined by
/// commas or `none`.
pub fn print_catalogue() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in catalogue_lines() {
        // `--list | head` closes the pipe early: stop quietly, it is not an error.
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// The lines of `check --list`, each column as wide as its widest cell, so that every column,
/// the title included, starts at the same place on every line (a script reads the columns split
/// at whitespace: only the title, last, holds spaces).
pub fn catalogue_lines() -> Vec<String> {
    let effects = |c: &Check| {
        if c.effects.is_empty() {
            "none".to_owned()
        } else {
            let words: Vec<&str> = c.effects.iter().map(|e| e.as_str()).collect();
            words.join(",")
        }
    };
    let rows: Vec<[String; 5]> = catalogue::all()
        .map(|c| {
            [
                c.id.to_owned(),
                c.operation.name().to_owned(),
                c.level.as_str().to_owned(),
                effects(c),
                c.title.to_owned(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3)];
    rows.iter()
        .map(|r| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
            )
        })
        .collect()
}
