//! The `recovery-harness` binary: parse the command line, hand it to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    recovery_harness::run(recovery_harness::cli::Cli::parse())
}
