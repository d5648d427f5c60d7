//! The terminal view of a conformance run: what a person (or a CI log) reads.
//!
//! ```text
//! recovery-harness 0.3.0 · target https://id.example.com/auth
//! note: fuzzing seed 42
//!
//! createNativeRecoveryFlow
//!   PASS create_native.200.status  Status is 200  (3.1 ms)
//!   FAIL create_native.signed_in.token.400  Signed-in token gets 400  (12 ms)
//!        expected 400, got 200
//!        GET https://id.example.com/auth/self-service/recovery/api → 200
//!        /error/id = "session_already_available"
//!        curl -sS -H 'X-Session-Token: [REDACTED]' 'https://...'
//!   SKIP create_native.signed_in.cookie.400  Signed-in cookie gets 400
//!        skipped: no --session-cookie given
//!
//! 1 passed, 1 failed, 0 warnings, 1 skipped in 412 ms
//! ```
//!
//! Colour only when [`TerminalOptions::color`] (the caller decides, see
//! [`TerminalOptions::detect`]); without it the output is plain text with the same words, so
//! logs stay greppable (`FAIL`). Text that quotes the target has its control characters escaped:
//! a hostile server must not be able to drive the terminal with escape sequences.
//!
//! While a run is in progress, [`Progress`] shows a live count on stderr (TTY only, after a
//! moment, never with `--quiet`).

use super::model::{CheckResult, RunReport, Status};
use super::text::{count, escape_controls, evidence_lines, human_ms};
use owo_colors::{OwoColorize, Style};
use std::io::{IsTerminal, Write};

/// How to render for a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalOptions {
    /// ANSI colour (only when stdout is a TTY and NO_COLOR is unset).
    pub color: bool,
    /// Only failures and the summary line (`--quiet`).
    pub quiet: bool,
}

impl TerminalOptions {
    /// Options for the process's stdout: colour when stdout is a terminal, `NO_COLOR` is unset
    /// or empty (<https://no-color.org>) and `TERM` is not `dumb`.
    pub fn detect(quiet: bool) -> TerminalOptions {
        TerminalOptions::from_context(
            quiet,
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("TERM").as_deref(),
        )
    }

    /// The pure decision behind [`TerminalOptions::detect`], for callers that read the
    /// environment once into a context (and for tests).
    pub fn from_context(
        quiet: bool,
        stdout_is_tty: bool,
        no_color: Option<&std::ffi::OsStr>,
        term: Option<&std::ffi::OsStr>,
    ) -> TerminalOptions {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        let dumb = term.is_some_and(|t| t == "dumb");
        TerminalOptions {
            color: stdout_is_tty && !no_color && !dumb,
            quiet,
        }
    }
}

/// Renders `report` for a terminal.
pub fn render(
    report: &RunReport,
    opts: &TerminalOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let p = Painter { color: opts.color };
    // Blank lines separate sections; a quiet, clean run prints its summary line alone.
    let mut wrote_any = report.insecure || !opts.quiet;
    if report.insecure {
        writeln!(
            out,
            "{}",
            p.paint(
                "WARNING: TLS certificate verification is DISABLED (--insecure): this run does not prove the target's identity.",
                Style::new().yellow().bold(),
            )
        )?;
    }
    if !opts.quiet {
        let embedded = if report.embedded_target {
            " (embedded reference server)"
        } else {
            ""
        };
        writeln!(
            out,
            "{}",
            p.paint(
                &format!(
                    "recovery-harness {} · target {}{embedded}",
                    clean(&report.tool_version),
                    clean(&report.target)
                ),
                Style::new().bold(),
            )
        )?;
        for note in &report.notes {
            // A note is one line: a newline in it would look like the start of a new section.
            writeln!(
                out,
                "{} {}",
                p.paint("note:", Style::new().cyan().bold()),
                clean(note).replace('\n', " ")
            )?;
        }
    }
    for (operation, checks) in report.by_operation() {
        let shown: Vec<&&CheckResult> = checks
            .iter()
            .filter(|c| {
                !opts.quiet || matches!(c.status, Status::Failed | Status::Warning | Status::Error)
            })
            .collect();
        if shown.is_empty() {
            continue;
        }
        if wrote_any {
            writeln!(out)?;
        }
        wrote_any = true;
        writeln!(
            out,
            "{}",
            p.paint(&clean(operation), Style::new().bold().underline())
        )?;
        for c in shown {
            write_check(out, &p, c)?;
        }
    }
    let s = report.summary();
    let failed = format!("{} failed", s.failed);
    let failed_style = if s.failed > 0 {
        Style::new().red().bold()
    } else {
        Style::new()
    };
    if wrote_any {
        writeln!(out)?;
    }
    let warnings = count(s.warnings, "warning");
    let warnings_style = if s.warnings > 0 {
        Style::new().magenta().bold()
    } else {
        Style::new()
    };
    let errors = if s.errors > 0 {
        format!(
            ", {}",
            p.paint(&count(s.errors, "error"), Style::new().red().bold())
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "{}, {}, {}, {}{errors} in {}",
        p.paint(&format!("{} passed", s.passed), Style::new().green()),
        p.paint(&failed, failed_style),
        p.paint(&warnings, warnings_style),
        p.paint(&format!("{} skipped", s.skipped), Style::new().yellow()),
        human_ms(report.duration),
    )
}

/// Evidence and details sit under the check's id (after `  PASS `).
const DETAIL_INDENT: &str = "       ";

fn write_check(out: &mut dyn Write, p: &Painter, c: &CheckResult) -> std::io::Result<()> {
    let (mark, style) = match c.status {
        Status::Passed => ("PASS", Style::new().green()),
        Status::Failed => ("FAIL", Style::new().red().bold()),
        Status::Skipped => ("SKIP", Style::new().yellow()),
        Status::Warning => ("WARN", Style::new().magenta().bold()),
        Status::Error => ("ERR ", Style::new().red().bold()),
    };
    // A skipped check did not run: a duration would only be noise.
    let duration = match c.status {
        Status::Skipped => String::new(),
        _ => format!(
            "  {}",
            p.paint(
                &format!("({})", human_ms(c.duration)),
                Style::new().dimmed()
            )
        ),
    };
    writeln!(
        out,
        "  {} {}  {}{duration}",
        p.paint(mark, style),
        p.paint(&clean(&c.id), Style::new().bold()),
        clean(&c.title),
    )?;
    match c.status {
        Status::Passed => Ok(()),
        Status::Skipped => write_block(
            out,
            p,
            &format!("skipped: {}", c.detail),
            Style::new().dimmed(),
        ),
        Status::Failed | Status::Warning | Status::Error => {
            let detail = match c.status {
                Status::Warning => format!("recommended: {}", c.detail),
                Status::Error => format!("error of the run: {}", c.detail),
                _ => c.detail.clone(),
            };
            write_block(out, p, &detail, Style::new().red())?;
            for ev in &c.evidence {
                for line in evidence_lines(ev) {
                    let style = if line.starts_with("curl ") {
                        Style::new().cyan()
                    } else {
                        Style::new()
                    };
                    write_block(out, p, &line, style)?;
                }
            }
            Ok(())
        }
    }
}

/// Writes untrusted, possibly multi-line text under the check, each line indented and painted on
/// its own (CI log viewers reset styles at every line break).
fn write_block(out: &mut dyn Write, p: &Painter, text: &str, style: Style) -> std::io::Result<()> {
    for line in clean(text).trim_end_matches('\n').split('\n') {
        writeln!(out, "{DETAIL_INDENT}{}", p.paint(line, style))?;
    }
    Ok(())
}

/// Applies a style only when colour is on, so the plain output has no escape sequences at all.
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_owned()
        }
    }
}

fn clean(text: &str) -> String {
    escape_controls(text).into_owned()
}

/// A live progress indicator for a run in progress, drawn on stderr (stdout stays for the
/// report) and only when it helps: stderr is a terminal, not `--quiet`, and the run has lasted
/// more than [`Progress::DELAY`], so a sub-second run against the embedded server never flashes
/// a bar. The runner calls [`Progress::check_done`] as checks finish (from any task: the type is
/// cheap to clone and thread-safe) and [`Progress::finish`] before rendering the report.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: indicatif::ProgressBar,
    cancel: Option<std::sync::mpsc::SyncSender<()>>,
}

impl Progress {
    /// How long a run must last before the indicator appears.
    pub const DELAY: std::time::Duration = std::time::Duration::from_millis(300);

    /// An indicator for `total` checks, shown after [`Progress::DELAY`] when stderr is a
    /// terminal and `quiet` is off; otherwise hidden (every call a no-op).
    pub fn detect(total: u64, quiet: bool) -> Progress {
        Progress::new(total, !quiet && std::io::stderr().is_terminal())
    }

    /// An indicator for `total` checks, shown after [`Progress::DELAY`] only when `enabled`.
    pub fn new(total: u64, enabled: bool) -> Progress {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::hidden(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} checking {pos}/{len} {wide_msg}")
        {
            bar.set_style(style);
        }
        if !enabled {
            return Progress { bar, cancel: None };
        }
        let (cancel, cancelled) = std::sync::mpsc::sync_channel::<()>(1);
        let shown = bar.clone();
        // A timer thread rather than a check at each completion: the first checks may all be
        // waiting on a slow target, and that is exactly when the indicator matters.
        let spawned = std::thread::Builder::new()
            .name("progress-delay".to_owned())
            .spawn(move || {
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    cancelled.recv_timeout(Progress::DELAY)
                {
                    if !shown.is_finished() {
                        shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                        shown.enable_steady_tick(std::time::Duration::from_millis(120));
                    }
                }
            });
        // No thread, no indicator: progress is a nicety, never a reason to fail a run.
        let cancel = spawned.ok().map(|_| cancel);
        Progress { bar, cancel }
    }

    /// Records one finished check (its id shown next to the count).
    pub fn check_done(&self, id: &str) {
        self.bar.set_message(escape_controls(id).into_owned());
        self.bar.inc(1);
    }

    /// Number of checks recorded so far.
    pub fn done(&self) -> u64 {
        self.bar.position()
    }

    /// Removes the indicator (before the report is printed) and stops its timer.
    pub fn finish(&self) {
        if let Some(cancel) = &self.cancel {
            // The timer may have fired already; then nobody listens and that is fine.
            let _ = cancel.try_send(());
        }
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_needs_a_tty_and_no_no_color() {
        let on = |tty, no_color: Option<&str>, term: Option<&str>| {
            TerminalOptions::from_context(
                false,
                tty,
                no_color.map(OsStr::new),
                term.map(OsStr::new),
            )
            .color
        };
        assert!(on(true, None, Some("xterm-256color")));
        assert!(on(true, Some(""), None), "an empty NO_COLOR does not count");
        assert!(!on(true, Some("1"), None));
        assert!(!on(false, None, None));
        assert!(!on(true, None, Some("dumb")));
        assert!(TerminalOptions::from_context(true, false, None, None).quiet);
    }

    #[test]
    fn progress_counts_and_finishes_when_hidden_or_enabled() {
        for enabled in [false, true] {
            let progress = Progress::new(3, enabled);
            progress.check_done("a.1");
            progress.clone().check_done("b\u{1b}[2J");
            assert_eq!(progress.done(), 2);
            progress.finish();
            assert!(progress.bar.is_finished());
        }
    }
}
