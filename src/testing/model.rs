//! What a fault is: the [`Route`] and [`RequestInfo`] a matcher sees, the [`Match`], the
//! [`Action`] and the [`Fault`] itself (at the bottom of `testing/`: every other file reads it).

use crate::server::ServerConfig;
use axum::http::Method;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The route a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /self-service/recovery/api`.
    CreateNative,
    /// `GET /self-service/recovery/browser`.
    CreateBrowser,
    /// `GET /self-service/recovery/flows`.
    GetFlow,
    /// `POST /self-service/recovery`.
    Update,
    /// Any path.
    Any,
}

impl Route {
    /// The route of `path`, when it is a recovery route.
    pub fn of(path: &str) -> Option<Route> {
        let p = path.trim_end_matches('/');
        if p.ends_with("/self-service/recovery/api") {
            Some(Route::CreateNative)
        } else if p.ends_with("/self-service/recovery/browser") {
            Some(Route::CreateBrowser)
        } else if p.ends_with("/self-service/recovery/flows") {
            Some(Route::GetFlow)
        } else if p.ends_with("/self-service/recovery") {
            Some(Route::Update)
        } else {
            None
        }
    }
}

/// What a matcher sees of a request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Method.
    pub method: Method,
    /// The route, when it is a recovery route.
    pub route: Option<Route>,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Names of the request headers (lowercase).
    pub header_names: Vec<String>,
    /// `Content-Type` of the request.
    pub content_type: String,
    /// `Accept` of the request.
    pub accept: String,
    /// The request's cookies (`name`, `value`).
    pub cookies: Vec<(String, String)>,
    /// The body of an update (JSON or form) as a JSON object; `Null` otherwise.
    pub body: Value,
}

impl RequestInfo {
    /// A query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// A string field of the body.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }
    /// Whether the request carries `name`.
    pub fn has_header(&self, name: &str) -> bool {
        self.header_names
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy)]
pub struct Match {
    /// The route (`Route::Any`: every path).
    pub route: Route,
    /// Only answers with this status, when set.
    pub status: Option<u16>,
    /// A further condition on the request.
    pub when: Option<fn(&RequestInfo) -> bool>,
}

impl Match {
    /// Every request of `route`.
    pub const fn route(route: Route) -> Self {
        Match {
            route,
            status: None,
            when: None,
        }
    }
    /// Only answers with `status`.
    pub const fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
    /// Only requests for which `f` holds.
    pub const fn when(mut self, f: fn(&RequestInfo) -> bool) -> Self {
        self.when = Some(f);
        self
    }

    /// Whether `info` is a request of this kind (the status is checked on the answer).
    pub fn request_matches(&self, info: &RequestInfo) -> bool {
        let route_ok = self.route == Route::Any || info.route == Some(self.route);
        route_ok && self.when.is_none_or(|f| f(info))
    }
}

/// Memory a fault keeps between requests (e.g. the id of an earlier answer).
pub type Memory = Mutex<HashMap<String, String>>;

/// An [`Action::Around`]: given the fault's memory and what the request is, answers it, calling
/// the server (`next`) when and as often as it likes (at most once: `Next` is used up).
pub type Around = for<'a> fn(
    &'a Memory,
    &'a RequestInfo,
    axum::extract::Request,
    axum::middleware::Next,
) -> futures::future::BoxFuture<'a, axum::response::Response>;

/// What a fault does.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Nothing (the fault is a server configuration).
    None,
    /// Rewrites the JSON body.
    Json(fn(&mut Value, &RequestInfo, &Memory)),
    /// Rewrites the JSON body and may replace the status (returns the status to send).
    JsonStatus(fn(&mut Value, &RequestInfo, &Memory, u16) -> u16),
    /// Rewrites the request's body fields before the server sees them.
    RewriteRequest(fn(&mut Value, &RequestInfo)),
    /// Sets (or replaces) a request header before the server sees it.
    SetRequestHeader(&'static str, &'static str),
    /// Presents every flow id as `flow-<hex>` and maps it back in `?id=` / `?flow=`.
    AliasIds,
    /// Checks a submitted code against every code sent to the flow's address, not the flow's
    /// own: a code of another flow of the same address is swapped for this flow's newest one.
    CodesByAddress,
    /// Looks a submitted code up by its value alone: a code sent for another flow is used up on
    /// that flow (completing it) and completes the flow it was submitted to as well (its own
    /// code is swapped in).
    AnyFlowsCode,
    /// Replaces the status, keeping the body.
    Status(u16),
    /// Replaces the `Content-Type`, keeping the body.
    ContentType(&'static str),
    /// Sets (or replaces) a response header, keeping the body.
    SetHeader(&'static str, &'static str),
    /// Replaces the whole answer.
    Replace {
        /// Status.
        status: u16,
        /// Content type.
        content_type: &'static str,
        /// Body.
        body: &'static str,
    },
    /// Drops a request header before the server sees it.
    DropHeader(&'static str),
    /// Drops a query parameter before the server sees it.
    DropParam(&'static str),
    /// Waits this long before answering.
    Delay(Duration),
    /// Sends the headers and half the body, then breaks the connection.
    Truncate,
    /// Sends the headers, then breaks the connection before any body.
    Reset,
    /// Answers 200 JSON with a body of this many bytes (chunked, no length announced).
    Oversize(usize),
    /// Every request takes [`BUSY_WORK`]; one that arrives while more than this many others are
    /// being worked on stalls for [`STALL`] (longer than any test timeout) instead, as Kratos
    /// v1.x on SQLite stalls under concurrent requests and answers each one sent alone.
    StallWhenBusy(usize),
    /// Handles the request itself, around the server: for faults whose state changes between
    /// an await and the next (the race families' lost updates).
    Around(Around),
}

/// How long each request of a [`Action::StallWhenBusy`] server is worked on.
pub const BUSY_WORK: Duration = Duration::from_millis(20);
/// How long a request that arrived while the [`Action::StallWhenBusy`] server was busy stalls.
pub const STALL: Duration = Duration::from_secs(30);

/// A deliberately broken variant of the reference server.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// Stable name.
    pub name: &'static str,
    /// What is broken, in words.
    pub description: &'static str,
    /// Which requests.
    pub matches: Match,
    /// What happens to them.
    pub action: Action,
    /// A change to the server configuration.
    pub config: Option<fn(&mut ServerConfig)>,
}

impl Fault {
    /// A fault on the requests `matches` selects.
    pub const fn new(
        name: &'static str,
        description: &'static str,
        matches: Match,
        action: Action,
    ) -> Self {
        Fault {
            name,
            description,
            matches,
            action,
            config: None,
        }
    }

    /// A fault that is only a change to the server configuration, on every route.
    pub const fn configured(
        name: &'static str,
        description: &'static str,
        config: fn(&mut ServerConfig),
    ) -> Self {
        Fault {
            config: Some(config),
            ..Fault::new(name, description, Match::route(Route::Any), Action::None)
        }
    }
}
