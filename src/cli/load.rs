//! `recovery-harness load`: its flags (still [`crate::load::LoadArgs`] until they move here).

use super::error::Error;
use crate::exit::Outcome;

pub use crate::load::LoadArgs;

/// Runs `recovery-harness load`.
pub async fn run(args: LoadArgs) -> Result<Outcome, Error> {
    crate::load::run_cli(args).await
}
