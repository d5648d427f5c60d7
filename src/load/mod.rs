//! The load runner: Goose scenarios on flow-creation throughput.

use crate::exit::Outcome;

/// Flags of `recovery-harness load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Base URL of the deployment's public API. Omitted: the in-process reference server.
    #[arg(long)]
    pub target: Option<String>,
}

/// Why a load run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Placeholder until the load work lands.
    #[error("load is not yet implemented")]
    NotImplemented,
}

/// `recovery-harness load`.
pub async fn run_cli(_args: LoadArgs) -> Result<Outcome, crate::Error> {
    Err(LoadError::NotImplemented.into())
}
