//! recovery-harness: tells, with evidence, whether an account-recovery API behaves as the Ory Kratos
//! specification says, and how fast it creates recovery flows under load.
//!
//! Data flows one way, each module importing only those below it:
//!
//! ```text
//! cli                 flags -> validated configs; errors -> messages and exit codes
//!  +-- check          the conformance catalogue, its runner and property-based probing
//!  +-- load           Goose scenarios on flow creation, the summary, sharding
//!  +-- monitor        the production-safe checks on a schedule, exported to Prometheus (uses check)
//!       \-- they use: server  the reference Kratos recovery API (the default target)
//!                     codes   reading the recovery code a deployment sent
//!                     report  one result model, one module per output format
//!                     schema  loading, compiling, validating the recovery-flow JSON Schemas
//! ```
//!
//! with the leaves every module may use: [`exit`], [`input`], [`tls`], [`causes`], [`say`].
//!
//! [`cli`] holds the command line (clap derive): every command's flags and their conversion into
//! the validated configuration its module takes, and [`cli::error`], the one place where errors
//! become messages and exit codes ([`exit`]). [`run`] executes a parsed command line. No module
//! below the command line imports it: each returns its own typed error.

pub mod causes;
pub mod check;
pub mod cli;
pub mod codes;
pub mod exit;
pub mod input;
pub mod load;
pub mod monitor;
pub mod report;
pub mod say;
pub mod schema;
pub mod secret;
pub mod server;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
pub mod tls;

pub use cli::error::Error;

use clap::CommandFactory;
use std::process::ExitCode;

/// Runs a parsed command line to completion and turns the result into the process exit code.
///
/// Every error arrives here as [`Error`] and is printed once, with its cause chain, by
/// [`cli::error::report`], which also gives its exit code.
pub fn run(cli: cli::Cli) -> ExitCode {
    // Generated from the command line itself: no runtime, no logging needed.
    let tooling = match &cli.command {
        cli::Command::Completions(args) => {
            Some(cli::tooling::run_completions(args, cli::Cli::command()))
        }
        cli::Command::Man(args) => Some(cli::tooling::run_man(args, cli::Cli::command())),
        _ => None,
    };
    if let Some(result) = tooling {
        return match result {
            Ok(()) => ExitCode::from(exit::SUCCESS),
            Err(err) => ExitCode::from(cli::error::report(&err.into())),
        };
    }
    cli::init_tracing(cli.verbose);
    tls::install_default_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return ExitCode::from(cli::error::report(&Error::Runtime(e))),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => cli::serve::run(args).await,
            cli::Command::Check(args) => cli::check::run(args).await,
            cli::Command::Load(args) => cli::load::run(args).await,
            cli::Command::Monitor(args) => cli::monitor::run(args).await,
            cli::Command::Completions(_) | cli::Command::Man(_) => Ok(exit::Outcome::Passed),
        }
    });
    // Goose and the in-process server may leave background tasks (idle connections, timers);
    // the run is over, so do not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => ExitCode::from(cli::error::report(&err)),
    }
}
