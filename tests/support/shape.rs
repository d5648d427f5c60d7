//! The shape of an HTTP answer, as the differential tests compare it: what must be equal between
//! real Kratos and the reference server, with ids, timestamps, hosts and tokens normalised away.
//!
//! [`describe`] turns a response into lines `path = value` (a `BTreeMap`), and [`diff`] lists the
//! lines that differ. What a line holds:
//! - `status`; the headers `content-type`, `cache-control`, `allow`, `ory-error-id`, the shape of
//!   `location` and the names of `set-cookie` (the CSRF cookie's hash becomes `<hash>`);
//! - for a JSON body, every object's keys **in the order sent** (read from the text: the parser
//!   here keeps it), every array's length, every value's type, and the value itself for the keys
//!   that carry meaning: states, types, methods, node names, groups and attributes, message and
//!   label ids, the `error` object's id, code, status, reason and message, and URLs as their shape;
//! - for any other body, its normalised text.
//!
//! Normalising a string replaces UUIDs with `<uuid>`, RFC 3339 timestamps with `<time>`, the UI
//! origin `http://127.0.0.1:4455` with `<ui>`, every other loopback origin with `<origin>`,
//! session tokens with `<session_token>`, and decimal numbers (Kratos's "expired 0.03 minutes ago")
//! with `<n>`.

use super::har::Resp;
use std::collections::BTreeMap;

/// A JSON value with object keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// Parses JSON keeping key order; `None` when the text is not one JSON value.
pub fn parse(text: &str) -> Option<J> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self) -> Option<J> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Some(J::Obj(fields));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return None;
                    }
                    let v = self.value()?;
                    fields.push((k, v));
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("}") {
                        return Some(J::Obj(fields));
                    }
                    return None;
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Some(J::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("]") {
                        return Some(J::Arr(items));
                    }
                    return None;
                }
            }
            b'"' => self.string().map(J::Str),
            b't' => self.eat("true").then_some(J::Bool(true)),
            b'f' => self.eat("false").then_some(J::Bool(false)),
            b'n' => self.eat("null").then_some(J::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                let n = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                n.parse::<f64>().ok()?;
                Some(J::Num(n.to_owned()))
            }
        }
    }
    fn string(&mut self) -> Option<String> {
        if !self.eat("\"") {
            return None;
        }
        // Decode through serde_json, which knows every escape; find the closing quote first.
        let start = self.i - 1;
        let mut escaped = false;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                let raw = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                return serde_json::from_str(raw).ok();
            }
        }
        None
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Replaces, in `s`, every maximal run of characters matching `class` that satisfies `pred` by
/// `with`.
fn replace_runs(
    s: &str,
    class: impl Fn(char) -> bool,
    pred: impl Fn(&str) -> bool,
    with: &str,
) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    for c in s.chars() {
        if class(c) {
            run.push(c);
        } else {
            if !run.is_empty() {
                out.push_str(if pred(&run) { with } else { &run });
                run.clear();
            }
            out.push(c);
        }
    }
    if !run.is_empty() {
        out.push_str(if pred(&run) { with } else { &run });
    }
    out
}

fn is_timestamp(s: &str) -> bool {
    s.len() >= 20
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[10] == b'T'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// The normalised form of a string (see the module doc).
pub fn normalize(s: &str) -> String {
    let s = replace_runs(s, |c| c.is_ascii_hexdigit() || c == '-', is_uuid, "<uuid>");
    let s = replace_runs(
        &s,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+'),
        is_timestamp,
        "<time>",
    );
    let s = s.replace("http://127.0.0.1:4455", "<ui>");
    let s = replace_origin(&s);
    let s = replace_runs(
        &s,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |r| r.starts_with("ory_st_") && r.len() > 10,
        "<session_token>",
    );
    replace_runs(
        &s,
        |c| c.is_ascii_digit() || c == '.',
        |r| r.contains('.') && r.split('.').all(|p| !p.is_empty()) && r.matches('.').count() == 1,
        "<n>",
    )
}

fn replace_origin(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("http://127.0.0.1:") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "http://127.0.0.1:".len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str("<origin>");
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Keys whose string or number values are compared (others: their type only).
const MEANINGFUL: &[&str] = &[
    "state",
    "type",
    "active",
    "method",
    "node_type",
    "group",
    "name",
    "value",
    "required",
    "disabled",
    "autocomplete",
    "pattern",
    "maxlength",
    "action",
    "request_url",
    "return_to",
    "redirect_browser_to",
    "redirect_to",
    "url",
    "api",
    "id",
    "code",
    "status",
    "reason",
    "message",
];

/// `status` is the error's HTTP status text; elsewhere (a courier message's delivery status) it
/// depends on timing, not on the API.
fn meaningful(path: &str, key: &str) -> bool {
    MEANINGFUL.contains(&key) && (key != "status" || path.contains("/error/"))
}

fn type_of(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Num(_) => "number",
        J::Str(_) => "string",
        J::Arr(_) => "array",
        J::Obj(_) => "object",
    }
}

fn walk(v: &J, path: &str, key: &str, out: &mut BTreeMap<String, String>) {
    match v {
        J::Obj(fields) => {
            let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
            out.insert(path.to_owned(), format!("{{{}}}", keys.join(",")));
            for (k, v) in fields {
                walk(v, &format!("{path}/{k}"), k, out);
            }
        }
        J::Arr(items) => {
            out.insert(path.to_owned(), format!("[{}]", items.len()));
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{path}/{i}"), key, out);
            }
        }
        J::Bool(b) => {
            out.insert(path.to_owned(), b.to_string());
        }
        J::Null => {
            out.insert(path.to_owned(), "null".to_owned());
        }
        J::Num(n) if meaningful(path, key) => {
            out.insert(path.to_owned(), n.clone());
        }
        J::Str(s) if meaningful(path, key) => {
            out.insert(path.to_owned(), format!("{:?}", normalize(s)));
        }
        other => {
            out.insert(path.to_owned(), format!("<{}>", type_of(other)));
        }
    }
}

/// The compared lines of a response.
pub fn describe(r: &Resp) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("status".to_owned(), r.status.to_string());
    for h in ["content-type", "cache-control", "allow", "ory-error-id"] {
        let v = r
            .headers_all(h)
            .map(normalize)
            .collect::<Vec<_>>()
            .join(" | ");
        out.insert(format!("header {h}"), v);
    }
    out.insert(
        "header location".to_owned(),
        r.header("location").map(normalize).unwrap_or_default(),
    );
    let mut names: Vec<String> = r
        .cookies()
        .into_iter()
        .map(|(n, _)| {
            if n.starts_with("csrf_token_") {
                "csrf_token_<hash>".to_owned()
            } else {
                n
            }
        })
        .collect();
    names.sort();
    out.insert("header set-cookie names".to_owned(), names.join(", "));
    match parse(&r.body) {
        Some(j) if !r.body.trim().is_empty() => walk(&j, "body", "", &mut out),
        _ => {
            out.insert("body text".to_owned(), format!("{:?}", normalize(&r.body)));
        }
    }
    out
}

/// `path: recorded A, reference B` for every line that differs (a missing line reads `absent`).
pub fn diff(recorded: &Resp, replayed: &Resp) -> Vec<(String, String)> {
    let a = describe(recorded);
    let b = describe(replayed);
    let mut out = Vec::new();
    // A subtree one side lacks is reported once, at its root.
    let mut absent_roots: Vec<String> = Vec::new();
    let mut keys: Vec<&String> = a
        .keys()
        .chain(b.keys().filter(|k| !a.contains_key(*k)))
        .collect();
    keys.sort();
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        if x.is_none() || y.is_none() {
            if absent_roots.iter().any(|r| k.starts_with(&format!("{r}/"))) {
                continue;
            }
            absent_roots.push(k.clone());
        }
        if x != y {
            out.push((
                k.clone(),
                format!(
                    "{k}: Kratos {}, reference {}",
                    x.map_or("absent", String::as_str),
                    y.map_or("absent", String::as_str)
                ),
            ));
        }
    }
    out
}
