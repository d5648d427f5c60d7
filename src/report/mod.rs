//! Reports: one result model ([`model`]), one module per output format.
//!
//! Every format renders the same immutable [`RunReport`]: renderers never re-run logic, never read
//! the clock (the start time and durations are data of the report) and never see a secret (the
//! producer redacts before the report is built, see [`redact`]). Each file format exposes the same
//! two names: `render(&RunReport) -> String` and `write(&RunReport, &mut dyn Write)`.
//!
//! | module | file | for |
//! |--------|------|-----|
//! | [`terminal`] | stdout | people: grouped by operation, colour on a TTY, `--quiet` for CI logs |
//! | [`json`] | `conformance.json` | machines: the contract of `docs/contract.md`, pinned by [`json::SCHEMA`] |
//! | [`junit`] | `junit.xml` | CI test reporters (GitHub actions, GitLab, Jenkins) |
//! | [`markdown`] | `summary.md` | `$GITHUB_STEP_SUMMARY` and pull-request comments |
//! | [`html_check`] | `report.html` | people: one self-contained page, offline, readable in print |
//! | [`html_load`] | `report.html` (load) | the load run's page, charts as inline SVG, from [`load_report`] |
//! | [`load_summary`] | `load-summary.json` | the load run's summary (owned by the load work) |
//!
//! INTERFACE (`check/` and `load/` code against these names):
//! - [`write_check_reports`]: `conformance.json`, `junit.xml`, `summary.md`, `report.html` into a
//!   directory;
//!   [`remove_check_reports`] removes them (a run that could not be carried out).
//! - [`terminal::render`] with [`terminal::TerminalOptions`] (built by
//!   [`terminal::TerminalOptions::detect`]): the human view of a finished run.
//! - [`terminal::Progress`]: the live indicator while a run is in progress (stderr, TTY only).
//! - [`json::SCHEMA`]: the committed JSON Schema of `conformance.json`.
//! - [`load_summary`]: the `load-summary.json` model and writer.
//! - [`load_report::LoadReport`] and [`write_load_html`]: the load run's `report.html`.

pub mod html;
pub mod html_check;
pub mod html_load;
pub mod json;
pub mod junit;
pub mod load_report;
pub mod load_summary;
pub mod markdown;
pub mod model;
pub mod terminal;

pub use model::{
    redact, CheckResult, Effect, Evidence, Level, RuleSource, RunReport, Status, Summary,
};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the machine-readable report ([`json`]).
pub const CONFORMANCE_JSON: &str = "conformance.json";
/// File name of the JUnit XML report ([`junit`]).
pub const JUNIT_XML: &str = "junit.xml";
/// File name of the Markdown summary ([`markdown`]).
pub const SUMMARY_MD: &str = "summary.md";
/// File name of the HTML report ([`html_check`], [`html_load`]).
pub const REPORT_HTML: &str = html::FILE_NAME;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report directory or a file in it could not be written.
    #[error("cannot write {path}: {source} (choose a writable --report-dir)")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `conformance.json`, `junit.xml`, `summary.md` and `report.html` into `dir` (created with its parents if
/// missing, earlier files of those names replaced) and returns the paths written, in that order.
///
/// Every file is rendered in memory, written to a temporary file in `dir` and renamed over its
/// final name, so an interrupted or failed run leaves either the previous file or the new one,
/// never half a file. The first error stops the writing and names the path that failed.
pub fn write_check_reports(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let files = [
        (CONFORMANCE_JSON, json::render(report)),
        (JUNIT_XML, junit::render(report)),
        (SUMMARY_MD, markdown::render(report)),
        (REPORT_HTML, html_check::render(report)),
    ];
    let mut written = Vec::with_capacity(files.len());
    for (name, contents) in files {
        let path = dir.join(name);
        replace_file(dir, name, contents.as_bytes()).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Removes `conformance.json`, `junit.xml`, `summary.md` and `report.html` from `dir` and returns the paths that
/// existed. Called when a run could not be carried out, so that an earlier run's verdict is not
/// taken for this one's. Best effort: a file that cannot be removed is left (and not returned).
pub fn remove_check_reports(dir: &Path) -> Vec<PathBuf> {
    [CONFORMANCE_JSON, JUNIT_XML, SUMMARY_MD, REPORT_HTML]
        .into_iter()
        .map(|name| dir.join(name))
        .filter(|path| fs::remove_file(path).is_ok())
        .collect()
}

/// Writes the load run's `report.html` into `dir` (created if missing) the same atomic way as the
/// check reports, and returns its path.
pub fn write_load_html(
    report: &load_report::LoadReport,
    dir: &Path,
) -> Result<PathBuf, ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(REPORT_HTML);
    replace_file(dir, REPORT_HTML, html_load::render(report).as_bytes()).map_err(|source| {
        ReportError::Io {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

/// Replaces `dir/name` by `contents` through a temporary sibling and a rename (atomic on one
/// file system). No fsync: the guarantee sought is "no half file after a failed run", not
/// durability across a power cut, and a sync per report would cost more than the whole rendering.
pub(crate) fn replace_file(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    // Unique per process and per call: two runs (or two tests of one process) writing the same
    // directory at once must not share a temporary file; the last rename wins, whole.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{seq}.tmp", std::process::id()));
    let result = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(contents).and_then(|()| f.flush()))
        .and_then(|()| fs::rename(&tmp, dir.join(name)));
    if result.is_err() {
        // Best effort: the temporary file is ours and useless now; the original error matters more.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// One line (possibly with embedded newlines, e.g. a body excerpt) of plain-text evidence.
/// Shared by the terminal, JUnit and Markdown formats so they show the same facts in one shape.
pub(crate) fn evidence_lines(ev: &Evidence) -> Vec<String> {
    let mut lines = Vec::new();
    let outcome = match (ev.status, &ev.transport_error) {
        (Some(status), _) => status.to_string(),
        (None, Some(_)) => "no response".to_owned(),
        (None, None) => "no status".to_owned(),
    };
    lines.push(format!("{} {} → {outcome}", ev.method, ev.url));
    for (name, value) in &ev.request_headers {
        lines.push(format!("> {name}: {value}"));
    }
    for (name, value) in &ev.response_headers {
        lines.push(format!("< {name}: {value}"));
    }
    match (&ev.pointer, &ev.value) {
        (Some(pointer), Some(value)) => lines.push(format!("{} = {value}", show_pointer(pointer))),
        (Some(pointer), None) => lines.push(format!("at {}", show_pointer(pointer))),
        (None, Some(value)) => lines.push(format!("value: {value}")),
        (None, None) => {}
    }
    if let Some(body) = &ev.body_excerpt {
        lines.push(format!("body: {body}"));
    }
    if let Some(err) = &ev.transport_error {
        lines.push(format!("error: {err}"));
    }
    if let Some(curl) = &ev.curl {
        lines.push(curl.clone());
    }
    lines
}

/// The empty JSON pointer is the whole document; printed bare it would be invisible.
pub(crate) fn show_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(document root)"
    } else {
        pointer
    }
}

/// Makes untrusted text safe for a terminal or a Markdown page: C0 and C1 control characters
/// (ESC sequences from a hostile server could rewrite the terminal) and DEL become visible
/// `\u{..}` escapes. Newlines and tabs are kept; a carriage return is escaped because it would
/// overwrite the line it ends.
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// `1 warning`, `2 warnings`: the summary lines count with words people read.
pub(crate) fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Formats milliseconds for people: one decimal under 10 ms (a fast local check is not "0 ms"),
/// whole milliseconds above.
pub(crate) fn human_ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn escape_controls_keeps_text_and_escapes_controls() {
        let cases = [
            ("plain", "plain"),
            ("tab\tand\nnewline", "tab\tand\nnewline"),
            ("esc\u{1b}[31m", "esc\\u{1b}[31m"),
            ("cr\rbell\u{7}", "cr\\u{d}bell\\u{7}"),
            ("del\u{7f} c1\u{85}", "del\\u{7f} c1\\u{85}"),
            ("ünïcødé ✓", "ünïcødé ✓"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape_controls(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn human_ms_switches_precision_at_ten() {
        let cases = [
            (Duration::from_micros(400), "0.4 ms"),
            (Duration::from_micros(9_940), "9.9 ms"),
            (Duration::from_millis(10), "10 ms"),
            (Duration::from_micros(1_234_567), "1235 ms"),
        ];
        for (input, expected) in cases {
            assert_eq!(human_ms(input), expected);
        }
    }

    #[test]
    fn evidence_lines_cover_every_field() {
        let ev = Evidence {
            method: "GET".into(),
            url: "http://h/x".into(),
            request_headers: vec![("X-Session-Token".into(), "[REDACTED]".into())],
            status: None,
            response_headers: vec![("content-type".into(), "text/html".into())],
            pointer: Some(String::new()),
            value: Some("null".into()),
            body_excerpt: Some("<html>".into()),
            curl: Some("curl 'http://h/x'".into()),
            transport_error: Some("timed out after 10s".into()),
        };
        assert_eq!(
            evidence_lines(&ev),
            [
                "GET http://h/x → no response",
                "> X-Session-Token: [REDACTED]",
                "< content-type: text/html",
                "(document root) = null",
                "body: <html>",
                "error: timed out after 10s",
                "curl 'http://h/x'",
            ]
        );
    }
}
