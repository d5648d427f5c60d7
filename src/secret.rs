//! The one secret type ([`Secret`]) and the one redaction path ([`Redactor`]).
//!
//! A session token, a session cookie's value, a recovery code and a password in a URL are carried
//! as [`Secret`] from the flag or variable that gives them to the request that sends them. A
//! `Secret` has no `Display` and no `Serialize`, and its `Debug` prints `Secret([REDACTED])`, so a
//! configuration printed with `{:?}`, an error that holds one, or a report model that tried to
//! serialise one cannot show it: the value is read only through [`Secret::expose`], where a
//! request is built.
//!
//! Everything that leaves the process as text (reports, HAR, the terminal, error messages) goes
//! through one [`Redactor`]: it replaces each known secret by [`REDACTED`] and any `user:password@`
//! of a URL in the text by `[REDACTED]@`, so a credential nobody declared (pasted into a URL) is
//! hidden too. [`redact_json`] hides the fields of a JSON body that name a secret (`csrf_token`,
//! `code`, `password`, ...), and [`Redactor::excerpt`], the one way a message or report quotes an
//! answer's body, applies both.
//!
//! A leaf: it imports nothing of this crate, and every module may use it.

use std::fmt;
use std::sync::{Arc, RwLock};

/// What every redacted value reads as.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets at least this long are redacted wherever they occur; shorter ones only where they stand
/// alone (see [`Redactor::redact`]).
pub const STANDALONE_BELOW: usize = 8;

/// A secret value: a session token, a cookie value, a recovery code, a password.
///
/// No `Display`, no `Serialize`; `Debug` is `Secret([REDACTED])`. Equality compares the values
/// (configurations compare whole), which says nothing of them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().into_boxed_str())
    }

    /// The value, for the one place that needs it: the request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (an empty secret hides nothing and is never redacted).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

/// So that clap parses a flag or environment variable straight into a `Secret`.
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

/// The one redaction path: the secrets of a run, and what to do with text that may hold them.
///
/// Clones share one list, so a secret learned during a run ([`Redactor::learn`], a recovery code
/// read from the courier) is redacted by every clone from then on: in the evidence, the details
/// and the HAR written at the end.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, none empty: a secret that contains another (a cookie `NAME=VALUE` and its
    /// `VALUE`) leaves no fragment behind, whatever the order given.
    secrets: Arc<RwLock<Vec<Secret>>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.read().len())
    }
}

impl Redactor {
    /// A redactor of `secrets` (empty ones ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        let r = Redactor::default();
        for s in secrets {
            r.learn(s.clone());
        }
        r
    }

    /// Redacts `secret` too from now on, in this redactor and every clone of it.
    pub fn learn(&self, secret: Secret) {
        if secret.is_empty() {
            return;
        }
        // A poisoned lock only means a panic elsewhere while holding it; the list is still whole.
        let mut list = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if !list.contains(&secret) {
            list.push(secret);
            list.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Secret>> {
        self.secrets.read().unwrap_or_else(|e| e.into_inner())
    }

    /// `text` with the credentials of every URL in it replaced ([`redact_userinfo`]) and every
    /// occurrence of each secret replaced by [`REDACTED`].
    ///
    /// A secret shorter than [`STANDALONE_BELOW`] characters is replaced only where it stands
    /// alone (not inside a longer word): a one-letter test cookie value replaced inside every
    /// word would turn `/self-service/recovery` into `/self-service/recover[REDACTED]` and make the
    /// evidence wrong, while a secret that short protects nothing.
    pub fn redact(&self, text: &str) -> String {
        let mut out = redact_userinfo(text);
        for s in self.read().iter() {
            let s = s.expose();
            if out.contains(s) {
                out = if s.chars().count() >= STANDALONE_BELOW {
                    out.replace(s, REDACTED)
                } else {
                    replace_standalone(&out, s)
                };
            }
        }
        out
    }
}

impl Redactor {
    /// At most `max` characters of a response body, for a message or a report: a JSON body with
    /// the values of its secret fields hidden ([`redact_json`]), any other body as text; then,
    /// like all text, every known secret and URL credential replaced ([`Redactor::redact`]).
    /// Trimmed; cut with `…`. Empty for an empty body.
    pub fn excerpt(&self, body: &[u8], max: usize) -> String {
        // A secret is redacted before the cut, so that no part of one survives at the edge;
        // the margin keeps a large body from being scanned whole.
        const MARGIN: usize = 1024;
        let text = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(mut v) => {
                redact_json(&mut v);
                v.to_string()
            }
            Err(_) => {
                let head = &body[..body.len().min((max + MARGIN) * 4)];
                String::from_utf8_lossy(head).into_owned()
            }
        };
        let head: String = text.trim().chars().take(max + MARGIN).collect();
        let redacted = self.redact(&head);
        if redacted.chars().count() <= max && head.len() == text.trim().len() {
            return redacted;
        }
        let mut out: String = redacted.chars().take(max).collect();
        out.push('…');
        out
    }
}

fn replace_standalone(text: &str, secret: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(secret) {
        let end = i + secret.len();
        let before = text[..i].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(word) && !after.is_some_and(word) {
            out.push_str(&text[last..i]);
            out.push_str(REDACTED);
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// `text` with the `user:password@` of every URL in it replaced by `[REDACTED]@`. Found
/// textually (after each `://`, up to the end of the authority), so that a value that does not
/// even parse as a URL, or a URL inside an error message, is redacted too.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let authority_start = at + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        // The authority ends at the path, query or fragment, or at whatever cannot be part of a
        // URL in running text (a space, a quote, a bracket).
        let len = after
            .find(|c: char| {
                matches!(
                    c,
                    '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`' | ')' | ']'
                ) || c.is_whitespace()
            })
            .unwrap_or(after.len());
        match after[..len].rfind('@') {
            Some(user_end) => {
                out.push_str(REDACTED);
                out.push_str(&after[user_end..len]);
            }
            None => out.push_str(&after[..len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The field names (any case) whose string values a JSON body's excerpt never shows: CSRF
/// tokens, session tokens, recovery codes, passwords and cookies.
pub const SECRET_FIELDS: &[&str] = &[
    "csrf_token",
    "ory_session_token",
    "session_token",
    "token",
    "code",
    "password",
    "cookie",
    "set-cookie",
];

/// Replaces, in place, the string value of every field named in [`SECRET_FIELDS`], and the
/// `value` of a UI node whose `name` is one of them (a Kratos form carries its CSRF token and code
/// that way), by [`REDACTED`].
pub fn redact_json(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let secret_input = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| SECRET_FIELDS.contains(&n));
            for (key, child) in map.iter_mut() {
                let secret = SECRET_FIELDS.contains(&key.to_ascii_lowercase().as_str())
                    || (secret_input && key == "value");
                if secret && child.is_string() {
                    *child = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(secrets: &[&str]) -> Redactor {
        let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::from(*s)).collect();
        Redactor::new(&secrets)
    }

    #[test]
    fn a_secret_cannot_be_printed() {
        let s = Secret::from("tok-123456");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret([REDACTED]))");
        assert_eq!(s.expose(), "tok-123456");
        assert!(!format!("{:?}", redactor(&["tok-123456"])).contains("tok"));
    }

    #[test]
    fn redact_replaces_every_occurrence_of_every_secret() {
        assert_eq!(
            redactor(&["tok-123", "cookie=abc"])
                .redact("X-Session-Token: tok-123; again tok-123; cookie=abc"),
            "X-Session-Token: [REDACTED]; again [REDACTED]; [REDACTED]"
        );
    }

    #[test]
    fn redact_ignores_empty_secrets_and_leaves_other_text_alone() {
        // An empty secret would match between every character; it must be a no-op.
        assert_eq!(redactor(&[""]).redact("nothing secret"), "nothing secret");
        assert_eq!(
            Redactor::default().redact("nothing secret"),
            "nothing secret"
        );
    }

    #[test]
    fn redact_is_idempotent_and_keeps_existing_markers() {
        let r = redactor(&["s3cr3t"]);
        let once = r.redact("a=s3cr3t b=[REDACTED]");
        assert_eq!(once, "a=[REDACTED] b=[REDACTED]");
        assert_eq!(r.redact(&once), once);
    }

    #[test]
    fn a_short_secret_is_redacted_where_it_stands_alone_only() {
        let r = redactor(&["y", "RED"]);
        assert_eq!(
            r.redact("GET /self-service/recovery/api Cookie: x=y {\"t\":\"y\"} y"),
            "GET /self-service/recovery/api Cookie: x=[REDACTED] {\"t\":\"[REDACTED]\"} [REDACTED]"
        );
        // Markers already placed survive a secret that is part of them.
        assert_eq!(r.redact("a [REDACTED] RED"), "a [REDACTED] [REDACTED]");
    }

    #[test]
    fn redact_handles_overlapping_and_unicode_secrets() {
        // The shorter secret given first must not leave a fragment of the longer one behind.
        assert_eq!(
            redactor(&["tokén", "tokén-long"]).redact("x tokén-long y tokén"),
            "x [REDACTED] y [REDACTED]"
        );
    }

    #[test]
    fn a_secret_learned_during_a_run_is_redacted_by_every_clone() {
        let r = redactor(&["tok-123456"]);
        let clone = r.clone();
        clone.learn(Secret::from("493021"));
        assert_eq!(
            r.redact("code=493021 token=tok-123456"),
            "code=[REDACTED] token=[REDACTED]"
        );
    }

    #[test]
    fn url_credentials_are_redacted_wherever_they_appear() {
        let cases = [
            ("https://u:p@h/a?x=@y", "https://[REDACTED]@h/a?x=@y"),
            ("https://u:p@w@h", "https://[REDACTED]@h"),
            ("https://h/a@b", "https://h/a@b"),
            ("foo", "foo"),
            ("http://u:pa55word@h:1/auth", "http://[REDACTED]@h:1/auth"),
            // Not a URL the parser accepts, and a URL inside a message.
            ("http://u:p@[::1", "http://[REDACTED]@[::1"),
            (
                "error sending request for url (http://admin:pa55word@127.0.0.1:9/x): refused",
                "error sending request for url (http://[REDACTED]@127.0.0.1:9/x): refused",
            ),
            (
                "`ftp://a:b@h` then 'https://c:d@e' and https://f@g",
                "`ftp://[REDACTED]@h` then 'https://[REDACTED]@e' and https://[REDACTED]@g",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_userinfo(input), expected, "{input}");
            assert_eq!(Redactor::default().redact(input), expected, "{input}");
        }
    }

    #[test]
    fn an_excerpt_hides_secrets_in_any_body_and_cuts_after_redacting() {
        let r = redactor(&["planted-token-7f3a9c"]);
        // Not JSON: an HTML error page or a proxy that echoes the request.
        assert_eq!(
            r.excerpt(b"  <p>X-Session-Token: planted-token-7f3a9c</p>\n", 200),
            "<p>X-Session-Token: [REDACTED]</p>"
        );
        // JSON: the secret fields, and a known secret elsewhere.
        assert_eq!(
            r.excerpt(br#"{"code":"123456","echo":"planted-token-7f3a9c"}"#, 200),
            r#"{"code":"[REDACTED]","echo":"[REDACTED]"}"#
        );
        // A secret across the cut leaves no fragment.
        let cut = r.excerpt(b"0123456789planted-token-7f3a9c", 14);
        assert_eq!(cut, "0123456789[RED…");
        assert!(!cut.contains("plant"), "{cut}");
        assert_eq!(r.excerpt(b"abc", 2), "ab…");
        assert_eq!(r.excerpt(b"   ", 10), "");
        let big = vec![b'x'; 10_000_000];
        assert_eq!(r.excerpt(&big, 5), "xxxxx…");
    }

    #[test]
    fn json_fields_that_name_a_secret_are_hidden() {
        let mut v = serde_json::json!({
            "csrf_token": "c",
            "Code": "123456",
            "ui": { "nodes": [
                { "attributes": { "name": "code", "value": "654321" } },
                { "attributes": { "name": "email", "value": "a@example.org" } }
            ] },
            "n": 3
        });
        redact_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "csrf_token": "[REDACTED]",
                "Code": "[REDACTED]",
                "ui": { "nodes": [
                    { "attributes": { "name": "code", "value": "[REDACTED]" } },
                    { "attributes": { "name": "email", "value": "a@example.org" } }
                ] },
                "n": 3
            })
        );
    }
}
