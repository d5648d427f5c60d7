//! The conformance runner (`recovery-harness check`): the check catalogue, the runner, the HTTP
//! client that probes the target, and property-based probing.
//!
//! Layout (a newcomer finds a check from its id: the first segment names the file), from the top
//! down: a file imports only files below it in this table.
//!
//! | file | owns |
//! |------|------|
//! | this file | `recovery-harness check`: run the suite, print it, write the reports |
//! | [`runner`] | levels, dependencies, concurrency, the deadline, the [`RunReport`] |
//! | [`har`] | `--har FILE`: every exchange of the run as HAR 1.2, redacted |
//! | [`catalogue`] | the list of checks and the choice from it (`--only`, `--skip`); the checks as data in `catalogue/<first id segment>.rs` |
//! | [`fuzz`] | proptest strategies, invariants, shrinking to a minimal failing request |
//! | [`judge`] | turning an exchange into a [`Verdict`]: the helpers and the declarative rules |
//! | [`model`] | what a check is: [`Check`], [`Operation`], [`Needs`], [`Phase`], [`Verdict`] |
//! | [`security_probes`] | the multi-step scenarios of the security checks |
//! | [`probes`] | the shared exchanges of a run (each sent once, judged by many checks) |
//! | [`config`] | the flags ([`CheckArgs`]) and their validation into a [`RunConfig`] |
//! | [`client`] | one HTTP exchange: timeouts, body cap, transport-error classes, evidence, `curl` lines |
//! | [`error`] | [`CheckError`]: why a run could not be carried out (exit 2) |
//!
//! One import still points up: [`RunConfig::from_args`] rejects an `--only`/`--skip` pattern
//! that selects nothing with [`catalogue::select`].

pub mod catalogue;
pub mod client;
pub mod config;
pub mod error;
pub mod fuzz;
pub mod har;
pub mod judge;
pub mod model;
pub mod probes;
pub mod runner;
pub mod security_probes;

pub use config::{CheckArgs, Credentials, RunConfig, SessionCookie};
pub use error::CheckError;
pub use model::{Check, Needs, Operation, Phase, Verdict};
pub use runner::{run, RunOptions};

use crate::exit::Outcome;
use crate::report::RunReport;

/// `recovery-harness check`: validate the flags, run the suite, print it, write the reports.
///
/// A run that could not be carried out (exit 2) removes the report files an earlier run left in
/// `--report-dir`: a CI step that publishes them "always" must not show that run's verdict.
pub async fn run_cli(args: CheckArgs) -> Result<Outcome, crate::Error> {
    if args.list {
        print_catalogue();
        return Ok(Outcome::Passed);
    }
    let report_dir = args.report_dir.clone();
    let any_report = |dir: &std::path::Path| {
        [
            crate::report::CONFORMANCE_JSON,
            crate::report::JUNIT_XML,
            crate::report::SUMMARY_MD,
            crate::report::REPORT_HTML,
        ]
        .iter()
        .any(|name| dir.join(name).exists())
    };
    let had_reports = any_report(&report_dir);
    let result = run_and_report(args).await;
    if result.is_err() {
        crate::report::remove_check_reports(&report_dir);
        if had_reports && !any_report(&report_dir) {
            crate::say!(
                "removed the earlier reports in {} (this run produced none)",
                report_dir.display()
            );
        }
    }
    result
}

async fn run_and_report(args: CheckArgs) -> Result<Outcome, crate::Error> {
    let report_dir = args.report_dir.clone();
    let quiet = args.quiet;
    let schemas = std::sync::Arc::new(crate::schema::Schemas::load(&args.schema.source())?);
    let mut config = RunConfig::from_args(&args)?;
    if config.insecure {
        crate::say!(
            "warning: --insecure: the target's TLS certificate is NOT verified; the reports say so"
        );
    }
    // Fail before probing anything: an unwritable directory would otherwise waste a whole run.
    config::ensure_writable(&report_dir)?;
    if let Some(har) = &config.har {
        let dir = har.parent().filter(|p| !p.as_os_str().is_empty());
        if har.is_dir() || dir.is_some_and(|d| !d.is_dir()) {
            return Err(CheckError::Har {
                path: har.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "its directory does not exist, or the path is a directory",
                ),
            }
            .into());
        }
    }
    // An interrupted run must not leave the earlier verdict behind either.
    crate::report::remove_check_reports(&report_dir);

    let embedded = match config.target {
        Some(_) => None,
        None => {
            let server = crate::server::spawn(crate::server::ServerConfig::default())
                .await
                .map_err(|e| CheckError::Embedded(crate::error::render(&e)))?;
            config.use_embedded(&server)?;
            let twin = crate::server::spawn(crate::server::ServerConfig {
                lifespan: config::EMBEDDED_EXPIRY_LIFESPAN,
                ..crate::server::ServerConfig::default()
            })
            .await
            .map_err(|e| CheckError::Embedded(crate::error::render(&e)))?;
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
    print_and_write(&report, &report_dir, quiet)?;
    Ok(report.outcome())
}

fn print_and_write(
    report: &RunReport,
    dir: &std::path::Path,
    quiet: bool,
) -> Result<(), crate::Error> {
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

fn print_catalogue() {
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
