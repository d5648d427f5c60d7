//! The courier listing (`GET {admin}/admin/courier/messages?recipient=`) as the read-code step
//! reads it: the newest unused recovery code, told apart from a listing whose bodies Kratos
//! redacted (it runs without `--dev`).

use serde_json::Value;

/// What to do about a courier that redacts its bodies.
pub const REDACTED_HINT: &str = "Kratos runs without --dev and hides the codes; run it with `kratos serve --dev`, or give --mailpit-url of a mail catcher that receives its mail";

/// [`newest_code`]'s answer when every candidate body is [`crate::codes::REDACTED_BODY`].
pub(super) const REDACTED: &str = "courier: the message bodies are redacted";

/// The newest recovery code in a Kratos-shaped courier listing, skipping the message already
/// used: the listing and the message bodies are read by [`crate::codes`], the one reader of
/// recovery codes that `check` uses too. Returns the message id and the code.
pub fn newest_code(
    body: &[u8],
    skip_id: Option<&str>,
) -> Result<(Option<String>, String), &'static str> {
    let listing = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|json| crate::codes::parse_courier_listing(&json).ok())
        .ok_or("courier: the listing is not a JSON array of messages")?;
    let mut best: Option<(&crate::codes::Mail, String)> = None;
    let mut redacted = false;
    for mail in &listing {
        if Some(mail.id.as_str()) == skip_id {
            continue;
        }
        let body = mail.body.as_deref().unwrap_or_default();
        // Kratos's JSON escapes `<` and `>`: compared after decoding, not in the raw bytes.
        redacted |= body == crate::codes::REDACTED_BODY;
        let Some(code) = crate::codes::code_in(body) else {
            continue;
        };
        // Later in the list wins a tie, so an unsorted listing without timestamps still gives the
        // last message appended.
        if best.as_ref().is_none_or(|(b, _)| mail.created >= b.created) {
            best = Some((mail, code));
        }
    }
    match best {
        Some((mail, code)) => Ok((Some(mail.id.clone()), code)),
        None if redacted => Err(REDACTED),
        None => Err("courier: no unused recovery code for the recipient"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn newest_code_picks_the_latest_unused_message() {
        let body = br#"[
          {"id":"a","recipient":"x@example.org","body":"Hi,\n\n111111\n\nbye","created_at":"2026-01-01T00:00:01Z"},
          {"id":"b","recipient":"x@example.org","body":"Hi,\n\n222222\n","created_at":"2026-01-01T00:00:02Z"},
          {"id":"c","recipient":"x@example.org","body":"no code here","created_at":"2026-01-01T00:00:03Z"}
        ]"#;
        assert_eq!(
            newest_code(body, None),
            Ok((Some("b".to_owned()), "222222".to_owned()))
        );
        assert_eq!(
            newest_code(body, Some("b")),
            Ok((Some("a".to_owned()), "111111".to_owned()))
        );
        assert!(newest_code(b"[]", None).is_err());
        assert!(newest_code(b"{}", None).is_err());
        assert!(newest_code(b"not json", None).is_err());
    }

    #[test]
    fn a_redacted_listing_is_told_apart_from_an_empty_one() {
        let body = br#"[{"id":"a","body":"\u003credacted-unless-dev-mode\u003e","created_at":"2026-01-01T00:00:01Z"}]"#;
        assert_eq!(newest_code(body, None), Err(REDACTED));
        assert_eq!(
            newest_code(b"[]", None),
            Err("courier: no unused recovery code for the recipient")
        );
    }
}
