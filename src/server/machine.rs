//! The update state machine (§5.2–5.6), run while the flow is locked: what a submit does to a
//! flow and what the answer is, as a [`Next`] that [`super::update`] turns into a response after
//! unlocking. Three strategies: the `code` method's v1 machine (`choose_method` → `sent_email` →
//! `passed_challenge`, `selfservice/flow/state_recovery_v1.mermaid`), its v2 machine with
//! `feature_flags.choose_recovery_address` (`recovery_awaiting_address` → [`…_choice`] →
//! `recovery_awaiting_code` → `passed_challenge`, `state_recovery_v2.mermaid`), and `link`.

use super::courier::Message;
use super::http::{self, BodyError, UpdateBody};
use super::state::{generate_session_token, minutes_x100, new_id, App, ReqCtx, Resolved};
use super::store::{Active, Completion, Flow, FlowType, Method, Msg, NodeMsg, State, NO_CODE};
use super::{csrf, json, render};
use axum::http::{header, HeaderMap, StatusCode};

/// What the update decided while the flow was locked; acted upon after unlocking (a new flow
/// may land in the same shard).
pub(crate) enum Next {
    /// A flow body (200 or 400); browser non-JSON requests get a 303 to the UI instead.
    Flow { status: StatusCode, body: String },
    /// `retryRecoveryFlow`: abandon, create a new flow carrying `msg` (§5.2, §5.4).
    Retry {
        flow_type: FlowType,
        msg: Msg,
        /// The cookies that made an API-flow submit a browser's (`details["found cookies"]`).
        found_cookies: Vec<String>,
    },
    /// §5.6: the flow expired.
    Expired {
        flow_type: FlowType,
        expired_at: i64,
        ago_x100: i64,
        /// The old flow's `request_url`, which the new one keeps (`FromOldFlow`).
        request_url: String,
    },
    /// An active session on an address submit (§5.4 A).
    Session,
    /// A correct code (§5.4 B) or a valid link token.
    Completed {
        flow_type: FlowType,
        settings: u128,
        token: String,
        body: String,
        link: bool,
    },
    /// A code or link to deliver, then the flow body.
    Send { msg: Message, body: String },
    /// A browser submit whose `csrf_token` does not belong to its cookie: 403.
    CsrfError(csrf::Miss),
    /// `method: link` while the link method is off: Kratos's "endpoint disabled" 404.
    MethodDisabled,
}

/// One submit as received.
pub(crate) struct Submit<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: Option<&'a str>,
    pub(crate) body: &'a [u8],
    pub(crate) now: i64,
}

/// The state machine (§5.2–5.5).
pub(crate) fn decide(app: &App, ctx: &ReqCtx, id: u128, flow: &mut Flow, s: &Submit<'_>) -> Next {
    let (headers, query, body, now) = (s.headers, s.query, s.body, s.now);
    let cfg = &app.cfg;
    let expires = flow.issued_ns.saturating_add(cfg.lifespan_ns);
    if now > expires {
        // API+link flows come back as browser flows (`FromOldFlow`).
        let flow_type = if flow.method == Method::Link {
            FlowType::Browser
        } else {
            flow.flow_type
        };
        return Next::Expired {
            flow_type,
            expired_at: expires,
            ago_x100: minutes_x100(now - expires),
            request_url: render::request_url(cfg, flow),
        };
    }
    let decoded = if ctx.get && flow.method == Method::Code {
        // The code strategy only decodes POST bodies (`strategy_recovery.go`).
        Err(BodyError::Method)
    } else {
        http::decode_update(headers, query, body)
    };
    // §5.3: which strategy answers. The code strategy takes every submit to a `code` flow.
    if flow.method == Method::Link
        && !decoded
            .as_ref()
            .map(|b| b.method.as_deref() == Some("link") || b.token.is_some())
            .unwrap_or(true)
    {
        return flow_error(cfg, id, flow, Msg::NoStrategy);
    }
    // §5.2: API flows refuse anything a browser would send.
    if flow.flow_type == FlowType::Api {
        let found = http::blocking_cookie_names(headers);
        if !found.is_empty() {
            return Next::Retry {
                flow_type: FlowType::Browser,
                msg: Msg::CookieBlocked,
                found_cookies: found,
            };
        }
        if headers.contains_key(header::ORIGIN) {
            return retry(FlowType::Browser, Msg::OriginBlocked);
        }
    }
    if flow.method == Method::Code && flow.active != Active::Method {
        return not_code(cfg, id, flow, decoded.as_ref());
    }
    let b: UpdateBody = match decoded {
        Ok(b) => b,
        Err(e) => {
            flow.extra_mut().msg_text = Some(e.text().into());
            return flow_error(cfg, id, flow, Msg::Generic);
        }
    };
    if flow.flow_type == FlowType::Browser {
        let ok = match (ctx.csrf_cookie.as_deref(), b.csrf_token.as_deref()) {
            (Some(cookie), Some(sent)) => csrf::matches(sent.trim(), cookie),
            _ => false,
        };
        if !ok {
            // With the cookie there, Kratos calls a missing token a mismatch too.
            return Next::CsrfError(csrf::Miss::Mismatch);
        }
    }
    let transient = b.transient_payload.clone();
    match flow.method {
        Method::Link => decide_link(app, id, flow, headers, b, now),
        Method::Code if cfg.v2 => decide_v2(app, id, flow, headers, b, transient, now),
        Method::Code => decide_code(app, id, flow, headers, b, transient, now),
    }
}

/// A submit the code strategy does not take: Kratos's link strategy (off here) looks at it next,
/// and `active` names whichever answered (§5.3).
fn not_code(
    cfg: &Resolved,
    id: u128,
    flow: &mut Flow,
    decoded: Result<&UpdateBody, &BodyError>,
) -> Next {
    match decoded {
        Err(e) => {
            flow.active = Active::Link;
            flow.extra_mut().msg_text = Some(e.text().into());
            flow_error(cfg, id, flow, Msg::Generic)
        }
        Ok(b) if b.method.as_deref() == Some("link") || b.token.is_some() => {
            flow.active = Active::Link;
            Next::MethodDisabled
        }
        Ok(_) => {
            flow.active = Active::Default;
            flow_error(cfg, id, flow, Msg::NoStrategy)
        }
    }
}

fn retry(flow_type: FlowType, msg: Msg) -> Next {
    Next::Retry {
        flow_type,
        msg,
        found_cookies: Vec::new(),
    }
}

/// Resets the messages and stores a global error message: a 400 flow.
fn flow_error(cfg: &Resolved, id: u128, flow: &mut Flow, msg: Msg) -> Next {
    flow.msg = msg;
    flow.node_msg = NodeMsg::None;
    Next::Flow {
        status: StatusCode::BAD_REQUEST,
        body: render::flow(cfg, id, flow, None),
    }
}

/// A 200 flow that answers an update (it echoes `transient_payload`, `{}` when none was sent).
fn ok_flow(cfg: &Resolved, id: u128, flow: &Flow, transient: Option<&str>) -> String {
    render::flow(cfg, id, flow, Some(transient.unwrap_or("{}")))
}

/// §5.4 A, shared by code and link: validate the email; `Ok` is the address as submitted.
fn validate_email(
    cfg: &Resolved,
    id: u128,
    flow: &mut Flow,
    email: Option<&str>,
) -> Result<String, Next> {
    let email = email.unwrap_or("");
    let node_msg = if email.is_empty() {
        NodeMsg::EmailMissing
    } else if email.chars().count() > 320 {
        NodeMsg::EmailTooLong
    } else if !http::is_valid_email(email) {
        NodeMsg::EmailInvalid
    } else {
        return Ok(email.to_owned());
    };
    flow.msg = Msg::None;
    flow.node_msg = node_msg;
    flow.extra_mut().email = Some(email.into());
    Err(Next::Flow {
        status: StatusCode::BAD_REQUEST,
        body: render::flow(cfg, id, flow, None),
    })
}

/// A fresh code for `address`, when it is a known recovery address (anti-enumeration: nothing
/// is sent otherwise, and the answer is the same).
fn code_message(app: &App, flow: &mut Flow, address: &str, now: i64) -> Option<Message> {
    // Earlier codes are void.
    flow.code = NO_CODE;
    if !app.is_known_address(address) {
        return None;
    }
    let code: u32 = rand::random_range(0..1_000_000);
    flow.code = code;
    Some(Message {
        id: new_id(),
        recipient: address.to_lowercase().into(),
        subject: format!("Use code {code:06} to recover access to your account").into(),
        body: format!(
            "Recover access to your account by entering the following code:\n\n{code:06}\n\nIf this was not you, do nothing. This code expires in 60 minutes.\n"
        )
        .into(),
        template_type: "recovery_code_valid",
        created_ns: now,
    })
}

fn send_or_flow(message: Option<Message>, body: String) -> Next {
    match message {
        Some(msg) => Next::Send { msg, body },
        None => Next::Flow {
            status: StatusCode::OK,
            body,
        },
    }
}

/// The code branch shared by v1 and v2 (§5.4 B): the submission limit, then the code.
fn check_code(
    app: &App,
    id: u128,
    flow: &mut Flow,
    b: &UpdateBody,
    transient: Option<&str>,
) -> Next {
    let cfg = &app.cfg;
    flow.submissions = flow.submissions.saturating_add(1);
    if flow.submissions > cfg.max_submissions {
        return retry(flow.flow_type, Msg::TooOften);
    }
    let submitted = b.code.as_deref().unwrap_or("").trim();
    let is_code = flow.code != NO_CODE
        && submitted.len() == 6
        && submitted.parse::<u32>().ok() == Some(flow.code);
    if is_code && flow.state == State::PassedChallenge {
        return retry(flow.flow_type, Msg::UsedCode);
    }
    if !is_code || !matches!(flow.state, State::SentEmail | State::RecoveryAwaitingCode) {
        flow.msg = Msg::InvalidCode;
        flow.node_msg = NodeMsg::None;
        // v1 echoes `transient_payload` here; v2 does not.
        let body = if cfg.v2 {
            render::flow(cfg, id, flow, None)
        } else {
            ok_flow(cfg, id, flow, transient)
        };
        return Next::Flow {
            status: StatusCode::OK,
            body,
        };
    }
    complete(app, id, flow, false, transient)
}

fn decide_code(
    app: &App,
    id: u128,
    flow: &mut Flow,
    headers: &HeaderMap,
    b: UpdateBody,
    transient: Option<String>,
    now: i64,
) -> Next {
    let cfg = &app.cfg;
    let has_email = b.email.as_deref().is_some_and(|e| !e.is_empty());
    let email_branch = match flow.state {
        State::SentEmail => has_email,
        State::PassedChallenge => {
            if has_email {
                return retry(flow.flow_type, Msg::AlreadyCompleted);
            }
            false
        }
        _ => true,
    };
    if !email_branch {
        // The method is not checked on the code branch (§5.4 B).
        return check_code(app, id, flow, &b, transient.as_deref());
    }
    if b.method.as_deref() != Some("code") {
        return not_code(cfg, id, flow, Ok(&b));
    }
    if app.has_session(headers) {
        return Next::Session;
    }
    let email = match validate_email(cfg, id, flow, b.email.as_deref()) {
        Ok(e) => e,
        Err(next) => return next,
    };
    let message = code_message(app, flow, &email, now);
    flow.state = State::SentEmail;
    flow.msg = Msg::CodeSent;
    flow.node_msg = NodeMsg::None;
    flow.extra_mut().email = Some(email.into());
    send_or_flow(message, ok_flow(cfg, id, flow, transient.as_deref()))
}

/// The v2 machine (`choose_recovery_address`), as the real Kratos answers it.
fn decide_v2(
    app: &App,
    id: u128,
    flow: &mut Flow,
    headers: &HeaderMap,
    b: UpdateBody,
    transient: Option<String>,
    now: i64,
) -> Next {
    let cfg = &app.cfg;
    let tp = transient.as_deref();
    let nonempty = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    // The v2 machine reads its own fields, not `method` (real Kratos takes any method but link).
    if b.method.as_deref() == Some("link") {
        return not_code(cfg, id, flow, Ok(&b));
    }
    if flow.state == State::PassedChallenge {
        if nonempty(&b.recovery_address) || nonempty(&b.recovery_confirm_address) {
            return retry(flow.flow_type, Msg::AlreadyCompleted);
        }
        return check_code(app, id, flow, &b, tp);
    }
    // "Back": to the address screen, nothing sent.
    if b.screen.as_deref() == Some("previous") {
        flow.state = State::RecoveryAwaitingAddress;
        flow.code = NO_CODE;
        flow.msg = Msg::None;
        flow.node_msg = NodeMsg::None;
        return Next::Flow {
            status: StatusCode::OK,
            body: ok_flow(cfg, id, flow, tp),
        };
    }
    if flow.state == State::RecoveryAwaitingCode {
        if nonempty(&b.recovery_confirm_address) {
            // "Resend code" to the address the flow holds.
            if app.has_session(headers) {
                return Next::Session;
            }
            let address = flow.email().unwrap_or("").to_owned();
            let message = code_message(app, flow, &address, now);
            flow.msg = Msg::AddressSent;
            flow.node_msg = NodeMsg::None;
            flow.extra_mut().v2_field = Some(b.recovery_address.unwrap_or_default().into());
            return send_or_flow(message, ok_flow(cfg, id, flow, tp));
        }
        if !nonempty(&b.recovery_address) {
            return check_code(app, id, flow, &b, tp);
        }
    }
    if flow.state == State::RecoveryAwaitingAddressChoice {
        let bad = |flow: &mut Flow, node_msg: NodeMsg, msg: Msg| {
            flow.msg = msg;
            flow.node_msg = node_msg;
            Next::Flow {
                status: StatusCode::BAD_REQUEST,
                body: render::flow(cfg, id, flow, None),
            }
        };
        let Some(choice) = b
            .recovery_select_address
            .as_deref()
            .filter(|s| !s.is_empty())
        else {
            return bad(flow, NodeMsg::ChoiceMissing, Msg::None);
        };
        if !nonempty(&b.recovery_address) {
            return bad(flow, NodeMsg::AddressMissing, Msg::None);
        }
        let address = flow.email().unwrap_or("").to_lowercase();
        if choice != render::address_choice_value(&address) {
            flow.extra_mut().msg_text = Some("The selected recovery address is not valid.".into());
            return bad(flow, NodeMsg::None, Msg::Generic);
        }
        // The chosen address must be typed in full before a code is sent.
        flow.state = State::RecoveryConfirmingAddress;
        flow.msg = Msg::ConfirmAddress;
        flow.node_msg = NodeMsg::None;
        flow.extra_mut().v2_field = b.recovery_address.map(Into::into);
        return Next::Flow {
            status: StatusCode::OK,
            body: ok_flow(cfg, id, flow, tp),
        };
    }
    if flow.state == State::RecoveryConfirmingAddress {
        let Some(typed) = b.recovery_confirm_address.filter(|s| !s.is_empty()) else {
            flow.msg = Msg::None;
            flow.node_msg = NodeMsg::ConfirmMissing;
            return Next::Flow {
                status: StatusCode::BAD_REQUEST,
                body: render::flow(cfg, id, flow, None),
            };
        };
        let chosen = flow.email().unwrap_or("").to_lowercase();
        // A wrong address gets the same answer and no code (anti-enumeration).
        let message = if typed.to_lowercase() == chosen {
            code_message(app, flow, &chosen, now)
        } else {
            flow.code = NO_CODE;
            None
        };
        flow.state = State::RecoveryAwaitingCode;
        flow.msg = Msg::AddressSent;
        flow.node_msg = NodeMsg::None;
        let extra = flow.extra_mut();
        extra.email = Some(typed.into());
        extra.v2_field = Some(b.recovery_address.unwrap_or_default().into());
        return send_or_flow(message, ok_flow(cfg, id, flow, tp));
    }
    // The address screen (any state that was sent a new address).
    let Some(address) = b.recovery_address.filter(|a| !a.is_empty()) else {
        flow.state = State::RecoveryAwaitingAddress;
        flow.msg = Msg::None;
        flow.node_msg = NodeMsg::AddressMissing;
        return Next::Flow {
            status: StatusCode::BAD_REQUEST,
            body: render::flow(cfg, id, flow, None),
        };
    };
    if app.has_session(headers) {
        return Next::Session;
    }
    flow.node_msg = NodeMsg::None;
    let known = app.is_known_address(&address);
    // Kratos stores addresses lowercased; an identity found by an address it does not hold as
    // typed is asked which of its addresses to use.
    if known && address != address.to_lowercase() {
        flow.code = NO_CODE;
        flow.state = State::RecoveryAwaitingAddressChoice;
        flow.msg = Msg::ChooseAddress;
        let extra = flow.extra_mut();
        extra.email = Some(address.as_str().into());
        extra.v2_field = Some(address.into());
        return Next::Flow {
            status: StatusCode::OK,
            body: ok_flow(cfg, id, flow, tp),
        };
    }
    let message = code_message(app, flow, &address, now);
    flow.state = State::RecoveryAwaitingCode;
    flow.msg = Msg::AddressSent;
    let extra = flow.extra_mut();
    extra.email = Some(address.as_str().into());
    extra.v2_field = Some(address.into());
    send_or_flow(message, ok_flow(cfg, id, flow, tp))
}

fn complete(app: &App, id: u128, flow: &mut Flow, link: bool, transient: Option<&str>) -> Next {
    let settings = new_id();
    let token = generate_session_token();
    // The code stays known to the flow: submitted again it is "already used" (not "invalid").
    flow.state = State::PassedChallenge;
    flow.msg = Msg::None;
    flow.node_msg = NodeMsg::None;
    let extra = flow.extra_mut();
    extra.link_token = None;
    extra.completion = Some(Completion {
        settings_flow: settings,
        session_token: token.as_str().into(),
    });
    Next::Completed {
        flow_type: flow.flow_type,
        settings,
        token,
        body: ok_flow(&app.cfg, id, flow, transient),
        link,
    }
}

fn decide_link(
    app: &App,
    id: u128,
    flow: &mut Flow,
    headers: &HeaderMap,
    b: UpdateBody,
    now: i64,
) -> Next {
    let cfg = &app.cfg;
    let transient = b.transient_payload.clone();
    if let Some(token) = b.token.as_deref() {
        let valid = flow.state == State::SentEmail
            && u128::from_str_radix(token.trim(), 16)
                .ok()
                .is_some_and(|t| flow.extra().and_then(|e| e.link_token) == Some(t));
        if !valid {
            return retry(FlowType::Browser, Msg::InvalidToken);
        }
        return complete(app, id, flow, true, transient.as_deref());
    }
    if app.has_session(headers) {
        return Next::Session;
    }
    let email = match validate_email(cfg, id, flow, b.email.as_deref()) {
        Ok(e) => e,
        Err(next) => return next,
    };
    let mut message = None;
    let extra = flow.extra_mut();
    extra.link_token = None;
    if app.is_known_address(&email) {
        let token = rand::random::<u128>();
        extra.link_token = Some(token);
        let link = format!(
            "{}/self-service/recovery?flow={}&token={token:032x}",
            cfg.base_url,
            json::uuid_string(id)
        );
        message = Some(Message {
            id: new_id(),
            recipient: email.to_lowercase().into(),
            subject: "Recover access to your account".into(),
            body: format!(
                "Hi,\n\nplease recover access to your account by clicking the following link:\n\n{link}\n"
            )
            .into(),
            template_type: "recovery_valid",
            created_ns: now,
        });
    }
    extra.email = Some(email.into());
    flow.state = State::SentEmail;
    flow.msg = Msg::LinkSent;
    flow.node_msg = NodeMsg::None;
    send_or_flow(message, ok_flow(cfg, id, flow, transient.as_deref()))
}
