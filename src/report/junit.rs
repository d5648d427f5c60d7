//! `junit.xml`: the conformance run as a JUnit XML report, for CI test reporters.
//!
//! There is no single JUnit XML standard; this follows the de-facto one (the Ant task's schema,
//! <https://github.com/windyroad/JUnit-Schema>) that GitHub actions (dorny/test-reporter,
//! mikepenz/action-junit-report), GitLab and Jenkins all read. Mapping:
//!
//! - one `<testsuites>` for the run (totals, run duration);
//! - one `<testsuite>` per operation (`createNativeRecoveryFlow`, ...), in catalogue order, with
//!   `<properties>` (target, tool version, TLS mode, start time) and the run's notes in
//!   `<system-out>` (the insecure warning among them);
//! - one `<testcase>` per check: `classname` = operation, `name` = `id — title`;
//! - a failed check has `<failure message="detail" type="conformance|transport">` whose text is
//!   the rule, its source and the evidence (request, status, pointer = value, curl line);
//! - a skipped check has `<skipped message="reason"/>`;
//! - a warning (a failed `recommended` check) passes with the warning and its evidence in its
//!   `<system-out>`; under `--strict` it is a `<failure type="warning">`;
//! - a check whose probe got no answer even when retried alone has `<error type="no_answer">`:
//!   an error of the run, not a broken rule. A run that cannot be carried out at all writes no
//!   report (exit 2).
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <testsuites name="recovery-harness conformance" tests="2" failures="1" errors="0" skipped="0" time="0.041">
//!   <testsuite name="getRecoveryFlow" tests="2" failures="1" errors="0" skipped="0" time="0.012" timestamp="2026-11-25T15:00:00">
//!     <properties>
//!       <property name="target" value="https://id.example.com/auth"/>
//!       ...
//!     </properties>
//!     <testcase classname="getRecoveryFlow" name="get.unknown_id.404 — Unknown flow id gets 404" time="0.004"/>
//!     <testcase classname="getRecoveryFlow" name="get.malformed_id.404 — ..." time="0.008">
//!       <failure message="expected 404, got 500" type="conformance">...</failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! A small hand-written writer keeps this dependency-free; all text goes through [`escape_text`]
//! or [`escape_attr`], which also replace the control characters XML 1.0 forbids.

use super::model::{CheckResult, RunReport, Status, Summary};
use super::text::evidence_lines;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

/// Renders `report` as a JUnit XML document (newline-terminated).
pub fn render(report: &RunReport) -> String {
    let mut x = String::with_capacity(4096);
    let total = report.summary();
    let _ = writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        x,
        r#"<testsuites name="recovery-harness conformance" tests="{}" failures="{}" errors="{}" skipped="{}" time="{}">"#,
        total.total(),
        failures(&total, report.strict),
        total.errors,
        total.skipped,
        seconds(report.duration),
    );
    // The strict Ant schema wants a timestamp without a zone; it is UTC.
    let timestamp = report.started_at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let system_out = system_out(report);
    for (operation, checks) in report.by_operation() {
        let s = Summary::of(checks.iter().copied());
        let time: Duration = checks.iter().map(|c| c.duration).sum();
        let _ = writeln!(
            x,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{}" timestamp="{timestamp}">"#,
            escape_attr(operation),
            s.total(),
            failures(&s, report.strict),
            s.errors,
            s.skipped,
            seconds(time),
        );
        write_properties(&mut x, report);
        for check in checks {
            write_testcase(&mut x, check, report.strict);
        }
        if let Some(text) = &system_out {
            let _ = writeln!(x, "    <system-out>{}</system-out>", escape_text(text));
        }
        let _ = writeln!(x, "  </testsuite>");
    }
    let _ = writeln!(x, "</testsuites>");
    x
}

/// Writes the JUnit XML document of `report` to `out`.
pub fn write(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(render(report).as_bytes())
}

fn write_properties(x: &mut String, report: &RunReport) {
    let started_at = report
        .started_at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let props = [
        ("target", report.target.as_str()),
        ("tool_version", report.tool_version.as_str()),
        ("embedded_target", bool_str(report.embedded_target)),
        ("insecure", bool_str(report.insecure)),
        ("started_at", started_at.as_str()),
    ];
    let _ = writeln!(x, "    <properties>");
    for (name, value) in props {
        let _ = writeln!(
            x,
            r#"      <property name="{name}" value="{}"/>"#,
            escape_attr(value)
        );
    }
    let _ = writeln!(x, "    </properties>");
}

/// Warnings count as failures only under `--strict`: a CI reporter must agree with the exit code.
fn failures(s: &Summary, strict: bool) -> usize {
    s.failed + if strict { s.warnings } else { 0 }
}

fn write_testcase(x: &mut String, c: &CheckResult, strict: bool) {
    let open = format!(
        r#"    <testcase classname="{}" name="{}" time="{}""#,
        escape_attr(&c.operation),
        escape_attr(&format!("{} — {}", c.id, c.title)),
        seconds(c.duration),
    );
    match c.status {
        Status::Passed => {
            let _ = writeln!(x, "{open}/>");
        }
        Status::Skipped => {
            let _ = writeln!(x, "{open}>");
            let _ = writeln!(
                x,
                r#"      <skipped message="{}"/>"#,
                escape_attr(&c.detail)
            );
            let _ = writeln!(x, "    </testcase>");
        }
        Status::Failed => {
            let kind = if c.evidence.iter().any(|e| e.transport_error.is_some()) {
                "transport"
            } else {
                "conformance"
            };
            let _ = writeln!(x, "{open}>");
            let _ = writeln!(
                x,
                r#"      <failure message="{}" type="{kind}">{}</failure>"#,
                escape_attr(&c.detail),
                escape_text(&failure_text(c)),
            );
            let _ = writeln!(x, "    </testcase>");
        }
        // Under --strict a warning fails the run, so it is a failure to the reporter too;
        // otherwise the test passed and the warning is its output, which reporters show.
        Status::Warning if strict => {
            let _ = writeln!(x, "{open}>");
            let _ = writeln!(
                x,
                r#"      <failure message="{}" type="warning">{}</failure>"#,
                escape_attr(&c.detail),
                escape_text(&failure_text(c)),
            );
            let _ = writeln!(x, "    </testcase>");
        }
        Status::Warning => {
            let _ = writeln!(x, "{open}>");
            let _ = writeln!(
                x,
                "      <system-out>{}</system-out>",
                escape_text(&format!(
                    "WARNING (recommended rule, not a failure without --strict): {}",
                    failure_text(c)
                )),
            );
            let _ = writeln!(x, "    </testcase>");
        }
        Status::Error => {
            let _ = writeln!(x, "{open}>");
            let _ = writeln!(
                x,
                r#"      <error message="{}" type="no_answer">{}</error>"#,
                escape_attr(&c.detail),
                escape_text(&failure_text(c)),
            );
            let _ = writeln!(x, "    </testcase>");
        }
    }
}

/// The body of a `<failure>`: enough to understand and reproduce the failure without the other
/// reports (CI reporters often show only this).
fn failure_text(c: &CheckResult) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}", c.detail);
    let _ = writeln!(
        t,
        "rule: {} ({}, {})",
        c.rule,
        c.level.as_str(),
        c.source.as_str()
    );
    for ev in &c.evidence {
        t.push('\n');
        for line in evidence_lines(ev) {
            let _ = writeln!(t, "{line}");
        }
    }
    t
}

/// The run's notes, the insecure warning first; `None` when there is nothing to say.
fn system_out(report: &RunReport) -> Option<String> {
    let mut lines = Vec::new();
    if report.insecure {
        lines.push(INSECURE_WARNING.to_owned());
    }
    lines.extend(report.notes.iter().cloned());
    if lines.is_empty() {
        None
    } else {
        Some(lines.join("\n"))
    }
}

const INSECURE_WARNING: &str = "WARNING: TLS certificate verification was disabled (--insecure); \
     this run does not prove the target's identity.";

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Seconds with millisecond precision, the unit every JUnit reader expects in `time`.
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Escapes character data: `&`, `<` and `>` (the last so that `]]>` can never appear), keeps
/// tabs and newlines, encodes a carriage return (a parser would turn it into a newline) and
/// replaces the characters XML 1.0 forbids.
pub fn escape_text(text: &str) -> String {
    escape(text, false)
}

/// Escapes an attribute value: as [`escape_text`] plus both quotes, and tab, newline and carriage
/// return as character references (attribute normalisation would turn them into spaces).
pub fn escape_attr(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, attr: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            // Forbidden by XML 1.0 (C0 controls, U+FFFE, U+FFFF) or discouraged (DEL, C1): not even
            // a character reference is allowed for the former, so show them as visible escapes.
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        let cases = [
            ("a<b>&c", "a&lt;b&gt;&amp;c", "a&lt;b&gt;&amp;c"),
            (
                r#"say "hi" 'x'"#,
                r#"say "hi" 'x'"#,
                "say &quot;hi&quot; &apos;x&apos;",
            ),
            ("l1\nl2\tt\rr", "l1\nl2\tt&#13;r", "l1&#10;l2&#9;t&#13;r"),
            (
                "nul\u{0}esc\u{1b}",
                "nul\\u{0}esc\\u{1b}",
                "nul\\u{0}esc\\u{1b}",
            ),
            (
                "\u{fffe}\u{ffff}",
                "\\u{fffe}\\u{ffff}",
                "\\u{fffe}\\u{ffff}",
            ),
            ("]]>", "]]&gt;", "]]&gt;"),
            ("ünïcødé — ✓", "ünïcødé — ✓", "ünïcødé — ✓"),
        ];
        for (input, text, attr) in cases {
            assert_eq!(escape_text(input), text, "text of {input:?}");
            assert_eq!(escape_attr(input), attr, "attr of {input:?}");
        }
    }

    #[test]
    fn seconds_have_millisecond_precision() {
        assert_eq!(seconds(Duration::from_micros(1_234_567)), "1.235");
        assert_eq!(seconds(Duration::ZERO), "0.000");
    }
}
