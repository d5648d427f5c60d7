//! Reports: one result model ([`model`]), one module per output format.
//!
//! Every format renders the same immutable [`RunReport`]: renderers never re-run logic, never read
//! the clock (the start time and durations are data of the report) and never see a secret (the
//! producer redacts before the report is built, with [`crate::secret::Redactor`]). Each file format exposes the same
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
//! This file only declares the modules and re-exports their interface. What the formats share
//! lives beside them, below them: `text` (evidence as lines, counts, milliseconds, control
//! characters made visible), `html` (the page shell of both `report.html`, the one place with
//! `chart`'s SVG where maud's escaping is skipped) and `chart`; `files` writes the reports. At the
//! bottom, `replace` puts one file in place whole and `error` holds [`ReportError`], so that every
//! writer (the load summary's too) returns the same error without importing from above.
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

mod chart;
mod error;
mod files;
mod html;
pub mod html_check;
pub mod html_load;
pub mod json;
pub mod junit;
pub mod load_report;
pub mod load_summary;
pub mod markdown;
pub mod model;
mod replace;
pub mod terminal;
mod text;

pub use error::ReportError;
pub use files::{
    remove_check_reports, write_check_reports, write_load_html, CONFORMANCE_JSON, JUNIT_XML,
    REPORT_HTML, SUMMARY_MD,
};
pub use model::{CheckResult, Effect, Evidence, Level, RuleSource, RunReport, Status, Summary};
pub(crate) use replace::replace_file;
