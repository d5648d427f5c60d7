//! The load runner (`recovery-harness load`): Goose scenarios on flow-creation throughput, every
//! response validated, the run gated by Goose's threshold rules, schema failures and an optional
//! baseline regression limit; the open model (`--rate`, `--stages`) and the capacity search
//! (`load capacity`).
//!
//! A run, by the module that owns each part, from the top down (a file imports only files below
//! it; none imports from this one):
//!
//! | module | owns |
//! |--------|------|
//! | [`capacity`] | `load capacity`: the search (doubling, then bisecting) and its report |
//! | [`merge`] | `load merge DIR...` |
//! | [`run`](mod@run) | the target (in-process reference server, or `--target` probed once), executing the attack |
//! | [`summary`] | a finished attack → the plain summary ([`crate::report::load_summary`]), the verdict, `load-summary.json` |
//! | [`console`] | the progress line and the final tables |
//! | [`plan`] | the [`Plan`] (every flag and the scenario checked, nothing sent; made from the flags by `cli/load.rs`) → the Goose attack (its configuration, the steps as transactions) |
//! | [`steps`] | the hot path: each step's request, status and body checks |
//! | [`open`] | the open model's dispatcher: iterations started at their due times, dropped beyond `--max-in-flight` |
//! | [`arrivals`] | the open model's schedule: `--rate`, `--stages`, a shard's share |
//! | [`reports`] | the report directory ([`Reports`]): prepared, published atomically, discarded |
//! | [`figures`] | Goose's request metrics → plain figures ([`crate::report::load_summary::Figures`]) |
//! | [`baseline`] | `--baseline` / `--max-regression` |
//! | [`shard`] | `--shard I/N`: a shard's share of the run |
//! | [`scenario`] | the scenario files |
//! | [`signals`] | SIGINT / SIGTERM: the verdict `interrupted` |
//! | [`target`] | where the load goes, URLs checked and redacted |
//! | [`error`] | [`LoadError`]: why a run could not be carried out (exit 2) |
//!
//! Only this module knows Goose: `report/` gets plain data.

pub mod arrivals;
pub mod baseline;
pub mod capacity;
pub mod console;
pub mod error;
pub mod figures;
pub mod merge;
pub mod open;
pub mod plan;
pub mod reports;
pub mod run;
pub mod scenario;
pub mod shard;
pub mod signals;
pub mod steps;
pub mod summary;
pub mod target;

pub use error::{flag, LoadError};
pub use plan::{Plan, MAX_DURATION, MAX_USERS};
pub use reports::Reports;
pub use run::run;
pub use target::{check_base_url, TargetSpec};
