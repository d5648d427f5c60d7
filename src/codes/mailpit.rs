//! The Mailpit mail catcher as a code source: `GET /api/v1/search?query=to:ADDR` lists the
//! messages to an address (newest first), `GET /api/v1/message/{ID}` gives one's `Text`.
//! Mailpit's `to:` is a substring match, so the recipients are compared exactly here.

use super::endpoint::Endpoint;
use super::mail::{newest_first, time, Mail};
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// How long after a submission a mail catcher may still receive an earlier flow's mail to the
/// same address: Kratos's courier sends its queue about once a second
/// (`courier.worker.pull_wait`, 1 s by default), in order.
pub const MAIL_IN_FLIGHT: Duration = Duration::from_millis(2500);

/// The URL of the `limit` newest messages to `recipient`.
pub fn search_url(endpoint: &Endpoint, recipient: &str, limit: usize) -> Url {
    endpoint.url(
        "/api/v1/search",
        &[
            ("query", &format!("to:\"{recipient}\"")),
            ("limit", &limit.to_string()),
        ],
    )
}

/// The URL of one message (its JSON, with `Text`).
pub fn message_url(endpoint: &Endpoint, id: &str) -> Url {
    let mut url = endpoint.url("/api/v1/message", &[]);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(id);
    }
    url
}

/// The URL of the newest message of all: what tells a Mailpit apart before a run.
pub fn newest_url(endpoint: &Endpoint) -> Url {
    endpoint.url("/api/v1/messages", &[("limit", "1")])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::endpoint::SourceKind;
    use serde_json::json;

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

    #[test]
    fn mailpit_urls_are_a_search_by_address_and_a_message_by_id() {
        let mp = Endpoint::parse(SourceKind::Mailpit, "http://h:8025/mail/").expect("valid");
        assert_eq!(
            search_url(&mp, "recovery-load-1@example.org", 5).as_str(),
            "http://h:8025/mail/api/v1/search?query=to%3A%22recovery-load-1%40example.org%22&limit=5"
        );
        assert_eq!(
            message_url(&mp, "1xpG1vMCNNXHW0ytt1ahfz").as_str(),
            "http://h:8025/mail/api/v1/message/1xpG1vMCNNXHW0ytt1ahfz"
        );
        // An id is one path segment, whatever it holds.
        assert_eq!(
            message_url(&mp, "../x?y").as_str(),
            "http://h:8025/mail/api/v1/message/..%2Fx%3Fy"
        );
        assert_eq!(
            mailpit_text(&json!({"Text": "Hi\n\n123456\n"})).as_deref(),
            Ok("Hi\n\n123456\n")
        );
        assert!(mailpit_text(&json!({"HTML": "<p>"})).is_err());
    }
}
