//! `enumeration.*`: the answer to an e-mail does not tell whether the address has an account
//! (docs/kratos-behaviour.md §5.4 A item 3, "for an unknown address nothing visible
//! changes"; Kratos `selfservice/strategy/code/code_sender.go`). With `--known-email`, its
//! answers are compared with an unknown address's: status, state, messages (ids and texts) and
//! nodes must be the same. The latency difference is reported, not judged.

use crate::check::client::Exchange;
use crate::check::judge::scenario;
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::Ctx;
use crate::check::security_probes::{enumeration, Submission};
use crate::report::{Effect, Level, RuleSource};
use serde_json::Value;
use std::time::Duration;

/// The checks of this file.
pub const CHECKS: &[Check] = &[Check {
    id: "enumeration.same_answer",
    title: "Known and unknown addresses get the same answer",
    operation: Operation::Update,
    rule: "submitting --known-email and an address without identity gives the same status, state, ui.messages (ids and texts) and ui.nodes (the submitted address and the CSRF token aside); the latency difference is reported, not judged (§5.4 A, anti-enumeration)",
    source: RuleSource::SpecProse,
    level: Level::Required,
    effects: &[Effect::CreatesFlows, Effect::SendsMail],
    requires: &["update.email.200"],
    needs: Needs::Nothing,
    // With the recovery checks, after the concurrent ones (see recover.rs): its e-mails to the
    // known address must not arrive while they wait for their codes.
    phase: Phase::Final,
    judge: same_answer,
    fault: "enumeration_leak",
}];

/// What an attacker can compare: status, state, messages, nodes (address and token blanked).
fn visible(sub: &Submission) -> Value {
    let ex = &sub.exchange;
    let Some(body) = ex.json() else {
        return serde_json::json!({ "status": ex.status(), "body": ex.describe() });
    };
    let mut nodes = body.pointer("/ui/nodes").cloned().unwrap_or(Value::Null);
    if let Some(list) = nodes.as_array_mut() {
        for n in list.iter_mut() {
            let is_token =
                n.pointer("/attributes/name").and_then(Value::as_str) == Some("csrf_token");
            if let Some(v) = n.pointer_mut("/attributes/value") {
                if is_token
                    || v.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(&sub.address))
                {
                    *v = Value::String("<blanked>".to_owned());
                }
            }
            if let Some(ctx) = n.pointer_mut("/messages") {
                blank_address(ctx, &sub.address);
            }
        }
    }
    let mut messages = body.pointer("/ui/messages").cloned().unwrap_or(Value::Null);
    blank_address(&mut messages, &sub.address);
    serde_json::json!({
        "status": ex.status(),
        "state": body.get("state"),
        "ui/messages": messages,
        "ui/nodes": nodes,
    })
}

fn blank_address(v: &mut Value, address: &str) {
    match v {
        Value::String(s) if s.contains(address) => *s = s.replace(address, "<address>"),
        Value::Array(a) => a.iter_mut().for_each(|x| blank_address(x, address)),
        Value::Object(o) => o.values_mut().for_each(|x| blank_address(x, address)),
        _ => {}
    }
}

/// The first JSON pointer where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let path = format!("{at}/{}", k.replace('~', "~0"));
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(p, q, &path),
                    _ => Some(path),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}/{i}"))),
        _ if a == b => None,
        _ => Some(if at.is_empty() {
            "/".to_owned()
        } else {
            at.to_owned()
        }),
    }
}

fn median(list: &[Submission]) -> Duration {
    let mut t: Vec<Duration> = list.iter().map(|s| s.exchange.elapsed).collect();
    t.sort();
    t.get(t.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn same_answer(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let out = enumeration(ctx).await;
        let s = scenario(&out)?;
        for (k, u) in s.known.iter().zip(&s.unknown) {
            let (a, b) = (visible(k), visible(u));
            if let Some(pointer) = first_difference(&a, &b, "") {
                let at = |v: &Value| {
                    v.pointer(&pointer).map_or("nothing".to_owned(), |x| {
                        crate::check::client::shorten(&x.to_string(), 200)
                    })
                };
                let ev = |sub: &Submission, v: &Value| -> crate::report::Evidence {
                    let ex: &Exchange = &sub.exchange;
                    ex.evidence_at(&pointer, v.pointer(&pointer))
                };
                return Ok(Verdict::fail(format!(
                    "the answer tells whether an address has an account: at {pointer} the known address gets {} and an unknown one {}",
                    at(&a),
                    at(&b)
                ))
                .with(ev(k, &a))
                .with(ev(u, &b)));
            }
        }
        let (tk, tu) = (median(&s.known), median(&s.unknown));
        let diff = tk.abs_diff(tu);
        Ok(Verdict::pass(format!(
            "{} pairs gave the same status, state, messages and nodes; latency (median, not judged): known {}, unknown {}, difference {}",
            s.known.len(),
            ms(tk),
            ms(tu),
            ms(diff)
        )))
    })
}
