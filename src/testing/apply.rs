//! The middleware that applies a fault around the real reference server's router: it reads what
//! a request is, rewrites the request before the server sees it, or the answer after.

use crate::testing::model::{Action, Fault, Memory, RequestInfo, Route, BUSY_WORK, STALL};
use crate::testing::rewrite::{id_of, is_uuid, replace_everywhere, set};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// What a matcher sees of `req`, whose body is `body`.
pub(super) fn info_of(req: &Request, body: &[u8]) -> RequestInfo {
    let query = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    RequestInfo {
        method: req.method().clone(),
        route: Route::of(req.uri().path()),
        query,
        header_names: req
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect(),
        content_type: header("content-type"),
        accept: header("accept"),
        cookies: header("cookie")
            .split(';')
            .filter_map(|c| c.split_once('='))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect(),
        body: body_fields(&header("content-type"), body),
    }
}

/// An update body as a JSON object (JSON as sent, a form as string fields).
fn body_fields(content_type: &str, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let map: serde_json::Map<String, Value> = url::form_urlencoded::parse(body)
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        return Value::Object(map);
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// The request with its body read (only updates have bodies a fault looks at).
pub(super) async fn buffered(req: Request) -> (Request, Bytes) {
    if Route::of(req.uri().path()) != Some(Route::Update) {
        return (req, Bytes::new());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    (Request::from_parts(parts, Body::from(bytes.clone())), bytes)
}

/// An answer's head and its whole body (the test servers' answers are small: 16 MiB bounds them).
pub(super) async fn read_answer(resp: Response) -> (axum::http::response::Parts, Bytes) {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    (parts, bytes)
}

/// The answer with its JSON body rewritten by `f`; a body that is not JSON passes unchanged.
async fn rewrite_json(resp: Response, f: impl FnOnce(&mut Value)) -> Response {
    let (parts, bytes) = read_answer(resp).await;
    let out = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) => {
            f(&mut v);
            Bytes::from(v.to_string())
        }
        Err(_) => bytes,
    };
    let mut resp = Response::from_parts(parts, Body::from(out));
    resp.headers_mut().remove("content-length");
    resp
}

pub(super) type FaultState = (Fault, Memory, std::sync::atomic::AtomicUsize);

/// Decrements the busy count when a request's work ends, however it ends.
struct Busy<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The middleware: applies the fault of `state` to the requests it matches.
pub(super) async fn apply(
    State(state): State<Arc<FaultState>>,
    req: Request,
    next: Next,
) -> Response {
    let (fault, memory) = (&state.0, &state.1);
    let (mut req, bytes) = buffered(req).await;
    let info = info_of(&req, &bytes);
    if !fault.matches.request_matches(&info) {
        return next.run(req).await;
    }
    if let Action::Around(around) = fault.action {
        return around(memory, &info, req, next).await;
    }
    if let Action::StallWhenBusy(over) = fault.action {
        let others = state.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let busy = Busy(&state.2);
        if others > over {
            // A stalled request is not work: it must not keep a later lone request waiting.
            drop(busy);
            tokio::time::sleep(STALL).await;
            return next.run(req).await;
        }
        tokio::time::sleep(BUSY_WORK).await;
        let resp = next.run(req).await;
        drop(busy);
        return resp;
    }
    match fault.action {
        Action::RewriteRequest(f) => {
            let mut body = info.body.clone();
            f(&mut body, &info);
            let (mut parts, _) = req.into_parts();
            let encoded = if info
                .content_type
                .starts_with("application/x-www-form-urlencoded")
            {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in body.as_object().into_iter().flatten() {
                    form.append_pair(k, v.as_str().unwrap_or_default());
                }
                form.finish().into_bytes()
            } else {
                body.to_string().into_bytes()
            };
            parts
                .headers
                .insert("content-length", HeaderValue::from(encoded.len()));
            req = Request::from_parts(parts, Body::from(encoded));
        }
        Action::AliasIds => {
            let mut changed = false;
            let kept: Vec<(String, String)> = info
                .query
                .iter()
                .map(|(k, v)| match unalias(v) {
                    Some(real) if k == "id" || k == "flow" => {
                        changed = true;
                        (k.clone(), real)
                    }
                    _ => (k.clone(), v.clone()),
                })
                .collect();
            if changed {
                let uri = format!(
                    "{}?{}",
                    req.uri().path(),
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(kept)
                        .finish()
                );
                if let Ok(parsed) = uri.parse() {
                    *req.uri_mut() = parsed;
                }
            }
        }
        Action::CodesByAddress => {
            let flow = info.param("flow").unwrap_or_default().to_owned();
            let base = base_of(&req);
            if let Some(email) = info.field("email") {
                return learn_code(next.run(req).await, &base, &flow, email, memory).await;
            }
            let [address, own] =
                recall(memory, [format!("{flow}:address"), format!("{flow}:code")]);
            if let (Some(code), Some(address), Some(own)) = (info.field("code"), address, own) {
                if code != own && sent_codes(&base, &address).await.iter().any(|c| c == code) {
                    req = with_code(req, &info, &own);
                }
            }
        }
        Action::AnyFlowsCode => {
            let flow = info.param("flow").unwrap_or_default().to_owned();
            let base = base_of(&req);
            if let Some(email) = info.field("email") {
                return learn_code(next.run(req).await, &base, &flow, email, memory).await;
            }
            let code = info.field("code").unwrap_or_default();
            let [own, owner] = recall(memory, [format!("{flow}:code"), format!("code:{code}")]);
            if let (Some(own), Some(owner)) = (own, owner) {
                if owner != flow {
                    // Used up where it was sent (this middleware lets that submission through:
                    // there the code is the flow's own), then this flow is completed too.
                    submit_code(&base, &owner, code).await;
                    req = with_code(req, &info, &own);
                }
            }
        }
        Action::SetRequestHeader(name, value) => {
            req.headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        Action::DropHeader(name) => {
            req.headers_mut().remove(name);
        }
        Action::DropParam(key) => {
            let kept: Vec<(String, String)> = info
                .query
                .iter()
                .filter(|(k, _)| k != key)
                .cloned()
                .collect();
            let mut uri = req.uri().path().to_owned();
            if !kept.is_empty() {
                uri.push('?');
                uri.push_str(
                    &url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(kept)
                        .finish(),
                );
            }
            if let Ok(parsed) = uri.parse() {
                *req.uri_mut() = parsed;
            }
        }
        Action::Delay(d) => tokio::time::sleep(d).await,
        _ => {}
    }
    let resp = next.run(req).await;
    if fault
        .matches
        .status
        .is_some_and(|s| s != resp.status().as_u16())
    {
        return resp;
    }
    match fault.action {
        Action::Json(f) => rewrite_json(resp, |v| f(v, &info, memory)).await,
        Action::AliasIds => {
            rewrite_json(resp, |v| {
                if let Some(id) = id_of(v).filter(|id| is_uuid(Some(id))) {
                    let alias = format!("flow-{}", id.replace('-', ""));
                    replace_everywhere(v, &id, &alias);
                }
            })
            .await
        }
        Action::JsonStatus(f) => {
            let (mut parts, bytes) = read_answer(resp).await;
            // A body that is not JSON (a redirect's) reaches the rewrite as `null`.
            let mut v = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
            let status = f(&mut v, &info, memory, parts.status.as_u16());
            let out = if v.is_null() {
                bytes
            } else {
                parts.headers.insert(
                    "content-type",
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
                Bytes::from(v.to_string())
            };
            // A redirect turned into another answer loses what belonged to the new flow it
            // named: its Location, and the fresh CSRF cookie a retry sets.
            if status != parts.status.as_u16() && !(300..400).contains(&status) {
                parts.headers.remove("location");
                parts.headers.remove("set-cookie");
            }
            parts.status =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::from(out))
        }
        Action::Status(s) => {
            let (mut parts, body) = resp.into_parts();
            parts.status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Response::from_parts(parts, body)
        }
        Action::ContentType(ct) => {
            let (mut parts, body) = resp.into_parts();
            parts
                .headers
                .insert("content-type", HeaderValue::from_static(ct));
            Response::from_parts(parts, body)
        }
        Action::SetHeader(name, value) => {
            let (mut parts, body) = resp.into_parts();
            parts.headers.insert(name, HeaderValue::from_static(value));
            Response::from_parts(parts, body)
        }
        Action::Replace {
            status,
            content_type,
            body,
        } => {
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static(content_type));
            resp
        }
        Action::Truncate => {
            let (mut parts, bytes) = read_answer(resp).await;
            let half = bytes.slice(..bytes.len() / 2);
            parts
                .headers
                .insert("content-length", HeaderValue::from(bytes.len()));
            // The pause lets hyper flush the status, headers and first half before the cut.
            let stream = futures::stream::unfold(Some(half), |state| async move {
                match state {
                    Some(half) => Some((Ok(half), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some((
                            Err(std::io::Error::other("fault: connection cut mid-body")),
                            None,
                        ))
                    }
                }
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Action::Reset => {
            let (mut parts, _) = resp.into_parts();
            parts.headers.remove("content-length");
            let stream =
                futures::stream::iter([Err::<Bytes, _>(std::io::Error::other("fault: reset"))]);
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Action::Oversize(n) => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = n.div_ceil(chunk.len());
            let stream = futures::stream::iter(
                (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            resp
        }
        Action::None
        | Action::DropHeader(_)
        | Action::DropParam(_)
        | Action::Delay(_)
        | Action::StallWhenBusy(_)
        | Action::Around(_)
        | Action::RewriteRequest(_)
        | Action::CodesByAddress
        | Action::AnyFlowsCode
        | Action::SetRequestHeader(..) => resp,
    }
}

/// After `flow`'s address submission was answered (`resp`): learns the flow's own code, the
/// newest one sent to `email`, and remembers its address, its code and whose code it is.
async fn learn_code(
    resp: Response,
    base: &str,
    flow: &str,
    email: &str,
    memory: &Memory,
) -> Response {
    let own = sent_codes(base, email).await.into_iter().next();
    if let Ok(mut m) = memory.lock() {
        m.insert(format!("{flow}:address"), email.to_owned());
        if let Some(own) = own {
            m.insert(format!("code:{own}"), flow.to_owned());
            m.insert(format!("{flow}:code"), own);
        }
    }
    resp
}

/// The values remembered under `keys`.
fn recall<const N: usize>(memory: &Memory, keys: [String; N]) -> [Option<String>; N] {
    let Ok(m) = memory.lock() else {
        return std::array::from_fn(|_| None);
    };
    keys.map(|k| m.get(&k).cloned())
}

/// The base URL (prefix included) of the server that received `req`.
fn base_of(req: &Request) -> String {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let prefix = req
        .uri()
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/self-service/recovery");
    format!("http://{host}{prefix}")
}

/// `req` with its body's `code` field replaced by `code` (sent as JSON).
fn with_code(req: Request, info: &RequestInfo, code: &str) -> Request {
    let mut body = info.body.clone();
    set(&mut body, "code", json!(code));
    let (mut parts, _) = req.into_parts();
    let encoded = body.to_string().into_bytes();
    parts
        .headers
        .insert("content-length", HeaderValue::from(encoded.len()));
    parts
        .headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    Request::from_parts(parts, Body::from(encoded))
}

/// Submits `code` to `flow` of the server at `base` (its answer is not needed).
async fn submit_code(base: &str, flow: &str, code: &str) {
    crate::tls::install_default_provider();
    let Ok(client) = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
    else {
        return;
    };
    let Ok(mut url) = url::Url::parse(&format!("{base}/self-service/recovery")) else {
        return;
    };
    url.query_pairs_mut().append_pair("flow", flow);
    let _ = client
        .post(url)
        .header("Accept", "application/json")
        .json(&json!({"method": "code", "code": code}))
        .send()
        .await;
}

/// The codes the server's courier sent to `address`, newest first.
async fn sent_codes(base: &str, address: &str) -> Vec<String> {
    let Ok(source) = crate::codes::CodeSource::new(
        crate::codes::SourceKind::Courier,
        base,
        Duration::from_secs(5),
    ) else {
        return Vec::new();
    };
    let Ok(mails) = source.messages(address).await else {
        return Vec::new();
    };
    mails
        .iter()
        .filter_map(|m| m.body.as_deref().and_then(crate::codes::code_in))
        .collect()
}

/// The UUID behind a `flow-<hex>` alias.
fn unalias(v: &str) -> Option<String> {
    let hex = v.strip_prefix("flow-")?;
    uuid::Uuid::parse_str(hex).ok().map(|u| u.to_string())
}
