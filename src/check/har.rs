//! `check --har FILE`: every exchange of a run as an HTTP Archive (HAR 1.2,
//! <http://www.softwareishard.com/blog/har-12-spec/>), the format browsers' devtools, Charles and
//! Fiddler open and people attach to bug reports.
//!
//! Secrets (the session token, the session cookie) are redacted in every string, as in the
//! reports. An exchange that got no answer has `response.status` 0 and the reason in
//! `response._error` (HAR allows custom fields that start with `_`). Bodies that are not UTF-8
//! are base64 (`content.encoding`). The probe that sent each request is the entry's `comment`.
//! The file is written to a temporary sibling and renamed, so it is whole or absent.

use super::client::{Client, Exchange};
use crate::secret::Redactor;
use base64::Engine as _;
use chrono::SecondsFormat;
use serde_json::{json, Value};
use std::path::Path;

/// The HAR document of `exchanges`, in the order given, every string redacted by `redactor`.
pub fn render(exchanges: &[Exchange], redactor: &Redactor) -> String {
    let entries: Vec<Value> = exchanges.iter().map(|ex| entry(ex, redactor)).collect();
    let doc = json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "recovery-harness", "version": env!("CARGO_PKG_VERSION") },
            "entries": entries,
        }
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// Writes the HAR of `exchanges` to `path` atomically (temporary sibling, then rename).
pub fn write(path: &Path, exchanges: &[Exchange], redactor: &Redactor) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| std::io::Error::other("the --har path names no file"))?;
    crate::report::replace_file(dir, &name, render(exchanges, redactor).as_bytes())
}

fn entry(ex: &Exchange, redactor: &Redactor) -> Value {
    let r = |s: &str| redactor.redact(s);
    let req = &ex.request;
    let sent = Client::sent_headers(req);
    let req_headers: Vec<Value> = sent
        .iter()
        .map(|(n, v)| json!({ "name": n, "value": r(v) }))
        .collect();
    let req_cookies: Vec<Value> = sent
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';').map(str::trim).collect::<Vec<_>>())
        .filter_map(|c| c.split_once('='))
        .map(|(n, v)| json!({ "name": r(n), "value": r(v) }))
        .collect();
    let query: Vec<Value> = req
        .url
        .query_pairs()
        .map(|(n, v)| json!({ "name": r(&n), "value": r(&v) }))
        .collect();
    let mut request = json!({
        "method": req.method.as_str(),
        "url": r(req.url.as_str()),
        "httpVersion": "HTTP/1.1",
        "cookies": req_cookies,
        "headers": req_headers,
        "queryString": query,
        "headersSize": -1,
        "bodySize": req.body.as_ref().map_or(0, |(_, b)| b.len()),
    });
    if let Some((mime, body)) = &req.body {
        request["postData"] = json!({
            "mimeType": mime,
            "text": r(&String::from_utf8_lossy(body)),
        });
    }
    let (status, headers, body, error) = match &ex.outcome {
        Ok(resp) => (resp.status, Some(&resp.headers), resp.body.as_ref(), None),
        Err(t) => (
            t.status.unwrap_or(0),
            Some(&t.headers),
            t.partial_body.as_ref(),
            Some(t.message.as_str()),
        ),
    };
    let header_list: Vec<(String, String)> = headers
        .into_iter()
        .flat_map(|h| h.iter())
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let header_value = |name: &str| {
        header_list
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let resp_cookies: Vec<Value> = header_list
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| {
            let mut parts = v.split(';').map(str::trim);
            let (name, value) = parts.next()?.split_once('=')?;
            let mut cookie = json!({ "name": r(name), "value": r(value) });
            for attr in parts {
                let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
                match k.to_ascii_lowercase().as_str() {
                    "path" => cookie["path"] = json!(v),
                    "domain" => cookie["domain"] = json!(v),
                    "expires" => cookie["expires"] = json!(v),
                    "httponly" => cookie["httpOnly"] = json!(true),
                    "secure" => cookie["secure"] = json!(true),
                    _ => {}
                }
            }
            Some(cookie)
        })
        .collect();
    let mime = header_value("content-type").unwrap_or_default();
    let mut content = json!({ "size": body.len(), "mimeType": mime });
    match std::str::from_utf8(body) {
        Ok(text) => content["text"] = json!(r(text)),
        Err(_) => {
            content["text"] = json!(base64(body));
            content["encoding"] = json!("base64");
        }
    }
    let time = ex.elapsed.as_secs_f64() * 1000.0;
    let mut response = json!({
        "status": status,
        "statusText": reason(status),
        "httpVersion": "HTTP/1.1",
        "cookies": resp_cookies,
        "headers": header_list
            .iter()
            .map(|(n, v)| json!({ "name": n, "value": r(v) }))
            .collect::<Vec<_>>(),
        "content": content,
        "redirectURL": header_value("location").map(|l| r(&l)).unwrap_or_default(),
        "headersSize": -1,
        "bodySize": if status == 0 { -1 } else { body.len() as i64 },
    });
    if let Some(e) = error {
        response["_error"] = json!(r(e));
    }
    json!({
        "startedDateTime": ex.sent_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "time": time,
        "request": request,
        "response": response,
        "cache": {},
        "timings": { "send": 0, "wait": time, "receive": 0 },
        "comment": req.probe,
    })
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// Standard base64 with padding (RFC 4648 §4), for the rare binary body.
fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}
