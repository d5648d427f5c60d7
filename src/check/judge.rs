//! Judging: turning an exchange into a [`Verdict`] with evidence. The helpers state the usual
//! expectations (an answer, a status, JSON, a schema component, the errorGeneric envelope, a
//! pointer's value, a UI message), so a check body reads as its rule; [`Judge`] states the common
//! rules as data on a [`Probe`], and [`judge!`](judge) turns one into a catalogue item's
//! [`JudgeFn`](super::model::JudgeFn). Checks with their own logic keep a function.

use super::client::{shorten, Exchange, Response};
use super::model::{Step, Verdict};
use super::probes::{Ctx, Probe};
use crate::schema::Component;
use serde_json::Value;

/// The response, or a failure saying why none arrived; an error of the run when the target did
/// not answer even the request sent alone (a hang is not a broken rule).
pub fn answered(ex: &Exchange) -> Step<&Response> {
    if ex.no_answer_alone {
        return Err(Verdict::Error {
            detail: format!(
                "no answer to {} {}: {}",
                ex.request.method,
                ex.redact(ex.request.url.as_str()),
                ex.describe()
            ),
            evidence: vec![ex.evidence()],
        });
    }
    ex.response().ok_or_else(|| {
        Verdict::fail(format!(
            "no usable answer to {} {}: {}",
            ex.request.method,
            ex.redact(ex.request.url.as_str()),
            ex.describe()
        ))
        .with(ex.evidence())
    })
}

/// The response if its status is `expected`.
pub fn status(ex: &Exchange, expected: u16) -> Step<&Response> {
    let resp = answered(ex)?;
    if resp.status != expected {
        return Err(
            Verdict::fail(format!("expected status {expected}, got {}", ex.describe()))
                .with(ex.evidence()),
        );
    }
    Ok(resp)
}

/// The body as JSON.
pub fn json(ex: &Exchange) -> Step<&Value> {
    let resp = answered(ex)?;
    resp.json()
        .map_err(|why| Verdict::fail(format!("expected a JSON body: {why}")).with(ex.evidence()))
}

/// The body as JSON if the status is `expected` (for checks that read a field of a 200 flow).
pub fn json_with_status(ex: &Exchange, expected: u16) -> Step<&Value> {
    status(ex, expected)?;
    json(ex)
}

/// Passes when the body is valid against `component`; fails naming the first violations.
pub fn schema(ctx: &Ctx, ex: &Exchange, component: Component) -> Step<Verdict> {
    let body = json(ex)?;
    match ctx.schemas.validate(component, body) {
        Ok(()) => Ok(Verdict::pass(format!(
            "the body is a valid {}",
            component.name()
        ))),
        Err(violations) => {
            let first = violations.first();
            let list: Vec<String> = violations.iter().take(5).map(|v| v.to_string()).collect();
            let more = violations.len().saturating_sub(5);
            let mut detail = format!(
                "the body is not a valid {}: {}",
                component.name(),
                list.join("; ")
            );
            if more > 0 {
                detail.push_str(&format!("; and {more} more"));
            }
            let mut ev = ex.evidence();
            if let Some(v) = first {
                ev.pointer = Some(v.pointer.clone());
                ev.value = Some(ex.redact(&v.value));
            }
            Err(Verdict::fail(detail).with(ev))
        }
    }
}

/// Passes when the answer is `expected` with an errorGeneric JSON body whose `error.code` (when
/// present) equals the status, and (when given) whose `error.id` is `id`.
pub fn error_generic(ctx: &Ctx, ex: &Exchange, expected: u16, id: Option<&str>) -> Step<Verdict> {
    let resp = status(ex, expected)?;
    error_envelope(ctx, ex, resp)?;
    let body = json(ex)?;
    if let Some(want) = id {
        let got = body.pointer("/error/id");
        if got.and_then(Value::as_str) != Some(want) {
            return Err(Verdict::fail(format!(
                "expected error.id `{want}`, got {}",
                got.map_or("none".to_owned(), Value::to_string)
            ))
            .with(ex.evidence_at("/error/id", got)));
        }
    }
    Ok(Verdict::pass(format!(
        "{expected} with an errorGeneric body{}",
        id.map(|i| format!(", error.id `{i}`")).unwrap_or_default()
    )))
}

/// The errorGeneric rules for any error answer: JSON content type, valid envelope, `error.code`
/// equal to the status when present.
pub fn error_envelope(ctx: &Ctx, ex: &Exchange, resp: &Response) -> Step<()> {
    if !resp.is_json_content_type() {
        return Err(Verdict::fail(format!(
            "an error must be sent as application/json with an errorGeneric body; got {}",
            ex.describe()
        ))
        .with(ex.evidence()));
    }
    schema(ctx, ex, Component::ErrorGeneric)?;
    let body = json(ex)?;
    if let Some(code) = body.pointer("/error/code") {
        if code.as_u64() != Some(u64::from(resp.status)) {
            return Err(Verdict::fail(format!(
                "error.code must equal the HTTP status {}; it is {code}",
                resp.status
            ))
            .with(ex.evidence_at("/error/code", Some(code))));
        }
    }
    Ok(())
}

/// A string field of a JSON body, or a failure naming its pointer.
pub fn string_at<'a>(ex: &Exchange, body: &'a Value, pointer: &str) -> Step<&'a str> {
    let v = body.pointer(pointer);
    v.and_then(Value::as_str).ok_or_else(|| {
        Verdict::fail(format!(
            "expected a string at {pointer}, got {}",
            v.map_or("nothing".to_owned(), Value::to_string)
        ))
        .with(ex.evidence_at(pointer, v))
    })
}

/// A multi-step scenario's exchanges, or a skip with the reason it could not be carried out
/// (see [`crate::check::security_probes`]).
pub fn scenario<T>(outcome: &Result<T, String>) -> Step<&T> {
    outcome
        .as_ref()
        .map_err(|reason| Verdict::skip(reason.clone()))
}

/// The exchange of a shared probe (sent once per run), or a skip saying why it could not be sent.
pub async fn exchange(ctx: &Ctx, probe: Probe) -> Step<&Exchange> {
    precondition(ctx.exchange(probe).await)
}

/// A probe that could not be sent because its precondition failed becomes a skip.
pub fn precondition<T>(r: Result<T, String>) -> Step<T> {
    r.map_err(Verdict::skip)
}

/// Passes when `body[pointer] == want`; fails with the pointer and value.
pub fn equals(ex: &Exchange, body: &Value, pointer: &str, want: &str) -> Step<Verdict> {
    let got = body.pointer(pointer);
    if got.and_then(Value::as_str) == Some(want) {
        Ok(Verdict::pass(format!("{pointer} is `{want}`")))
    } else {
        Err(Verdict::fail(format!(
            "expected {pointer} to be `{want}`, got {}",
            got.map_or("nothing".to_owned(), Value::to_string)
        ))
        .with(ex.evidence_at(pointer, got)))
    }
}

/// Passes when `ui.messages` holds a message of `kind` (and id, when given); fails listing them.
pub fn has_ui_message(
    ex: &Exchange,
    body: &Value,
    kind: &str,
    ids: &[u64],
    what: &str,
) -> Step<Verdict> {
    let messages = body.pointer("/ui/messages").and_then(Value::as_array);
    let found = messages.into_iter().flatten().find(|m| {
        m.get("type").and_then(Value::as_str) == Some(kind)
            && (ids.is_empty()
                || m.get("id")
                    .and_then(Value::as_u64)
                    .is_some_and(|i| ids.contains(&i)))
    });
    match found {
        Some(m) => Ok(Verdict::pass(format!(
            "ui.messages holds {what}: {}",
            shorten(&m.to_string(), 160)
        ))),
        None => Err(Verdict::fail(format!(
            "expected ui.messages to hold {what} (type `{kind}`{}), got {}",
            if ids.is_empty() {
                String::new()
            } else {
                format!(", id {ids:?}")
            },
            messages.map_or("no ui.messages".to_owned(), |m| {
                shorten(&Value::Array(m.clone()).to_string(), 300)
            })
        ))
        .with(ex.evidence_at("/ui/messages", body.pointer("/ui/messages")))),
    }
}

/// The message of type `error` on the `ui.nodes` node named `field` that `accept` takes. Passes
/// with `found` and the message's text; fails with `no_node` when there is no such node, or with
/// `no_error` and the pointer of the node's messages.
pub fn node_error(
    ex: &Exchange,
    body: &Value,
    field: &str,
    accept: impl Fn(&Value) -> bool,
    (no_node, found, no_error): (String, String, String),
) -> Step<Verdict> {
    let nodes = body.pointer("/ui/nodes").and_then(Value::as_array);
    let node = nodes
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(_, n)| n.pointer("/attributes/name").and_then(Value::as_str) == Some(field));
    let Some((i, node)) = node else {
        return Ok(
            Verdict::fail(no_node).with(ex.evidence_at("/ui/nodes", body.pointer("/ui/nodes")))
        );
    };
    let pointer = format!("/ui/nodes/{i}/messages");
    let error = node
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|m| m.get("type").and_then(Value::as_str) == Some("error") && accept(m));
    match error {
        Some(m) => Ok(Verdict::pass(format!(
            "{found} {}",
            m.get("text").unwrap_or(&Value::Null)
        ))),
        None => Ok(Verdict::fail(format!("{no_error} ({pointer})"))
            .with(ex.evidence_at(&pointer, node.get("messages")))),
    }
}

/// After a refused submit, the flow read back (`after`) must still be in its first state
/// (`initial`): passes with `refused`; otherwise fails with `moved` given the state it moved on to.
pub fn still_initial(
    after: &Exchange,
    initial: &str,
    refused: String,
    moved: impl FnOnce(&str) -> String,
) -> Step<Verdict> {
    let body = json_with_status(after, 200)?;
    match body.get("state").and_then(Value::as_str) {
        Some(state) if state == initial => Ok(Verdict::pass(refused)),
        other => Ok(Verdict::fail(moved(other.unwrap_or("no state")))
            .with(after.evidence_at("/state", body.get("state")))),
    }
}

/// A rule stated as data.
#[derive(Debug, Clone, Copy)]
pub enum Judge {
    /// The probe's answer has this status.
    Status(Probe, u16),
    /// The answer has this status and a JSON content type.
    StatusJson(Probe, u16),
    /// The answer has this status and its body is a valid `component`.
    Schema(Probe, u16, Component),
    /// The answer has this status and `pointer` holds the string `value`.
    Equals(Probe, u16, &'static str, &'static str),
    /// The answer has this status with an errorGeneric JSON body (and this `error.id`).
    ErrorGeneric(Probe, u16, Option<&'static str>),
}

impl Judge {
    /// Judges the rule on the probe's exchange (sent once per run, shared with every check).
    pub async fn run(self, ctx: &Ctx) -> Step<Verdict> {
        let probe = match self {
            Judge::Status(p, _)
            | Judge::StatusJson(p, _)
            | Judge::Schema(p, _, _)
            | Judge::Equals(p, _, _, _)
            | Judge::ErrorGeneric(p, _, _) => p,
        };
        let ex = exchange(ctx, probe).await?;
        match self {
            Judge::Status(_, want) => {
                status(ex, want)?;
                Ok(Verdict::pass(format!("answered {}", ex.describe())))
            }
            Judge::StatusJson(_, want) => {
                let resp = status(ex, want)?;
                if resp.is_json_content_type() {
                    Ok(Verdict::pass(format!(
                        "answered {}, Content-Type: {}",
                        ex.describe(),
                        resp.header("content-type").unwrap_or_default()
                    )))
                } else {
                    Ok(Verdict::fail(format!(
                        "expected Content-Type application/json, got {}",
                        resp.header("content-type").unwrap_or("none")
                    ))
                    .with(ex.evidence()))
                }
            }
            Judge::Schema(_, want, component) => {
                status(ex, want)?;
                schema(ctx, ex, component)
            }
            Judge::Equals(_, want, pointer, value) => {
                let body = json_with_status(ex, want)?;
                equals(ex, body, pointer, value)
            }
            Judge::ErrorGeneric(_, want, id) => error_generic(ctx, ex, want, id),
        }
    }
}

/// The catalogue's judging function of a declarative [`Judge`] (usable in a `const` item):
/// `judge: judge!(Judge::Schema(Probe::GetFlow, 200, Component::RecoveryFlow))`.
macro_rules! judge {
    ($j:expr) => {{
        fn declared(ctx: &$crate::check::probes::Ctx) -> $crate::check::model::Judged<'_> {
            const J: $crate::check::judge::Judge = $j;
            Box::pin(J.run(ctx))
        }
        declared as $crate::check::model::JudgeFn
    }};
}
// A path of its own (`crate::check::judge::judge`), not the crate root's: the catalogue imports
// it from here, below it.
pub(crate) use judge;
