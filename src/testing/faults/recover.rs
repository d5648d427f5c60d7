//! `recover.*`: codes that do not recover, recover twice, or recover another flow.

use crate::testing::model::{Action, Fault, Match, Memory, RequestInfo, Route};
use crate::testing::rewrite::{code_submit, set, six_digits};
use axum::http::Method;
use serde_json::{json, Value};

/// The faults of this family.
pub const FAULTS: &[Fault] = &[
    Fault::new(
        "right_code_ignored",
        "a six-digit code is compared with something else (the right code does nothing)",
        Match::route(Route::Update).when(|i| code_submit(i) && six_digits(i.field("code"))),
        Action::RewriteRequest(|b, i| {
            let code = format!("0{}", i.field("code").unwrap_or_default());
            set(b, "code", json!(code));
        }),
    ),
    Fault::new(
        "code_reusable",
        "a code that recovered a flow recovers it again",
        Match::route(Route::Update).when(code_submit),
        Action::JsonStatus(replay_success),
    ),
    Fault::new(
        "codes_by_address",
        "a code is checked against every code sent to the address, not the flow's own",
        Match::route(Route::Update).when(|i| i.method == Method::POST),
        Action::CodesByAddress,
    ),
    Fault::new(
        "code_completes_any_flow",
        "a code is looked up by its value alone: one sent for another flow completes the flow it is submitted to, and is used up on its own",
        Match::route(Route::Update).when(|i| i.method == Method::POST),
        Action::AnyFlowsCode,
    ),
];

/// Remembers the success answer of a code and repeats it when the code comes again.
fn replay_success(v: &mut Value, info: &RequestInfo, memory: &Memory, status: u16) -> u16 {
    let key = format!(
        "{}:{}",
        info.param("flow").unwrap_or_default(),
        info.field("code").unwrap_or_default()
    );
    let Ok(mut m) = memory.lock() else {
        return status;
    };
    if status == 422 {
        m.insert(key, v.to_string());
        return status;
    }
    match m.get(&key).and_then(|b| serde_json::from_str(b).ok()) {
        Some(success) => {
            *v = success;
            422
        }
        None => status,
    }
}
