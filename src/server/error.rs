//! The one error type of the reference server: herodot's `errorGeneric` envelope (§1.3) and its
//! enhanced variants, as an axum [`IntoResponse`], and their bodies in herodot's field order.
//!
//! A handler returns `Err(KratosError)`, and [`super::layer`]'s Kratos layer, which knows the
//! request, renders it once: JSON (with the `request` id of `X-Request-ID`), or — for errors that
//! go through Kratos's self-service error manager (`selfservice/errorx/manager.go`, §1.5) — a 303
//! to the error UI when the request is neither JSON nor accepts JSON.

use super::json;
use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

pub(crate) const MSG_BAD_REQUEST: &str =
    "The request was malformed or contained invalid parameters";
pub(crate) const MSG_NOT_FOUND: &str = "The requested resource could not be found";
const ORY_ERROR_ID: HeaderName = HeaderName::from_static("ory-error-id");

/// A Kratos error answer (boxed: handlers return it in `Result`s on every path).
#[derive(Debug, Clone)]
pub(crate) struct KratosError(Box<Fields>);

#[derive(Debug, Clone)]
struct Fields {
    code: u16,
    id: Option<&'static str>,
    reason: Option<Cow<'static, str>>,
    /// A raw JSON object.
    details: Option<String>,
    message: &'static str,
    /// Raw top-level `"key":value` members after `error` (the enhanced errors).
    extra: Option<String>,
    /// Goes through the error manager: JSON only when the request asks for it.
    forward: bool,
    /// A `Set-Cookie` the answer carries (a regenerated anti-CSRF cookie).
    cookie: Option<HeaderValue>,
}

impl KratosError {
    pub(crate) fn new(code: u16, message: &'static str) -> KratosError {
        KratosError(Box::new(Fields {
            code,
            id: None,
            reason: None,
            details: None,
            message,
            extra: None,
            forward: false,
            cookie: None,
        }))
    }

    /// Whether the error manager answers it (§1.5).
    pub(crate) fn is_forwarded(&self) -> bool {
        self.0.forward
    }

    /// herodot's `ErrBadRequest` with a reason.
    pub(crate) fn bad_request(reason: impl Into<Cow<'static, str>>) -> KratosError {
        KratosError::new(400, MSG_BAD_REQUEST).reason(reason)
    }

    pub(crate) fn id(mut self, id: &'static str) -> KratosError {
        self.0.id = Some(id);
        self
    }

    pub(crate) fn reason(mut self, reason: impl Into<Cow<'static, str>>) -> KratosError {
        self.0.reason = Some(reason.into());
        self
    }

    pub(crate) fn details(mut self, details: String) -> KratosError {
        self.0.details = Some(details);
        self
    }

    pub(crate) fn extra(mut self, extra: String) -> KratosError {
        self.0.extra = Some(extra);
        self
    }

    /// Through the self-service error manager (§1.5).
    pub(crate) fn forwarded(mut self) -> KratosError {
        self.0.forward = true;
        self
    }

    pub(crate) fn cookie(mut self, cookie: Option<HeaderValue>) -> KratosError {
        if cookie.is_some() {
            self.0.cookie = cookie;
        }
        self
    }

    pub(crate) fn take_cookie(&mut self) -> Option<HeaderValue> {
        self.0.cookie.take()
    }

    /// `session_already_available` (§2.2).
    pub(crate) fn session_already_available() -> KratosError {
        KratosError::bad_request("A valid session was detected and thus recovery is not possible.")
            .id("session_already_available")
    }

    /// Recovery switched off (§2.2): through the error manager.
    pub(crate) fn recovery_disabled() -> KratosError {
        KratosError::bad_request("Recovery is not allowed because it was disabled.").forwarded()
    }

    /// `sqlcon`'s not-found, as getRecoveryFlow writes it (§4).
    pub(crate) fn flow_not_found() -> KratosError {
        KratosError::new(404, "Unable to locate the resource")
    }

    /// The JSON answer; `request_id` fills `request` in the plain envelope only (§1.3).
    pub(crate) fn render(&self, request_id: Option<&str>) -> Response {
        let e = &self.0;
        let fields = ErrorFields {
            id: e.id,
            code: e.code,
            request: if e.extra.is_none() { request_id } else { None },
            reason: e.reason.as_deref(),
            details: e.details.as_deref(),
            message: e.message,
        };
        let body = match &e.extra {
            Some(x) => envelope_with(&fields, x),
            None => envelope(&fields),
        };
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_REQUEST);
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            ORY_ERROR_ID,
            e.id.and_then(|i| HeaderValue::from_str(i).ok())
                .unwrap_or(HeaderValue::from_static("")),
        );
        r
    }
}

impl IntoResponse for KratosError {
    /// The JSON envelope, as answered to a request without `X-Request-ID` (the Kratos layer
    /// renders handlers' errors with the request known).
    fn into_response(mut self) -> Response {
        let cookie = self.take_cookie();
        let mut r = self.render(None);
        if let Some(c) = cookie {
            r.headers_mut().append(header::SET_COOKIE, c);
        }
        r
    }
}

/// Go's `http.StatusText`.
fn status_text(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        _ => "Error",
    }
}

/// The fields of herodot's `DefaultError` that Kratos lets through (`debug` is always stripped).
#[derive(Debug, Default, Clone, Copy)]
struct ErrorFields<'a> {
    id: Option<&'a str>,
    code: u16,
    request: Option<&'a str>,
    reason: Option<&'a str>,
    /// A raw JSON object.
    details: Option<&'a str>,
    message: &'a str,
}

/// `"error":{…}` in herodot field order.
fn error_object(out: &mut String, e: &ErrorFields<'_>) {
    out.push_str("\"error\":{");
    if let Some(id) = e.id {
        out.push_str("\"id\":");
        json::push_str(out, id);
        out.push(',');
    }
    out.push_str("\"code\":");
    json::push_int(out, i64::from(e.code));
    out.push_str(",\"status\":\"");
    out.push_str(status_text(e.code));
    out.push('"');
    if let Some(r) = e.request.filter(|r| !r.is_empty()) {
        out.push_str(",\"request\":");
        json::push_str(out, r);
    }
    if let Some(r) = e.reason.filter(|r| !r.is_empty()) {
        out.push_str(",\"reason\":");
        json::push_str(out, r);
    }
    if let Some(d) = e.details {
        out.push_str(",\"details\":");
        out.push_str(d);
    }
    out.push_str(",\"message\":");
    json::push_str(out, e.message);
    out.push('}');
}

/// The plain `errorGeneric` envelope.
fn envelope(e: &ErrorFields<'_>) -> String {
    let mut out = String::with_capacity(256);
    out.push('{');
    error_object(&mut out, e);
    out.push_str("}\n");
    out
}

/// An envelope followed by extra top-level members (`redirect_browser_to`, `expired_at` …),
/// given as raw JSON `"key":value` pairs.
fn envelope_with(e: &ErrorFields<'_>, extra: &str) -> String {
    let mut out = String::with_capacity(384);
    out.push('{');
    error_object(&mut out, e);
    out.push(',');
    out.push_str(extra);
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_in_herodot_order() {
        let got = envelope(&ErrorFields {
            id: Some("x"),
            code: 400,
            request: Some("r"),
            reason: Some("why"),
            details: Some(r#"{"a":1}"#),
            message: "m",
        });
        assert_eq!(
            got,
            "{\"error\":{\"id\":\"x\",\"code\":400,\"status\":\"Bad Request\",\"request\":\"r\",\"reason\":\"why\",\"details\":{\"a\":1},\"message\":\"m\"}}\n"
        );
        let bare = envelope(&ErrorFields {
            code: 404,
            message: "Unable to locate the resource",
            ..Default::default()
        });
        assert_eq!(
            bare,
            "{\"error\":{\"code\":404,\"status\":\"Not Found\",\"message\":\"Unable to locate the resource\"}}\n"
        );
    }
}
