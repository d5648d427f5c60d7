//! The conformance runner: the check catalogue, the runner, property-based probing.

use crate::exit::Outcome;

/// Flags of `recovery-harness check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Base URL of the deployment's public API, including any prefix. Omitted: the embedded reference server.
    #[arg(long)]
    pub target: Option<String>,
}

/// Why a conformance run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Placeholder until the check work lands.
    #[error("check is not yet implemented")]
    NotImplemented,
}

/// `recovery-harness check`.
pub async fn run_cli(_args: CheckArgs) -> Result<Outcome, crate::Error> {
    Err(CheckError::NotImplemented.into())
}
