//! Exit codes: the contract CI scripts rely on (`docs/contract.md`).
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | every check passed or was skipped / every load threshold held |
//! | 1 | at least one check failed / a threshold failed or responses broke the schema |
//! | 2 | the run could not be carried out (bad arguments, unreachable target, unwritable report directory) |
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
}

impl Outcome {
    /// The process exit code of this outcome.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Passed => SUCCESS,
            Outcome::Failed => FAILURE,
        }
    }
}

/// The exit-code table as shown under `--help`.
pub const TABLE: &str = "\
Exit status:
  0  every check passed or was skipped / every load threshold held
  1  at least one check failed / a threshold failed or responses broke the schema
  2  the run could not be carried out (bad arguments, unreachable target, unwritable report dir)";
