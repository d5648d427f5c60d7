//! Declarative judges: the common rules as data (a probe and an expected status, content type,
//! schema component, error envelope, or a JSON pointer's value), so a catalogue item states its
//! rule instead of a function that implements it. [`judge!`](crate::judge) turns one into the
//! catalogue's [`JudgeFn`](super::JudgeFn); checks with their own logic keep a function.

use super::{
    equals, error_generic, json_with_status, precondition, schema, status, Ctx, Step, Verdict,
};
use crate::check::client::Exchange;
use crate::check::probes::Probe;
use crate::schema::Component;

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
        let ex: &Exchange = precondition(ctx.exchange(probe).await)?;
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
#[macro_export]
macro_rules! judge {
    ($j:expr) => {{
        fn declared(ctx: &$crate::check::probes::Ctx) -> $crate::check::catalogue::Judged<'_> {
            const J: $crate::check::catalogue::judge::Judge = $j;
            Box::pin(J.run(ctx))
        }
        declared as $crate::check::catalogue::JudgeFn
    }};
}
