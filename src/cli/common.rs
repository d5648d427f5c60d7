//! What several commands' flags share, below the command files that flatten it in: the schema
//! flags of `check`, `load` and `monitor` ([`SchemaArgs`]), the signed-in credentials of `check`
//! and `monitor` ([`CredentialArgs`]), the variable every `--session-token` reads
//! ([`SESSION_TOKEN_ENV`]) and the `--max-body-size` parser ([`parse_size`]). The value parsers
//! the commands share with scenario files are in [`crate::input`].

use crate::schema::SchemaSource;
use crate::secret::Secret;
use std::path::PathBuf;

/// The variable every command's `--session-token` reads (`check`, `load`, `monitor`, `serve`),
/// so that one job's secret serves them all; its value is never shown in `--help`.
pub const SESSION_TOKEN_ENV: &str = "RECOVERY_HARNESS_SESSION_TOKEN";

/// `--schemas DIR` / `--spec FILE`, shared by `check`, `load` and `monitor`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SchemaArgs {
    /// Validate against the JSON Schema files in DIR instead of the embedded ones.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "spec",
        env = "RECOVERY_HARNESS_SCHEMAS"
    )]
    pub schemas: Option<PathBuf>,
    /// Validate against the `components/schemas` of an OpenAPI 3 document (e.g. a Kratos release's api.json).
    #[arg(long, value_name = "FILE", env = "RECOVERY_HARNESS_SPEC")]
    pub spec: Option<PathBuf>,
}

impl SchemaArgs {
    /// The source these flags select.
    pub fn source(&self) -> SchemaSource {
        match (&self.schemas, &self.spec) {
            (Some(dir), _) => SchemaSource::Dir(dir.clone()),
            (None, Some(file)) => SchemaSource::OpenApi(file.clone()),
            (None, None) => SchemaSource::Embedded,
        }
    }
}

/// `--session-token` / `--session-cookie`: a signed-in identity of the target, shared by `check`
/// and `monitor` (validated by `check`'s rules for both).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CredentialArgs {
    /// Session token of a signed-in identity: adds the "already signed in" checks (`check`
    /// without --target uses the embedded server's own). Prefer the environment variable: a flag
    /// is visible to every user of the machine in the process list.
    #[arg(long, value_name = "TOKEN", env = SESSION_TOKEN_ENV, hide_env_values = true)]
    pub session_token: Option<Secret>,
    /// Session cookie of a signed-in identity as the browser sends it, name included
    /// (ory_kratos_session=..., chx_auth_session=...): adds the signed-in cookie checks.
    #[arg(
        long,
        value_name = "NAME=VALUE",
        env = "RECOVERY_HARNESS_SESSION_COOKIE",
        hide_env_values = true
    )]
    pub session_cookie: Option<Secret>,
}

/// Parses a size such as `4MiB`, `512KiB`, `1000000`, `2MB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; use e.g. 4MiB, 512KiB, 100000"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1024,
        "m" | "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1024 * 1024 * 1024,
        other => {
            return Err(format!(
                "`{other}` is not a size unit; use B, KiB, MiB, GiB, KB, MB, GB"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4MiB"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("4XB").is_err());
    }
}
