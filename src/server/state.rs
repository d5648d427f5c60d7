//! The state every handler shares: the configuration resolved once ([`Resolved`]), the
//! [`App`] (flow store, courier, sessions), the per-request [`ReqCtx`] the Kratos layer reads
//! from the request, and the small helpers for ids and clocks.

use super::config::{RecoveryMethod, ServerConfig, ServerError};
use super::courier::{Courier, Sessions};
use super::http::{self, AllowedUrl, Glob};
use super::store::{Method, Store};
use super::{csrf, json};
use axum::http::{header, HeaderMap, HeaderValue, Method as HttpMethod};
use std::time::{SystemTime, UNIX_EPOCH};

/// The configuration with every derived string computed once.
pub(crate) struct Resolved {
    /// `http://host:port` the server is reached at (links, `ui.action`).
    pub(crate) origin: String,
    pub(crate) base_url: String,
    pub(crate) base_path: String,
    pub(crate) lifespan_ns: i64,
    pub(crate) method: Method,
    pub(crate) recovery_enabled: bool,
    pub(crate) continue_with: bool,
    /// `feature_flags.choose_recovery_address` (recovery v2).
    pub(crate) v2: bool,
    pub(crate) session_cookie_name: String,
    pub(crate) csrf_cookie_name: String,
    pub(crate) allowed: Vec<AllowedUrl>,
    pub(crate) default_return: url::Url,
    pub(crate) ui_recovery: String,
    pub(crate) ui_settings: String,
    pub(crate) ui_error: String,
    pub(crate) identities: Vec<Glob>,
    pub(crate) max_body: usize,
    pub(crate) max_submissions: u8,
    /// JSON-escaped `<origin><base>/self-service/recovery/api` (no quotes).
    pub(crate) api_request_url_json: String,
    pub(crate) browser_request_url_json: String,
    /// JSON-escaped `<base_url>/self-service/recovery?flow=`.
    pub(crate) action_prefix_json: String,
    pub(crate) flows_url: String,
}

impl Resolved {
    pub(crate) fn settings_url(&self, id: u128) -> String {
        format!("{}?flow={}", self.ui_settings, json::uuid_string(id))
    }
    pub(crate) fn recovery_ui_url(&self, id: u128) -> String {
        format!("{}?flow={}", self.ui_recovery, json::uuid_string(id))
    }
    pub(crate) fn flows_url_for(&self, id: u128) -> String {
        format!("{}?id={}", self.flows_url, json::uuid_string(id))
    }
    pub(crate) fn error_ui_url(&self) -> String {
        format!("{}?id={}", self.ui_error, json::uuid_string(new_id()))
    }
}

/// Shared state of one server.
pub(crate) struct App {
    pub(crate) cfg: Resolved,
    pub(crate) store: Store,
    pub(crate) courier: Courier,
    pub(crate) sessions: Sessions,
}

fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    json::push_str_inner(&mut out, s);
    out
}

/// Validates a `--base-path`: empty, or `/segment[/segment…]` without a trailing slash.
pub(crate) fn normalize_base_path(p: &str) -> Result<String, ServerError> {
    let p = p.trim();
    if p.is_empty() || p == "/" {
        return Ok(String::new());
    }
    let bad = |reason: &str| ServerError::BasePath {
        value: p.to_owned(),
        reason: reason.to_owned(),
    };
    if !p.starts_with('/') {
        return Err(bad("it must start with `/`, e.g. `/auth`"));
    }
    let p = p.trim_end_matches('/');
    if p.contains("//") {
        return Err(bad("it must not contain empty segments (`//`)"));
    }
    if let Some(c) = p
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~".contains(*c)))
    {
        return Err(bad(&format!(
            "the character `{c}` is not allowed; use letters, digits, `-`, `.`, `_`, `~`"
        )));
    }
    Ok(p.to_owned())
}

impl App {
    pub(crate) fn new(config: &ServerConfig, origin: &str) -> Result<App, ServerError> {
        let base_path = normalize_base_path(&config.base_path)?;
        let base_url = format!("{origin}{base_path}");
        let ui = config.ui_url.trim_end_matches('/').to_owned();
        let default_return =
            url::Url::parse(&format!("{ui}/")).map_err(|e| ServerError::InvalidUrl {
                flag: "--ui-url",
                value: config.ui_url.clone(),
                reason: e.to_string(),
            })?;
        // The UI URL ends up in `Location` headers: a browser follows nothing but http(s).
        if !matches!(default_return.scheme(), "http" | "https")
            || default_return.host_str().is_none()
        {
            return Err(ServerError::InvalidUrl {
                flag: "--ui-url",
                value: config.ui_url.clone(),
                reason: "must be an absolute http(s) URL such as http://127.0.0.1:4455".to_owned(),
            });
        }
        let mut allowed = Vec::new();
        for raw in &config.allowed_return_urls {
            allowed.push(
                AllowedUrl::parse(raw).ok_or_else(|| ServerError::InvalidUrl {
                    flag: "--allowed-return-url",
                    value: raw.clone(),
                    reason: "expected scheme://host[:port][/path] (the host may start with `*.`)"
                        .to_owned(),
                })?,
            );
        }
        // Kratos always adds `<public base URL>/self-service` (§2.3).
        if let Some(own) = AllowedUrl::parse(&format!("{base_url}/self-service")) {
            allowed.push(own);
        }
        let session_cookie_name = config.session_cookie_name.trim().to_owned();
        if session_cookie_name.is_empty()
            || !session_cookie_name
                .chars()
                .all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c))
        {
            return Err(ServerError::InvalidConfig(format!(
                "--session-cookie-name `{}` is not a valid cookie name",
                config.session_cookie_name
            )));
        }
        // Zero would start a server that answers 200 with flows it has already forgotten, or
        // refuses every submission: a typo, not a configuration.
        if config.max_flows == 0 {
            return Err(ServerError::InvalidConfig(
                "--max-flows must be at least 1 (a created flow must be kept to be fetched or submitted)"
                    .to_owned(),
            ));
        }
        if config.max_body == 0 {
            return Err(ServerError::InvalidConfig(
                "--max-body must be at least 1 byte (every submission has a body)".to_owned(),
            ));
        }
        let lifespan_ns = i64::try_from(config.lifespan.as_nanos()).unwrap_or(i64::MAX);
        if lifespan_ns <= 0 {
            return Err(ServerError::InvalidConfig(
                "--lifespan must be greater than zero".to_owned(),
            ));
        }
        let cfg = Resolved {
            csrf_cookie_name: csrf::cookie_name(&base_url),
            api_request_url_json: escaped(&format!("{base_url}/self-service/recovery/api")),
            browser_request_url_json: escaped(&format!("{base_url}/self-service/recovery/browser")),
            action_prefix_json: escaped(&format!("{base_url}/self-service/recovery?flow=")),
            flows_url: format!("{base_url}/self-service/recovery/flows"),
            origin: origin.to_owned(),
            base_url,
            base_path,
            lifespan_ns,
            method: match config.method {
                RecoveryMethod::Code => Method::Code,
                RecoveryMethod::Link => Method::Link,
            },
            recovery_enabled: !config.recovery_disabled,
            continue_with: config.continue_with_transitions,
            v2: config.choose_recovery_address && config.method == RecoveryMethod::Code,
            session_cookie_name,
            allowed,
            default_return,
            ui_recovery: format!("{ui}/recovery"),
            ui_settings: format!("{ui}/settings"),
            ui_error: format!("{ui}/error"),
            identities: config.identities.iter().map(|p| Glob::new(p)).collect(),
            max_body: config.max_body,
            max_submissions: config.max_submissions,
        };
        // Keep long-expired flows for one more lifespan so they answer 410, not 404.
        let retain = config.lifespan.saturating_mul(2);
        Ok(App {
            store: Store::new(config.max_flows, retain),
            courier: Courier::new(config.courier_capacity),
            sessions: Sessions::new(&config.session_tokens, 100_000),
            cfg,
        })
    }

    /// Whether the request is signed in ([`App::has_session`]); asks the sessions only when it
    /// carries a credential at all.
    pub(crate) fn signed_in(&self, ctx: &ReqCtx, h: &HeaderMap) -> bool {
        ctx.credentials && self.has_session(h)
    }

    /// §2.1: `X-Session-Token` wins when non-empty, then the session cookie, then Bearer.
    pub(crate) fn has_session(&self, h: &HeaderMap) -> bool {
        if let Some(v) = h.get(&http::X_SESSION_TOKEN) {
            if !v.is_empty() {
                return v.to_str().is_ok_and(|t| self.sessions.is_valid(t.trim()));
            }
        }
        if let Some(c) = http::cookie(h, &self.cfg.session_cookie_name) {
            if self.sessions.is_valid(c) {
                return true;
            }
        }
        if let Some(a) = http::header_str(h, header::AUTHORIZATION) {
            if a.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
            {
                return self.sessions.is_valid(a[7..].trim());
            }
        }
        false
    }

    pub(crate) fn is_known_address(&self, email: &str) -> bool {
        self.cfg.identities.iter().any(|g| g.matches(email))
    }
}

/// What every handler needs to know about the request, read once by the Kratos layer.
#[derive(Debug)]
pub(crate) struct ReqCtx {
    /// GET or HEAD (Go's redirect writes its HTML body for both).
    pub(crate) get: bool,
    /// Kratos `x.IsJSONRequest` (§1.5).
    pub(crate) json_request: bool,
    /// Kratos `x.AcceptsJSON` (§1.5).
    pub(crate) accepts_json: bool,
    request_id: Option<Box<str>>,
    /// The request's anti-CSRF cookie, when it holds a token this server could have issued.
    pub(crate) csrf_cookie: Option<Box<str>>,
    /// nosurf's fresh token for a guarded path without a valid cookie; the layer sets its cookie.
    fresh_csrf: Option<Box<str>>,
    /// `scheme://host` of the request (`X-Forwarded-Proto`/`-Host`, `Host`) when it differs from
    /// the server's own origin; `request_url` is built from it (Kratos `x.RequestURL`).
    pub(crate) origin: Option<Box<str>>,
    /// The request carries `X-Session-Token`, `Cookie` or `Authorization`: it may be signed in.
    credentials: bool,
}

/// The request headers the Kratos layer reads, found in one pass over the headers the request
/// has (a handful) rather than one lookup for each name it might have: the first value of each,
/// as `HeaderMap::get` gives it, and whether a header that may repeat is there at all.
#[derive(Default)]
struct Seen<'a> {
    host: Option<&'a HeaderValue>,
    forwarded_host: Option<&'a HeaderValue>,
    forwarded_proto: Option<&'a HeaderValue>,
    request_id: Option<&'a HeaderValue>,
    cookie: bool,
    accept: bool,
    content_type: bool,
    credentials: bool,
}

impl<'a> Seen<'a> {
    fn new(headers: &'a HeaderMap) -> Seen<'a> {
        let mut seen = Seen::default();
        for (name, value) in headers {
            if name == header::HOST {
                seen.host.get_or_insert(value);
            } else if name == header::COOKIE {
                seen.cookie = true;
                seen.credentials = true;
            } else if name == header::ACCEPT {
                seen.accept = true;
            } else if name == header::CONTENT_TYPE {
                seen.content_type = true;
            } else if name == header::AUTHORIZATION || name == http::X_SESSION_TOKEN {
                seen.credentials = true;
            } else if name == http::X_FORWARDED_HOST {
                seen.forwarded_host.get_or_insert(value);
            } else if name == http::X_FORWARDED_PROTO {
                seen.forwarded_proto.get_or_insert(value);
            } else if name == http::X_REQUEST_ID {
                seen.request_id.get_or_insert(value);
            }
        }
        seen
    }
}

impl ReqCtx {
    /// Reads the request; `guarded`: nosurf guards its path, so a request without a valid
    /// anti-CSRF cookie gets a fresh token (and the layer its cookie).
    pub(crate) fn new(
        cfg: &Resolved,
        method: &HttpMethod,
        headers: &HeaderMap,
        guarded: bool,
    ) -> ReqCtx {
        let seen = Seen::new(headers);
        let csrf_cookie: Option<Box<str>> = seen
            .cookie
            .then(|| http::cookie(headers, &cfg.csrf_cookie_name))
            .flatten()
            .filter(|v| csrf::is_token(v))
            .map(Into::into);
        let fresh_csrf = (guarded && csrf_cookie.is_none()).then(|| csrf::new_token().into());
        ReqCtx {
            get: method == HttpMethod::GET || method == HttpMethod::HEAD,
            // Without `Accept` the negotiation gives its default (HTML); without either header
            // neither is JSON.
            json_request: (seen.accept || seen.content_type) && http::is_json_request(headers),
            accepts_json: seen.accept && http::accepts_json(headers),
            request_id: text(seen.request_id).map(Into::into),
            csrf_cookie,
            fresh_csrf,
            origin: request_origin(
                cfg,
                text(seen.host),
                text(seen.forwarded_host),
                text(seen.forwarded_proto),
            ),
            credentials: seen.credentials,
        }
    }

    /// `X-Request-ID`, which the plain error envelope echoes as `request`.
    pub(crate) fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// nosurf's fresh token, whose cookie the layer sets on the answer.
    pub(crate) fn fresh_csrf(&self) -> Option<&str> {
        self.fresh_csrf.as_deref()
    }

    /// The token to bind a new browser flow to, and the `Set-Cookie` the handler must send for
    /// it (`None` when the request's cookie is reused or the layer sets it).
    pub(crate) fn csrf_token(&self, app: &App) -> (String, Option<HeaderValue>) {
        if let Some(c) = self.csrf_cookie.as_deref().or(self.fresh_csrf.as_deref()) {
            return (c.to_owned(), None);
        }
        let token = csrf::new_token();
        let cookie = csrf::cookie_header(&app.cfg.csrf_cookie_name, &token);
        (token, cookie)
    }

    /// The URL of this request as Kratos records it in `request_url`, when it differs from the
    /// server's own `<base_url><path>`; `path_and_query` is what the server saw.
    pub(crate) fn request_url(&self, path_and_query: &str) -> Option<String> {
        self.origin
            .as_deref()
            .map(|o| format!("{o}{path_and_query}"))
    }
}

/// A header's value as text (not visible ASCII: `None`).
fn text(v: Option<&HeaderValue>) -> Option<&str> {
    v.and_then(|v| v.to_str().ok())
}

/// Kratos `x.RequestURL`: `X-Forwarded-Host` over `Host`, `X-Forwarded-Proto` over the scheme
/// (the first values of those headers).
fn request_origin(
    cfg: &Resolved,
    host: Option<&str>,
    forwarded_host: Option<&str>,
    forwarded_proto: Option<&str>,
) -> Option<Box<str>> {
    fn first(v: Option<&str>) -> Option<&str> {
        v.and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
    let host = first(forwarded_host).or(host)?;
    let scheme = first(forwarded_proto).unwrap_or("http");
    // The server's own origin (most requests): nothing to keep, nothing to check.
    let own = cfg
        .origin
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"));
    if own == Some(host) {
        return None;
    }
    // Only what can be part of a URL's authority; anything else keeps the configured origin.
    let authority = |b: u8| b.is_ascii_alphanumeric() || b"-._~:[]%".contains(&b);
    if !host.bytes().all(authority) || !scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(format!("{scheme}://{host}").into())
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn new_id() -> u128 {
    uuid::Builder::from_random_bytes(rand::random::<[u8; 16]>())
        .into_uuid()
        .as_u128()
}

pub(crate) fn generate_session_token() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    format!(
        "ory_st_{}",
        Alphanumeric.sample_string(&mut rand::rng(), 32)
    )
}

pub(crate) fn parse_id(s: Option<&str>) -> Option<u128> {
    uuid::Uuid::try_parse(s?.trim()).ok().map(|u| u.as_u128())
}

/// Minutes (×100) a flow has been expired for, as Kratos prints them (`%.2f`).
pub(crate) fn minutes_x100(ns: i64) -> i64 {
    ns.max(0) / 600_000_000
}
