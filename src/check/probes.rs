//! The shared exchanges of a run. Each probe is declared once, as an entry of `probes!` (its
//! name, the statuses it is designed to provoke, and how its request is built), sent at most once,
//! the first time a check asks for it ([`Ctx::exchange`]), and judged by every check that reads
//! it; probes that depend on another (reading the flow that a creation returned) await it in their
//! build. Everything else runs concurrently. Every exchange is also logged with the statuses its
//! probe expects, so `default.error_bodies` can judge the unexpected ones at the end.

use super::client::{Client, Exchange, Request};
use super::config::RunConfig;
use crate::schema::Schemas;
use futures::future::LocalBoxFuture;
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

/// How a probe's request is made, given its name: from the run's configuration and the
/// exchanges of the probes it is built from (awaited with [`Ctx::exchange`], so they are sent
/// first), or why it cannot be sent (a missing credential, no flow to submit to).
pub type Build = for<'a> fn(&'a Ctx, &'static str) -> LocalBoxFuture<'a, Result<Request, String>>;

/// A probe as data: what [`Probe::spec`] says of it.
#[derive(Clone, Copy)]
pub struct Spec {
    /// Its `X-Recovery-Harness-Probe` name.
    pub name: &'static str,
    /// The statuses it is designed to provoke (others are judged by `default.error_bodies`).
    pub expected: &'static [u16],
    /// Sent to a method or path the spec does not declare: outside the `default` rule.
    pub undeclared: bool,
    /// Its request.
    pub build: Build,
}

/// Declares the shared probes in one place: each entry is a [`Probe`] variant and its [`Spec`].
macro_rules! probes {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident {
            name: $name:literal,
            expected: $expected:expr,
            $(undeclared: $undeclared:literal,)?
            build: $build:expr $(,)?
        }
    ),+ $(,)?) => {
        /// The shared probes of a run, as data: each has a stable name (its
        /// `X-Recovery-Harness-Probe` header), the statuses it is designed to provoke, and how its
        /// request is made, awaiting the probes it is built from (the flow it reads or submits
        /// to). [`Ctx::exchange`] sends it once and hands the same exchange to every check that
        /// names it. Adding a probe is adding one entry here.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Probe {
            $($(#[doc = $doc])* $variant),+
        }

        impl Probe {
            /// Every probe, in declaration order.
            pub const ALL: &'static [Probe] = &[$(Probe::$variant),+];

            /// What the probe is.
            pub fn spec(self) -> Spec {
                match self {
                    $(Probe::$variant => Spec {
                        name: $name,
                        expected: $expected,
                        undeclared: false $(|| $undeclared)?,
                        build: $build,
                    }),+
                }
            }
        }
    };
}

probes! {
    /// `GET /self-service/recovery/api`, no credentials: the flow most checks read.
    CreateNative {
        name: "create_native",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE)))
        }),
    },
    /// A second plain creation, sent after the first completed (ids must differ).
    CreateNativeAgain {
        name: "create_native.again",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            let _ = ctx.exchange(Probe::CreateNative).await;
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE)))
        }),
    },
    /// Creation with an allowed `return_to`.
    ReturnTo {
        name: "create_native.return_to",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            let rt = ctx.cfg.allowed_return_to();
            Ok(Request::get(
                name,
                ctx.url_with(paths::CREATE_NATIVE, &[("return_to", rt.as_str())]),
            ))
        }),
    },
    /// Creation with a forbidden `return_to`.
    ReturnToForbidden {
        name: "create_native.return_to_forbidden",
        expected: &[400],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(
                name,
                ctx.url_with(
                    paths::CREATE_NATIVE,
                    &[("return_to", ctx.cfg.forbidden_return_to.as_str())],
                ),
            ))
        }),
    },
    /// Creation signed in through `X-Session-Token`.
    SignedInToken {
        name: "create_native.signed_in.token",
        expected: &[400],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE))
                .header("X-Session-Token", ctx.token()?))
        }),
    },
    /// Creation signed in through the session cookie.
    SignedInCookie {
        name: "create_native.signed_in.cookie",
        expected: &[400],
        build: |ctx, name| Box::pin(async move {
            let cookie = ctx
                .cfg
                .credentials
                .session_cookie
                .as_ref()
                .ok_or_else(|| "no --session-cookie NAME=VALUE given".to_owned())?;
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE))
                .header("Cookie", cookie.header_value()))
        }),
    },
    /// Creation signed in through `Authorization: Bearer`.
    SignedInBearer {
        name: "create_native.signed_in.bearer",
        expected: &[400],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE))
                .header("Authorization", format!("Bearer {}", ctx.token()?)))
        }),
    },
    /// Creation with a token no deployment accepts.
    InvalidToken {
        name: "create_native.invalid_token",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE))
                .header("X-Session-Token", INVALID_TOKEN))
        }),
    },
    /// getRecoveryFlow of [`Probe::CreateNative`]'s flow.
    GetFlow {
        name: "get_flow",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            let id = flow_id(ctx.exchange(Probe::CreateNative).await?)?;
            Ok(Request::get(name, ctx.url_with(paths::GET_FLOW, &[("id", &id)])))
        }),
    },
    /// getRecoveryFlow of a well-formed unknown id.
    GetUnknown {
        name: "get_flow.unknown_id",
        expected: &[404],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(
                name,
                ctx.url_with(paths::GET_FLOW, &[("id", UNKNOWN_FLOW_ID)]),
            ))
        }),
    },
    /// getRecoveryFlow of a malformed id.
    GetMalformed {
        name: "get_flow.malformed_id",
        expected: &[404],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(
                name,
                ctx.url_with(paths::GET_FLOW, &[("id", "not-a-flow-id")]),
            ))
        }),
    },
    /// The browser creation, asking for JSON.
    CreateBrowser {
        name: "create_browser",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(name, ctx.url(paths::CREATE_BROWSER)))
        }),
    },
    /// The flow the address and wrong-code submissions go to.
    UpdateFlow {
        name: "update.flow",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE)))
        }),
    },
    /// The address submission to [`Probe::UpdateFlow`].
    UpdateEmail {
        name: "update.email",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            let flow = ctx.exchange(Probe::UpdateFlow).await?;
            let id = flow_id(flow)?;
            let mut body = json!({ "method": flow_method(flow) });
            body[Variant::of(flow).address_field()] = json!(ctx.cfg.email);
            Ok(Request::post_json(
                name,
                ctx.url_with(paths::UPDATE, &[("flow", &id)]),
                &body,
            ))
        }),
    },
    /// A wrong code, after [`Probe::UpdateEmail`].
    UpdateWrongCode {
        name: "update.wrong_code",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            let flow = ctx.exchange(Probe::UpdateFlow).await?;
            let id = flow_id(flow)?;
            let method = flow_method(flow);
            if method != "code" {
                return Err(format!(
                    "the active method is `{method}`, which has no code to submit (only `code` has)"
                ));
            }
            ctx.exchange(Probe::UpdateEmail).await?;
            Ok(Request::post_json(
                name,
                ctx.url_with(paths::UPDATE, &[("flow", &id)]),
                &json!({"method": "code", "code": WRONG_CODE}),
            ))
        }),
    },
    /// The flow the missing-address submission goes to.
    MissingEmailFlow {
        name: "update.missing_email.flow",
        expected: &[200],
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(name, ctx.url(paths::CREATE_NATIVE)))
        }),
    },
    /// A submission without an address to [`Probe::MissingEmailFlow`].
    UpdateMissingEmail {
        name: "update.missing_email",
        expected: &[400],
        build: |ctx, name| Box::pin(async move {
            let flow = ctx.exchange(Probe::MissingEmailFlow).await?;
            let id = flow_id(flow)?;
            Ok(Request::post_json(
                name,
                ctx.url_with(paths::UPDATE, &[("flow", &id)]),
                &json!({ "method": flow_method(flow) }),
            ))
        }),
    },
    /// A method the spec does not declare for the creation path.
    UndeclaredMethod {
        name: "default.undeclared_method",
        expected: &[],
        undeclared: true,
        build: |ctx, name| Box::pin(async move {
            let mut r = Request::get(name, ctx.url(paths::CREATE_NATIVE));
            r.method = reqwest::Method::DELETE;
            Ok(r)
        }),
    },
    /// A path the spec does not declare, next to the recovery routes.
    UndeclaredPath {
        name: "default.undeclared_path",
        expected: &[],
        undeclared: true,
        build: |ctx, name| Box::pin(async move {
            Ok(Request::get(
                name,
                ctx.url("/self-service/recovery/recovery-harness-undeclared"),
            ))
        }),
    },
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

/// The context every judging function reads: configuration, client, schemas, shared exchanges.
#[derive(Debug)]
pub struct Ctx {
    /// The validated configuration.
    pub cfg: Arc<RunConfig>,
    /// The HTTP client.
    pub client: Client,
    /// Compiled schemas.
    pub schemas: Arc<Schemas>,
    /// One cell per [`Probe`], in [`Probe::ALL`] order.
    cells: Vec<Cell>,
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
            cells: Probe::ALL.iter().map(|_| Cell::new()).collect(),
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
        self.send(request, expected, false).await
    }

    async fn send(
        &self,
        request: Request,
        expected: &'static [u16],
        undeclared: bool,
    ) -> Arc<Exchange> {
        let ex = Arc::new(self.client.send(request).await);
        if let Ok(mut log) = self.log.lock() {
            log.push(Logged {
                exchange: ex.clone(),
                expected,
                undeclared,
            });
        }
        ex
    }

    /// The exchange of `probe`, sent the first time it is asked for (after the probes it is built
    /// from), or why it could not be sent (a missing credential, no flow to read).
    pub async fn exchange(&self, probe: Probe) -> Result<&Exchange, String> {
        let cell = &self.cells[probe as usize];
        if let Some(ex) = cell.get() {
            return Ok(ex);
        }
        let spec = probe.spec();
        // Concurrent askers may each build the request (the probes it reads are memoized too);
        // only the first one is sent.
        let request = (spec.build)(self, spec.name).await?;
        Ok(cell
            .get_or_init(|| self.send(request, spec.expected, spec.undeclared))
            .await
            .as_ref())
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

    fn token(&self) -> Result<&str, String> {
        self.cfg
            .credentials
            .session_token
            .as_ref()
            .map(crate::secret::Secret::expose)
            .ok_or_else(|| {
                "no --session-token (or RECOVERY_HARNESS_SESSION_TOKEN) given".to_owned()
            })
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
