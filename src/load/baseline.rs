//! `--baseline PATH` and `--max-regression PCT`: reads a previous run's Goose JSON report (Goose
//! itself shows the per-metric deltas in its reports) and gates on our own rule, since Goose has
//! none: the run fails when its rps fell, or its p95 rose, by more than PCT percent.

pub use super::error::BaselineError;
use crate::report::load_summary::{BaselineComparison, Figures};
use goose::metrics::GooseMetrics;
use std::path::{Path, PathBuf};

/// A baseline report, read and checked.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The file read.
    pub path: PathBuf,
    /// Its raw text (copied into the report directory for Goose).
    pub text: String,
    /// Its aggregated figures.
    pub figures: Figures,
}

impl Baseline {
    /// Reads `path`: a Goose JSON report, or a directory holding `report.json`.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let file = if path.is_dir() {
            path.join("report.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|source| BaselineError::Read {
            path: file.clone(),
            source,
        })?;
        let not = |reason: String| BaselineError::NotAReport {
            path: file.clone(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| not(format!("not JSON ({e})")))?;
        let raw = value
            .get("raw_metrics")
            .ok_or_else(|| not("it has no `raw_metrics`".to_owned()))?;
        let metrics: GooseMetrics = serde_json::from_value(raw.clone()).map_err(|e| {
            not(format!(
                "its `raw_metrics` do not read as Goose metrics ({e})"
            ))
        })?;
        if metrics.requests.is_empty() {
            return Err(not("it holds no request metrics".to_owned()));
        }
        Ok(Baseline {
            path: file,
            text,
            figures: super::figures::aggregated(&metrics),
        })
    }

    /// Compares `current` with this baseline; `max_regression` (percent) is the gate.
    pub fn compare(&self, current: &Figures, max_regression: Option<f64>) -> BaselineComparison {
        let change = |now: f64, before: f64| {
            if before > 0.0 {
                (now - before) / before * 100.0
            } else {
                0.0
            }
        };
        let rps_change_pct = change(current.rps, self.figures.rps);
        let p95_change_pct = change(current.p95_ms, self.figures.p95_ms);
        let passed = match max_regression {
            Some(limit) => -rps_change_pct <= limit && p95_change_pct <= limit,
            None => true,
        };
        BaselineComparison {
            path: self.path.display().to_string(),
            baseline_rps: self.figures.rps,
            baseline_p95_ms: self.figures.p95_ms,
            rps_change_pct,
            p95_change_pct,
            max_regression_pct: max_regression,
            passed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(rps: f64, p95: f64) -> Figures {
        Figures {
            rps,
            p95_ms: p95,
            ..Figures::default()
        }
    }

    #[test]
    fn the_gate_fails_on_slower_rps_or_p95() {
        let b = Baseline {
            path: PathBuf::from("b.json"),
            text: String::new(),
            figures: figures(1000.0, 10.0),
        };
        assert!(b.compare(&figures(950.0, 10.5), Some(10.0)).passed);
        assert!(!b.compare(&figures(850.0, 10.0), Some(10.0)).passed);
        assert!(!b.compare(&figures(1000.0, 12.0), Some(10.0)).passed);
        assert!(b.compare(&figures(10.0, 100.0), None).passed);
        let c = b.compare(&figures(1100.0, 9.0), Some(0.0));
        assert!(c.passed, "faster is never a regression");
        assert!((c.rps_change_pct - 10.0).abs() < 1e-9);
    }

    #[test]
    fn garbage_is_not_a_baseline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.json");
        std::fs::write(&p, "{\"a\":1}").expect("write");
        let e = Baseline::read(&p).expect_err("refused").to_string();
        assert!(e.contains("raw_metrics"), "{e}");
        std::fs::write(&p, "nope").expect("write");
        assert!(Baseline::read(&p).is_err());
        assert!(Baseline::read(&dir.path().join("missing.json")).is_err());
    }
}
