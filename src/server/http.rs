//! Request inspection as Kratos does it: content negotiation (`IsJSONRequest`, `AcceptsJSON`),
//! cookies, query parameters, `return_to` validation against the allow-list, and the update body
//! (JSON or form, merged over the query).

use axum::http::header::AsHeaderName;
use axum::http::{header, HeaderMap, HeaderName};

// The request headers Kratos reads that `http` has no constant for. Looked up by a parsed name:
// a `&str` name is parsed again on every lookup.
pub(crate) const X_CSRF_TOKEN: HeaderName = HeaderName::from_static("x-csrf-token");
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub(crate) const X_SESSION_TOKEN: HeaderName = HeaderName::from_static("x-session-token");
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Go's `gddo/httputil.NegotiateContentType`: the offer the `Accept` header prefers, or
/// `default` when nothing matches (also when the header is absent). Media ranges compare without
/// regard to case, as the parser lowercases them.
pub(crate) fn negotiate<'a>(headers: &HeaderMap, offers: &[&'a str], default: &'a str) -> &'a str {
    let mut best = default;
    let mut best_q = -1.0f32;
    let mut best_wild = 3u8;
    // Read again for each offer rather than collected: a request has one short `Accept`.
    let specs = || {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(parse_accept_spec)
    };
    for &offer in offers {
        for (value, q) in specs() {
            if q == 0.0 || q < best_q {
                continue;
            }
            if value == "*/*" {
                if q > best_q || best_wild > 2 {
                    best_q = q;
                    best_wild = 2;
                    best = offer;
                }
            } else if let Some(prefix) = value.strip_suffix('*') {
                if prefix.ends_with('/')
                    && offer
                        .get(..prefix.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                    && (q > best_q || best_wild > 1)
                {
                    best_q = q;
                    best_wild = 1;
                    best = offer;
                }
            } else if value.eq_ignore_ascii_case(offer) && (q > best_q || best_wild > 0) {
                best_q = q;
                best_wild = 0;
                best = offer;
            }
        }
    }
    best
}

fn parse_accept_spec(part: &str) -> Option<(&str, f32)> {
    let mut pieces = part.split(';');
    let value = pieces.next()?.trim();
    if value.is_empty() || !value.contains('/') {
        return None;
    }
    let mut q = 1.0f32;
    for param in pieces {
        let param = param.trim();
        if let Some(v) = param
            .strip_prefix("q=")
            .or_else(|| param.strip_prefix("Q="))
        {
            q = v.trim().parse::<f32>().ok().filter(|q| q.is_finite())?;
            q = q.clamp(0.0, 1.0);
        }
    }
    Some((value, q))
}

/// Kratos `x.IsJSONRequest`: `Accept` negotiates JSON, or `Content-Type` is `application/json`.
pub(crate) fn is_json_request(headers: &HeaderMap) -> bool {
    let ct_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    ct_json
        || negotiate(
            headers,
            &["text/html", "text/*", "*/*", "application/json"],
            "text/html",
        ) == "application/json"
}

/// Kratos `x.AcceptsJSON`: only `Accept`, offers `text/html` and `application/json`.
pub(crate) fn accepts_json(headers: &HeaderMap) -> bool {
    negotiate(headers, &["text/html", "application/json"], "text/html") == "application/json"
}

/// Every cookie of the request as (name, value).
pub(crate) fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let pair = pair.trim();
            if pair.is_empty() {
                return None;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some((name.trim(), value))
        })
}

/// The value of cookie `name`, if sent.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Names of the cookies that make Kratos reject an API-flow submit (Cloudflare's are exempt).
pub(crate) fn blocking_cookie_names(headers: &HeaderMap) -> Vec<String> {
    cookies(headers)
        .map(|(n, _)| n)
        .filter(|n| !(n.starts_with("__cf") || n.starts_with("_cf") || n.starts_with("cf_")))
        .map(str::to_owned)
        .collect()
}

/// The first value of query parameter `name` (percent-decoded, lossy).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A request header as text (absent or not visible ASCII: `None`).
pub(crate) fn header_str(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// One entry of the `return_to` allow-list: scheme, host (maybe `*.` wildcard, with port), path.
#[derive(Debug, Clone)]
pub(crate) struct AllowedUrl {
    scheme: String,
    host: String,
    path: String,
}

impl AllowedUrl {
    /// Parses `scheme://host[:port][/path]`; the host may start with `*.`.
    pub(crate) fn parse(s: &str) -> Option<AllowedUrl> {
        let (scheme, rest) = s.split_once("://")?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return None;
        }
        let (host, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if host.is_empty() {
            return None;
        }
        let path = path.split(['?', '#']).next().unwrap_or("");
        Some(AllowedUrl {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
        })
    }

    fn allows(&self, url: &url::Url) -> bool {
        if !url.scheme().eq_ignore_ascii_case(&self.scheme) {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = match url.port() {
            Some(p) => format!("{}:{p}", host.to_ascii_lowercase()),
            None => host.to_ascii_lowercase(),
        };
        let host_ok = match self.host.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == self.host,
        };
        host_ok && url.path().starts_with(&self.path)
    }
}

/// Why a `return_to` was refused.
#[derive(Debug)]
pub(crate) enum ReturnToError {
    /// Parsed but not on the allow-list (the text as sent).
    Forbidden(String),
    /// Does not parse as a URL (the parser's message).
    Unparsable(String),
}

/// Kratos `SecureRedirectTo`: relative values take scheme and host from the default browser
/// return URL; the result must match an allow-list entry.
pub(crate) fn check_return_to(
    value: &str,
    default_return: &url::Url,
    allowed: &[AllowedUrl],
) -> Result<(), ReturnToError> {
    let parsed = url::Url::options()
        .base_url(Some(default_return))
        .parse(value)
        .map_err(|e| ReturnToError::Unparsable(e.to_string()))?;
    if allowed.iter().any(|a| a.allows(&parsed)) {
        Ok(())
    } else {
        Err(ReturnToError::Forbidden(value.to_owned()))
    }
}

/// The decoded fields of an update body (JSON or form), merged over the query string.
#[derive(Debug, Default, Clone)]
pub(crate) struct UpdateBody {
    pub(crate) method: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) csrf_token: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) transient_payload: Option<String>,
    /// v2 (`choose_recovery_address`) fields.
    pub(crate) recovery_address: Option<String>,
    pub(crate) recovery_select_address: Option<String>,
    pub(crate) recovery_confirm_address: Option<String>,
    pub(crate) screen: Option<String>,
}

impl UpdateBody {
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "method" => &mut self.method,
            "email" => &mut self.email,
            "code" => &mut self.code,
            "csrf_token" => &mut self.csrf_token,
            "token" => &mut self.token,
            "recovery_address" => &mut self.recovery_address,
            "recovery_select_address" => &mut self.recovery_select_address,
            "recovery_confirm_address" => &mut self.recovery_confirm_address,
            "screen" => &mut self.screen,
            _ => return None,
        })
    }
}

/// Why an update body could not be decoded; [`BodyError::text`] is Kratos's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Not JSON.
    MalformedJson,
    /// JSON, but not an object.
    NotObject,
    /// A known field had a JSON type that does not become a string.
    WrongType,
    /// Neither JSON nor a form (the `Content-Type` sent).
    UnsupportedMedia(String),
    /// The code strategy decodes POST bodies only.
    Method,
}

impl BodyError {
    /// The text of the 4000001 message Kratos shows for it (`ory/x/decoderx`).
    pub(crate) fn text(&self) -> String {
        match self {
            BodyError::MalformedJson => "Unable to decode form as JSON.".to_owned(),
            BodyError::NotObject => {
                "Expected JSON sent in request body to be an object but got: JSON".to_owned()
            }
            BodyError::WrongType => "Unable to decode form as JSON: a field has the wrong type.".to_owned(),
            BodyError::UnsupportedMedia(ct) => format!(
                "HTTP POST Request used unknown HTTP Header \"Content-Type: {ct}\", only [multipart/form-data application/x-www-form-urlencoded application/json] are supported."
            ),
            BodyError::Method => "Unable to decode body because HTTP Request Method was \"GET\" but only [POST] are supported.".to_owned(),
        }
    }
}

/// Decodes an update body by its `Content-Type`; query parameters fill fields the body lacks
/// (Kratos decodes with `HTTPDecoderUseQueryAndBody`).
pub(crate) fn decode_update(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<UpdateBody, BodyError> {
    let raw_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ct = raw_ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut out = match ct.as_str() {
        "application/json" => decode_json(body)?,
        "application/x-www-form-urlencoded" => decode_form(body),
        "" if body.is_empty() => UpdateBody::default(),
        _ => return Err(BodyError::UnsupportedMedia(raw_ct.to_owned())),
    };
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if let Some(slot) = out.slot(&k) {
                if slot.is_none() {
                    *slot = Some(v.into_owned());
                }
            }
        }
    }
    Ok(out)
}

fn decode_json(body: &[u8]) -> Result<UpdateBody, BodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| BodyError::MalformedJson)?;
    let serde_json::Value::Object(map) = value else {
        return Err(BodyError::NotObject);
    };
    let mut out = UpdateBody::default();
    for (key, v) in &map {
        if key == "transient_payload" {
            out.transient_payload = match v {
                serde_json::Value::Null => None,
                serde_json::Value::Object(_) => Some(v.to_string()),
                _ => return Err(BodyError::WrongType),
            };
            continue;
        }
        let Some(slot) = out.slot(key) else {
            continue;
        };
        // Kratos's decoder coerces scalars to the schema's string type (`{"email":5}` is "5").
        *slot = match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => return Err(BodyError::WrongType),
        };
    }
    Ok(out)
}

fn decode_form(body: &[u8]) -> UpdateBody {
    let mut out = UpdateBody::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        if let Some(slot) = out.slot(&k) {
            if slot.is_none() {
                *slot = Some(v.into_owned());
            }
        }
    }
    out
}

/// Kratos's `email_loose` format with `maxLength: 320`: one `@` with something on both sides,
/// no whitespace or control characters.
pub(crate) fn is_valid_email(s: &str) -> bool {
    if s.chars().count() > 320 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match s.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    }
}

/// A case-insensitive glob with `*` (any run of characters), for recovery-address patterns.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    parts: Vec<String>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        Glob {
            parts: pattern
                .to_lowercase()
                .split('*')
                .map(str::to_owned)
                .collect(),
        }
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        let s = s.to_lowercase();
        let parts = &self.parts;
        if parts.len() == 1 {
            return s == parts[0];
        }
        let (first, last) = (&parts[0], &parts[parts.len() - 1]);
        // Both checks before slicing: they make both cut points char boundaries.
        if !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
            || s.len() < first.len() + last.len()
        {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for mid in &parts[1..parts.len() - 1] {
            match rest.find(mid.as_str()) {
                Some(i) => rest = &rest[i + mid.len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn negotiation_matches_kratos() {
        assert!(!is_json_request(&HeaderMap::new()));
        assert!(is_json_request(&accept("application/json")));
        assert!(!is_json_request(&accept("*/*")));
        assert!(!is_json_request(&accept("text/html,application/json")));
        assert!(is_json_request(&accept("text/html;q=0.5,application/json")));
        assert!(accepts_json(&accept("application/json")));
        assert!(!accepts_json(&accept("*/*")));
        // Media ranges are case-insensitive.
        assert!(accepts_json(&accept("Application/JSON")));
        assert!(is_json_request(&accept("TEXT/*;q=0.5, application/Json")));
        assert!(!is_json_request(&accept("Text/HTML, application/json")));
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(is_json_request(&h));
        assert!(!accepts_json(&h));
    }

    #[test]
    fn return_to_allow_list() {
        let default = url::Url::parse("http://127.0.0.1:4455/").expect("url");
        let allowed = vec![
            AllowedUrl::parse("https://app.example.org/callback").expect("entry"),
            AllowedUrl::parse("https://*.example.com").expect("entry"),
            AllowedUrl::parse("http://127.0.0.1:4455").expect("entry"),
        ];
        assert!(check_return_to("https://app.example.org/callback/x", &default, &allowed).is_ok());
        assert!(check_return_to("HTTPS://APP.example.org/callback", &default, &allowed).is_ok());
        assert!(check_return_to("https://a.b.example.com/any", &default, &allowed).is_ok());
        assert!(check_return_to("/relative", &default, &allowed).is_ok());
        assert!(matches!(
            check_return_to("https://evil.test/", &default, &allowed),
            Err(ReturnToError::Forbidden(_))
        ));
        assert!(matches!(
            check_return_to("https://app.example.org/other", &default, &allowed),
            Err(ReturnToError::Forbidden(_))
        ));
        assert!(matches!(
            check_return_to("http://[::1", &default, &allowed),
            Err(ReturnToError::Unparsable(_))
        ));
    }

    #[test]
    fn globs_and_emails() {
        let g = Glob::new("*@example.org");
        assert!(g.matches("Alice@Example.org"));
        assert!(!g.matches("alice@example.org.evil"));
        assert!(Glob::new("a*b*c").matches("a-b-c"));
        assert!(!Glob::new("a*b*c").matches("ac"));
        assert!(Glob::new("exact@x.y").matches("EXACT@x.y"));
        // Multi-byte input around the cut points must not panic.
        assert!(!g.matches("é@example.orgé"));
        assert!(!g.matches("ééééééééééééé"));
        assert!(Glob::new("é*é").matches("éxé"));
        assert!(!Glob::new("é*é").matches("é"));
        assert!(is_valid_email("a@b"));
        assert!(!is_valid_email("ab"));
        assert!(!is_valid_email("a b@c"));
        assert!(!is_valid_email("@c"));
    }

    #[test]
    fn bodies_decode_and_merge_query() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let b = decode_update(&h, Some("flow=x&method=code"), br#"{"email":"a@b"}"#).expect("ok");
        assert_eq!(b.email.as_deref(), Some("a@b"));
        assert_eq!(b.method.as_deref(), Some("code"));
        assert_eq!(
            decode_update(&h, None, b"[1]").err(),
            Some(BodyError::NotObject)
        );
        assert_eq!(
            decode_update(&h, None, b"{x").err(),
            Some(BodyError::MalformedJson)
        );
        let coerced = decode_update(&h, None, br#"{"email":5}"#).expect("coerced");
        assert_eq!(coerced.email.as_deref(), Some("5"));
        assert_eq!(
            decode_update(&h, None, br#"{"email":[5]}"#).err(),
            Some(BodyError::WrongType)
        );
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(
            decode_update(&h, None, b"x").err(),
            Some(BodyError::UnsupportedMedia("text/plain".to_owned()))
        );
    }
}
