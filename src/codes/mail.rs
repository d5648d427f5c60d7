//! What both sources' answers become and what is read from them: a message ([`Mail`]), the code
//! in its body ([`code_in`]), and which message is the one waited for ([`newest_unseen`]).

use chrono::{DateTime, Utc};
use serde_json::Value;

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

/// A code read from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The code.
    pub code: String,
    /// The message it came from.
    pub message_id: String,
}

/// Newest first; a stable sort keeps the source's order for equal or unknown times.
pub(crate) fn newest_first(mut mails: Vec<Mail>) -> Vec<Mail> {
    mails.sort_by_key(|m| std::cmp::Reverse(m.created));
    mails
}

/// The newest of `mails` (newest first, as [`super::CodeSource::messages`] and Mailpit's search
/// give them) that arrived after the message `last_used` (the one whose code was read last;
/// `None`: none yet) and not before `not_before` (when the reader started: older messages are
/// another run's). A listing that no longer holds `last_used` (it fell out of the newest few) is
/// all newer than it.
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

/// An RFC 3339 time of a source's JSON.
pub(crate) fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::error::REDACTED_BODY;
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
}
