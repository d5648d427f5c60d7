//! Writing the report files: the check run's four files and the load run's page, each replaced
//! whole ([`super::replace`]).

use super::error::ReportError;
use super::load_report::LoadReport;
use super::model::RunReport;
use super::replace::write_file;
use super::{html_check, html_load, json, junit, markdown};
use std::fs;
use std::path::{Path, PathBuf};

/// File name of the machine-readable report ([`json`]).
pub const CONFORMANCE_JSON: &str = "conformance.json";
/// File name of the JUnit XML report ([`junit`]).
pub const JUNIT_XML: &str = "junit.xml";
/// File name of the Markdown summary ([`markdown`]).
pub const SUMMARY_MD: &str = "summary.md";
/// File name of the HTML report ([`html_check`], [`html_load`]).
pub const REPORT_HTML: &str = "report.html";

/// Writes `conformance.json`, `junit.xml`, `summary.md` and `report.html` into `dir` (created with its parents if
/// missing, earlier files of those names replaced) and returns the paths written, in that order.
///
/// Every file is rendered in memory, written to a temporary file in `dir` and renamed over its
/// final name, so an interrupted or failed run leaves either the previous file or the new one,
/// never half a file. The first error stops the writing and names the path that failed.
pub fn write_check_reports(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    [
        (CONFORMANCE_JSON, json::render(report)),
        (JUNIT_XML, junit::render(report)),
        (SUMMARY_MD, markdown::render(report)),
        (REPORT_HTML, html_check::render(report)),
    ]
    .into_iter()
    .map(|(name, contents)| write_file(dir, name, contents.as_bytes()))
    .collect()
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
pub fn write_load_html(report: &LoadReport, dir: &Path) -> Result<PathBuf, ReportError> {
    write_file(dir, REPORT_HTML, html_load::render(report).as_bytes())
}
