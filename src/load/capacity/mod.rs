//! `recovery-harness load capacity --slo RULE...`: the highest rate (iterations per second, open
//! model) a deployment sustains while every rule holds.
//!
//! The search applies one constant rate per step (`--step-duration`, each step a whole
//! open-model attack of its own, judged by Goose on the step's own metrics): it doubles the rate
//! from `--start-rate` while the steps pass, then bisects (geometrically) between the highest
//! passing rate and the lowest failing one until they are within `--precision`. A step passes
//! when every rule holds, no response broke the spec and no iteration was dropped at
//! `--max-in-flight` (a dropped iteration means the rate was not offered). The search never
//! goes below its first step: a first step that fails is reported and ends the search (exit 1).
//!
//! | file | owns |
//! |------|------|
//! | [`run`](mod@run) | the steps run on one target, their reports, the command's reports and exit |
//! | [`outcome`] | the steps → the `"capacity"` object, the top-level summary, the terminal table |
//! | [`search`] | the search itself: which rate next, when to stop (pure) |

pub mod outcome;
pub mod run;
pub mod search;

pub use run::run;
pub use search::CapacityPlan;

/// The error-rate rule added when no `--slo` names one: a rate at which answers fail is no
/// capacity, however fast the failures come.
pub const DEFAULT_ERROR_RULE: &str = "error-rate<1%";
/// The default `--step-duration`.
pub const DEFAULT_STEP: std::time::Duration = std::time::Duration::from_secs(10);
/// The default `--precision`, percent.
pub const DEFAULT_PRECISION_PCT: f64 = 5.0;
/// The default first step's rate when neither `--start-rate` nor `--min-rate` is given.
pub const DEFAULT_START_RATE: f64 = 10.0;
/// The default `--max-rate`.
pub const DEFAULT_MAX_RATE: f64 = 100_000.0;
