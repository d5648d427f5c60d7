//! Hand-written JSON output primitives: Go-compatible string escaping, RFC 3339 timestamps with
//! Go's trimmed nanoseconds, UUID text.
//!
//! Why hand-written: the server renders every body straight into a pre-sized `String` with the
//! fixed parts precomputed, instead of building a `serde_json::Value` per request (issue 3 §3).
//! The escaping follows Go's `encoding/json` with `EscapeHTML` on (what herodot uses), so `&`, `<`
//! and `>` come out as `\u0026`, `\u003c` and `\u003e`, exactly as Kratos sends them.

use std::fmt::Write as _;

/// Appends `s` as a JSON string literal (with the quotes), escaped as Go's `encoding/json` does.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    push_str_inner(out, s);
    out.push('"');
}

/// Appends the escaped contents of `s` without quotes.
pub(crate) fn push_str_inner(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, ch) in s.char_indices() {
        let esc: Option<&str> = match ch {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '<' => Some("\\u003c"),
            '>' => Some("\\u003e"),
            '&' => Some("\\u0026"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", ch as u32);
            }
        }
        start = i + ch.len_utf8();
    }
    out.push_str(&s[start..bytes.len()]);
}

/// Appends a UUID in its lowercase hyphenated form (no quotes).
pub(crate) fn push_uuid(out: &mut String, id: u128) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push_str(
        uuid::Uuid::from_u128(id)
            .hyphenated()
            .encode_lower(&mut buf),
    );
}

/// The UUID text of `id`.
pub(crate) fn uuid_string(id: u128) -> String {
    let mut s = String::with_capacity(36);
    push_uuid(&mut s, id);
    s
}

/// Appends an integer.
pub(crate) fn push_int(out: &mut String, v: i64) {
    let _ = write!(out, "{v}");
}

/// Appends `ns` (nanoseconds since the Unix epoch, UTC) as Go's `time.RFC3339Nano` does:
/// `2026-07-29T10:00:00.123456789Z`, trailing zeros of the fraction trimmed, no fraction when zero.
pub(crate) fn push_timestamp(out: &mut String, ns: i64) {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac != 0 {
        let mut digits = [0u8; 9];
        let mut f = frac;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (f % 10) as u8;
            f /= 10;
        }
        let mut len = 9;
        while len > 0 && digits[len - 1] == b'0' {
            len -= 1;
        }
        out.push('.');
        for &b in &digits[..len] {
            out.push(b as char);
        }
    }
    out.push('Z');
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A timestamp as its own string.
#[cfg(test)]
pub(crate) fn timestamp_string(ns: i64) -> String {
    let mut s = String::with_capacity(32);
    push_timestamp(&mut s, ns);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go_with_escape_html() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c<d>&e\n\u{1}\u{2028}é");
        assert_eq!(s, r#""a\"b\\c\u003cd\u003e\u0026e\n\u0001\u2028é""#);
        let v: serde_json::Value = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(v, "a\"b\\c<d>&e\n\u{1}\u{2028}é");
    }

    #[test]
    fn timestamps_match_rfc3339nano() {
        assert_eq!(timestamp_string(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            timestamp_string(1_785_319_200_123_456_789),
            "2026-07-29T10:00:00.123456789Z"
        );
        assert_eq!(
            timestamp_string(951_782_400_500_000_000),
            "2000-02-29T00:00:00.5Z"
        );
        for ns in [1i64, 1_700_000_000_000_000_001, 4_102_444_799_999_999_999] {
            let s = timestamp_string(ns);
            let parsed = chrono::DateTime::parse_from_rfc3339(&s).expect("rfc3339");
            assert_eq!(parsed.timestamp_nanos_opt(), Some(ns), "{s}");
        }
    }
}
