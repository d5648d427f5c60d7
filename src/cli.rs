//! The command line (clap derive): every command's flags and their conversion into the validated
//! configuration that the module running it takes, so no module below knows clap's structs:
//! [`check`] (flags → [`crate::check::RunConfig`]), [`load`] (→ [`crate::load::Plan`]), [`monitor`] (→ [`crate::monitor::MonitorConfig`]), [`serve`]
//! (→ [`crate::server::ServerConfig`]), `completions` and `man` ([`tooling`]), and the schema
//! flags both `check` and `load` take ([`SchemaArgs`]). [`error`] is where the modules' errors
//! become messages and exit codes. The value parsers the commands share with scenario files are
//! in [`crate::input`].

pub mod check;
pub mod error;
pub mod load;
pub mod monitor;
pub mod serve;
pub mod tooling;

use crate::schema::SchemaSource;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Conformance and load harness for the Ory Kratos account-recovery API.
#[derive(Debug, Parser)]
#[command(name = "recovery-harness", version, about, after_help = crate::exit::TABLE)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v: debug, -vv: trace). `RUST_LOG` overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands of the contract.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the reference Kratos recovery API until interrupted.
    Serve(serve::ServeArgs),
    /// Run the conformance suite once against a deployment (or the embedded reference server).
    Check(check::CheckArgs),
    /// Run a Goose load scenario against flow creation (`load merge DIR...` joins the shards of
    /// a sharded run).
    #[command(args_conflicts_with_subcommands = true)]
    Load(load::LoadArgs),
    /// Run the checks that are safe for production on a schedule and serve the results as
    /// Prometheus metrics, until SIGINT or SIGTERM.
    Monitor(monitor::MonitorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(tooling::CompletionsArgs),
    /// Print the man page to stdout, or write one page per command with --out-dir.
    Man(tooling::ManArgs),
}

pub use crate::input::{parse_base_url, parse_duration, BadBaseUrl};

/// The variable every command's `--session-token` reads (`check`, `load`, `serve`), so that one
/// job's secret serves all three; its value is never shown in `--help`.
pub const SESSION_TOKEN_ENV: &str = "RECOVERY_HARNESS_SESSION_TOKEN";

/// `--schemas DIR` / `--spec FILE`, shared by `check` and `load`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SchemaArgs {
    /// Validate against the JSON Schema files in DIR instead of the embedded ones.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "spec",
        env = "RECOVERY_HARNESS_SCHEMAS"
    )]
    pub schemas: Option<PathBuf>,
    /// Validate against the `components/schemas` of an OpenAPI 3 document (e.g. a Kratos release's api.json).
    #[arg(long, value_name = "FILE", env = "RECOVERY_HARNESS_SPEC")]
    pub spec: Option<PathBuf>,
}

impl SchemaArgs {
    /// The source these flags select.
    pub fn source(&self) -> SchemaSource {
        match (&self.schemas, &self.spec) {
            (Some(dir), _) => SchemaSource::Dir(dir.clone()),
            (None, Some(file)) => SchemaSource::OpenApi(file.clone()),
            (None, None) => SchemaSource::Embedded,
        }
    }
}

/// Installs the stderr log subscriber; `RUST_LOG` wins over `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        // rustls logs a TLS failure at error level next to the error the run reports itself.
        0 => "warn,rustls=off",
        1 => "recovery_harness=debug,warn",
        _ => "recovery_harness=trace,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal: CI logs and `2> file` get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
