//! Putting one report file in place whole: written to a temporary sibling and renamed over its
//! name, so that an interrupted or failed run leaves the previous file or the new one, never half
//! a file. Every report file (the check run's four, the load run's page and summary, `--har`) is
//! written this way.

use super::error::ReportError;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `contents` as `dir/name` (`dir` created with its parents if missing) through
/// [`replace_file`], and returns the path; the error names the path that failed.
pub(crate) fn write_file(dir: &Path, name: &str, contents: &[u8]) -> Result<PathBuf, ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(name);
    replace_file(dir, name, contents).map_err(|source| ReportError::Io {
        path: path.clone(),
        source,
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
