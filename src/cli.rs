//! The command line (clap derive). Each command's flags live next to the module that runs it
//! ([`crate::server::ServeArgs`], [`crate::check::CheckArgs`], [`crate::load::LoadArgs`]); this
//! module assembles them and holds the value parsers they share.

use clap::{Parser, Subcommand};
use std::time::Duration;

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
    Serve(crate::server::ServeArgs),
    /// Run the conformance suite once against a deployment (or the embedded reference server).
    Check(crate::check::CheckArgs),
    /// Run a Goose load scenario against flow creation.
    Load(crate::load::LoadArgs),
}

/// Parses a human duration such as `10s`, `250ms`, `1h`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}); use e.g. 500ms, 10s, 2m, 1h"))
}

/// Installs the stderr log subscriber; `RUST_LOG` wins over `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
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

    #[test]
    fn durations_parse_and_reject_garbage() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("ten seconds").is_err());
        assert!(parse_duration("").is_err());
    }
}
