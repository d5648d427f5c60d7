//! Code sources: where the recovery code that a deployment sent to an address can be read back, so
//! that `check` and `load` can complete a recovery as its user would. One implementation shared by
//! both (`load`'s `read-code` step and `check`'s success-path checks).
//!
//! Two sources:
//! - [`SourceKind::Courier`]: Kratos's admin API, `GET /admin/courier/messages?recipient=ADDR`
//!   (the reference server serves the same route). Kratos shows the bodies only under
//!   `kratos serve --dev`; otherwise every body reads [`REDACTED_BODY`], which is reported as
//!   [`CodeError::Redacted`] with what to do.
//! - [`SourceKind::Mailpit`]: the Mailpit mail catcher behind the deployment's SMTP:
//!   `GET /api/v1/search?query=to:ADDR` lists the messages (newest first), then
//!   `GET /api/v1/message/{ID}` gives each one's `Text`. Mailpit's `to:` is a substring match, so
//!   the recipients are compared exactly here.
//!
//! Under `load`, many users wait for their codes at once, each at its own address: each looks its
//! code up with one search for its address ([`CodeSource::search_url`], a few newest messages),
//! never a listing of the whole inbox, and takes the newest message newer than the one whose code
//! it used last ([`newest_unseen`]). The requests are sent and timed by the load engine; the URLs,
//! the answers' parsing and the choice of message are this module's, as for `check`.
//!
//! A recovery e-mail does not name its flow. "The code sent for flow F" is therefore the code of
//! the first message to ADDR that was not there before F's e-mail was submitted: take a
//! [`CodeSource::mark`] before the submission and pass it to [`CodeSource::code_after`], which
//! polls until that message arrives (Kratos's courier sends asynchronously).
//!
//! The courier's listing holds a message from the moment it is queued, so a mark excludes every
//! earlier flow's message. A mail catcher only sees a message once the courier sent it: an
//! earlier flow's mail to the same address (the previous run's last submissions, say) can still
//! arrive after the mark. Kratos's courier sends its queue in order, about once a second, so for
//! Mailpit the code is the newest new message once [`MAIL_IN_FLIGHT`] has passed since the mark.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use url::Url;

/// The body Kratos's courier listing shows outside `--dev`.
pub const REDACTED_BODY: &str = "<redacted-unless-dev-mode>";

/// How long [`CodeSource::code_after`] waits for a courier message to leave `queued`.
const SETTLE: Duration = Duration::from_secs(3);

/// How long after a submission a mail catcher may still receive an earlier flow's mail to the
/// same address: Kratos's courier sends its queue about once a second
/// (`courier.worker.pull_wait`, 1 s by default), in order.
pub const MAIL_IN_FLIGHT: Duration = Duration::from_millis(2500);

/// How often [`CodeSource::code_after`] asks again while the message has not arrived.
const POLL: Duration = Duration::from_millis(100);

/// Which kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Kratos's admin courier listing (or the reference server's).
    Courier,
    /// Mailpit's HTTP API.
    Mailpit,
}

impl SourceKind {
    /// How the source is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Courier => "the courier admin API",
            SourceKind::Mailpit => "Mailpit",
        }
    }
}

/// Why no code could be read.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The source's URL cannot be used.
    #[error("{flag} `{value}` is not usable: {reason}")]
    BadUrl {
        /// `--courier-url` or `--mailpit-url`.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client of the code source: {0}")]
    Client(String),
    /// The request did not get an answer.
    #[error("{source_name} at {url} did not answer: {cause}")]
    Transport {
        /// The source.
        source_name: &'static str,
        /// The URL requested.
        url: String,
        /// The transport error.
        cause: String,
    },
    /// The source answered with an unexpected status.
    #[error("{source_name} answered {status} to GET {url}: {excerpt}")]
    Status {
        /// The source.
        source_name: &'static str,
        /// The URL requested.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body.
        excerpt: String,
    },
    /// The source answered something that is not its listing or message.
    #[error("{source_name} answered GET {url} with a body that is not what it serves: {reason}")]
    Body {
        /// The source.
        source_name: &'static str,
        /// The URL requested.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Kratos hides message bodies outside dev mode.
    #[error("the courier at {url} shows message bodies as `{REDACTED_BODY}`: run Kratos with `kratos serve --dev`, or read the mail from a mail catcher with --mailpit-url")]
    Redacted {
        /// The listing URL.
        url: String,
    },
    /// No new message with a code arrived in time.
    #[error("no new recovery code for {recipient} arrived at {source_name} ({url}) within {waited:?}{seen}")]
    NoCode {
        /// The source.
        source_name: &'static str,
        /// The listing URL.
        url: String,
        /// The address.
        recipient: String,
        /// How long it was polled.
        waited: Duration,
        /// What was there instead (empty, or "; N new messages without a code").
        seen: String,
    },
}

/// One message of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The source's message id.
    pub id: String,
    /// When the source received or queued it (None: unknown).
    pub created: Option<DateTime<Utc>>,
    /// The text body (Mailpit's listing has none until the message is read).
    pub body: Option<String>,
    /// The courier's delivery status (`queued`, `processing`, `sent`, `abandoned`); `None` for
    /// Mailpit, whose messages are delivered by definition.
    pub status: Option<String>,
}

/// The message ids a source had for an address at one moment, and that moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    ids: HashSet<String>,
    at: Option<tokio::time::Instant>,
}

impl Mark {
    /// A mark that has seen nothing: every message counts as new.
    pub fn empty() -> Self {
        Mark::default()
    }
    /// Whether the mark saw this message id.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }
    /// The message ids seen.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }
    /// Records a message as seen (e.g. the one whose code was just used).
    pub fn insert(&mut self, id: impl Into<String>) {
        self.ids.insert(id.into());
    }
}

/// A code read from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The code.
    pub code: String,
    /// The message it came from.
    pub message_id: String,
}

/// A place to read sent recovery codes from.
#[derive(Debug, Clone)]
pub struct CodeSource {
    kind: SourceKind,
    base: Url,
    client: reqwest::Client,
}

impl CodeSource {
    /// A source of `kind` at `url` (the courier: the admin API's base URL; Mailpit: its web UI
    /// URL), each request bounded by `timeout`.
    pub fn new(kind: SourceKind, url: &str, timeout: Duration) -> Result<Self, CodeError> {
        let flag = match kind {
            SourceKind::Courier => "--courier-url",
            SourceKind::Mailpit => "--mailpit-url",
        };
        let bad = |reason: &str| CodeError::BadUrl {
            flag,
            value: url.to_owned(),
            reason: reason.to_owned(),
        };
        let mut base = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(bad("it must be an absolute http(s) URL"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("give the base URL, without query or fragment"));
        }
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        crate::tls::install_default_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CodeError::Client(e.to_string()))?;
        Ok(CodeSource { kind, base, client })
    }

    /// The kind of source.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// The base URL, as given (without trailing slash).
    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// One line naming the source, for reports.
    pub fn describe(&self) -> String {
        format!("{} at {}", self.kind.name(), self.base())
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// The URL that lists the messages to `recipient`.
    pub fn listing_url(&self, recipient: &str) -> Url {
        self.search_url(recipient, 50)
    }

    /// The URL that lists the messages to `recipient`; Mailpit gives the `limit` newest (the
    /// courier listing has no limit).
    pub fn search_url(&self, recipient: &str, limit: usize) -> Url {
        match self.kind {
            SourceKind::Courier => self.url("/admin/courier/messages", &[("recipient", recipient)]),
            SourceKind::Mailpit => self.url(
                "/api/v1/search",
                &[
                    ("query", &format!("to:\"{recipient}\"")),
                    ("limit", &limit.to_string()),
                ],
            ),
        }
    }

    /// The URL of one Mailpit message (its JSON, with `Text`).
    pub fn message_url(&self, id: &str) -> Url {
        let mut url = self.url("/api/v1/message", &[]);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(id);
        }
        url
    }

    /// Asks Mailpit for its newest message, to learn before a run that `--mailpit-url` is a
    /// Mailpit (an unreachable URL or an answer that is not Mailpit's JSON is an error here, not
    /// a wait for codes that never come), and returns Mailpit's clock (its `Date` header), so
    /// that messages received before the run are never taken for its codes.
    pub async fn mailpit_clock(&self) -> Result<Option<DateTime<Utc>>, CodeError> {
        let url = self.url("/api/v1/messages", &[("limit", "1")]);
        let (json, date) = self.get_json_dated(&url).await?;
        if json.get("messages").and_then(Value::as_array).is_none() {
            return Err(CodeError::Body {
                source_name: self.kind.name(),
                url: url.to_string(),
                reason: format!(
                    "not Mailpit's message list (no `messages` array): {}",
                    excerpt(json.to_string().as_bytes())
                ),
            });
        }
        Ok(date)
    }

    async fn get_json(&self, url: &Url) -> Result<Value, CodeError> {
        self.get_json_dated(url).await.map(|(json, _)| json)
    }

    /// The JSON answer to `GET url` and the answer's `Date`, if it has a valid one.
    async fn get_json_dated(&self, url: &Url) -> Result<(Value, Option<DateTime<Utc>>), CodeError> {
        let source_name = self.kind.name();
        let transport = |e: reqwest::Error| CodeError::Transport {
            source_name,
            url: url.to_string(),
            cause: crate::causes::render(&e),
        };
        let resp = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&Utc));
        let bytes = resp.bytes().await.map_err(transport)?;
        if status != 200 {
            return Err(CodeError::Status {
                source_name,
                url: url.to_string(),
                status,
                excerpt: excerpt(&bytes),
            });
        }
        let json = serde_json::from_slice(&bytes).map_err(|e| CodeError::Body {
            source_name,
            url: url.to_string(),
            reason: format!("not JSON ({e}): {}", excerpt(&bytes)),
        })?;
        Ok((json, date))
    }

    /// The messages to `recipient`, newest first. Courier messages carry their body; Mailpit's
    /// do not (see [`CodeSource::body`]).
    pub async fn messages(&self, recipient: &str) -> Result<Vec<Mail>, CodeError> {
        let url = self.listing_url(recipient);
        let json = self.get_json(&url).await?;
        match self.kind {
            SourceKind::Courier => parse_courier_listing(&json).map(newest_first),
            SourceKind::Mailpit => parse_mailpit_search(&json, recipient),
        }
        .map_err(|reason| CodeError::Body {
            source_name: self.kind.name(),
            url: url.to_string(),
            reason,
        })
    }

    /// The text body of a message (the courier's is in its listing entry already).
    pub async fn body(&self, mail: &Mail) -> Result<String, CodeError> {
        if let Some(body) = &mail.body {
            return Ok(body.clone());
        }
        let url = self.message_url(&mail.id);
        let json = self.get_json(&url).await?;
        mailpit_text(&json).map_err(|reason| CodeError::Body {
            source_name: self.kind.name(),
            url: url.to_string(),
            reason,
        })
    }

    /// The messages to `recipient` now: take it before submitting the e-mail whose code you want.
    pub async fn mark(&self, recipient: &str) -> Result<Mark, CodeError> {
        let at = tokio::time::Instant::now();
        Ok(Mark {
            ids: self
                .messages(recipient)
                .await?
                .into_iter()
                .map(|m| m.id)
                .collect(),
            at: Some(at),
        })
    }

    /// The code of the newest message to `recipient` that `after` has not seen, polling for up to
    /// `wait` until one arrives.
    pub async fn code_after(
        &self,
        recipient: &str,
        after: &Mark,
        wait: Duration,
    ) -> Result<Code, CodeError> {
        let start = tokio::time::Instant::now();
        let mut without_code = HashSet::new();
        loop {
            // Newest first: once an earlier flow's mail can no longer be on its way, the first
            // new message is this flow's.
            let in_flight = self.kind == SourceKind::Mailpit
                && after.at.is_some_and(|at| at.elapsed() < MAIL_IN_FLIGHT);
            for mail in self.messages(recipient).await? {
                if after.contains(&mail.id) || without_code.contains(&mail.id) || in_flight {
                    continue;
                }
                // Kratos's courier marks a message sent in its own database write; a code used
                // while that write is pending can be refused on SQLite. Give it a moment.
                let pending = matches!(mail.status.as_deref(), Some("queued" | "processing"));
                if pending && start.elapsed() < SETTLE.min(wait / 2) {
                    continue;
                }
                let body = self.body(&mail).await?;
                if body.trim() == REDACTED_BODY {
                    return Err(CodeError::Redacted {
                        url: self.listing_url(recipient).to_string(),
                    });
                }
                match code_in(&body) {
                    Some(code) => {
                        return Ok(Code {
                            code,
                            message_id: mail.id,
                        })
                    }
                    None => {
                        without_code.insert(mail.id);
                    }
                }
            }
            if start.elapsed() >= wait {
                return Err(CodeError::NoCode {
                    source_name: self.kind.name(),
                    url: self.listing_url(recipient).to_string(),
                    recipient: recipient.to_owned(),
                    waited: wait,
                    seen: match without_code.len() {
                        0 => String::new(),
                        n => format!("; {n} new message(s) without a code"),
                    },
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Kratos's courier listing (`[message]`) as mails. Bodies are kept as sent (possibly redacted).
pub fn parse_courier_listing(json: &Value) -> Result<Vec<Mail>, String> {
    let Value::Array(items) = json else {
        return Err("the courier listing is not a JSON array of messages".to_owned());
    };
    items
        .iter()
        .map(|m| {
            let id = m
                .get("id")
                .and_then(Value::as_str)
                .ok_or("a courier message has no `id`")?;
            Ok(Mail {
                id: id.to_owned(),
                created: time(m.get("created_at")),
                status: m.get("status").and_then(Value::as_str).map(str::to_owned),
                body: Some(
                    m.get("body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                ),
            })
        })
        .collect()
}

/// Newest first; a stable sort keeps the source's order for equal or unknown times.
fn newest_first(mut mails: Vec<Mail>) -> Vec<Mail> {
    mails.sort_by_key(|m| std::cmp::Reverse(m.created));
    mails
}

/// Mailpit's search answer (`{"messages": [{ID, To: [{Address}], Created}]}`) as mails to
/// exactly `recipient` (Mailpit's `to:` also matches longer addresses that contain it), newest
/// first.
pub fn parse_mailpit_search(json: &Value, recipient: &str) -> Result<Vec<Mail>, String> {
    let items = json
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("the Mailpit answer has no `messages` array")?;
    let mut out = Vec::new();
    for m in items {
        let id = m
            .get("ID")
            .and_then(Value::as_str)
            .ok_or("a Mailpit message has no `ID`")?;
        let to_recipient = m
            .get("To")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("Address").and_then(Value::as_str))
            .any(|a| a.eq_ignore_ascii_case(recipient));
        if to_recipient {
            out.push(Mail {
                id: id.to_owned(),
                created: time(m.get("Created")),
                body: None,
                status: None,
            });
        }
    }
    Ok(newest_first(out))
}

/// The text body of Mailpit's message answer (`GET /api/v1/message/{ID}`).
pub fn mailpit_text(json: &Value) -> Result<String, String> {
    json.get("Text")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "the message has no `Text`".to_owned())
}

/// The newest of `mails` (newest first, as [`CodeSource::messages`] and Mailpit's search give
/// them) that arrived after the message `last_used` (the one whose code was read last; `None`:
/// none yet) and not before `not_before` (when the reader started: older messages are another
/// run's). A listing that no longer holds `last_used` (it fell out of the newest few) is all
/// newer than it.
pub fn newest_unseen<'a>(
    mails: &'a [Mail],
    last_used: Option<&str>,
    not_before: Option<DateTime<Utc>>,
) -> Option<&'a Mail> {
    mails
        .iter()
        .take_while(|m| Some(m.id.as_str()) != last_used)
        .find(|m| match (not_before, m.created) {
            (Some(start), Some(created)) => created >= start,
            _ => true,
        })
}

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The recovery code in a message body: a line that is only digits (Kratos's template puts the
/// code on its own line), else the first word of exactly six digits.
pub fn code_in(body: &str) -> Option<String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(line) = body
        .lines()
        .map(str::trim)
        .find(|l| (4..=12).contains(&l.len()) && digits(l))
    {
        return Some(line.to_owned());
    }
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_owned)
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let mut out: String = text.chars().take(160).collect();
    if text.chars().count() > 160 {
        out.push('…');
    }
    if out.is_empty() {
        "(empty body)".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_code_is_found_in_kratos_and_custom_templates() {
        let kratos = "Recover access to your account by entering the following code:\n\n332892\n\nIf this was not you, do nothing. This code expires in 60 minutes.\n";
        assert_eq!(code_in(kratos).as_deref(), Some("332892"));
        assert_eq!(
            code_in("Recover:\r\n\r\n012345\r\n").as_deref(),
            Some("012345")
        );
        assert_eq!(
            code_in("Your code is 654321. It expires in 60 minutes.").as_deref(),
            Some("654321")
        );
        assert_eq!(code_in("expires in 60 minutes"), None);
        assert_eq!(code_in(REDACTED_BODY), None);
    }

    #[test]
    fn mailpit_recipients_are_matched_exactly() {
        let answer = json!({"messages": [
            {"ID": "a", "To": [{"Name": "", "Address": "xknown@example.org"}], "Created": "2026-12-01T21:18:44.845Z"},
            {"ID": "b", "To": [{"Name": "", "Address": "Known@Example.org"}], "Created": "2026-12-01T21:18:45.000Z"},
        ]});
        let mails = parse_mailpit_search(&answer, "known@example.org").expect("parses");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].id, "b");
        assert!(parse_mailpit_search(&json!([]), "a@b").is_err());
    }

    fn mail(id: &str, created: &str) -> Mail {
        Mail {
            id: id.to_owned(),
            created: time(Some(&json!(created))),
            body: None,
            status: None,
        }
    }

    #[test]
    fn the_newest_message_after_the_last_used_one_is_taken() {
        // Newest first, as Mailpit's search answers.
        let mails = [
            mail("c", "2026-12-01T10:00:03Z"),
            mail("b", "2026-12-01T10:00:02Z"),
            mail("a", "2026-12-01T10:00:01Z"),
        ];
        let id = |m: Option<&Mail>| m.map(|m| m.id.clone());
        assert_eq!(id(newest_unseen(&mails, None, None)), Some("c".into()));
        assert_eq!(id(newest_unseen(&mails, Some("b"), None)), Some("c".into()));
        // The code of `c` was used: the next one has not arrived yet, and `a`/`b` are older.
        assert_eq!(id(newest_unseen(&mails, Some("c"), None)), None);
        // `last_used` fell out of the newest few: everything listed is newer.
        assert_eq!(id(newest_unseen(&mails, Some("z"), None)), Some("c".into()));
        // Messages from before the run are another run's.
        let start = time(Some(&json!("2026-12-01T10:00:02.500Z")));
        assert_eq!(id(newest_unseen(&mails, None, start)), Some("c".into()));
        let later = time(Some(&json!("2026-12-01T10:00:04Z")));
        assert_eq!(id(newest_unseen(&mails, None, later)), None);
        assert_eq!(id(newest_unseen(&[], None, None)), None);
    }

    #[test]
    fn mailpit_urls_are_a_search_by_address_and_a_message_by_id() {
        let mp = CodeSource::new(
            SourceKind::Mailpit,
            "http://h:8025/mail/",
            Duration::from_secs(1),
        )
        .expect("valid");
        assert_eq!(
            mp.search_url("recovery-load-1@example.org", 5).as_str(),
            "http://h:8025/mail/api/v1/search?query=to%3A%22recovery-load-1%40example.org%22&limit=5"
        );
        assert_eq!(
            mp.message_url("1xpG1vMCNNXHW0ytt1ahfz").as_str(),
            "http://h:8025/mail/api/v1/message/1xpG1vMCNNXHW0ytt1ahfz"
        );
        // An id is one path segment, whatever it holds.
        assert_eq!(
            mp.message_url("../x?y").as_str(),
            "http://h:8025/mail/api/v1/message/..%2Fx%3Fy"
        );
        assert_eq!(
            mailpit_text(&json!({"Text": "Hi\n\n123456\n"})).as_deref(),
            Ok("Hi\n\n123456\n")
        );
        assert!(mailpit_text(&json!({"HTML": "<p>"})).is_err());
    }

    #[test]
    fn courier_listings_must_be_arrays_of_messages_with_ids() {
        assert!(parse_courier_listing(&json!({"error": {}})).is_err());
        assert!(parse_courier_listing(&json!([{"body": "x"}])).is_err());
        let mails = parse_courier_listing(
            &json!([{"id": "m1", "body": "123456", "created_at": "2026-12-01T21:18:44Z"}]),
        )
        .expect("parses");
        assert_eq!(mails[0].body.as_deref(), Some("123456"));
        assert!(mails[0].created.is_some());
    }

    #[test]
    fn bad_urls_are_refused_with_the_flag() {
        let err = CodeSource::new(
            SourceKind::Mailpit,
            "localhost:8025",
            Duration::from_secs(1),
        )
        .expect_err("no scheme");
        assert!(err.to_string().contains("--mailpit-url"), "{err}");
        assert!(CodeSource::new(
            SourceKind::Courier,
            "http://h:4434/?x=1",
            Duration::from_secs(1)
        )
        .is_err());
        let ok = CodeSource::new(
            SourceKind::Courier,
            "http://h:4434/admin-prefix/",
            Duration::from_secs(1),
        )
        .expect("valid");
        assert_eq!(
            ok.listing_url("a+b@example.org").as_str(),
            "http://h:4434/admin-prefix/admin/courier/messages?recipient=a%2Bb%40example.org"
        );
    }
}
