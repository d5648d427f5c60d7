//! Hand-written JSON output primitives: Go-compatible string escaping, RFC 3339 timestamps with
//! Go's trimmed nanoseconds, UUID text.
//!
//! Why hand-written: the server renders every body straight into a pre-sized `String` with the
//! fixed parts precomputed, instead of building a `serde_json::Value` per request (issue 3 §3).
//! The escaping follows Go's `encoding/json` with `EscapeHTML` on (what herodot uses), so `&`, `<`
//! and `>` come out as `\u0026`, `\u003c` and `\u003e`, exactly as Kratos sends them.

use std::cell::Cell;
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

/// The lowercase hyphenated text of a UUID, on the stack: render it once, copy it where needed.
pub(crate) struct UuidText([u8; uuid::fmt::Hyphenated::LENGTH]);

impl UuidText {
    pub(crate) fn new(id: u128) -> UuidText {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        uuid::Uuid::from_u128(id)
            .hyphenated()
            .encode_lower(&mut buf);
        UuidText(buf)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII (hex digits and hyphens).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Appends a UUID in its lowercase hyphenated form (no quotes).
pub(crate) fn push_uuid(out: &mut String, id: u128) {
    out.push_str(UuidText::new(id).as_str());
}

/// The UUID text of `id`.
pub(crate) fn uuid_string(id: u128) -> String {
    UuidText::new(id).as_str().to_owned()
}

/// Appends an integer.
pub(crate) fn push_int(out: &mut String, v: i64) {
    let _ = write!(out, "{v}");
}

/// "00", "01", … "99": two digits per division instead of one.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// A timestamp as Go's `time.RFC3339Nano` writes it, on the stack (at most 30 bytes:
/// `2026-07-29T10:00:00.123456789Z`).
pub(crate) struct Timestamp {
    buf: [u8; 30],
    len: usize,
}

impl Timestamp {
    /// `ns` nanoseconds since the Unix epoch, UTC: trailing zeros of the fraction trimmed, no
    /// fraction when it is zero. An `i64` of nanoseconds spans the years 1677 to 2262, so the
    /// year always has four digits.
    pub(crate) fn new(ns: i64) -> Timestamp {
        let secs = ns.div_euclid(1_000_000_000);
        let frac = ns.rem_euclid(1_000_000_000) as u32;
        let mut buf = *b"0000-00-00T00:00:00.000000000Z";
        buf[..19].copy_from_slice(&seconds_text(secs));
        let two = |buf: &mut [u8; 30], at: usize, v: u32| {
            let i = 2 * (v as usize % 100);
            buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        };
        let len = if frac == 0 {
            buf[19] = b'Z';
            20
        } else {
            // Nine digits as 1 + 4 × 2.
            buf[20] = b'0' + (frac / 100_000_000) as u8;
            let mut rest = frac % 100_000_000;
            for at in [27, 25, 23, 21] {
                two(&mut buf, at, rest % 100);
                rest /= 100;
            }
            let mut end = 29;
            while buf[end - 1] == b'0' {
                end -= 1;
            }
            buf[end] = b'Z';
            end + 1
        };
        Timestamp { buf, len }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII (digits and `-:.TZ`).
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Appends `ns` (nanoseconds since the Unix epoch, UTC) as Go's `time.RFC3339Nano` does:
/// `2026-07-29T10:00:00.123456789Z`, trailing zeros of the fraction trimmed, no fraction when zero.
pub(crate) fn push_timestamp(out: &mut String, ns: i64) {
    out.push_str(Timestamp::new(ns).as_str());
}

thread_local! {
    /// The whole seconds written last on this thread, with their text: a server writes many
    /// timestamps a second, two at a time (a flow's expiry and issue times), hence two entries.
    static SECONDS: Cell<[(i64, [u8; 19]); 2]> = const { Cell::new([(i64::MIN, [0; 19]); 2]) };
}

/// `2026-07-29T10:00:00` for `secs` seconds since the Unix epoch (UTC).
fn seconds_text(secs: i64) -> [u8; 19] {
    SECONDS.with(|cell| {
        let mut cache = cell.get();
        if let Some((_, text)) = cache.iter().find(|(s, _)| *s == secs) {
            return *text;
        }
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        let y = y.clamp(0, 9999) as u32;
        let mut text = *b"0000-00-00T00:00:00";
        for (at, v) in [
            (0, y / 100),
            (2, y % 100),
            (5, m),
            (8, d),
            (11, sod / 3600),
            (14, (sod / 60) % 60),
            (17, sod % 60),
        ] {
            let i = 2 * (v as usize % 100);
            text[at..at + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
        }
        cache[1] = cache[0];
        cache[0] = (secs, text);
        cell.set(cache);
        text
    })
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
        assert_eq!(timestamp_string(i64::MIN), "1677-09-21T00:12:43.145224192Z");
        assert_eq!(timestamp_string(i64::MAX), "2262-04-11T23:47:16.854775807Z");
        assert_eq!(timestamp_string(-1), "1969-12-31T23:59:59.999999999Z");
        for ns in [
            1i64,
            10,
            1_700_000_000_000_000_001,
            1_700_000_000_100_000_000,
            4_102_444_799_999_999_999,
        ] {
            let s = timestamp_string(ns);
            let parsed = chrono::DateTime::parse_from_rfc3339(&s).expect("rfc3339");
            assert_eq!(parsed.timestamp_nanos_opt(), Some(ns), "{s}");
        }
    }

    /// What the timestamps were written with before they were written by hand: `format!`.
    fn formatted(ns: i64) -> String {
        let secs = ns.div_euclid(1_000_000_000);
        let frac = ns.rem_euclid(1_000_000_000);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let mut s = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        );
        if frac != 0 {
            s.push('.');
            s.push_str(format!("{frac:09}").trim_end_matches('0'));
        }
        s.push('Z');
        s
    }

    #[test]
    fn timestamps_equal_the_formatted_ones() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let ns = x as i64;
            // Also whole seconds and milliseconds, whose fractions are trimmed.
            for ns in [ns, ns - ns % 1_000_000_000, ns - ns % 1_000_000] {
                assert_eq!(timestamp_string(ns), formatted(ns), "{ns}");
            }
        }
    }
}
