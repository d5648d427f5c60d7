//! A HAR 1.2 recorder for scripted exchanges (the format browsers' devtools, Charles and Fiddler
//! open; <http://www.softwareishard.com/blog/har-12-spec/>), with secrets redacted, and its reader.
//!
//! ```ignore
//! let mut rec = Recorder::new(reqwest_client);
//! rec.secret(&token, "[REDACTED:session_token]");
//! let r = rec.send("create native", Req::get(url).header("Accept", "application/json")).await;
//! rec.har("default Kratos").write(path)?;
//! ```
//!
//! Redaction, applied to URLs, headers and bodies of every entry when the HAR is built:
//! - each value registered with [`Recorder::secret`] becomes its placeholder (session tokens,
//!   recovery codes);
//! - the value of every cookie (`Cookie` and `Set-Cookie`) becomes `[REDACTED]`, names and
//!   attributes stay; the CSRF cookies a response sets become `[REDACTED:csrf_cookie#N]`
//!   (numbered in order), so that a replay can tell which one a later request sent back;
//! - `X-Session-Token` and `Authorization` values become `[REDACTED]` unless a registered secret
//!   already named them;
//! - every CSRF token a response hands out (a `csrf_token` node's value, a `csrf_token` field)
//!   becomes `[REDACTED:csrf_token]`, in responses and wherever a request sends it back; a
//!   made-up token a request submits stays readable.
//!
//! Each entry's `comment` is its step label; [`Entry`] reads entries back for replays.

use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// A request to send and record.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Req {
    pub fn new(method: &str, url: &str) -> Req {
        Req {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }
    pub fn get(url: &str) -> Req {
        Req::new("GET", url)
    }
    pub fn post(url: &str) -> Req {
        Req::new("POST", url)
    }
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    /// A JSON body (sets `Content-Type: application/json`).
    pub fn json(mut self, body: &Value) -> Req {
        self.headers
            .push(("Content-Type".to_owned(), "application/json".to_owned()));
        self.body = Some(body.to_string());
        self
    }
    /// A body sent as is (its content type is the caller's header).
    pub fn body_text(mut self, body: &str) -> Req {
        self.body = Some(body.to_owned());
        self
    }
    /// A form body (sets `Content-Type: application/x-www-form-urlencoded`).
    pub fn form(mut self, fields: &[(&str, &str)]) -> Req {
        self.headers.push((
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ));
        self.body = Some(serde_urlencoded::to_string(fields).expect("a form body"));
        self
    }
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// `name=value` of each `Set-Cookie`.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.headers_all("set-cookie")
            .filter_map(|c| {
                let pair = c.split(';').next()?;
                let (n, v) = pair.split_once('=')?;
                Some((n.trim().to_owned(), v.trim().to_owned()))
            })
            .collect()
    }
}

/// Sends one request with `client` (which must not follow redirects).
pub async fn send(client: &reqwest::Client, req: &Req) -> Result<Resp, String> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut b = client.request(method, &req.url);
    for (n, v) in &req.headers {
        b = b.header(n, v);
    }
    if let Some(body) = &req.body {
        b = b.body(body.clone());
    }
    let r = b
        .send()
        .await
        .map_err(|e| format!("{} {}: {e}", req.method, req.url))?;
    let status = r.status();
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = r.text().await.map_err(|e| e.to_string())?;
    Ok(Resp {
        status: status.as_u16(),
        status_text: status.canonical_reason().unwrap_or("").to_owned(),
        headers,
        body,
    })
}

/// Collects exchanges; [`Recorder::har`] redacts and builds the document.
#[derive(Debug)]
pub struct Recorder {
    client: reqwest::Client,
    secrets: Vec<(String, String)>,
    csrf_cookies: usize,
    entries: Vec<(String, Req, Resp, chrono::DateTime<chrono::Utc>, Duration)>,
}

impl Recorder {
    pub fn new(client: reqwest::Client) -> Recorder {
        Recorder {
            client,
            secrets: Vec::new(),
            csrf_cookies: 0,
            entries: Vec::new(),
        }
    }

    /// Every occurrence of `value` becomes `placeholder` in the HAR.
    pub fn secret(&mut self, value: &str, placeholder: &str) {
        if !value.is_empty() && !self.secrets.iter().any(|(v, _)| v == value) {
            self.secrets
                .push((value.to_owned(), placeholder.to_owned()));
        }
    }

    /// Sends `req`, records it under `label`, returns the response (panics on a transport error:
    /// a recording must be complete).
    pub async fn send(&mut self, label: &str, req: Req) -> Resp {
        let started = chrono::Utc::now();
        let t = Instant::now();
        let resp = send(&self.client, &req)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        // Every CSRF token the target hands out is a secret; a made-up token a script submits (to
        // prove a mismatch is refused) is not one and stays readable.
        let mut tokens = Vec::new();
        if let Ok(v) = serde_json::from_str::<Value>(&resp.body) {
            csrf_values(&v, &mut tokens);
        }
        for t in tokens {
            self.secret(&t, "[REDACTED:csrf_token]");
        }
        // CSRF cookies are numbered, so that a replay can send back the one each request sent.
        for (name, value) in resp.cookies() {
            if name.starts_with("csrf_token_") && !self.secrets.iter().any(|(v, _)| *v == value) {
                self.csrf_cookies += 1;
                let placeholder = format!("[REDACTED:csrf_cookie#{}]", self.csrf_cookies);
                self.secret(&value, &placeholder);
            }
        }
        self.entries
            .push((label.to_owned(), req, resp.clone(), started, t.elapsed()));
        resp
    }

    /// How many exchanges were recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The HAR document, redacted; `comment` describes the recording (the target's config).
    pub fn har(&self, comment: &str) -> Value {
        let entries: Vec<Value> = self
            .entries
            .iter()
            .map(|(label, req, resp, started, elapsed)| {
                entry_json(label, req, resp, started, *elapsed)
            })
            .collect();
        let mut doc = json!({
            "log": {
                "version": "1.2",
                "creator": {"name": "recovery-harness tests/support/har.rs", "version": env!("CARGO_PKG_VERSION")},
                "comment": comment,
                "entries": entries,
            }
        });
        redact(&mut doc, &self.secrets);
        doc
    }
}

fn name_values(pairs: &[(String, String)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect()
}

fn entry_json(
    label: &str,
    req: &Req,
    resp: &Resp,
    started: &chrono::DateTime<chrono::Utc>,
    elapsed: Duration,
) -> Value {
    let url = url::Url::parse(&req.url).ok();
    let query: Vec<(String, String)> = url
        .as_ref()
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    let mut request = json!({
        "method": req.method,
        "url": req.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": name_values(&req.headers),
        "queryString": name_values(&query),
        "headersSize": -1,
        "bodySize": req.body.as_ref().map_or(0, |b| b.len()),
    });
    if let Some(body) = &req.body {
        request["postData"] = json!({
            "mimeType": req.header_value("content-type").unwrap_or(""),
            "text": body,
        });
    }
    let ms = elapsed.as_secs_f64() * 1000.0;
    let location = resp.header("location").unwrap_or("").to_owned();
    json!({
        "startedDateTime": started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "time": ms,
        "request": request,
        "response": {
            "status": resp.status,
            "statusText": resp.status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": name_values(&resp.headers),
            "content": {
                "size": resp.body.len(),
                "mimeType": resp.header("content-type").unwrap_or(""),
                "text": resp.body,
            },
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": resp.body.len(),
        },
        "cache": {},
        "timings": {"send": 0, "wait": ms, "receive": 0},
        "comment": label,
    })
}

fn redact_cookie_list(v: &str) -> String {
    v.split(';')
        .map(|pair| match pair.split_once('=') {
            Some((n, v)) if v.trim().starts_with("[REDACTED") => {
                format!("{}={}", n.trim(), v.trim())
            }
            Some((n, _)) => format!("{}=[REDACTED]", n.trim()),
            None => pair.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn redact_set_cookie(v: &str) -> String {
    let mut parts = v.splitn(2, ';');
    let first = parts.next().unwrap_or("");
    let rest = parts.next();
    let first = match first.split_once('=') {
        Some((n, v)) if v.trim().starts_with("[REDACTED") => format!("{}={}", n.trim(), v.trim()),
        Some((n, _)) => format!("{}=[REDACTED]", n.trim()),
        None => first.to_owned(),
    };
    match rest {
        Some(r) => format!("{first};{r}"),
        None => first,
    }
}

/// The values under a `csrf_token` name: a body field, or a node whose `attributes.name` is it.
fn csrf_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if map.get("name").and_then(Value::as_str) == Some("csrf_token") {
                if let Some(val) = map.get("value").and_then(Value::as_str) {
                    out.push(val.to_owned());
                }
            }
            if let Some(val) = map.get("csrf_token").and_then(Value::as_str) {
                out.push(val.to_owned());
            }
            map.values().for_each(|v| csrf_values(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| csrf_values(v, out)),
        _ => {}
    }
}

/// A body with its `csrf_token` values replaced in the text itself, so that its serialisation
/// (key order is part of what a replay compares) stays as the server sent it.
pub fn redact_body(text: &str, mime: &str) -> String {
    let mut values = Vec::new();
    if mime.contains("x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap_or_default();
        for (n, v) in pairs {
            if n == "csrf_token" {
                let encoded: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                values.push(encoded);
                values.push(v);
            }
        }
    } else if let Ok(v) = serde_json::from_str::<Value>(text) {
        csrf_values(&v, &mut values);
    }
    let mut text = text.to_owned();
    for v in values
        .iter()
        .filter(|v| !v.is_empty() && !v.starts_with("[REDACTED"))
    {
        text = text.replace(v.as_str(), "[REDACTED:csrf_token]");
    }
    text
}

/// Replaces each secret where it stands as a whole word (a 6-digit code can also occur inside a
/// timestamp's nanoseconds, which must stay).
fn replace_secrets(s: &str, secrets: &[(String, String)]) -> String {
    let mut s = s.to_owned();
    for (value, placeholder) in secrets {
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(i) = rest.find(value.as_str()) {
            let before = rest[..i].chars().next_back();
            let after = rest[i + value.len()..].chars().next();
            // A code stands between non-digits (`\n123456\n` in a JSON string); other secrets
            // between characters that cannot continue them.
            let digits = value.bytes().all(|b| b.is_ascii_digit());
            let bounded = |c: Option<char>| {
                c.is_none_or(|c| {
                    if digits {
                        !c.is_ascii_digit()
                    } else {
                        !c.is_ascii_alphanumeric()
                    }
                })
            };
            out.push_str(&rest[..i]);
            if bounded(before) && bounded(after) {
                out.push_str(placeholder);
            } else {
                out.push_str(value);
            }
            rest = &rest[i + value.len()..];
        }
        out.push_str(rest);
        s = out;
    }
    s
}

fn redact_headers(headers: &mut Value, secrets: &[(String, String)]) {
    for h in headers.as_array_mut().into_iter().flatten() {
        let name = h["name"].as_str().unwrap_or("").to_ascii_lowercase();
        let value = h["value"].as_str().unwrap_or("").to_owned();
        let value = replace_secrets(&value, secrets);
        let value = match name.as_str() {
            "cookie" => redact_cookie_list(&value),
            "set-cookie" => redact_set_cookie(&value),
            "x-session-token" | "authorization" if !value.contains("[REDACTED") => {
                "[REDACTED]".to_owned()
            }
            _ => value,
        };
        h["value"] = json!(value);
    }
}

/// Redacts a whole HAR document in place (also usable on a HAR written elsewhere).
pub fn redact(doc: &mut Value, secrets: &[(String, String)]) {
    for e in doc["log"]["entries"].as_array_mut().into_iter().flatten() {
        for side in ["request", "response"] {
            redact_headers(&mut e[side]["headers"], secrets);
        }
        let url = e["request"]["url"].as_str().unwrap_or("").to_owned();
        e["request"]["url"] = json!(replace_secrets(&url, secrets));
        for q in e["request"]["queryString"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            let v = q["value"].as_str().unwrap_or("").to_owned();
            q["value"] = json!(replace_secrets(&v, secrets));
        }
        if let Some(text) = e["request"]["postData"]["text"].as_str() {
            let t = replace_secrets(text, secrets);
            e["request"]["postData"]["text"] = json!(t);
        }
        if let Some(text) = e["response"]["content"]["text"].as_str() {
            let t = redact_body(&replace_secrets(text, secrets), "");
            e["response"]["content"]["size"] = json!(t.len());
            e["response"]["content"]["text"] = json!(t);
        }
        let loc = e["response"]["redirectURL"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        e["response"]["redirectURL"] = json!(replace_secrets(&loc, secrets));
    }
}

/// Writes `doc` pretty-printed (stable, reviewable diffs).
pub fn write(doc: &Value, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = serde_json::to_string_pretty(doc).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}

/// One entry of a HAR file, read back.
#[derive(Debug, Clone)]
pub struct Entry {
    pub label: String,
    pub req: Req,
    pub resp: Resp,
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            (
                h["name"].as_str().unwrap_or("").to_owned(),
                h["value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The entries of a HAR 1.2 document (`comment` of the log, entries).
pub fn read(path: &Path) -> Result<(String, Vec<Entry>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if doc["log"]["version"] != "1.2" {
        return Err(format!("{}: not a HAR 1.2 document", path.display()));
    }
    let entries = doc["log"]["entries"]
        .as_array()
        .ok_or_else(|| format!("{}: no log.entries", path.display()))?
        .iter()
        .map(|e| Entry {
            label: e["comment"].as_str().unwrap_or("").to_owned(),
            req: Req {
                method: e["request"]["method"].as_str().unwrap_or("GET").to_owned(),
                url: e["request"]["url"].as_str().unwrap_or("").to_owned(),
                headers: pairs(&e["request"]["headers"]),
                body: e["request"]["postData"]["text"].as_str().map(str::to_owned),
            },
            resp: Resp {
                status: e["response"]["status"].as_u64().unwrap_or(0) as u16,
                status_text: e["response"]["statusText"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                headers: pairs(&e["response"]["headers"]),
                body: e["response"]["content"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            },
        })
        .collect();
    let comment = doc["log"]["comment"].as_str().unwrap_or("").to_owned();
    Ok((comment, entries))
}

/// What HAR 1.2 requires of one entry that `entry` lacks (absent or `null`), as
/// `"request without headersSize"` lines: the entry's, its request's, its response's and the
/// response content's required fields (HAR 1.2 spec, "entries", "request", "response", "content").
pub fn missing_fields(entry: &Value) -> Vec<String> {
    let required: [(&str, &Value, &[&str]); 4] = [
        (
            "entry",
            entry,
            &[
                "startedDateTime",
                "time",
                "request",
                "response",
                "cache",
                "timings",
            ],
        ),
        (
            "request",
            &entry["request"],
            &[
                "method",
                "url",
                "httpVersion",
                "headers",
                "queryString",
                "cookies",
                "headersSize",
                "bodySize",
            ],
        ),
        (
            "response",
            &entry["response"],
            &[
                "status",
                "statusText",
                "httpVersion",
                "headers",
                "cookies",
                "content",
                "redirectURL",
                "headersSize",
                "bodySize",
            ],
        ),
        (
            "content",
            &entry["response"]["content"],
            &["size", "mimeType"],
        ),
    ];
    required
        .iter()
        .flat_map(|(what, v, keys)| {
            keys.iter()
                .filter(|k| v[**k].is_null())
                .map(move |k| format!("{what} without {k}"))
        })
        .collect()
}
