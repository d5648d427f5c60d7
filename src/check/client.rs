//! One HTTP exchange with the target, made safe to judge: every request sends
//! `Accept: application/json`, redirects are not followed (a 303 is data), every wait is bounded by
//! the per-request timeout, bodies are read no further than the size cap, and every transport
//! failure (refused, reset, truncated, timed out, oversized) becomes data with a class instead of
//! an error. [`Exchange::evidence`] turns an exchange into redacted report evidence with a `curl` line.

use crate::report::Evidence;
use crate::secret::Redactor;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{RwLock, Semaphore};
use url::Url;

/// The header naming the probe that sent a request, so a deployment's logs (and the test faults)
/// can tell which check asked. Kratos ignores unknown headers.
pub const PROBE_HEADER: &str = "x-recovery-harness-probe";

/// How many body bytes evidence shows.
const EXCERPT: usize = 600;

/// A request to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Probe name (sent as [`PROBE_HEADER`]).
    pub probe: String,
    /// HTTP method.
    pub method: reqwest::Method,
    /// Full URL.
    pub url: Url,
    /// Extra headers (credentials included; redacted in evidence).
    pub headers: Vec<(String, String)>,
    /// Body and its content type.
    pub body: Option<(String, Vec<u8>)>,
}

impl Request {
    /// A GET of `url`.
    pub fn get(probe: impl Into<String>, url: Url) -> Self {
        Request {
            probe: probe.into(),
            method: reqwest::Method::GET,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A POST of a JSON body.
    pub fn post_json(probe: impl Into<String>, url: Url, body: &Value) -> Self {
        Request {
            probe: probe.into(),
            method: reqwest::Method::POST,
            url,
            headers: Vec::new(),
            body: Some(("application/json".to_owned(), body.to_string().into_bytes())),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// A shell-quoted `curl` line that reproduces the request (not redacted).
    pub fn curl(&self) -> String {
        let mut out = String::from("curl -sS -i");
        if self.method != reqwest::Method::GET {
            out.push_str(" -X ");
            out.push_str(self.method.as_str());
        }
        out.push_str(" -H 'Accept: application/json'");
        for (name, value) in &self.headers {
            out.push_str(" -H ");
            out.push_str(&shell_quote(&format!("{name}: {value}")));
        }
        if let Some((ct, body)) = &self.body {
            out.push_str(" -H ");
            out.push_str(&shell_quote(&format!("Content-Type: {ct}")));
            out.push_str(" --data-raw ");
            out.push_str(&shell_quote(&String::from_utf8_lossy(body)));
        }
        out.push(' ');
        out.push_str(&shell_quote(self.url.as_str()));
        out
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A response that arrived in full (within the cap and the timeout).
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    json: OnceLock<Result<Value, String>>,
}

impl Response {
    /// Builds a response (used by tests and the client).
    pub fn new(status: u16, headers: HeaderMap, body: Bytes) -> Self {
        Response {
            status,
            headers,
            body,
            json: OnceLock::new(),
        }
    }

    /// The body parsed as JSON, or why it is not JSON.
    pub fn json(&self) -> Result<&Value, &str> {
        self.json
            .get_or_init(|| {
                if self.body.is_empty() {
                    return Err("the body is empty".to_owned());
                }
                serde_json::from_slice(&self.body)
                    .map_err(|e| format!("the body is not JSON ({e})"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// A header as text (empty when absent or not text).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether `Content-Type` is `application/json` (parameters such as charset allowed).
    pub fn is_json_content_type(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
    }
}

/// Why no complete response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// TCP connect (or DNS) failed: refused, unreachable.
    Connect,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// No complete answer within the timeout.
    Timeout,
    /// The connection was reset or closed before the response (or its body) was complete.
    Broken,
    /// The body exceeded `--max-body-size`; reading stopped there.
    TooLarge,
    /// Anything else.
    Other,
}

/// A transport failure, with whatever part of the response arrived.
#[derive(Debug, Clone)]
pub struct Transport {
    /// Its class.
    pub kind: TransportKind,
    /// A human message.
    pub message: String,
    /// Status and headers, when they arrived before the failure.
    pub status: Option<u16>,
    /// Headers, when they arrived.
    pub headers: HeaderMap,
    /// The body bytes read before the failure.
    pub partial_body: Bytes,
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What was sent.
    pub request: Request,
    /// When the request was sent (client clock).
    pub sent_at: DateTime<Utc>,
    /// When the answer was complete (client clock).
    pub received_at: DateTime<Utc>,
    /// Round-trip time.
    pub elapsed: Duration,
    /// The response, or why there is none.
    pub outcome: Result<Response, Transport>,
    /// No answer even when sent again with nothing else in flight: the target hangs, whatever
    /// the concurrency. Checks judging this exchange are errors of the run, not failures.
    pub no_answer_alone: bool,
    redactor: Redactor,
}

impl Exchange {
    /// The response, if one arrived in full.
    pub fn response(&self) -> Option<&Response> {
        self.outcome.as_ref().ok()
    }

    /// The status, if one arrived (even when the body then failed).
    pub fn status(&self) -> Option<u16> {
        match &self.outcome {
            Ok(r) => Some(r.status),
            Err(t) => t.status,
        }
    }

    /// The body as JSON, when a response arrived and it is JSON.
    pub fn json(&self) -> Option<&Value> {
        self.response().and_then(|r| r.json().ok())
    }

    /// Redacts secrets from `text`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Report evidence for this exchange (secrets redacted).
    pub fn evidence(&self) -> Evidence {
        let r = |s: &str| self.redact(s);
        let request_headers = std::iter::once(("Accept".to_owned(), "application/json".to_owned()))
            .chain(self.request.headers.iter().map(|(n, v)| (n.clone(), r(v))))
            .chain(
                self.request
                    .body
                    .as_ref()
                    .map(|(ct, _)| ("Content-Type".to_owned(), ct.clone())),
            )
            .collect();
        let (status, headers, body, transport_error) = match &self.outcome {
            Ok(resp) => (Some(resp.status), &resp.headers, &resp.body, None),
            Err(t) => (t.status, &t.headers, &t.partial_body, Some(r(&t.message))),
        };
        let response_headers = [
            "content-type",
            "content-length",
            "location",
            "allow",
            "cache-control",
        ]
        .iter()
        .filter_map(|name| {
            headers.get(*name).map(|v| {
                (
                    (*name).to_owned(),
                    r(&String::from_utf8_lossy(v.as_bytes())),
                )
            })
        })
        .collect();
        Evidence {
            method: self.request.method.to_string(),
            url: r(self.request.url.as_str()),
            request_headers,
            status,
            response_headers,
            pointer: None,
            value: None,
            body_excerpt: (!body.is_empty()).then(|| r(&excerpt(body))),
            curl: Some(r(&self.request.curl())),
            transport_error,
        }
    }

    /// Evidence naming one failing value.
    pub fn evidence_at(&self, pointer: &str, value: Option<&Value>) -> Evidence {
        let mut ev = self.evidence();
        ev.pointer = Some(pointer.to_owned());
        ev.value = Some(match value {
            Some(v) => self.redact(&shorten(&v.to_string(), 200)),
            None => "(absent)".to_owned(),
        });
        ev
    }

    /// One line describing what came back: `200 application/json (1234 bytes)` or the transport error.
    pub fn describe(&self) -> String {
        match &self.outcome {
            Ok(resp) => format!(
                "{} {} ({} bytes)",
                resp.status,
                resp.header("content-type")
                    .unwrap_or("without Content-Type"),
                resp.body.len()
            ),
            Err(t) => match t.status {
                Some(s) => format!("{s}, then {}", self.redact(&t.message)),
                None => self.redact(&t.message),
            },
        }
    }
}

/// The start of a body as text.
pub fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(EXCERPT)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if body.len() > EXCERPT {
        s.push_str(&format!("... ({} bytes in all)", body.len()));
    }
    s
}

/// Shortens `s` to at most `max` characters.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// The HTTP client of a run.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
    max_body: u64,
    redactor: Redactor,
    permits: Arc<Semaphore>,
    /// Every exchange, in the order they completed, when the run records them (`--har`).
    recorder: Option<Arc<std::sync::Mutex<Vec<Exchange>>>>,
    /// Held shared by every request, exclusively by a retry: a retry runs alone.
    gate: Arc<RwLock<()>>,
    retries: Arc<std::sync::Mutex<Retries>>,
    concurrency: usize,
    insecure: bool,
}

/// The requests that timed out under concurrency and were sent again alone.
#[derive(Debug, Clone, Default)]
pub struct Retries {
    /// Probes that answered when sent alone (judged on that answer).
    pub answered: Vec<String>,
    /// Probes that did not answer even alone.
    pub unanswered: Vec<String>,
    /// Timeouts not retried because the target already hung alone [`MAX_UNANSWERED_ALONE`] times.
    pub not_retried: Vec<String>,
}

/// After this many requests that got no answer even alone, the target hangs regardless of the
/// concurrency: later timeouts are not retried (each retry would cost a whole --timeout).
pub const MAX_UNANSWERED_ALONE: usize = 3;

impl Client {
    /// Builds the client: TLS verified unless `insecure`, no redirects, no cookie store (API flows
    /// must not carry cookies), no proxy surprises from the environment beyond reqwest's defaults.
    pub fn new(
        timeout: Duration,
        max_body: u64,
        insecure: bool,
        concurrency: usize,
        redactor: Redactor,
    ) -> Result<Self, super::error::CheckError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        crate::tls::install_default_provider();
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("recovery-harness/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .tls_danger_accept_invalid_certs(insecure)
            .build()
            .map_err(|e| super::error::CheckError::Client(crate::causes::render(&e)))?;
        Ok(Client {
            http,
            timeout,
            max_body,
            redactor,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            recorder: None,
            gate: Arc::default(),
            retries: Arc::default(),
            concurrency: concurrency.max(1),
            insecure,
        })
    }

    /// The requests retried alone so far.
    pub fn retries(&self) -> Retries {
        self.retries.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Requests in flight at once (`--concurrency`).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The per-request timeout (`--timeout`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The body cap (`--max-body-size`).
    pub fn max_body(&self) -> u64 {
        self.max_body
    }

    /// Whether TLS certificates go unverified (`--insecure`).
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// The exchange of `request`, with this client's redactor, recorded for `--har`: every
    /// exchange is made here, those of [`Client::send`] and those of a [`super::burst`], which
    /// writes its requests by hand.
    pub fn exchange_of(
        &self,
        request: Request,
        sent_at: DateTime<Utc>,
        elapsed: Duration,
        outcome: Result<Response, Transport>,
    ) -> Exchange {
        let ex = Exchange {
            request,
            sent_at,
            received_at: Utc::now(),
            elapsed,
            outcome,
            no_answer_alone: false,
            redactor: self.redactor.clone(),
        };
        if let Some(recorder) = &self.recorder {
            if let Ok(mut list) = recorder.lock() {
                list.push(ex.clone());
            }
        }
        ex
    }

    /// Keeps a copy of every exchange from now on (for `--har`; bodies are shared, not copied).
    pub fn recording(mut self) -> Self {
        self.recorder = Some(Arc::default());
        self
    }

    /// The exchanges recorded so far (empty unless [`Client::recording`]).
    pub fn recorded(&self) -> Vec<Exchange> {
        self.recorder
            .as_ref()
            .and_then(|r| r.lock().ok().map(|l| l.clone()))
            .unwrap_or_default()
    }

    /// The request headers as sent: the client's defaults, the probe header, the request's own
    /// and its body's content type.
    pub fn sent_headers(request: &Request) -> Vec<(String, String)> {
        let mut headers = vec![
            ("Accept".to_owned(), "application/json".to_owned()),
            (
                "User-Agent".to_owned(),
                concat!("recovery-harness/", env!("CARGO_PKG_VERSION")).to_owned(),
            ),
            (PROBE_HEADER.to_owned(), request.probe.clone()),
        ];
        headers.extend(request.headers.iter().cloned());
        if let Some((ct, _)) = &request.body {
            headers.push(("Content-Type".to_owned(), ct.clone()));
        }
        headers
    }

    /// The redactor of this run's secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sends `request` and returns the exchange; never fails. A request that times out is sent
    /// once more with nothing else in flight (a deployment that stalls under concurrency, such as
    /// Kratos v1.x on SQLite, is slow, not wrong): its answer then is the exchange, or, when it
    /// times out again, the exchange is marked [`Exchange::no_answer_alone`].
    pub async fn send(&self, request: Request) -> Exchange {
        let first = {
            let _shared = self.gate.read().await;
            self.send_once(request.clone()).await
        };
        if !matches!(&first.outcome, Err(t) if t.kind == TransportKind::Timeout) {
            return first;
        }
        let hopeless = self
            .retries
            .lock()
            .map(|r| r.unanswered.len() >= MAX_UNANSWERED_ALONE)
            .unwrap_or(false);
        if hopeless || self.concurrency == 1 {
            let mut ex = first;
            ex.no_answer_alone = true;
            if let Ok(mut r) = self.retries.lock() {
                if hopeless {
                    r.not_retried.push(ex.request.probe.clone());
                } else {
                    r.unanswered.push(ex.request.probe.clone());
                }
            }
            return ex;
        }
        let mut again = {
            let _alone = self.gate.write().await;
            self.send_once(request).await
        };
        let answered = !matches!(&again.outcome, Err(t) if t.kind == TransportKind::Timeout);
        if let Ok(mut r) = self.retries.lock() {
            if answered {
                r.answered.push(again.request.probe.clone());
            } else {
                r.unanswered.push(again.request.probe.clone());
            }
        }
        if !answered {
            again.no_answer_alone = true;
            if let Err(t) = &mut again.outcome {
                t.message = format!(
                    "{} under --concurrency {}, and again when sent alone",
                    t.message, self.concurrency
                );
            }
        }
        again
    }

    async fn send_once(&self, request: Request) -> Exchange {
        let _permit = self.permits.acquire().await.ok();
        let sent_at = Utc::now();
        let start = Instant::now();
        let outcome = match tokio::time::timeout(self.timeout, self.exchange(&request)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Transport {
                kind: TransportKind::Timeout,
                message: format!(
                    "no complete answer within --timeout {}",
                    humantime::format_duration(self.timeout)
                ),
                status: None,
                headers: HeaderMap::new(),
                partial_body: Bytes::new(),
            }),
        };
        self.exchange_of(request, sent_at, start.elapsed(), outcome)
    }

    async fn exchange(&self, request: &Request) -> Result<Response, Transport> {
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone())
            .header(PROBE_HEADER, request.probe.as_str());
        for (name, value) in &request.headers {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                (Ok(n), Ok(v)) => builder = builder.header(n, v),
                _ => {
                    return Err(Transport {
                        kind: TransportKind::Other,
                        message: format!(
                            "header `{name}` cannot be sent: its name or value is not valid HTTP"
                        ),
                        status: None,
                        headers: HeaderMap::new(),
                        partial_body: Bytes::new(),
                    })
                }
            }
        }
        if let Some((ct, body)) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, ct.as_str())
                .body(body.clone());
        }
        let mut resp = builder.send().await.map_err(|e| Transport {
            kind: classify(&e),
            message: if e.is_timeout() {
                format!(
                    "no answer within --timeout {}",
                    humantime::format_duration(self.timeout)
                )
            } else {
                describe_error(&e)
            },
            status: None,
            headers: HeaderMap::new(),
            partial_body: Bytes::new(),
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let too_large = |read: u64| {
            Transport {
            kind: TransportKind::TooLarge,
            message: format!(
                "the body is larger than --max-body-size ({} bytes; {read} announced or read); stopped reading",
                self.max_body
            ),
            status: Some(status),
            headers: headers.clone(),
            partial_body: Bytes::new(),
        }
        };
        if let Some(len) = resp.content_length() {
            if len > self.max_body {
                return Err(too_large(len));
            }
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() as u64 + chunk.len() as u64 > self.max_body {
                        let mut t = too_large(body.len() as u64 + chunk.len() as u64);
                        t.partial_body = Bytes::from(body);
                        return Err(t);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let kind = match classify(&e) {
                        TransportKind::Timeout => TransportKind::Timeout,
                        _ => TransportKind::Broken,
                    };
                    let message = if kind == TransportKind::Timeout {
                        format!(
                            "the body did not complete within --timeout {} ({} bytes read)",
                            humantime::format_duration(self.timeout),
                            body.len()
                        )
                    } else {
                        format!(
                            "the body broke off after {} bytes: {}",
                            body.len(),
                            describe_error(&e)
                        )
                    };
                    return Err(Transport {
                        kind,
                        message,
                        status: Some(status),
                        headers,
                        partial_body: Bytes::from(body),
                    });
                }
            }
        }
        Ok(Response::new(status, headers, Bytes::from(body)))
    }
}

fn classify(e: &reqwest::Error) -> TransportKind {
    let text = describe_error(e).to_ascii_lowercase();
    if e.is_timeout() {
        TransportKind::Timeout
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        TransportKind::Tls
    } else if e.is_connect() {
        TransportKind::Connect
    } else if text.contains("reset")
        || text.contains("closed")
        || text.contains("incomplete")
        || text.contains("broken pipe")
        || text.contains("eof")
    {
        TransportKind::Broken
    } else {
        TransportKind::Other
    }
}

/// reqwest's error with its cause chain (the cause holds the useful part: "connection refused").
fn describe_error(e: &reqwest::Error) -> String {
    let mut text = crate::causes::render(e);
    // reqwest repeats the URL, which the evidence already shows.
    if let Some(rest) = text
        .strip_prefix("error sending request for url (")
        .and_then(|r| r.split_once("): ").map(|(_, tail)| tail.to_owned()))
    {
        text = rest;
    }
    if e.is_connect() && text.to_ascii_lowercase().contains("certificate") {
        return format!("{text} (TLS verification failed: fix the certificate or pass --insecure)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_lines_quote_and_reproduce() {
        let url = Url::parse("http://127.0.0.1:1/self-service/recovery?flow=x").expect("url");
        let req = Request::post_json(
            "p",
            url,
            &serde_json::json!({"email": "o'brien@example.com"}),
        )
        .header("X-Session-Token", "tok");
        let line = req.curl();
        assert!(
            line.starts_with("curl -sS -i -X POST -H 'Accept: application/json'"),
            "{line}"
        );
        assert!(
            line.contains(r#"--data-raw '{"email":"o'\''brien@example.com"}'"#),
            "{line}"
        );
        assert!(
            line.ends_with("'http://127.0.0.1:1/self-service/recovery?flow=x'"),
            "{line}"
        );
    }

    #[test]
    fn json_content_type_allows_parameters_only() {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(Response::new(200, h, Bytes::new()).is_json_content_type());
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("text/html"));
        assert!(!Response::new(200, h, Bytes::new()).is_json_content_type());
        assert!(!Response::new(200, HeaderMap::new(), Bytes::new()).is_json_content_type());
    }

    #[test]
    fn evidence_is_redacted() {
        let url = Url::parse("http://h/self-service/recovery/api").expect("url");
        let ex = Exchange {
            request: Request::get("p", url).header("X-Session-Token", "s3cret"),
            sent_at: Utc::now(),
            received_at: Utc::now(),
            elapsed: Duration::ZERO,
            outcome: Ok(Response::new(
                400,
                HeaderMap::new(),
                Bytes::from_static(b"{\"echo\":\"s3cret\"}"),
            )),
            no_answer_alone: false,
            redactor: Redactor::new(&[crate::secret::Secret::from("s3cret")]),
        };
        let ev = ex.evidence();
        let all = serde_json::to_string(&ev).expect("serialise");
        assert!(!all.contains("s3cret"), "{all}");
        assert!(all.contains("[REDACTED]"));
    }
}
