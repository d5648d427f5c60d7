//! `brute_force.*`: a flow that takes any number of guesses.

use crate::testing::model::Fault;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[Fault::configured(
    "guesses_unlimited",
    "a flow takes any number of code guesses",
    |c| c.max_submissions = u8::MAX,
)];
