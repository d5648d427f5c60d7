//! `completions` and `man`: what a packaged command-line tool installs next to its binary, both
//! generated from the same clap definition as `--help` (handed in by the caller, which holds it),
//! so they cannot drift from the flags.

use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name the scripts and pages are generated for (the installed binary's name).
const BIN: &str = "recovery-harness";

/// `recovery-harness completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `recovery-harness man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `recovery-harness.1` and one page per command (`recovery-harness-check.1`, ...) into
    /// DIR (created if missing) instead of printing the main page to stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Why a completion script or man page could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ToolingError {
    /// Standard output is closed or full.
    #[error("cannot write to standard output")]
    Stdout(#[source] std::io::Error),
    /// The man page directory could not be created or written.
    #[error("cannot write man pages to {}", .0.display())]
    ManDir(PathBuf, #[source] std::io::Error),
}

/// The completion script of the command line `cli` for `shell`, as bytes.
pub fn completion_script(shell: clap_complete::Shell, mut cli: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli, BIN, &mut out);
    if shell == clap_complete::Shell::Bash {
        // clap_complete 4.6 names the per-command branches of a hyphenated binary
        // `recovery__subcmd__harness__subcmd__check` but sets `recovery__harness__subcmd__check`
        // while walking the words, so no command's flags would complete. One spelling for both.
        let script =
            String::from_utf8_lossy(&out).replace("recovery__subcmd__harness", "recovery__harness");
        return script.into_bytes();
    }
    out
}

/// The main man page of the command line `cli` (roff), listing every command.
pub fn man_page(cli: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    // Rendering into memory cannot fail.
    let _ = clap_mangen::Man::new(cli).render(&mut out);
    out
}

/// Writes the main page of `cli` and one page per command into `dir`; returns the files written.
pub fn write_man_pages(dir: &Path, cli: clap::Command) -> Result<Vec<PathBuf>, ToolingError> {
    let fail = |e| ToolingError::ManDir(dir.to_owned(), e);
    std::fs::create_dir_all(dir).map_err(fail)?;
    clap_mangen::generate_to(cli.clone(), dir).map_err(fail)?;
    // The names clap_mangen chose (`recovery-harness-check.1`, ...), for the message.
    let mut cmd = cli.disable_help_subcommand(true);
    cmd.build();
    let mut written = vec![dir.join(format!("{BIN}.1"))];
    written.extend(cmd.get_subcommands().map(|sub| {
        dir.join(format!(
            "{}.1",
            sub.get_display_name().unwrap_or(sub.get_name())
        ))
    }));
    Ok(written)
}

/// Runs `completions` for the command line `cli`.
pub fn run_completions(args: &CompletionsArgs, cli: clap::Command) -> Result<(), ToolingError> {
    write_stdout(&completion_script(args.shell, cli))
}

/// Runs `man` for the command line `cli`.
pub fn run_man(args: &ManArgs, cli: clap::Command) -> Result<(), ToolingError> {
    match &args.out_dir {
        None => write_stdout(&man_page(cli)),
        Some(dir) => {
            for path in write_man_pages(dir, cli)? {
                crate::say!("wrote {}", path.display());
            }
            Ok(())
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), ToolingError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(ToolingError::Stdout)
}
