//! The non-error answers every route shares: a flow body, Go's `http.Redirect` and Go's plain-text
//! `http.Error`. Headers every public answer carries (`Vary`, `Cache-Control`, the anti-CSRF
//! cookie) are added once by the Kratos layer in [`super::layer`].

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");
const HTML_UTF8: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const TEXT_UTF8: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// herodot's success writer: `application/json; charset=utf-8`.
pub(crate) fn json(status: StatusCode, body: impl Into<bytes::Bytes>) -> Response {
    let mut r = Response::new(Body::from(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, JSON_UTF8);
    r
}

/// Go's `http.Redirect`: `Location`, and for GET/HEAD a tiny HTML body.
pub(crate) fn redirect(status: StatusCode, location: &str, get: bool) -> Response {
    let loc = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    let mut r = if get {
        let mut escaped = String::with_capacity(location.len());
        for c in location.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&#34;"),
                '\'' => escaped.push_str("&#39;"),
                c => escaped.push(c),
            }
        }
        let body = format!(
            "<a href=\"{escaped}\">{}</a>.\n\n",
            status.canonical_reason().unwrap_or("Redirect")
        );
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(header::CONTENT_TYPE, HTML_UTF8);
        r
    } else {
        Response::new(Body::empty())
    };
    *r.status_mut() = status;
    r.headers_mut().insert(header::LOCATION, loc);
    r
}

/// Go's `http.Error`, as `net/http` writes its 404 and 405: plain text, `nosniff`, the text and
/// a newline.
pub(crate) fn plain_text(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(format!("{text}\n")));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, TEXT_UTF8);
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `resp` carrying `cookie`, when there is one.
pub(crate) fn with_cookie(mut resp: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}
