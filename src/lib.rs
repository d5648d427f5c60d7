//! recovery-harness: tells, with evidence, whether an account-recovery API behaves as the Ory Kratos
//! specification says, and how fast it creates recovery flows under load.
//!
//! Data flows one way:
//!
//! ```text
//!            schema  (load, compile, validate the recovery-flow JSON Schemas)
//!           /   |    \
//!      server  check  load        server: the reference Kratos recovery API
//!                \    /           check:  the conformance catalogue, runner and probing
//!                report           load:   Goose scenarios on flow creation
//!                                 report: one result model, one module per output format
//! ```
//!
//! [`cli`] holds the command line (clap derive); [`run`] executes a parsed command line and is the
//! one place where errors become messages and exit codes ([`exit`]).

pub mod check;
pub mod cli;
pub mod codes;
pub mod error;
pub mod exit;
pub mod input;
pub mod load;
pub mod report;
pub mod schema;
pub mod server;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
pub mod tls;

pub use error::Error;

use std::process::ExitCode;

/// `eprintln!` that never panics: a closed stderr (`2>&1 | head`, a CI runner that went away)
/// must not turn a finished run, or a running server, into a crash (exit 101).
#[macro_export]
#[doc(hidden)]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Runs a parsed command line to completion and turns the result into the process exit code.
///
/// This is the only place that prints a top-level error: every library error arrives here as
/// [`Error`], is printed once with its cause chain, and maps to an exit code of [`exit`].
pub fn run(cli: cli::Cli) -> ExitCode {
    // Generated from the command line itself: no runtime, no logging needed.
    let tooling = match &cli.command {
        cli::Command::Completions(args) => Some(cli::tooling::run_completions(args)),
        cli::Command::Man(args) => Some(cli::tooling::run_man(args)),
        _ => None,
    };
    if let Some(result) = tooling {
        return match result {
            Ok(()) => ExitCode::from(exit::SUCCESS),
            Err(err) => {
                let err = Error::from(err);
                say!("error: {}", error::render(&err));
                ExitCode::from(err.exit_code())
            }
        };
    }
    cli::init_tracing(cli.verbose);
    tls::install_default_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => cli::serve::run(args).await,
            cli::Command::Check(args) => check::run_cli(args).await,
            cli::Command::Load(args) => load::run_cli(args).await,
            cli::Command::Completions(_) | cli::Command::Man(_) => Ok(exit::Outcome::Passed),
        }
    });
    // Goose and the in-process server may leave background tasks (idle connections, timers);
    // the run is over, so do not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            say!("error: {}", error::render(&err));
            ExitCode::from(err.exit_code())
        }
    }
}
