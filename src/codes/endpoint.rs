//! Where a code source answers ([`Endpoint`]): which kind of source ([`SourceKind`]), its base
//! URL, and the credentials that URL carried.
//!
//! A courier admin API or a Mailpit behind an authenticating proxy (or Mailpit's own
//! `--ui-auth-file`) is given as `http://user:password@host/…`. The `user:password@` is taken
//! off the URL here, once, for `check` and `load` alike: the URL that requests, messages and
//! reports name has none, and the password travels as a [`Secret`], read only where a request is
//! built ([`Endpoint::authorize`]), as HTTP basic authentication. [`Endpoint::secrets`] gives what
//! the run's [`crate::secret::Redactor`] must hide: the password, as given and decoded, and the
//! `Authorization` value it becomes.

use super::error::CodeError;
use crate::secret::Secret;
use base64::Engine as _;
use url::Url;

/// Which kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Kratos's admin courier listing (or the reference server's).
    Courier,
    /// Mailpit's HTTP API.
    Mailpit,
}

impl SourceKind {
    /// How the source is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Courier => "the courier admin API",
            SourceKind::Mailpit => "Mailpit",
        }
    }

    /// The flag that gives its URL.
    pub fn flag(self) -> &'static str {
        match self {
            SourceKind::Courier => "--courier-url",
            SourceKind::Mailpit => "--mailpit-url",
        }
    }
}

/// A code source's base URL without credentials, and the credentials it was given with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    kind: SourceKind,
    /// Absolute http(s), no user-info, query or fragment, no trailing slash on the path.
    base: Url,
    /// The user-info of the URL given, percent-decoded.
    credentials: Option<BasicAuth>,
}

/// HTTP basic authentication, from a URL's `user:password@`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BasicAuth {
    password: Option<Secret>,
    /// The password as the URL spelled it (percent-encoded), when that differs.
    password_encoded: Option<Secret>,
    /// `Basic base64(user:password)`, as the request carries it.
    header: Secret,
}

impl Endpoint {
    /// Parses the URL of a source of `kind`: absolute http(s) with a host, no query or
    /// fragment; a `user:password@` becomes its basic authentication. A refused value is shown
    /// with its credentials redacted.
    pub fn parse(kind: SourceKind, raw: &str) -> Result<Endpoint, CodeError> {
        let bad = |reason: &str| CodeError::BadUrl {
            flag: kind.flag(),
            value: crate::secret::redact_userinfo(raw),
            reason: reason.to_owned(),
        };
        let mut base = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none_or(str::is_empty) {
            return Err(bad("it must be an absolute http(s) URL"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("give the base URL, without query or fragment"));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| bad("its user or password is not UTF-8 once percent-decoded"))
        };
        let credentials = if base.username().is_empty() && base.password().is_none() {
            None
        } else {
            let user = decode(base.username())?;
            let encoded = base.password().map(str::to_owned);
            let password = encoded.as_deref().map(decode).transpose()?;
            let header = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{user}:{}",
                    password.as_deref().unwrap_or_default()
                ))
            );
            let password_encoded = encoded.filter(|e| Some(e) != password.as_ref());
            // Infallible on a URL with a host (checked above).
            let _ = base.set_username("");
            let _ = base.set_password(None);
            Some(BasicAuth {
                password: password.map(Secret::from),
                password_encoded: password_encoded.map(Secret::from),
                header: Secret::from(header),
            })
        };
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        Ok(Endpoint {
            kind,
            base,
            credentials,
        })
    }

    /// The kind of source.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// The base URL, without credentials or trailing slash.
    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `path` (starting with `/`) under the base URL, with `query`.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Whether the URL given carried credentials.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// The `Authorization` value of the source's basic authentication, if its URL carried
    /// credentials: for a request built by hand (check's client); reqwest's go through
    /// [`Endpoint::authorize`].
    pub fn authorization(&self) -> Option<&Secret> {
        self.credentials.as_ref().map(|c| &c.header)
    }

    /// `rb` with the source's basic authentication, if it has credentials (marked sensitive: it
    /// never shows in a `Debug` of the request).
    pub fn authorize(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self
            .authorization()
            .and_then(|h| reqwest::header::HeaderValue::from_str(h.expose()).ok())
        {
            Some(mut value) => {
                value.set_sensitive(true);
                rb.header(reqwest::header::AUTHORIZATION, value)
            }
            None => rb,
        }
    }

    /// What a redactor must hide of the credentials: the password (decoded and as spelled) and
    /// the `Authorization` value. The user name is not a secret on its own and stays readable.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.credentials.iter().flat_map(|c| {
            c.password
                .iter()
                .chain(c.password_encoded.iter())
                .chain(std::iter::once(&c.header))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_and_become_basic_auth() {
        let e =
            Endpoint::parse(SourceKind::Mailpit, "http://qa:pa%40ss@h:8025/mail/").expect("valid");
        assert_eq!(e.base(), "http://h:8025/mail");
        assert!(e.has_credentials());
        let shown = format!("{e:?}");
        assert!(
            !shown.contains("pa@ss") && !shown.contains("pa%40ss"),
            "{shown}"
        );
        let secrets: Vec<&str> = e.secrets().map(Secret::expose).collect();
        assert!(secrets.contains(&"pa@ss") && secrets.contains(&"pa%40ss"));
        // base64("qa:pa@ss")
        assert!(secrets.contains(&"Basic cWE6cGFAc3M="), "{secrets:?}");
        crate::tls::install_default_provider();
        let rb = e.authorize(reqwest::Client::new().get(e.url("/api/v1/messages", &[])));
        let req = rb.build().expect("a request");
        assert_eq!(req.url().as_str(), "http://h:8025/mail/api/v1/messages");
        assert_eq!(
            req.headers().get("authorization").map(|v| v.as_bytes()),
            Some(&b"Basic cWE6cGFAc3M="[..])
        );
        let plain = Endpoint::parse(SourceKind::Courier, "http://h:4434").expect("valid");
        assert!(!plain.has_credentials() && plain.secrets().next().is_none());
    }

    #[test]
    fn a_refused_url_is_shown_without_its_password() {
        for raw in [
            "ftp://u:pa55word@h",
            "http://u:pa55word@h/?q=1",
            "localhost:8025",
        ] {
            let err = Endpoint::parse(SourceKind::Courier, raw)
                .expect_err(raw)
                .to_string();
            assert!(err.contains("--courier-url"), "{err}");
            assert!(!err.contains("pa55word"), "{err}");
        }
    }
}
