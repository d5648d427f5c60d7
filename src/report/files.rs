//! Writing the report files: the check run's four files and the load run's page, each replaced
//! whole through a temporary sibling and a rename, and [`ReportError`] when that fails.

use super::load_report::LoadReport;
use super::model::RunReport;
use super::{html_check, html_load, json, junit, markdown};
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
pub const REPORT_HTML: &str = "report.html";

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
pub fn write_load_html(report: &LoadReport, dir: &Path) -> Result<PathBuf, ReportError> {
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
