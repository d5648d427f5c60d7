//! The command line (clap derive): every command's flags and their conversion into the validated
//! configuration that the module running it takes, so no module below knows clap's structs:
//! [`check`] (flags → [`crate::check::RunConfig`]), [`load`] (→ [`crate::load::Plan`]), [`monitor`] (→ [`crate::monitor::MonitorConfig`]), [`serve`]
//! (→ [`crate::server::ServerConfig`]), `completions` and `man` ([`tooling`], handed this
//! definition), and below the command files what they share ([`common`]: the schema and
//! credential flags, the `--max-body-size` parser). [`error`] is where the modules' errors become
//! messages and exit codes. The value parsers the commands share with scenario files are in
//! [`crate::input`]. No file of `cli/` imports this one: it names them all.

pub mod check;
pub mod common;
pub mod error;
pub mod load;
pub mod monitor;
pub mod serve;
pub mod tooling;

use clap::{Parser, Subcommand};

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

    #[test]
    fn every_shell_gets_a_script_naming_every_command() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::Elvish,
            clap_complete::Shell::PowerShell,
        ] {
            let script = String::from_utf8(tooling::completion_script(shell, Cli::command()))
                .expect("utf-8");
            for word in ["serve", "check", "load", "completions", "--target"] {
                assert!(script.contains(word), "{shell:?} script lacks {word}");
            }
        }
    }

    #[test]
    fn the_man_page_is_roff_with_the_commands() {
        let page = String::from_utf8(tooling::man_page(Cli::command())).expect("utf-8");
        assert!(
            page.starts_with(".ie") || page.contains(".TH recovery-harness"),
            "{page:.200}"
        );
        for word in ["check", "load", "serve", "man"] {
            assert!(page.contains(word), "man page lacks {word}");
        }
    }
}
