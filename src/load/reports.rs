//! The files of a load run in its report directory ([`Reports`]): prepared before the attack,
//! published atomically after it, discarded when the run could not finish.

use super::baseline::Baseline;
use super::error::LoadError;
use crate::report::load_summary;
use std::path::{Path, PathBuf};

/// The files of a run in the report directory.
///
/// Goose writes its reports into `staging` (a hidden directory inside `dir`); [`Reports::publish`]
/// moves each finished file into `dir` with a rename, so a reader never sees a half-written
/// report, and a run that dies leaves no empty file in `dir`.
#[derive(Debug, Clone)]
pub struct Reports {
    /// The report directory.
    pub dir: PathBuf,
    /// Where Goose writes before the files are published.
    pub staging: PathBuf,
    /// Goose's HTML report.
    pub html: PathBuf,
    /// Goose's JSON report.
    pub json: PathBuf,
    /// Goose's Markdown report.
    pub md: PathBuf,
    /// Our summary.
    pub summary: PathBuf,
    /// The baseline copy handed to Goose.
    pub baseline: Option<PathBuf>,
}

impl Reports {
    /// Prepares `dir`: creates it, removes the previous run's files of these names (so that no
    /// stale report survives a failed run), checks it is writable, copies the baseline in.
    pub fn prepare(dir: &Path, baseline: Option<&Baseline>) -> Result<Reports, LoadError> {
        let err = |source| LoadError::ReportDir {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let staging = dir.join(format!(".partial-{}", std::process::id()));
        let reports = Reports {
            dir: dir.to_path_buf(),
            staging: staging.clone(),
            html: dir.join("report.html"),
            json: dir.join("report.json"),
            md: dir.join("report.md"),
            summary: dir.join(load_summary::FILE_NAME),
            baseline: baseline.map(|_| dir.join("baseline.json")),
        };
        // The baseline is read into memory before anything here is removed, so a baseline that
        // is this directory's own report.json survives as baseline.json.
        for file in reports.published() {
            match std::fs::remove_file(file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(e)),
            }
        }
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(err)?;
        let probe = staging.join(".recovery-harness-write-test");
        std::fs::write(&probe, b"").map_err(err)?;
        let _ = std::fs::remove_file(&probe);
        if let (Some(b), Some(path)) = (baseline, &reports.baseline) {
            std::fs::write(path, &b.text).map_err(err)?;
        }
        Ok(reports)
    }

    /// The files a finished run leaves in the directory.
    pub fn published(&self) -> [&PathBuf; 4] {
        [&self.html, &self.json, &self.md, &self.summary]
    }

    /// Where Goose writes `file` (one of [`Reports::published`]) before it is published.
    pub fn staged(&self, file: &Path) -> PathBuf {
        self.staging.join(file.file_name().unwrap_or_default())
    }

    /// Moves every report Goose finished from the staging directory into the report directory
    /// (a rename each: atomic), skipping an empty one, and removes the staging directory.
    pub fn publish(&self) -> Result<(), LoadError> {
        let err = |source| LoadError::ReportDir {
            path: self.dir.clone(),
            source,
        };
        for file in [&self.html, &self.json, &self.md] {
            let staged = self.staged(file);
            match std::fs::metadata(&staged) {
                Ok(m) if m.len() > 0 => std::fs::rename(&staged, file).map_err(err)?,
                _ => {}
            }
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        Ok(())
    }

    /// Removes the staging directory (a run that could not finish).
    pub fn discard(&self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }

    /// The reports present in the directory, for the summary's list.
    pub fn written(&self) -> Vec<String> {
        self.published()
            .into_iter()
            .filter(|p| *p == &self.summary || p.exists())
            .map(|p| p.display().to_string())
            .collect()
    }
}
