//! Kratos's courier admin API as a code source: `GET /admin/courier/messages?recipient=ADDR`
//! (the reference server serves the same route), whose messages carry their bodies. Kratos
//! shows the bodies only under `kratos serve --dev`; otherwise each reads
//! [`super::REDACTED_BODY`].

use super::endpoint::Endpoint;
use super::mail::{time, Mail};
use serde_json::Value;
use url::Url;

/// The path of the listing under the admin API's base URL.
pub const LISTING_PATH: &str = "/admin/courier/messages";

/// The URL that lists the messages to `recipient` (all of them: the listing has no limit).
pub fn listing_url(endpoint: &Endpoint, recipient: &str) -> Url {
    endpoint.url(LISTING_PATH, &[("recipient", recipient)])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::endpoint::SourceKind;
    use serde_json::json;

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
    fn the_listing_is_under_the_admin_prefix() {
        let admin =
            Endpoint::parse(SourceKind::Courier, "http://h:4434/admin-prefix/").expect("valid");
        assert_eq!(
            listing_url(&admin, "a+b@example.org").as_str(),
            "http://h:4434/admin-prefix/admin/courier/messages?recipient=a%2Bb%40example.org"
        );
    }
}
