//! Exit codes: the contract CI scripts rely on (`docs/contract.md`).
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | every check passed or was skipped / every load threshold held |
//! | 1 | at least one check failed / a threshold failed or responses broke the schema |
//! | 2 | the run could not be carried out (bad arguments, unreachable target, unwritable report directory) |
//! | 130 / 143 | `load` was interrupted by SIGINT / SIGTERM (as shells report a signal: 128 + its number) |
//!
//! clap's own usage errors also exit 2, which is why 2 means "could not run".

/// Every check passed or was skipped; every threshold held.
pub const SUCCESS: u8 = 0;
/// The run completed and found a failure.
pub const FAILURE: u8 = 1;
/// The run could not be carried out.
pub const ERROR: u8 = 2;

/// The verdict of a run that could be carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Passed,
    /// Exit 1.
    Failed,
    /// Stopped by a signal: exit 128 + its number (130 SIGINT, 143 SIGTERM). Never a pass.
    Interrupted {
        /// The signal's number.
        signal: i32,
    },
}

impl Outcome {
    /// The process exit code of this outcome.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Passed => SUCCESS,
            Outcome::Failed => FAILURE,
            Outcome::Interrupted { signal } => u8::try_from(128 + signal).unwrap_or(FAILURE),
        }
    }
}

/// The exit-code table as shown under `--help`.
pub const TABLE: &str = "\
Exit status:
  0  every check passed or was skipped / every load threshold held
  1  at least one check failed / a threshold failed or responses broke the schema
  2  the run could not be carried out (bad arguments, unreachable target, unwritable report dir)
  130/143  load was interrupted by SIGINT/SIGTERM (its reports cover what ran)";
