//! The terminal view of a conformance run.

use super::RunReport;
use std::io::Write;

/// How to render for a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalOptions {
    /// ANSI colour (only when stdout is a TTY and NO_COLOR is unset).
    pub color: bool,
    /// Only failures and the summary line (`--quiet`).
    pub quiet: bool,
}

/// Renders `report` for a terminal.
pub fn render(
    report: &RunReport,
    _opts: &TerminalOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let s = report.summary();
    writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        s.passed, s.failed, s.skipped
    )
}
