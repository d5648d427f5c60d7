//! The shared exchanges of a run. Each probe is sent at most once, the first time a check asks for
//! it, and judged by every check that reads it; probes that depend on another (reading the flow
//! that a creation returned) await it. Everything else runs concurrently. Every exchange is also
//! logged with the statuses its probe expects, so `default.error_bodies` can judge the unexpected
//! ones at the end.

use super::client::{Client, Exchange, Request};
use super::config::RunConfig;
use crate::schema::Schemas;
use serde_json::{json, Value};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use url::Url;

/// Paths of the recovery API, relative to the target.
pub mod paths {
    /// createNativeRecoveryFlow.
    pub const CREATE_NATIVE: &str = "/self-service/recovery/api";
    /// createBrowserRecoveryFlow.
    pub const CREATE_BROWSER: &str = "/self-service/recovery/browser";
    /// getRecoveryFlow.
    pub const GET_FLOW: &str = "/self-service/recovery/flows";
    /// updateRecoveryFlow.
    pub const UPDATE: &str = "/self-service/recovery";
}

/// A token no deployment accepts (shaped like Kratos's `ory_st_` tokens).
pub const INVALID_TOKEN: &str = "ory_st_recoveryharnessinvalidtoken00000000";

/// A well-formed flow id no deployment has.
pub const UNKNOWN_FLOW_ID: &str = "9d0a1f3c-5b7e-4c2a-8e6f-0123456789ab";

/// A code that can never be valid (Kratos's codes are digits only), which Kratos still answers
/// as a wrong code (200, 4060006). `000000` would be the right code once in a million runs.
pub const WRONG_CODE: &str = "no-code";
/// The shared probes of a run, as data: each has a stable id (its `X-Recovery-Harness-Probe`
/// name), the statuses it is designed to provoke, and the probes it is built from (the flow it
/// reads or submits to). [`Ctx::exchange`] sends it once and hands the same exchange to every
/// check that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// `GET /self-service/recovery/api`, no credentials: the flow most checks read.
    CreateNative,
    /// A second plain creation, after the first (ids must differ).
    CreateNativeAgain,
    /// Creation with an allowed `return_to`.
    ReturnTo,
    /// Creation with a forbidden `return_to`.
    ReturnToForbidden,
    /// Creation signed in through `X-Session-Token`.
    SignedInToken,
    /// Creation signed in through the session cookie.
    SignedInCookie,
    /// Creation signed in through `Authorization: Bearer`.
    SignedInBearer,
    /// Creation with a token no deployment accepts.
    InvalidToken,
    /// getRecoveryFlow of [`Probe::CreateNative`]'s flow.
    GetFlow,
    /// getRecoveryFlow of a well-formed unknown id.
    GetUnknown,
    /// getRecoveryFlow of a malformed id.
    GetMalformed,
    /// The browser creation, asking for JSON.
    CreateBrowser,
    /// The flow the address and wrong-code submissions go to.
    UpdateFlow,
    /// The address submission to [`Probe::UpdateFlow`].
    UpdateEmail,
    /// A wrong code, after [`Probe::UpdateEmail`].
    UpdateWrongCode,
    /// The flow the missing-address submission goes to.
    MissingEmailFlow,
    /// A submission without an address to [`Probe::MissingEmailFlow`].
    UpdateMissingEmail,
    /// A method the spec does not declare.
    UndeclaredMethod,
    /// A path the spec does not declare.
    UndeclaredPath,
}

impl Probe {
    /// The statuses the probe is designed to provoke (others are judged by `default.error_bodies`).
    pub fn expected(self) -> &'static [u16] {
        match self {
            Probe::ReturnToForbidden
            | Probe::SignedInToken
            | Probe::SignedInCookie
            | Probe::SignedInBearer
            | Probe::UpdateMissingEmail => &[400],
            Probe::GetUnknown | Probe::GetMalformed => &[404],
            Probe::UndeclaredMethod | Probe::UndeclaredPath => &[],
            _ => &[200],
        }
    }

    /// The probes whose answers this one is built from.
    pub fn depends_on(self) -> &'static [Probe] {
        match self {
            Probe::CreateNativeAgain | Probe::GetFlow => &[Probe::CreateNative],
            Probe::UpdateEmail => &[Probe::UpdateFlow],
            Probe::UpdateWrongCode => &[Probe::UpdateFlow, Probe::UpdateEmail],
            Probe::UpdateMissingEmail => &[Probe::MissingEmailFlow],
            _ => &[],
        }
    }
}

/// An exchange and the statuses its probe expects.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The exchange.
    pub exchange: Arc<Exchange>,
    /// Statuses the probe was designed to provoke (others are "unexpected").
    pub expected: &'static [u16],
    /// Sent to a method or path the spec does not declare: outside the `default` rule.
    pub undeclared: bool,
}

type Cell = OnceCell<Arc<Exchange>>;

#[derive(Debug, Default)]
struct Cells {
    create_native: Cell,
    create_native_again: Cell,
    return_to: Cell,
    return_to_forbidden: Cell,
    signed_in_token: Cell,
    signed_in_cookie: Cell,
    signed_in_bearer: Cell,
    invalid_token: Cell,
    get_flow: Cell,
    get_unknown: Cell,
    get_malformed: Cell,
    undeclared_method: Cell,
    undeclared_path: Cell,
    create_browser: Cell,
    update_flow: Cell,
    update_email: Cell,
    update_wrong_code: Cell,
    missing_email_flow: Cell,
    update_missing_email: Cell,
}

/// The context every judging function reads: configuration, client, schemas, shared exchanges.
#[derive(Debug)]
pub struct Ctx {
    /// The validated configuration.
    pub cfg: Arc<RunConfig>,
    /// The HTTP client.
    pub client: Client,
    /// Compiled schemas.
    pub schemas: Arc<Schemas>,
    cells: Cells,
    selected: Vec<&'static str>,
    log: Mutex<Vec<Logged>>,
    shared: Mutex<HashMap<&'static str, Arc<dyn Any + Send + Sync>>>,
}

impl Ctx {
    /// A context for one run of the checks `selected` (their ids).
    pub fn new(
        cfg: Arc<RunConfig>,
        client: Client,
        schemas: Arc<Schemas>,
        selected: impl IntoIterator<Item = &'static str>,
    ) -> Self {
        Ctx {
            cfg,
            client,
            schemas,
            cells: Cells::default(),
            selected: selected.into_iter().collect(),
            log: Mutex::new(Vec::new()),
            shared: Mutex::new(HashMap::new()),
        }
    }

    /// Per-run state of probes defined outside this file (multi-step scenarios such as
    /// [`super::security_probes`]): one `T` per `key` and run, created on first use.
    pub fn shared<T: Default + Send + Sync + 'static>(&self, key: &'static str) -> Arc<T> {
        let Ok(mut map) = self.shared.lock() else {
            return Arc::new(T::default());
        };
        let entry = map
            .entry(key)
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>)
            .clone();
        // A key used with two types gets a private value rather than a panic.
        entry
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }

    /// Whether the check `id` is part of this run (a scenario that must not overlap another
    /// waits for it only when it runs: it never starts it).
    pub fn runs(&self, id: &str) -> bool {
        self.selected.contains(&id)
    }

    /// Every exchange sent by a probe so far.
    pub fn log(&self) -> Vec<Logged> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Sends a request outside the probe cells, logging it with its expected statuses.
    pub async fn send_logged(&self, request: Request, expected: &'static [u16]) -> Arc<Exchange> {
        let ex = Arc::new(self.client.send(request).await);
        if let Ok(mut log) = self.log.lock() {
            log.push(Logged {
                exchange: ex.clone(),
                expected,
                undeclared: false,
            });
        }
        ex
    }

    async fn memo<'a>(
        &'a self,
        cell: &'a Cell,
        expected: &'static [u16],
        make: impl FnOnce() -> Request,
    ) -> &'a Exchange {
        cell.get_or_init(|| self.send_logged(make(), expected))
            .await
            .as_ref()
    }

    /// The exchange of `probe` (sent the first time it is asked for), or why it could not be
    /// sent (a missing credential, no flow to read).
    pub async fn exchange(&self, probe: Probe) -> Result<&Exchange, String> {
        Ok(match probe {
            Probe::CreateNative => self.create_native().await,
            Probe::CreateNativeAgain => self.create_native_again().await,
            Probe::ReturnTo => self.return_to().await,
            Probe::ReturnToForbidden => self.return_to_forbidden().await,
            Probe::SignedInToken => self.signed_in_token().await?,
            Probe::SignedInCookie => self.signed_in_cookie().await?,
            Probe::SignedInBearer => self.signed_in_bearer().await?,
            Probe::InvalidToken => self.invalid_token().await,
            Probe::GetFlow => self.get_flow().await?,
            Probe::GetUnknown => self.get_unknown().await,
            Probe::GetMalformed => self.get_malformed().await,
            Probe::CreateBrowser => self.create_browser().await,
            Probe::UpdateFlow => self.update_flow().await,
            Probe::UpdateEmail => self.update_email().await?,
            Probe::UpdateWrongCode => self.update_wrong_code().await?,
            Probe::MissingEmailFlow => self.missing_email_flow().await,
            Probe::UpdateMissingEmail => self.update_missing_email().await?,
            Probe::UndeclaredMethod => self.undeclared_method().await,
            Probe::UndeclaredPath => self.undeclared_path().await,
        })
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> Url {
        self.cfg.url(path)
    }

    fn url_with(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.url(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// The plain native flow creation (no credentials): the flow most checks read.
    pub async fn create_native(&self) -> &Exchange {
        self.memo(
            &self.cells.create_native,
            Probe::CreateNative.expected(),
            || Request::get("create_native", self.url(paths::CREATE_NATIVE)),
        )
        .await
    }

    /// A second plain creation, sent after the first completed (ids must differ).
    pub async fn create_native_again(&self) -> &Exchange {
        self.create_native().await;
        self.memo(
            &self.cells.create_native_again,
            Probe::CreateNativeAgain.expected(),
            || Request::get("create_native.again", self.url(paths::CREATE_NATIVE)),
        )
        .await
    }

    /// Creation with an allowed `return_to`.
    pub async fn return_to(&self) -> &Exchange {
        self.memo(&self.cells.return_to, Probe::ReturnTo.expected(), || {
            let rt = self.cfg.allowed_return_to();
            Request::get(
                "create_native.return_to",
                self.url_with(paths::CREATE_NATIVE, &[("return_to", rt.as_str())]),
            )
        })
        .await
    }

    /// Creation with a forbidden `return_to`.
    pub async fn return_to_forbidden(&self) -> &Exchange {
        self.memo(
            &self.cells.return_to_forbidden,
            Probe::ReturnToForbidden.expected(),
            || {
                Request::get(
                    "create_native.return_to_forbidden",
                    self.url_with(
                        paths::CREATE_NATIVE,
                        &[("return_to", self.cfg.forbidden_return_to.as_str())],
                    ),
                )
            },
        )
        .await
    }

    /// Creation while signed in through `X-Session-Token`.
    pub async fn signed_in_token(&self) -> Result<&Exchange, String> {
        let token = self.token()?;
        Ok(self
            .memo(
                &self.cells.signed_in_token,
                Probe::SignedInToken.expected(),
                || {
                    Request::get(
                        "create_native.signed_in.token",
                        self.url(paths::CREATE_NATIVE),
                    )
                    .header("X-Session-Token", token)
                },
            )
            .await)
    }

    /// Creation while signed in through the session cookie.
    pub async fn signed_in_cookie(&self) -> Result<&Exchange, String> {
        let cookie = self
            .cfg
            .credentials
            .session_cookie
            .as_ref()
            .ok_or_else(|| "no --session-cookie NAME=VALUE given".to_owned())?;
        Ok(self
            .memo(
                &self.cells.signed_in_cookie,
                Probe::SignedInCookie.expected(),
                || {
                    Request::get(
                        "create_native.signed_in.cookie",
                        self.url(paths::CREATE_NATIVE),
                    )
                    .header("Cookie", cookie.header_value())
                },
            )
            .await)
    }

    /// Creation while signed in through `Authorization: Bearer`.
    pub async fn signed_in_bearer(&self) -> Result<&Exchange, String> {
        let token = self.token()?;
        Ok(self
            .memo(
                &self.cells.signed_in_bearer,
                Probe::SignedInBearer.expected(),
                || {
                    Request::get(
                        "create_native.signed_in.bearer",
                        self.url(paths::CREATE_NATIVE),
                    )
                    .header("Authorization", format!("Bearer {token}"))
                },
            )
            .await)
    }

    /// Creation with a token no deployment accepts.
    pub async fn invalid_token(&self) -> &Exchange {
        self.memo(
            &self.cells.invalid_token,
            Probe::InvalidToken.expected(),
            || {
                Request::get(
                    "create_native.invalid_token",
                    self.url(paths::CREATE_NATIVE),
                )
                .header("X-Session-Token", INVALID_TOKEN)
            },
        )
        .await
    }

    fn token(&self) -> Result<&str, String> {
        self.cfg
            .credentials
            .session_token
            .as_deref()
            .ok_or_else(|| {
                "no --session-token (or RECOVERY_HARNESS_SESSION_TOKEN) given".to_owned()
            })
    }

    /// getRecoveryFlow of the plain creation's flow.
    pub async fn get_flow(&self) -> Result<&Exchange, String> {
        let id = flow_id(self.create_native().await)?;
        Ok(self
            .memo(&self.cells.get_flow, Probe::GetFlow.expected(), || {
                Request::get("get_flow", self.url_with(paths::GET_FLOW, &[("id", &id)]))
            })
            .await)
    }

    /// getRecoveryFlow of a well-formed unknown id.
    pub async fn get_unknown(&self) -> &Exchange {
        self.memo(
            &self.cells.get_unknown,
            Probe::GetUnknown.expected(),
            || {
                Request::get(
                    "get_flow.unknown_id",
                    self.url_with(paths::GET_FLOW, &[("id", UNKNOWN_FLOW_ID)]),
                )
            },
        )
        .await
    }

    /// getRecoveryFlow of a malformed id.
    pub async fn get_malformed(&self) -> &Exchange {
        self.memo(
            &self.cells.get_malformed,
            Probe::GetMalformed.expected(),
            || {
                Request::get(
                    "get_flow.malformed_id",
                    self.url_with(paths::GET_FLOW, &[("id", "not-a-flow-id")]),
                )
            },
        )
        .await
    }

    /// A method the spec does not declare for the creation path.
    pub async fn undeclared_method(&self) -> &Exchange {
        self.cells
            .undeclared_method
            .get_or_init(|| async {
                let mut r =
                    Request::get("default.undeclared_method", self.url(paths::CREATE_NATIVE));
                r.method = reqwest::Method::DELETE;
                self.send_undeclared(r).await
            })
            .await
    }

    /// A path the spec does not declare, next to the recovery routes.
    pub async fn undeclared_path(&self) -> &Exchange {
        self.cells
            .undeclared_path
            .get_or_init(|| async {
                let r = Request::get(
                    "default.undeclared_path",
                    self.url("/self-service/recovery/recovery-harness-undeclared"),
                );
                self.send_undeclared(r).await
            })
            .await
    }

    async fn send_undeclared(&self, request: Request) -> Arc<Exchange> {
        let ex = Arc::new(self.client.send(request).await);
        if let Ok(mut log) = self.log.lock() {
            log.push(Logged {
                exchange: ex.clone(),
                expected: &[],
                undeclared: true,
            });
        }
        ex
    }

    /// The browser flow creation, asking for JSON.
    pub async fn create_browser(&self) -> &Exchange {
        self.memo(
            &self.cells.create_browser,
            Probe::CreateBrowser.expected(),
            || Request::get("create_browser", self.url(paths::CREATE_BROWSER)),
        )
        .await
    }

    /// The flow the email / wrong-code submissions go to.
    pub async fn update_flow(&self) -> &Exchange {
        self.memo(
            &self.cells.update_flow,
            Probe::UpdateFlow.expected(),
            || Request::get("update.flow", self.url(paths::CREATE_NATIVE)),
        )
        .await
    }

    /// The email submission.
    pub async fn update_email(&self) -> Result<&Exchange, String> {
        let flow = self.update_flow().await;
        let id = flow_id(flow)?;
        let method = flow_method(flow);
        let field = Variant::of(flow).address_field();
        Ok(self
            .memo(
                &self.cells.update_email,
                Probe::UpdateEmail.expected(),
                || {
                    let mut body = json!({ "method": method });
                    body[field] = json!(self.cfg.email);
                    Request::post_json(
                        "update.email",
                        self.url_with(paths::UPDATE, &[("flow", &id)]),
                        &body,
                    )
                },
            )
            .await)
    }

    /// A wrong code, after the email submission.
    pub async fn update_wrong_code(&self) -> Result<&Exchange, String> {
        let flow = self.update_flow().await;
        let id = flow_id(flow)?;
        let method = flow_method(flow);
        if method != "code" {
            return Err(format!(
                "the active method is `{method}`, which has no code to submit (only `code` has)"
            ));
        }
        self.update_email().await?;
        Ok(self
            .memo(
                &self.cells.update_wrong_code,
                Probe::UpdateWrongCode.expected(),
                || {
                    Request::post_json(
                        "update.wrong_code",
                        self.url_with(paths::UPDATE, &[("flow", &id)]),
                        &json!({"method": "code", "code": WRONG_CODE}),
                    )
                },
            )
            .await)
    }

    /// The flow the missing-email submission goes to.
    pub async fn missing_email_flow(&self) -> &Exchange {
        self.memo(
            &self.cells.missing_email_flow,
            Probe::MissingEmailFlow.expected(),
            || Request::get("update.missing_email.flow", self.url(paths::CREATE_NATIVE)),
        )
        .await
    }

    /// A submission without email.
    pub async fn update_missing_email(&self) -> Result<&Exchange, String> {
        let flow = self.missing_email_flow().await;
        let id = flow_id(flow)?;
        let method = flow_method(flow);
        Ok(self
            .memo(
                &self.cells.update_missing_email,
                Probe::UpdateMissingEmail.expected(),
                || {
                    Request::post_json(
                        "update.missing_email",
                        self.url_with(paths::UPDATE, &[("flow", &id)]),
                        &json!({ "method": method }),
                    )
                },
            )
            .await)
    }
}

/// The flow id a creation returned, or why there is none.
pub fn flow_id(ex: &Exchange) -> Result<String, String> {
    match ex.json().and_then(|b| b.get("id")).and_then(Value::as_str) {
        Some(id) if ex.status() == Some(200) => Ok(id.to_owned()),
        _ => Err(format!(
            "no flow to use: creating one ({} {}) answered {}",
            ex.request.method,
            ex.redact(ex.request.url.as_str()),
            ex.describe()
        )),
    }
}

/// The recovery method a flow offers: its `active`, else its submit button's value, else `code`.
pub fn flow_method(ex: &Exchange) -> String {
    let body = ex.json();
    if let Some(active) = body.and_then(|b| b.get("active")).and_then(Value::as_str) {
        if !active.is_empty() {
            return active.to_owned();
        }
    }
    body.and_then(|b| b.pointer("/ui/nodes"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|n| {
            n.pointer("/attributes/name").and_then(Value::as_str) == Some("method")
                && n.pointer("/attributes/type").and_then(Value::as_str) == Some("submit")
        })
        .and_then(|n| n.pointer("/attributes/value"))
        .and_then(Value::as_str)
        .unwrap_or("code")
        .to_owned()
}

/// Which recovery flow Kratos runs: the classic one, or "recovery v2"
/// (`feature_flags.choose_recovery_address`, Kratos v25.4.0 and later), whose flow asks for a
/// `recovery_address` instead of an `email` and has its own states
/// (`selfservice/flow/recovery/state.go`, `selfservice/strategy/code/strategy_recovery.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `choose_method` → `sent_email` → `passed_challenge`, the address in `email`.
    V1,
    /// `recovery_awaiting_address` → (`recovery_awaiting_address_choice` →
    /// `recovery_confirming_address` →) `recovery_awaiting_code` → `passed_challenge`, the
    /// address in `recovery_address`.
    V2,
}

impl Variant {
    /// The variant a flow shows: v2 when its state is `recovery_awaiting_address` or it has a
    /// `recovery_address` input; v1 otherwise (and when there is no flow to read).
    pub fn of(ex: &Exchange) -> Variant {
        let Some(body) = ex.json() else {
            return Variant::V1;
        };
        let v2_state =
            body.get("state").and_then(Value::as_str) == Some("recovery_awaiting_address");
        let v2_node = body
            .pointer("/ui/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|n| {
                n.pointer("/attributes/name").and_then(Value::as_str) == Some("recovery_address")
            });
        if v2_state || v2_node {
            Variant::V2
        } else {
            Variant::V1
        }
    }

    /// The state of a new flow.
    pub fn initial_state(self) -> &'static str {
        match self {
            Variant::V1 => "choose_method",
            Variant::V2 => "recovery_awaiting_address",
        }
    }

    /// The field (and node) that carries the address.
    pub fn address_field(self) -> &'static str {
        match self {
            Variant::V1 => "email",
            Variant::V2 => "recovery_address",
        }
    }

    /// The state after an address was submitted (known or unknown alike).
    pub fn sent_state(self) -> &'static str {
        match self {
            Variant::V1 => "sent_email",
            Variant::V2 => "recovery_awaiting_code",
        }
    }

    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            Variant::V1 => "v1 (state choose_method, the address in `email`)",
            Variant::V2 => "v2, feature_flags.choose_recovery_address (state recovery_awaiting_address, the address in `recovery_address`)",
        }
    }
}
