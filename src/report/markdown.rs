//! `summary.md`: the conformance run as GitHub-flavoured Markdown, fit for
//! `$GITHUB_STEP_SUMMARY` (`cat reports/check/summary.md >> "$GITHUB_STEP_SUMMARY"`) and for
//! pull-request comments.
//!
//! Layout: a headline with the verdict and the counts; the target, start time and duration; the
//! insecure warning (a GitHub `[!WARNING]` alert) and the notes; then one section per operation
//! with a table (status, id, title, time); the failures' evidence in `<details>` blocks with
//! fenced code; the skipped checks with their reasons.
//!
//! Text from the target (titles are ours, but details and evidence quote the server) is escaped
//! for where it lands: Markdown punctuation in paragraphs and table cells (`|` included, which
//! would split a cell), HTML entities inside the `<summary>` tag, and code fences longer than any
//! backtick run they enclose. Control characters are shown as `\u{..}` escapes. Each failure's
//! evidence is capped (GitHub rejects a step summary over 1 MiB); `conformance.json` has it all.

use super::model::{CheckResult, RunReport, Status, Summary};
use super::text::{count, escape_controls, evidence_lines, human_ms};
use std::fmt::Write as _;
use std::io::Write;

/// Renders `report` as the `summary.md` document (newline-terminated).
pub fn render(report: &RunReport) -> String {
    let mut m = String::with_capacity(4096);
    let s = report.summary();
    let (icon, verdict) = if report.outcome() != crate::exit::Outcome::Passed {
        ("❌", "failed")
    } else if s.warnings > 0 {
        ("⚠️", "passed with warnings")
    } else {
        ("✅", "passed")
    };
    let _ = writeln!(
        m,
        "## {icon} Recovery conformance {verdict}: {}\n",
        counts(&s)
    );
    let embedded = if report.embedded_target {
        " (embedded reference server)"
    } else {
        ""
    };
    let _ = writeln!(
        m,
        "**Target:** {}{embedded} · **Started:** {} · **Duration:** {} · recovery-harness {}\n",
        code_span(&report.target),
        report
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        human_ms(report.duration),
        text(&report.tool_version),
    );
    if report.insecure {
        let _ = writeln!(
            m,
            "> [!WARNING]\n> TLS certificate verification was **disabled** (`--insecure`): this run \
             does not prove the target's identity.\n"
        );
    }
    if !report.notes.is_empty() {
        let _ = writeln!(m, "> [!NOTE]");
        for note in &report.notes {
            let _ = writeln!(m, "> - {}", one_line(&text(note)));
        }
        m.push('\n');
    }
    for (operation, checks) in report.by_operation() {
        write_operation(&mut m, operation, &checks);
    }
    m
}

/// Writes the `summary.md` document of `report` to `out`.
pub fn write(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(render(report).as_bytes())
}

fn write_operation(m: &mut String, operation: &str, checks: &[&CheckResult]) {
    let s = Summary::of(checks.iter().copied());
    let _ = writeln!(m, "### {} — {}\n", text(operation), counts(&s));
    let _ = writeln!(m, "| | Check | Level | Title | Time |");
    let _ = writeln!(m, "|---|---|---|---|---:|");
    for c in checks {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} |",
            emoji(c.status),
            cell(&code_span(&c.id)),
            c.level.as_str(),
            cell(&text(&c.title)),
            match c.status {
                Status::Skipped => "—".to_owned(),
                _ => human_ms(c.duration),
            },
        );
    }
    m.push('\n');
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Warning | Status::Error))
        .collect();
    for c in failed {
        let _ = writeln!(
            m,
            "<details><summary>{} <code>{}</code> — {}{}</summary>\n",
            emoji(c.status),
            html(&c.id),
            html(&c.title),
            match c.status {
                Status::Warning => " (warning: recommended rule)",
                Status::Error => " (error: no answer, even alone)",
                _ => "",
            },
        );
        let _ = writeln!(m, "{}\n", paragraph(&c.detail));
        let _ = writeln!(
            m,
            "Rule ({}, {}): {}\n",
            c.level.as_str(),
            c.source.as_str(),
            paragraph(&c.rule)
        );
        if !c.evidence.is_empty() {
            let mut block = String::new();
            for (i, ev) in c.evidence.iter().enumerate() {
                if i > 0 {
                    block.push('\n');
                }
                for line in evidence_lines(ev) {
                    block.push_str(&line);
                    block.push('\n');
                }
            }
            let block = shorten(&escape_controls(&block), MAX_EVIDENCE_BYTES);
            let fence = fence_for(&block);
            let _ = writeln!(m, "{fence}text\n{block}{fence}\n");
        }
        let _ = writeln!(m, "</details>\n");
    }
    let skipped: Vec<_> = checks
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(m, "Skipped:\n");
        for c in skipped {
            let _ = writeln!(
                m,
                "- ⏭️ {} — {}",
                code_span(&c.id),
                one_line(&text(&c.detail))
            );
        }
        m.push('\n');
    }
}

/// GitHub refuses a step summary over 1 MiB (the whole upload fails); bounding each failure's
/// evidence keeps even a run with a hundred failures well under it. The full evidence is in
/// `conformance.json`.
const MAX_EVIDENCE_BYTES: usize = 4096;

/// Cuts `block` at a character boundary at most `max` bytes in, saying how much was left out.
fn shorten(block: &str, max: usize) -> String {
    if block.len() <= max {
        return block.to_owned();
    }
    let mut cut = max;
    while !block.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n… ({} more bytes in conformance.json)\n",
        &block[..cut],
        block.len() - cut
    )
}

fn counts(s: &Summary) -> String {
    let mut text = format!(
        "{} passed, {} failed, {}, {} skipped",
        s.passed,
        s.failed,
        count(s.warnings, "warning"),
        s.skipped
    );
    if s.errors > 0 {
        text.push_str(&format!(", {}", count(s.errors, "error")));
    }
    text
}

fn emoji(status: Status) -> &'static str {
    match status {
        Status::Passed => "✅",
        Status::Failed => "❌",
        Status::Skipped => "⏭️",
        Status::Warning => "⚠️",
        Status::Error => "💥",
    }
}

/// Escapes Markdown inline syntax (backslash escapes work for any ASCII punctuation in
/// CommonMark), `&` as an entity, and control characters.
fn text(s: &str) -> String {
    let s = escape_controls(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text kept as one paragraph: line breaks become `<br>` (a blank line would end the
/// paragraph, or the enclosing `<details>` HTML block).
fn paragraph(s: &str) -> String {
    text(s.trim_end()).replace('\n', "<br>")
}

/// Text for a list item or a blockquote line: newlines become spaces.
fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// A table cell: a `|`, even inside a code span, would split the cell (GFM unescapes `\|` there
/// too) and a newline would end the row.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_backslash = false;
    for c in s.chars() {
        match c {
            '|' if !prev_backslash => out.push_str("\\|"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
        prev_backslash = c == '\\' && !prev_backslash;
    }
    out
}

/// A code span that survives any content: delimited by one more backtick than the longest run
/// inside, padded with spaces when the content touches a backtick (CommonMark 6.1).
fn code_span(s: &str) -> String {
    let s = one_line(&escape_controls(s));
    if s.is_empty() {
        // "``" would not be an empty code span but two literal backticks.
        return String::new();
    }
    let ticks = "`".repeat(longest_backtick_run(&s) + 1);
    if s.starts_with('`') || s.ends_with('`') {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

/// A fence of at least three backticks, longer than any backtick run in the block.
fn fence_for(block: &str) -> String {
    "`".repeat((longest_backtick_run(block) + 1).max(3))
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// Text inside a raw HTML tag (`<summary>`): HTML entities, not Markdown escapes.
fn html(s: &str) -> String {
    let s = one_line(&escape_controls(s));
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_span_outlasts_backticks() {
        let cases = [
            ("plain.id", "`plain.id`"),
            ("a`b", "``a`b``"),
            ("`edge", "`` `edge ``"),
            ("x``y", "```x``y```"),
        ];
        for (input, expected) in cases {
            assert_eq!(code_span(input), expected);
        }
    }

    #[test]
    fn cell_escapes_pipes_once() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell(&text("a|b")), "a\\|b");
        assert_eq!(cell("`x|y`"), "`x\\|y`");
        assert_eq!(cell("two\nlines"), "two lines");
    }

    #[test]
    fn text_escapes_markdown_and_html() {
        assert_eq!(
            text("<b>*bold*</b> & `x` [l](u) #1"),
            "\\<b\\>\\*bold\\*\\</b\\> &amp; \\`x\\` \\[l\\](u) \\#1"
        );
        assert_eq!(text("esc\u{1b}"), "esc\\\\u{1b}");
    }

    #[test]
    fn shorten_cuts_at_a_char_boundary_and_says_so() {
        assert_eq!(shorten("short\n", 10), "short\n");
        // "é" is two bytes: a cut at 2 would split it.
        assert_eq!(
            shorten("aébc", 2),
            "a\n… (4 more bytes in conformance.json)\n"
        );
    }

    #[test]
    fn fence_outlasts_backtick_runs() {
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("```inner```"), "````");
    }
}
