//! Values given on the command line, in scenario files or in the environment that several
//! commands share: durations and the base URL of a deployment. A leaf module: `check/`, `load/`
//! and `cli/` use it, it uses none of them (only the leaf [`crate::secret`], to show a refused
//! URL without its credentials).

use std::time::Duration;
use url::Url;

/// Parses a human duration such as `10s`, `250ms`, `1h`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}); use e.g. 500ms, 10s, 2m, 1h"))
}

/// Why a base URL (`--target`, `--admin-url`) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadBaseUrl {
    /// The value as given, with any `user:password@` redacted (it is echoed in CI logs).
    pub shown: String,
    /// What is wrong with it and what to give instead.
    pub reason: String,
}

/// Parses and normalises the base URL of a deployment's API, as `check` and `load` take it:
/// absolute http(s) with a host, no query, fragment or credentials, no trailing slash, and not an
/// endpoint URL pasted whole.
pub fn parse_base_url(s: &str) -> Result<Url, BadBaseUrl> {
    // The value is echoed in the message (and CI logs): never with the password it may carry.
    let bad = |reason: String| BadBaseUrl {
        shown: crate::secret::redact_userinfo(s),
        reason,
    };
    let mut url = Url::parse(s.trim()).map_err(|e| bad(format!("not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "the scheme is `{}`, not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("there is no host".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a base URL has no query or fragment".to_owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URL would leak into reports; use --session-token or --session-cookie".to_owned(),
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    // A pasted endpoint URL would be probed as `…/self-service/recovery/api/self-service/…`:
    // every check would fail with a 404 that does not say why.
    if let Some(at) = path.find("/self-service/").or_else(|| {
        path.ends_with("/self-service")
            .then(|| path.len() - "/self-service".len())
    }) {
        let mut base = url.clone();
        base.set_path(&path[..at]);
        return Err(bad(format!(
            "it ends with the endpoint path `{}`; give the base URL in front of it: {}",
            &path[at..],
            base.as_str().trim_end_matches('/')
        )));
    }
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_reject_garbage() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("ten seconds").is_err());
        assert!(parse_duration("").is_err());
    }
}
