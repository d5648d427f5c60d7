//! A conformance run's validated configuration ([`RunConfig`]) and the values it is made of
//! (credentials, the session cookie, the target URL). The flags of `recovery-harness check` and
//! their validation into a `RunConfig` are the command line's (`cli/check.rs`); what the runner
//! does with a configuration (the embedded server, the report directory) is here.

use super::error::CheckError;
use crate::secret::{Redactor, Secret};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// A session cookie as sent by a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// Cookie name (`ory_kratos_session`, `chx_auth_session`, ...).
    pub name: String,
    /// Cookie value.
    pub value: Secret,
}

impl SessionCookie {
    /// Parses `NAME=VALUE`.
    pub fn parse(s: &str) -> Result<Self, CheckError> {
        let bad = |reason: &str| CheckError::BadCookie {
            reason: reason.to_owned(),
        };
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| bad("there is no `=` between name and value"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("the name is empty"));
        }
        // RFC 6265 cookie-name is an HTTP token.
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(bad(
                "the name may only hold letters, digits and !#$%&'*+-.^_`|~",
            ));
        }
        if value.is_empty() {
            return Err(bad("the value is empty"));
        }
        if value
            .bytes()
            .any(|b| b.is_ascii_control() || b == b';' || b == b' ')
        {
            return Err(bad(
                "the value holds a space, `;` or a control character; give one cookie, not a Cookie header",
            ));
        }
        Ok(SessionCookie {
            name: name.to_owned(),
            value: Secret::from(value),
        })
    }

    /// `NAME=VALUE` for a `Cookie` header: the value exposed, for the request that sends it.
    pub fn header_value(&self) -> String {
        format!("{}={}", self.name, self.value.expose())
    }
}

/// Credentials of a signed-in identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A session token (`X-Session-Token`, `Authorization: Bearer`).
    pub session_token: Option<Secret>,
    /// A session cookie.
    pub session_cookie: Option<SessionCookie>,
}

/// The address the embedded run uses as `--known-email` (the reference server knows
/// `*@example.org`).
pub const EMBEDDED_KNOWN_EMAIL: &str = "recovery-harness-known@example.org";

/// The flow lifespan of the embedded server's short-lived twin that the expiry checks use.
pub const EMBEDDED_EXPIRY_LIFESPAN: Duration = Duration::from_millis(300);

/// Largest `--concurrency`: far above any useful value, far below tokio's semaphore limit.
pub const MAX_CONCURRENCY: usize = 1_000_000;

/// A validated run configuration.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Base URL without a trailing slash; `None` until the embedded server is started.
    pub target: Option<Url>,
    /// Whether the target is the embedded reference server.
    pub embedded: bool,
    /// Set by [`RunConfig::use_embedded`] when credentials given by flag or environment were
    /// replaced by the embedded server's own.
    pub ignored_credentials: bool,
    /// Signed-in credentials.
    pub credentials: Credentials,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Overall deadline.
    pub deadline: Duration,
    /// `--only` patterns.
    pub only: Vec<String>,
    /// `--skip` patterns.
    pub skip: Vec<String>,
    /// `--strict`: warnings fail the run.
    pub strict: bool,
    /// `--har`: where every exchange is recorded.
    pub har: Option<PathBuf>,
    /// Fuzz cases per probe.
    pub fuzz_cases: u32,
    /// Fuzz seed (chosen at random when not given, and reported).
    pub seed: u64,
    /// TLS verification off.
    pub insecure: bool,
    /// Body cap in bytes.
    pub max_body_size: u64,
    /// Clock tolerance.
    pub clock_tolerance: Duration,
    /// Allowed `return_to` (`None`: derived from the target).
    pub return_to: Option<Url>,
    /// Forbidden `return_to`.
    pub forbidden_return_to: Url,
    /// Submitted email address.
    pub email: String,
    /// Requests in flight.
    pub concurrency: usize,
    /// Where sent recovery codes are read (`--courier-url`, `--mailpit-url`; the embedded
    /// server's own courier).
    pub code_source: Option<crate::codes::CodeSource>,
    /// `--known-email`: an address with an identity.
    pub known_email: Option<String>,
    /// `--expiry-wait`: the longest wait for a flow to expire (`None`: expiry checks skipped).
    pub expiry_wait: Option<Duration>,
    /// Where the expiry checks create their flows (`None`: the target). The embedded run points
    /// it at a second embedded server with a short lifespan, so the other checks' flows live.
    pub expiry_target: Option<Url>,
    /// `--race-width`: submissions released together in one race trial.
    pub race_width: usize,
    /// `--race-trials`: trials of the code race, each with a fresh flow and code.
    pub race_trials: usize,
    /// `--max-submissions`: the deployment's code submissions per flow.
    pub max_submissions: usize,
}

impl RunConfig {
    /// The run's redactor: what every report, log and message of the run goes through. It
    /// knows the signed-in credentials and the code source's (its URL's `user:password@`).
    pub fn redactor(&self) -> Redactor {
        Redactor::new(
            self.credentials
                .session_token
                .iter()
                .chain(self.credentials.session_cookie.iter().map(|c| &c.value))
                .chain(self.code_source.iter().flat_map(|s| s.secrets())),
        )
    }

    /// Points the run at an embedded reference server and takes its credentials (unless given).
    pub fn use_embedded(
        &mut self,
        server: &crate::server::RunningServer,
    ) -> Result<(), CheckError> {
        let url =
            parse_target(server.base_url()).map_err(|e| CheckError::Embedded(e.to_string()))?;
        self.target = Some(url);
        self.embedded = true;
        // The embedded server knows only its own session: a token from the environment (set
        // for a real deployment's job) or a flag would fail the signed-in checks of a faithful
        // server. Returns whether given credentials were set aside, for the caller to say so.
        let given =
            self.credentials.session_token.is_some() || self.credentials.session_cookie.is_some();
        self.credentials.session_token = Some(Secret::from(server.session_token()));
        self.credentials.session_cookie = embedded_cookie(server);
        self.ignored_credentials = given;
        // The embedded server is its own code source and knows every address of its identity
        // patterns; it also runs the expiry checks (on a short-lived twin, see expiry_target).
        self.code_source = Some(
            crate::codes::CodeSource::new(
                crate::codes::SourceKind::Courier,
                server.admin_url(),
                self.timeout,
            )
            .map_err(|e| CheckError::Embedded(e.to_string()))?,
        );
        self.known_email = Some(EMBEDDED_KNOWN_EMAIL.to_owned());
        Ok(())
    }

    /// Points the expiry checks at `twin`, an embedded server whose flows live
    /// [`EMBEDDED_EXPIRY_LIFESPAN`].
    pub fn use_expiry_twin(
        &mut self,
        twin: &crate::server::RunningServer,
    ) -> Result<(), CheckError> {
        let url = parse_target(twin.base_url()).map_err(|e| CheckError::Embedded(e.to_string()))?;
        self.expiry_target = Some(url);
        self.expiry_wait = Some(EMBEDDED_EXPIRY_LIFESPAN * 10);
        Ok(())
    }

    /// The base URL (only `None` before [`RunConfig::use_embedded`]).
    pub fn base(&self) -> Result<&Url, CheckError> {
        self.target.as_ref().ok_or_else(|| CheckError::BadTarget {
            value: String::new(),
            reason: "no target was set".to_owned(),
        })
    }

    /// `base` + `path` (`path` starts with `/`).
    pub fn url(&self, path: &str) -> Url {
        let mut base = self
            .target
            .clone()
            .unwrap_or_else(|| Url::parse("http://127.0.0.1/").expect("constant URL"));
        let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
        base.set_path(&joined);
        base
    }

    /// The allowed `return_to`.
    pub fn allowed_return_to(&self) -> Url {
        self.return_to
            .clone()
            .unwrap_or_else(|| self.url("/self-service/recovery-harness"))
    }
}

fn embedded_cookie(server: &crate::server::RunningServer) -> Option<SessionCookie> {
    SessionCookie::parse(&server.session_cookie()).ok()
}

/// Parses and normalises `--target` (the rules are shared with `load`: [`crate::input::parse_base_url`]).
pub fn parse_target(s: &str) -> Result<Url, CheckError> {
    crate::input::parse_base_url(s).map_err(|e| CheckError::BadTarget {
        value: e.shown,
        reason: e.reason,
    })
}

/// Creates `dir` and proves a file can be written in it.
pub fn ensure_writable(dir: &Path) -> Result<(), CheckError> {
    let err = |source| CheckError::ReportDir {
        path: dir.to_path_buf(),
        source,
    };
    // `create_dir_all` on a file says "File exists", which reads as if all were well.
    if dir.exists() && !dir.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "it is a file, not a directory",
        )));
    }
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(".recovery-harness-write-test");
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_url_is_refused_with_its_base() {
        for pasted in [
            "https://host/auth/self-service/recovery/api",
            "https://host/auth/self-service/recovery/",
            "https://host/auth/self-service",
        ] {
            let err = parse_target(pasted).map(|u| u.to_string());
            let Err(e) = err else {
                panic!("{pasted} accepted: {err:?}")
            };
            assert!(e.to_string().contains(": https://host/auth;"), "{e}");
        }
        assert!(parse_target("https://host/self-service-portal").is_ok());
    }

    #[test]
    fn targets_are_normalised_and_bad_ones_explained() {
        assert_eq!(
            parse_target("https://host/auth/")
                .map(|u| u.to_string())
                .ok(),
            Some("https://host/auth".to_owned())
        );
        assert_eq!(
            parse_target("http://127.0.0.1:4433")
                .map(|u| u.to_string())
                .ok(),
            Some("http://127.0.0.1:4433/".to_owned())
        );
        for bad in [
            "host:4433",
            "ftp://host",
            "https://host/?a=b",
            "not a url",
            "https://u:p@host",
        ] {
            assert!(
                matches!(parse_target(bad), Err(CheckError::BadTarget { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn cookies_parse_as_name_value() {
        let c = SessionCookie::parse("chx_auth_session=abc=def").ok();
        assert_eq!(
            c,
            Some(SessionCookie {
                name: "chx_auth_session".to_owned(),
                value: "abc=def".into()
            })
        );
        for bad in ["novalue", "=v", "a=", "a b=c", "a=b; c=d"] {
            assert!(SessionCookie::parse(bad).is_err(), "{bad}");
        }
    }
}
