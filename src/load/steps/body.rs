//! Judging a response body against a step's expectation: the compiled schema (the fast path
//! first, the full validator to explain a rejection), the flow's `state` and `error.id`. The
//! excerpts failure reasons carry are the run's redactor's ([`crate::secret::Redactor::excerpt`]).

use crate::load::scenario::Expect;
use crate::schema::fast::Fast;
use crate::schema::{Component, Schemas};
use serde_json::Value;

/// A flow body's `id`, read without building a DOM; `None` when the body is not JSON.
pub(super) fn flow_id_of(bytes: &[u8]) -> Option<Option<String>> {
    #[derive(serde::Deserialize)]
    struct IdOnly<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    match serde_json::from_slice::<IdOnly<'_>>(bytes) {
        Ok(b) => Some(b.id.map(std::borrow::Cow::into_owned)),
        // JSON, but not an object with a string id: nothing to remember.
        Err(e) if e.is_data() => Some(None),
        Err(_) => None,
    }
}

/// Checks a body (its bytes) against the expectation: the fast path of the embedded schemas
/// when it decides the body is valid, else the full validator, which also explains a rejection.
/// Returns the body's `id`, if any.
pub fn check_bytes(
    schemas: &Schemas,
    component: Component,
    expect: &Expect,
    bytes: &[u8],
) -> Result<Option<String>, String> {
    check_bytes_for(schemas, component, expect, bytes, true)
}

/// [`check_bytes`], copying the `id` out of the body only when `want_id`.
pub(super) fn check_bytes_for(
    schemas: &Schemas,
    component: Component,
    expect: &Expect,
    bytes: &[u8],
    want_id: bool,
) -> Result<Option<String>, String> {
    if let Some(Fast::Valid(facts)) = schemas.fast(component, bytes) {
        let error_id = facts.error.as_ref().and_then(|e| e.id.as_deref());
        expected_values(expect, facts.state.as_deref(), error_id)?;
        return Ok(facts
            .id
            .filter(|_| want_id)
            .map(std::borrow::Cow::into_owned));
    }
    // One UTF-8 pass over the whole body, then the parser's unchecked string reads: cheaper than
    // `from_slice`, which checks every string on its own.
    let body = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .ok_or_else(|| format!("status {}: body is not JSON", expect.status))?;
    check_body(schemas, component, expect, &body)?;
    Ok(body.get("id").and_then(Value::as_str).map(str::to_owned))
}

/// Checks a parsed body against the expectation. The reason is stable (no ids or timestamps) so
/// that Goose's error table groups failures instead of growing with every request.
pub fn check_body(
    schemas: &Schemas,
    component: Component,
    expect: &Expect,
    body: &Value,
) -> Result<(), String> {
    if !schemas.is_valid(component, body) {
        // The slow path, taken only for a broken response: say where and which rule.
        let detail = match schemas.validate(component, body) {
            Err(violations) => violations
                .first()
                .map(|v| {
                    let at = if v.pointer.is_empty() {
                        "(root)"
                    } else {
                        &v.pointer
                    };
                    format!("at {}: {} ({})", cut(at), cut(&v.message), cut(&v.rule))
                })
                .unwrap_or_default(),
            Ok(()) => String::new(),
        };
        return Err(format!(
            "status {}: body breaks {} {detail}",
            expect.status,
            component.name()
        )
        .trim_end()
        .to_owned());
    }
    let state = body.get("state").and_then(Value::as_str);
    let error_id = body
        .get("error")
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str);
    expected_values(expect, state, error_id)
}

/// The `state` and `error.id` the expectation names, if it names them.
fn expected_values(
    expect: &Expect,
    state: Option<&str>,
    error_id: Option<&str>,
) -> Result<(), String> {
    if let Some(want) = &expect.state {
        if state != Some(want.as_str()) {
            return Err(format!(
                "status {}: state is {}, expected {want}",
                expect.status,
                state.map(cut).unwrap_or_else(|| "missing".to_owned())
            ));
        }
    }
    if let Some(want) = &expect.error_id {
        if error_id != Some(want.as_str()) {
            return Err(format!(
                "status {}: error.id is {}, expected {want}",
                expect.status,
                error_id.map(cut).unwrap_or_else(|| "missing".to_owned())
            ));
        }
    }
    Ok(())
}

pub(super) fn cut(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// An expectation as a failure message names it: `200 recoveryFlow state=sent_email`.
pub(super) fn describe(e: &Expect) -> String {
    let mut out = e.status.to_string();
    if let Some(c) = e.schema {
        out.push(' ');
        out.push_str(c.name());
    }
    if let Some(s) = &e.state {
        out.push_str(" state=");
        out.push_str(s);
    }
    if let Some(id) = &e.error_id {
        out.push_str(" error.id=");
        out.push_str(id);
    }
    out
}

/// A body that reports a server error (`error.code` 5xx) whatever its HTTP status: real Kratos
/// answers a failed database write (SQLite's `database is locked`) with 400 and `error.code` 500.
pub fn server_error(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        error: Inner<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Inner<'a> {
        code: Option<i64>,
        #[serde(borrow)]
        message: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        reason: Option<std::borrow::Cow<'a, str>>,
    }
    let e = serde_json::from_slice::<Envelope<'_>>(body).ok()?.error;
    let code = e.code.filter(|c| (500..=599).contains(c))?;
    let said: Vec<&str> = [e.message.as_deref(), e.reason.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    Some(format!(
        "the body reports server error {code}: {}",
        cut(&said.join(": "))
    ))
}
