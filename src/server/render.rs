//! The recovery flow's body, rendered on the way out in Kratos's struct key order (§1.6), and the
//! texts its messages carry. Fixed parts are precomputed in [`super::state::Resolved`] (already
//! JSON-escaped) so the hot path is a few `push_str`s.

use super::csrf;
use super::json;
use super::state::Resolved;
use super::store::{Active, Flow, FlowType, Method, Msg, NodeMsg, State};
use base64::Engine as _;
use sha2::{Digest, Sha256};

const LABEL_EMAIL: &str = r#"{"label":{"id":1070007,"text":"Email","type":"info"}}"#;
const LABEL_CONTINUE: &str = r#"{"label":{"id":1070009,"text":"Continue","type":"info"}}"#;
const LABEL_RESEND: &str = r#"{"label":{"id":1070008,"text":"Resend code","type":"info"}}"#;
const LABEL_CODE: &str = r#"{"label":{"id":1070010,"text":"Recovery code","type":"info"}}"#;
const LABEL_ADDRESS: &str = r#"{"label":{"id":1070016,"text":"Recovery address","type":"info"}}"#;
/// `"messages":[…]` of a v2 node whose `recovery_address` was not sent.
const MISSING_ADDRESS: &str = r#""messages":[{"id":4000002,"text":"Property recovery_address is missing.","type":"error","context":{"property":"recovery_address"}}]"#;
const LABEL_BACK: &str = r#"{"label":{"id":1060007,"text":"Back","type":"info"}}"#;

pub(crate) const TEXT_CODE_SENT: &str = "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.";
pub(crate) const TEXT_LINK_SENT: &str = "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.";
pub(crate) const REASON_COOKIE: &str = "The HTTP Request Header included the \"Cookie\" key, indicating that this request was made by a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.";
pub(crate) const REASON_ORIGIN: &str = "The HTTP Request Header included the \"Origin\" key, indicating that this request was made as part of an AJAX request in a Browser. The flow however was initiated as an API request. To prevent potential misuse and mitigate several attack vectors including CSRF, the request has been blocked. Please consult the documentation.";

/// Text of a `4000001` message kind.
fn generic_reason(msg: Msg) -> &'static str {
    match msg {
        Msg::TooOften => "The request was submitted too often. Please request another code.",
        Msg::CookieBlocked => REASON_COOKIE,
        Msg::OriginBlocked => REASON_ORIGIN,
        Msg::UsedCode => "The code was already used. Please request another code.",
        _ => "The recovery flow must be retried.",
    }
}

/// The `reason` of the error that announces a retry's new flow (continue_with transitions).
pub(crate) fn retry_reason(msg: Msg) -> &'static str {
    match msg {
        Msg::AlreadyCompleted => {
            "The request was already completed successfully and can not be retried."
        }
        Msg::InvalidToken => {
            "The recovery token is invalid or has already been used. Please retry the flow."
        }
        other => generic_reason(other),
    }
}

/// Kratos's masked address in v2 messages and choices: `kn****@example.org`, `+49****78`.
pub(crate) fn mask_address(address: &str) -> String {
    if let Some((local, domain)) = address.rsplit_once('@') {
        let mut chars = local.chars();
        let head: String = chars.by_ref().take(2).collect();
        if head.chars().count() < 2 {
            return address.to_owned();
        }
        return format!("{head}****@{domain}");
    }
    let chars: Vec<char> = address.chars().collect();
    if address.starts_with('+') && chars.len() > 5 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        return format!("{head}****{tail}");
    }
    address.to_owned()
}

/// The opaque value of a v2 `recovery_select_address` button for `address`.
pub(crate) fn address_choice_value(address: &str) -> String {
    csrf::B64.encode(Sha256::digest(address.to_lowercase().as_bytes()))
}

/// The flow's `request_url`.
pub(crate) fn request_url(cfg: &Resolved, f: &Flow) -> String {
    let mut out = String::new();
    push_request_url(&mut out, cfg, f);
    serde_json::from_str::<String>(&format!("\"{out}\"")).unwrap_or(out)
}

/// `request_url`, JSON-escaped, without quotes.
fn push_request_url(out: &mut String, cfg: &Resolved, f: &Flow) {
    if let Some(url) = f.extra().and_then(|e| e.request_url.as_deref()) {
        json::push_str_inner(out, url);
        return;
    }
    out.push_str(match f.flow_type {
        FlowType::Api => &cfg.api_request_url_json,
        FlowType::Browser => &cfg.browser_request_url_json,
    });
    if let Some(q) = f.query() {
        out.push('?');
        json::push_str_inner(out, q);
    }
}

/// The whole flow body (with the trailing newline Go's encoder writes); `transient` is the
/// `transient_payload` an update answer echoes (JSON text), `None` elsewhere.
pub(crate) fn flow(cfg: &Resolved, id: u128, f: &Flow, transient: Option<&str>) -> String {
    let mut out = String::with_capacity(1800);
    let id_text = json::UuidText::new(id);
    out.push_str("{\"id\":\"");
    out.push_str(id_text.as_str());
    out.push_str(match f.flow_type {
        FlowType::Api => "\",\"type\":\"api\",\"expires_at\":\"",
        FlowType::Browser => "\",\"type\":\"browser\",\"expires_at\":\"",
    });
    json::push_timestamp(&mut out, f.issued_ns.saturating_add(cfg.lifespan_ns));
    out.push_str("\",\"issued_at\":\"");
    json::push_timestamp(&mut out, f.issued_ns);
    out.push_str("\",\"request_url\":\"");
    push_request_url(&mut out, cfg, f);
    let query = f.query();
    out.push('"');
    if let Some(rt) = super::http::query_param(query, "return_to").filter(|v| !v.is_empty()) {
        out.push_str(",\"return_to\":");
        json::push_str(&mut out, &rt);
    }
    out.push_str(",\"active\":\"");
    out.push_str(match f.active {
        Active::Method => f.method.as_str(),
        Active::Default => "default",
        Active::Link => "link",
    });
    out.push_str("\",\"ui\":{\"action\":\"");
    out.push_str(&cfg.action_prefix_json);
    out.push_str(id_text.as_str());
    out.push_str("\",\"method\":\"POST\",\"nodes\":[");
    nodes(&mut out, f);
    out.push(']');
    if f.msg != Msg::None {
        out.push_str(",\"messages\":[");
        message(&mut out, f);
        out.push(']');
    }
    out.push_str("},\"state\":\"");
    out.push_str(f.state.as_str());
    out.push('"');
    if let Some(done) = f.extra().and_then(|e| e.completion.as_ref()) {
        out.push_str(",\"continue_with\":[");
        if f.flow_type == FlowType::Api {
            out.push_str("{\"action\":\"set_ory_session_token\",\"ory_session_token\":");
            json::push_str(&mut out, &done.session_token);
            out.push_str("},");
        }
        out.push_str("{\"action\":\"show_settings_ui\",\"flow\":{\"id\":\"");
        json::push_uuid(&mut out, done.settings_flow);
        out.push_str("\",\"url\":");
        json::push_str(&mut out, &cfg.settings_url(done.settings_flow));
        out.push_str("}}]");
    }
    if let Some(tp) = transient {
        out.push_str(",\"transient_payload\":");
        out.push_str(tp);
    }
    out.push_str("}\n");
    out
}

/// The body [`flow`] renders for a new flow without extras, cut where the flow's id (twice) and
/// its two timestamps go: rendered once per server, then filled in per flow, byte for byte what
/// [`flow`] renders for it.
pub(crate) struct NewFlowBody {
    /// The text before the id, between the id and `expires_at`, between the timestamps, between
    /// `issued_at` and the id in `ui.action`, and after it (UTF-8, cut at ASCII holes).
    parts: [Box<[u8]>; 5],
    lifespan_ns: i64,
}

impl NewFlowBody {
    /// The body of `Flow::new(flow_type, …)` under `cfg`; `None` when its rendering does not show
    /// the id, the timestamps and the id in that order (a change to [`flow`] that this cut does
    /// not know: every flow is then rendered whole).
    pub(crate) fn new(cfg: &Resolved, flow_type: FlowType) -> Option<NewFlowBody> {
        let cut = |id: u128, issued_ns: i64| -> Option<NewFlowBody> {
            let sample = flow(
                cfg,
                id,
                &Flow::new(flow_type, cfg.method, cfg.v2, issued_ns),
                None,
            );
            let id = json::UuidText::new(id);
            let expires = json::Timestamp::new(issued_ns.saturating_add(cfg.lifespan_ns));
            let issued = json::Timestamp::new(issued_ns);
            let holes = [id.as_str(), expires.as_str(), issued.as_str(), id.as_str()];
            let mut parts: [Box<[u8]>; 5] = Default::default();
            let mut rest = sample.as_str();
            for (part, hole) in parts.iter_mut().zip(holes) {
                let (before, after) = rest.split_once(hole)?;
                *part = before.as_bytes().into();
                rest = after;
            }
            if rest.contains(id.as_str()) {
                return None;
            }
            parts[4] = rest.as_bytes().into();
            Some(NewFlowBody {
                parts,
                lifespan_ns: cfg.lifespan_ns,
            })
        };
        // Cut at one id and time, and prove the cut on another.
        let body = cut(u128::MAX, 1)?;
        let (id, issued_ns) = (
            0x0123_4567_89ab_4def_8123_4567_89ab_cdef,
            1_785_319_200_500_000_001,
        );
        let whole = flow(
            cfg,
            id,
            &Flow::new(flow_type, cfg.method, cfg.v2, issued_ns),
            None,
        );
        (body.render(id, issued_ns) == whole.as_bytes()).then_some(body)
    }

    /// The body of the new flow `id` created at `issued_ns` (UTF-8: ASCII spliced into UTF-8
    /// cut at ASCII; bytes, so that nothing checks it again on the way out).
    pub(crate) fn render(&self, id: u128, issued_ns: i64) -> Vec<u8> {
        let id = json::UuidText::new(id);
        let expires = json::Timestamp::new(issued_ns.saturating_add(self.lifespan_ns));
        let issued = json::Timestamp::new(issued_ns);
        let p = &self.parts;
        let fill = [
            id.as_bytes(),
            expires.as_bytes(),
            issued.as_bytes(),
            id.as_bytes(),
        ];
        let len =
            p.iter().map(|s| s.len()).sum::<usize>() + fill.iter().map(|s| s.len()).sum::<usize>();
        // Exactly sized: the body becomes the answer's `Bytes` without a copy or a spare allocation.
        let mut out = Vec::with_capacity(len);
        for (part, hole) in p.iter().zip(fill) {
            out.extend_from_slice(part);
            out.extend_from_slice(hole);
        }
        out.extend_from_slice(&p[4]);
        out
    }
}

fn node_open(out: &mut String, group: &str) {
    out.push_str("{\"type\":\"input\",\"group\":\"");
    out.push_str(group);
    out.push_str("\",\"attributes\":");
}

fn csrf_node(out: &mut String, f: &Flow) {
    out.push_str(
        "{\"type\":\"input\",\"group\":\"default\",\"attributes\":{\"name\":\"csrf_token\",\"type\":\"hidden\",\"value\":",
    );
    json::push_str(out, f.csrf().unwrap_or(""));
    out.push_str(
        ",\"required\":true,\"disabled\":false,\"node_type\":\"input\"},\"messages\":[],\"meta\":{}}",
    );
}

/// The `email` input (type email), with a value and node message after a failed submit.
fn email_input(out: &mut String, f: &Flow, group: &str, with_value: bool) {
    node_open(out, group);
    out.push_str("{\"name\":\"email\",\"type\":\"email\"");
    if with_value {
        out.push_str(",\"value\":");
        json::push_str(out, f.email().unwrap_or(""));
    }
    out.push_str(",\"required\":true,\"disabled\":false,\"node_type\":\"input\"},\"messages\":[");
    match f.node_msg {
        NodeMsg::None => {}
        NodeMsg::EmailMissing => out.push_str(
            r#"{"id":4000002,"text":"Property email is missing.","type":"error","context":{"property":"email"}}"#,
        ),
        NodeMsg::EmailInvalid | NodeMsg::EmailTooLong => {
            let email = f.email().unwrap_or("");
            out.push_str(
                r#"{"id":4000040,"text":"Enter a valid email address","type":"error","context":{"value":"#,
            );
            json::push_str(out, email);
            out.push_str("}}");
            if f.node_msg == NodeMsg::EmailTooLong {
                let n = email.chars().count();
                out.push_str(&format!(
                    r#",{{"id":4000017,"text":"length must be <= 320, but got {n}","type":"error","context":{{"actual_length":{n},"max_length":320}}}}"#
                ));
            }
        }
        NodeMsg::AddressMissing | NodeMsg::ChoiceMissing | NodeMsg::ConfirmMissing => {}
    }
    out.push_str("],\"meta\":");
    out.push_str(LABEL_EMAIL);
    out.push('}');
}

fn submit_node(out: &mut String, method: Method) {
    node_open(out, method.as_str());
    out.push_str("{\"name\":\"method\",\"type\":\"submit\",\"value\":\"");
    out.push_str(method.as_str());
    out.push_str("\",\"disabled\":false,\"node_type\":\"input\"},\"messages\":[],\"meta\":");
    out.push_str(LABEL_CONTINUE);
    out.push('}');
}

fn code_input(out: &mut String) {
    node_open(out, "code");
    out.push_str("{\"name\":\"code\",\"type\":\"text\",\"required\":true,\"autocomplete\":\"one-time-code\",\"pattern\":\"[0-9]+\",\"disabled\":false,\"maxlength\":6,\"node_type\":\"input\"},\"messages\":[],\"meta\":");
    out.push_str(LABEL_CODE);
    out.push('}');
}

fn hidden(out: &mut String, name: &str, value: &str) {
    node_open(out, "code");
    out.push_str("{\"name\":");
    json::push_str(out, name);
    out.push_str(",\"type\":\"hidden\",\"value\":");
    json::push_str(out, value);
    out.push_str(",\"disabled\":false,\"node_type\":\"input\"},\"messages\":[],\"meta\":{}}");
}

/// A submit button in group `code` with a label object (raw JSON).
fn button(out: &mut String, name: &str, value: &str, label: &str) {
    node_open(out, "code");
    out.push_str("{\"name\":");
    json::push_str(out, name);
    out.push_str(",\"type\":\"submit\",\"value\":");
    json::push_str(out, value);
    out.push_str(",\"disabled\":false,\"node_type\":\"input\"},\"messages\":[],\"meta\":");
    out.push_str(label);
    out.push('}');
}

/// v2: the `recovery_address` input of the address screen.
fn address_input(out: &mut String, f: &Flow) {
    node_open(out, "code");
    out.push_str("{\"name\":\"recovery_address\",\"type\":\"text\",\"required\":true,\"disabled\":false,\"node_type\":\"input\"},\"messages\":[");
    if f.node_msg == NodeMsg::AddressMissing {
        out.push_str(&MISSING_ADDRESS[12..MISSING_ADDRESS.len() - 1]);
    }
    out.push_str("],\"meta\":");
    out.push_str(LABEL_ADDRESS);
    out.push('}');
}

fn nodes(out: &mut String, f: &Flow) {
    csrf_node(out, f);
    out.push(',');
    let errored = f.node_msg != NodeMsg::None;
    let address = f.email().unwrap_or("");
    match (f.method, f.state) {
        (_, State::RecoveryAwaitingAddress) => {
            address_input(out, f);
            out.push(',');
            submit_node(out, Method::Code);
        }
        (_, State::RecoveryAwaitingAddressChoice) => {
            let label = format!(
                "{{\"label\":{{\"id\":1070000,\"text\":{},\"type\":\"info\"}}}}",
                serde_json::Value::String(mask_address(address))
            );
            let mut choice = String::new();
            button(
                &mut choice,
                "recovery_select_address",
                &address_choice_value(address),
                &label,
            );
            if f.node_msg == NodeMsg::ChoiceMissing {
                choice = choice.replacen(
                    "\"messages\":[]",
                    r#""messages":[{"id":4000002,"text":"Property recovery_select_address is missing.","type":"error","context":{"property":"recovery_select_address"}}]"#,
                    1,
                );
            }
            out.push_str(&choice);
            out.push(',');
            hidden(out, "method", "code");
            out.push(',');
            let mut field = String::new();
            hidden(
                &mut field,
                "recovery_address",
                f.extra().and_then(|e| e.v2_field.as_deref()).unwrap_or(""),
            );
            if f.node_msg == NodeMsg::AddressMissing {
                field = field.replacen("\"messages\":[]", MISSING_ADDRESS, 1);
            }
            out.push_str(&field);
        }
        (_, State::RecoveryConfirmingAddress) => {
            node_open(out, "code");
            out.push_str("{\"name\":\"recovery_confirm_address\",\"type\":\"email\",\"value\":\"\",\"required\":true,\"disabled\":false,\"node_type\":\"input\"},\"messages\":[");
            if f.node_msg == NodeMsg::ConfirmMissing {
                out.push_str(r#"{"id":4000002,"text":"Property recovery_confirm_address is missing.","type":"error","context":{"property":"recovery_confirm_address"}}"#);
            }
            out.push_str("],\"meta\":");
            out.push_str(LABEL_EMAIL);
            out.push_str("},");
            hidden(
                out,
                "recovery_address",
                f.extra().and_then(|e| e.v2_field.as_deref()).unwrap_or(""),
            );
            out.push(',');
            submit_node(out, Method::Code);
            out.push(',');
            hidden(out, "method", "code");
            out.push(',');
            button(out, "screen", "previous", LABEL_BACK);
        }
        (_, State::RecoveryAwaitingCode) => v2_code_nodes(out, f),
        (Method::Code, State::PassedChallenge)
            if f.extra().is_some_and(|e| e.v2_field.is_some()) =>
        {
            v2_code_nodes(out, f)
        }
        (m, State::ChooseMethod) => {
            email_input(out, f, m.as_str(), false);
            out.push(',');
            submit_node(out, m);
        }
        (Method::Link, _) => {
            email_input(out, f, "link", true);
            out.push(',');
            submit_node(out, Method::Link);
        }
        (Method::Code, _) => {
            code_input(out);
            out.push(',');
            hidden(out, "method", "code");
            out.push(',');
            submit_node(out, Method::Code);
            out.push(',');
            if errored {
                // Kratos upserts the email input over the resend button on a failed resend.
                email_input(out, f, "code", true);
            } else {
                button(out, "email", address, LABEL_RESEND);
            }
        }
    }
}

/// v2 `recovery_awaiting_code`: the code, the submit before the hidden method (unlike v1),
/// "Resend code", the address as typed last, and "Back".
fn v2_code_nodes(out: &mut String, f: &Flow) {
    code_input(out);
    out.push(',');
    submit_node(out, Method::Code);
    out.push(',');
    hidden(out, "method", "code");
    out.push(',');
    button(
        out,
        "recovery_confirm_address",
        f.email().unwrap_or(""),
        LABEL_RESEND,
    );
    out.push(',');
    hidden(
        out,
        "recovery_address",
        f.extra().and_then(|e| e.v2_field.as_deref()).unwrap_or(""),
    );
    out.push(',');
    button(out, "screen", "previous", LABEL_BACK);
}

fn message(out: &mut String, f: &Flow) {
    let simple = |out: &mut String, id: u32, text: &str, kind: &str| {
        out.push_str("{\"id\":");
        json::push_int(out, i64::from(id));
        out.push_str(",\"text\":");
        json::push_str(out, text);
        out.push_str(",\"type\":\"");
        out.push_str(kind);
        out.push_str("\"}");
    };
    match f.msg {
        Msg::None => {}
        Msg::CodeSent => simple(out, 1_060_003, TEXT_CODE_SENT, "info"),
        Msg::LinkSent => simple(out, 1_060_002, TEXT_LINK_SENT, "info"),
        Msg::ConfirmAddress => simple(
            out,
            1_060_005,
            "Recover access to your account by providing your recovery address in full.",
            "info",
        ),
        Msg::ChooseAddress => simple(
            out,
            1_060_006,
            "How do you want to recover your account?",
            "info",
        ),
        Msg::AddressSent => {
            let masked = mask_address(f.email().unwrap_or(""));
            out.push_str("{\"id\":1060004,\"text\":");
            json::push_str(out, &format!("A recovery code has been sent to {masked}. If you have not received it, check the spelling of the address and make sure to use the address you registered with."));
            out.push_str(",\"type\":\"info\",\"context\":{\"masked_address\":");
            json::push_str(out, &masked);
            out.push_str("}}");
        }
        Msg::InvalidCode => simple(
            out,
            4_060_006,
            "The recovery code is invalid or has already been used. Please try again.",
            "error",
        ),
        Msg::NoStrategy => simple(
            out,
            4_010_005,
            "Could not find a strategy to recover your account with. Did you fill out the form correctly?",
            "error",
        ),
        Msg::AlreadyCompleted => simple(
            out,
            4_060_001,
            "The request was already completed successfully and can not be retried.",
            "error",
        ),
        Msg::InvalidToken => simple(
            out,
            4_060_004,
            "The recovery token is invalid or has already been used. Please retry the flow.",
            "error",
        ),
        Msg::Expired => {
            let (at, ago_x100) = f.extra().and_then(|e| e.expired).unwrap_or((0, 0));
            let text = format!(
                "The recovery flow expired {}.{:02} minutes ago, please try again.",
                ago_x100 / 100,
                ago_x100 % 100
            );
            out.push_str("{\"id\":4060005,\"text\":");
            json::push_str(out, &text);
            out.push_str(",\"type\":\"error\",\"context\":{\"expired_at\":\"");
            json::push_timestamp(out, at);
            out.push_str("\",\"expired_at_unix\":");
            json::push_int(out, at.div_euclid(1_000_000_000));
            out.push_str("}}");
        }
        other => {
            let reason = match other {
                Msg::Generic => f.extra().and_then(|e| e.msg_text.as_deref()).unwrap_or(""),
                _ => generic_reason(other),
            };
            out.push_str("{\"id\":4000001,\"text\":");
            json::push_str(out, reason);
            out.push_str(",\"type\":\"error\",\"context\":{\"reason\":");
            json::push_str(out, reason);
            out.push_str("}}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::ServerConfig;
    use crate::server::state::App;

    fn app() -> App {
        let config = ServerConfig {
            session_tokens: vec!["t".into()],
            ..Default::default()
        };
        App::new(&config, "http://h:1").expect("app")
    }

    #[test]
    fn address_choice_is_base64_of_the_lowercased_address_sha256() {
        let want = "D5Av37uWnYadJ0kXJIr3w9Z+AJLVnNQ60HmcPcUYC6U=";
        assert_eq!(address_choice_value("v2@example.org"), want);
        assert_eq!(address_choice_value("V2@Example.org"), want);
    }

    #[test]
    fn a_new_flow_body_is_what_flow_renders() {
        let configs = [
            ServerConfig::default(),
            ServerConfig {
                method: crate::server::RecoveryMethod::Link,
                base_path: "/auth".into(),
                lifespan: std::time::Duration::from_millis(1500),
                ..Default::default()
            },
            ServerConfig {
                choose_recovery_address: true,
                ..Default::default()
            },
        ];
        for config in configs {
            let config = ServerConfig {
                session_tokens: vec!["t".into()],
                ..config
            };
            let app = App::new(&config, "http://h:1").expect("app");
            for ty in [FlowType::Api, FlowType::Browser] {
                let body = NewFlowBody::new(&app.cfg, ty).expect("the body can be cut");
                for (id, ns) in [
                    (1u128, 0i64),
                    (u128::MAX, 1),
                    (0xdead_beef, 1_785_319_200_123_456_789),
                    (7, 1_785_319_200_000_000_000),
                ] {
                    let whole = flow(
                        &app.cfg,
                        id,
                        &Flow::new(ty, app.cfg.method, app.cfg.v2, ns),
                        None,
                    );
                    let filled = body.render(id, ns);
                    assert_eq!(String::from_utf8_lossy(&filled), whole);
                    assert_eq!(filled.capacity(), filled.len());
                }
            }
        }
    }

    #[test]
    fn api_flow_is_byte_exact_in_kratos_order() {
        let app = app();
        let f = Flow::new(
            FlowType::Api,
            Method::Code,
            false,
            1_785_319_200_000_000_000,
        );
        let got = flow(&app.cfg, 1, &f, None);
        let id = "00000000-0000-0000-0000-000000000001";
        let expected = format!(
            concat!(
                r#"{{"id":"{id}","type":"api","expires_at":"2026-07-29T11:00:00Z","issued_at":"2026-07-29T10:00:00Z","#,
                r#""request_url":"http://h:1/self-service/recovery/api","active":"code","ui":{{"action":"http://h:1/self-service/recovery?flow={id}","method":"POST","nodes":["#,
                r#"{{"type":"input","group":"default","attributes":{{"name":"csrf_token","type":"hidden","value":"","required":true,"disabled":false,"node_type":"input"}},"messages":[],"meta":{{}}}},"#,
                r#"{{"type":"input","group":"code","attributes":{{"name":"email","type":"email","required":true,"disabled":false,"node_type":"input"}},"messages":[],"meta":{{"label":{{"id":1070007,"text":"Email","type":"info"}}}}}},"#,
                r#"{{"type":"input","group":"code","attributes":{{"name":"method","type":"submit","value":"code","disabled":false,"node_type":"input"}},"messages":[],"meta":{{"label":{{"id":1070009,"text":"Continue","type":"info"}}}}}}"#,
                r#"]}},"state":"choose_method"}}"#,
                "\n"
            ),
            id = id
        );
        assert_eq!(got, expected);
    }

    #[test]
    fn sent_email_nodes_and_message_in_kratos_order() {
        let app = app();
        let mut f = Flow::new(FlowType::Api, Method::Code, false, 0);
        f.state = State::SentEmail;
        f.msg = Msg::CodeSent;
        f.extra_mut().email = Some("a@example.org".into());
        let got = flow(&app.cfg, 1, &f, None);
        assert!(got.contains(r#"{"name":"code","type":"text","required":true,"autocomplete":"one-time-code","pattern":"[0-9]+","disabled":false,"maxlength":6,"node_type":"input"}"#), "{got}");
        assert!(got.contains(r#"{"name":"email","type":"submit","value":"a@example.org","disabled":false,"node_type":"input"},"messages":[],"meta":{"label":{"id":1070008,"text":"Resend code","type":"info"}}"#), "{got}");
        assert!(
            got.contains(
                r#""messages":[{"id":1060003,"text":"An email containing a recovery code"#
            ),
            "{got}"
        );
        assert!(got.ends_with("]},\"state\":\"sent_email\"}\n"), "{got}");
    }
}
