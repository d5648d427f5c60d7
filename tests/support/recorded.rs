//! The recordings of real Kratos in `tests/fixtures/kratos-recorded/`: one HAR 1.2 file per Kratos
//! configuration, written by `tests/kratos_record.rs` and replayed against the reference server by
//! `tests/kratos_differential.rs`. This module is what both agree on: the files, each one's
//! Kratos options and the reference-server configuration that answers as that Kratos does.

use super::kratos::KratosOptions;
use recovery_harness::server::ServerConfig;
use std::path::PathBuf;
use std::time::Duration;

/// An address with an identity in every recording (the reference server knows `*@example.org`).
pub const KNOWN_EMAIL: &str = "recorded-known@example.org";
/// An address without one (unknown to the reference server as well).
pub const UNKNOWN_EMAIL: &str = "recorded-unknown@unknown.example";
/// The flow lifespan of the `expiry` recording.
pub const SHORT_LIFESPAN: Duration = Duration::from_secs(2);

/// One recorded Kratos configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// `kratos.yml` as shipped: recovery with the code method.
    Default,
    /// `selfservice.flows.recovery.enabled: false`.
    Disabled,
    /// `feature_flags.choose_recovery_address: true` (recovery v2).
    V2,
    /// `feature_flags.use_continue_with_transitions: true`.
    ContinueWith,
    /// A flow lifespan of [`SHORT_LIFESPAN`].
    Expiry,
}

impl Recording {
    pub const ALL: [Recording; 5] = [
        Recording::Default,
        Recording::Disabled,
        Recording::V2,
        Recording::ContinueWith,
        Recording::Expiry,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Recording::Default => "default",
            Recording::Disabled => "recovery-disabled",
            Recording::V2 => "recovery-v2",
            Recording::ContinueWith => "continue-with-transitions",
            Recording::Expiry => "expiry",
        }
    }

    /// `tests/fixtures/kratos-recorded/<name>.har`.
    pub fn path(self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kratos-recorded")
            .join(format!("{}.har", self.name()))
    }

    /// What the HAR's `log.comment` says about the target.
    pub fn description(self) -> String {
        let what = match self {
            Recording::Default => {
                "kratos.yml as shipped (recovery with the code method)".to_owned()
            }
            Recording::Disabled => "selfservice.flows.recovery.enabled=false".to_owned(),
            Recording::V2 => "feature_flags.choose_recovery_address=true (recovery v2)".to_owned(),
            Recording::ContinueWith => {
                "feature_flags.use_continue_with_transitions=true".to_owned()
            }
            Recording::Expiry => format!(
                "selfservice.flows.recovery.lifespan={}s",
                SHORT_LIFESPAN.as_secs()
            ),
        };
        format!(
            "Real Ory Kratos (`serve --dev`, SQLite), {what}. Recorded by \
             `RECOVERY_HARNESS_RECORD=1 cargo test --test kratos_record`; secrets are [REDACTED]."
        )
    }

    pub fn kratos_options(self) -> KratosOptions {
        let o = KratosOptions::new();
        match self {
            Recording::Default => o,
            Recording::Disabled => o.recovery_disabled(),
            Recording::V2 => o.choose_recovery_address(),
            Recording::ContinueWith => o.continue_with_transitions(),
            Recording::Expiry => o.lifespan(&format!("{}s", SHORT_LIFESPAN.as_secs())),
        }
    }

    /// The reference server configured as that Kratos (`kratos.yml`'s allowed return URL and UI).
    pub fn server_config(self) -> ServerConfig {
        let mut c = ServerConfig {
            allowed_return_urls: vec!["https://app.example.com".to_owned()],
            ui_url: "http://127.0.0.1:4455".to_owned(),
            ..ServerConfig::default()
        };
        match self {
            Recording::Default => {}
            Recording::V2 => c.choose_recovery_address = true,
            Recording::Disabled => c.recovery_disabled = true,
            Recording::ContinueWith => c.continue_with_transitions = true,
            Recording::Expiry => c.lifespan = SHORT_LIFESPAN,
        }
        c
    }
}
