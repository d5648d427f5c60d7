//! [`CodeSource`]: one source's client. It asks the source for the messages to an address
//! (through [`super::courier`] or [`super::mailpit`]), and waits for the code of a flow:
//! [`CodeSource::mark`] before the e-mail is submitted, [`CodeSource::code_after`] after.

use super::courier::{self, parse_courier_listing};
use super::endpoint::{Endpoint, SourceKind};
use super::error::{CodeError, REDACTED_BODY};
use super::mail::{code_in, newest_first, Code, Mail};
use super::mailpit::{self, mailpit_text, parse_mailpit_search, MAIL_IN_FLIGHT};
use crate::secret::{Redactor, Secret};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use url::Url;

/// How long [`CodeSource::code_after`] waits for a courier message to leave `queued`.
const SETTLE: Duration = Duration::from_secs(3);

/// How often [`CodeSource::code_after`] asks again while the message has not arrived.
const POLL: Duration = Duration::from_millis(100);

/// The most characters of a source's answer an error quotes.
const EXCERPT: usize = 160;

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

/// A place to read sent recovery codes from.
#[derive(Debug, Clone)]
pub struct CodeSource {
    endpoint: Endpoint,
    client: reqwest::Client,
    /// Hides the endpoint's credentials in what its errors quote.
    redactor: Redactor,
}

impl CodeSource {
    /// A source of `kind` at `url` (the courier: the admin API's base URL; Mailpit: its web UI
    /// URL; either may carry `user:password@`, sent as basic authentication), each request
    /// bounded by `timeout`.
    pub fn new(kind: SourceKind, url: &str, timeout: Duration) -> Result<Self, CodeError> {
        CodeSource::at(Endpoint::parse(kind, url)?, timeout)
    }

    /// A source at a parsed `endpoint`.
    pub fn at(endpoint: Endpoint, timeout: Duration) -> Result<Self, CodeError> {
        crate::tls::install_default_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CodeError::Client(e.to_string()))?;
        let redactor = Redactor::new(endpoint.secrets());
        Ok(CodeSource {
            endpoint,
            client,
            redactor,
        })
    }

    /// The kind of source.
    pub fn kind(&self) -> SourceKind {
        self.endpoint.kind()
    }

    /// Where it answers, and with which credentials.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The base URL, as given without its credentials (and without trailing slash).
    pub fn base(&self) -> &str {
        self.endpoint.base()
    }

    /// What a run's redactor must hide of this source (its URL's credentials).
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.endpoint.secrets()
    }

    /// One line naming the source, for reports.
    pub fn describe(&self) -> String {
        format!("{} at {}", self.kind().name(), self.base())
    }

    /// The URL that lists the messages to `recipient`.
    pub fn listing_url(&self, recipient: &str) -> Url {
        self.search_url(recipient, 50)
    }

    /// The URL that lists the messages to `recipient`; Mailpit gives the `limit` newest (the
    /// courier listing has no limit).
    pub fn search_url(&self, recipient: &str, limit: usize) -> Url {
        match self.kind() {
            SourceKind::Courier => courier::listing_url(&self.endpoint, recipient),
            SourceKind::Mailpit => mailpit::search_url(&self.endpoint, recipient, limit),
        }
    }

    /// The URL of one Mailpit message (its JSON, with `Text`).
    pub fn message_url(&self, id: &str) -> Url {
        mailpit::message_url(&self.endpoint, id)
    }

    /// Asks Mailpit for its newest message, to learn before a run that `--mailpit-url` is a
    /// Mailpit (an unreachable URL or an answer that is not Mailpit's JSON is an error here, not
    /// a wait for codes that never come), and returns Mailpit's clock (its `Date` header), so
    /// that messages received before the run are never taken for its codes.
    pub async fn mailpit_clock(&self) -> Result<Option<DateTime<Utc>>, CodeError> {
        let url = mailpit::newest_url(&self.endpoint);
        let (json, date) = self.get_json_dated(&url).await?;
        if json.get("messages").and_then(Value::as_array).is_none() {
            return Err(CodeError::Body {
                source_name: self.kind().name(),
                url: url.to_string(),
                reason: format!(
                    "not Mailpit's message list (no `messages` array): {}",
                    self.excerpt(json.to_string().as_bytes())
                ),
            });
        }
        Ok(date)
    }

    /// At most [`EXCERPT`] characters of an answer, through the one redactor.
    fn excerpt(&self, bytes: &[u8]) -> String {
        let text = self.redactor.excerpt(bytes, EXCERPT);
        if text.is_empty() {
            "(empty body)".to_owned()
        } else {
            text
        }
    }

    async fn get_json(&self, url: &Url) -> Result<Value, CodeError> {
        self.get_json_dated(url).await.map(|(json, _)| json)
    }

    /// The JSON answer to `GET url` and the answer's `Date`, if it has a valid one.
    async fn get_json_dated(&self, url: &Url) -> Result<(Value, Option<DateTime<Utc>>), CodeError> {
        let source_name = self.kind().name();
        let transport = |e: reqwest::Error| CodeError::Transport {
            source_name,
            url: url.to_string(),
            cause: self.redactor.redact(&crate::causes::render(&e)),
        };
        let resp = self
            .endpoint
            .authorize(self.client.get(url.clone()))
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
                excerpt: self.excerpt(&bytes),
            });
        }
        let json = serde_json::from_slice(&bytes).map_err(|e| CodeError::Body {
            source_name,
            url: url.to_string(),
            reason: format!("not JSON ({e}): {}", self.excerpt(&bytes)),
        })?;
        Ok((json, date))
    }

    /// The messages to `recipient`, newest first. Courier messages carry their body; Mailpit's
    /// do not (see [`CodeSource::body`]).
    pub async fn messages(&self, recipient: &str) -> Result<Vec<Mail>, CodeError> {
        let url = self.listing_url(recipient);
        let json = self.get_json(&url).await?;
        match self.kind() {
            SourceKind::Courier => parse_courier_listing(&json).map(newest_first),
            SourceKind::Mailpit => parse_mailpit_search(&json, recipient),
        }
        .map_err(|reason| CodeError::Body {
            source_name: self.kind().name(),
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
            source_name: self.kind().name(),
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
            let in_flight = self.kind() == SourceKind::Mailpit
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
                    source_name: self.kind().name(),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_source_with_credentials_shows_none_of_them() {
        let source = CodeSource::new(
            SourceKind::Courier,
            "http://qa:pa55word@h:4434",
            Duration::from_secs(1),
        )
        .expect("credentials are taken");
        for shown in [
            format!("{source:?}"),
            source.describe(),
            source.listing_url("a@example.org").to_string(),
            source.excerpt(b"<html>bad password pa55word</html>"),
        ] {
            assert!(!shown.contains("pa55word"), "{shown}");
        }
        assert_eq!(source.base(), "http://h:4434");
    }
}
