//! Hand-written JSON output primitives: Go-compatible string escaping, RFC 3339 timestamps with
//! Go's trimmed nanoseconds, UUID text, and a small SHA-256 (for the CSRF cookie name).
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

/// SHA-256 of `data`, lowercase hex. Used once per server for the CSRF cookie name
/// (`csrf_token_<hex sha256 of the public base URL>`), so a dependency is not worth it.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *slot = slot.wrapping_add(v);
        }
    }
    let mut out = String::with_capacity(64);
    for word in h {
        let _ = write!(out, "{word:08x}");
    }
    out
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

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }
}
