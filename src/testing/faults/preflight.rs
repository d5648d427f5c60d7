//! `preflight.*`: recovery switched off, as in Kratos's default configuration.

use crate::testing::model::Fault;

/// The faults of this family.
pub const FAULTS: &[Fault] = &[Fault::configured(
    "recovery_disabled",
    "recovery switched off, as in Kratos's default configuration",
    |c| c.recovery_disabled = true,
)];
