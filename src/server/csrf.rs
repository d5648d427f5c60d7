//! Kratos's anti-CSRF tokens as nosurf makes them (`x/nosurfx/nosurf.go`, nosurf `token.go`):
//! the cookie holds 32 random bytes in standard base64; a flow's `csrf_token` node holds the
//! *masked* token (a one-time pad followed by pad XOR token, 64 bytes, base64). A submitted
//! token is accepted masked or unmasked. Also the `security_csrf_violation` answers with the
//! hint and reject reason nosurf gives for each way a request can miss its cookie.

use super::error::KratosError;
use super::http;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

const TOKEN_LEN: usize = 32;

/// Standard base64 with padding, as nosurf writes it (Go's `base64.StdEncoding`). Decoding takes
/// it padded only and, like Go's decoder, ignores the unused low bits of the last symbol.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// The bytes of a padded base64 value; `None` for anything else, the empty value included.
fn decode(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok().filter(|_| !s.is_empty())
}

/// A fresh cookie token.
pub(crate) fn new_token() -> String {
    B64.encode(rand::random::<[u8; TOKEN_LEN]>())
}

/// Whether `value` is a token this server could have issued (32 bytes, base64).
pub(crate) fn is_token(value: &str) -> bool {
    value.len() <= 64 && decode(value).is_some_and(|b| b.len() == TOKEN_LEN)
}

/// The masked form of `token` that a flow's `csrf_token` node carries.
pub(crate) fn mask(token: &str) -> String {
    let raw = decode(token).unwrap_or_default();
    let pad = rand::random::<[u8; TOKEN_LEN]>();
    let mut out = Vec::with_capacity(2 * TOKEN_LEN);
    out.extend_from_slice(&pad);
    out.extend(
        pad.iter()
            .zip(raw.iter().chain(std::iter::repeat(&0)))
            .map(|(p, t)| p ^ t),
    );
    B64.encode(&out)
}

fn unmask(value: &str) -> Option<Vec<u8>> {
    let raw = decode(value)?;
    match raw.len() {
        TOKEN_LEN => Some(raw),
        n if n == 2 * TOKEN_LEN => {
            let (pad, masked) = raw.split_at(TOKEN_LEN);
            Some(pad.iter().zip(masked).map(|(p, m)| p ^ m).collect())
        }
        _ => None,
    }
}

/// Whether a submitted (or stored) token, masked or not, belongs to the cookie token.
pub(crate) fn matches(sent: &str, cookie: &str) -> bool {
    match (unmask(sent), decode(cookie)) {
        (Some(a), Some(b)) => b.len() == TOKEN_LEN && a == b,
        _ => false,
    }
}

/// nosurf's cookie name as Kratos sets it (`CSRFCookieName`): `csrf_token_` and the lowercase
/// hex SHA-256 of the public base URL as Go prints it, with its trailing slash.
pub(crate) fn cookie_name(base_url: &str) -> String {
    let digest = Sha256::new()
        .chain_update(base_url.as_bytes())
        .chain_update(b"/")
        .finalize();
    let mut name = String::with_capacity("csrf_token_".len() + 2 * digest.len());
    name.push_str("csrf_token_");
    for byte in digest {
        let _ = write!(name, "{byte:02x}");
    }
    name
}

/// The `Set-Cookie` nosurf writes under `--dev` (no `Secure`, SameSite forced to Lax).
pub(crate) fn cookie_header(name: &str, token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={token}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
    ))
    .ok()
}

pub(crate) const REASON: &str = "Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.";
const MESSAGE: &str = "the request was rejected to protect you from Cross-Site-Request-Forgery";
const DOCS: &str = "https://www.ory.com/docs/troubleshooting/csrf";
const HINT_CALL: &str = "We detected a regular browser or server-side call. To debug browser calls check your Browser's Network Tab to see what cookies are included or excluded. If you are calling from a server ensure that the appropriate cookies are being forwarded and that the SDK method is called correctly.";
const HINT_NO_TOKEN: &str = "The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).";

/// What a submit's token check found, for nosurf's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Miss {
    /// The cookie is there; the flow (or request) names another token.
    Mismatch,
    /// The cookie is there; no token came with the request.
    NoToken,
}

/// 403 `security_csrf_violation` with nosurf's details for `headers`.
pub(crate) fn violation(headers: &HeaderMap, cookie_name: &str, miss: Miss) -> KratosError {
    let mut details = format!("{{\"docs\":\"{DOCS}\",\"hint\":");
    let reject = if headers.get(header::COOKIE).is_none() {
        Some("The HTTP Cookie Header is empty or not set.")
    } else if http::cookie(headers, cookie_name).is_none() {
        Some("The HTTP Cookie Header was set but did not include the anti-CSRF cookie.")
    } else if miss == Miss::Mismatch {
        Some("The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow.")
    } else {
        None
    };
    match reject {
        Some(r) => {
            super::json::push_str(&mut details, HINT_CALL);
            details.push_str(",\"reject_reason\":");
            super::json::push_str(&mut details, r);
        }
        None => super::json::push_str(&mut details, HINT_NO_TOKEN),
    }
    details.push('}');
    KratosError::new(403, MESSAGE)
        .id("security_csrf_violation")
        .reason(REASON)
        .details(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_name_is_the_one_real_kratos_sets() {
        // tests/fixtures/kratos-recorded/default.har: Kratos served at http://127.0.0.1:45303.
        assert_eq!(
            cookie_name("http://127.0.0.1:45303"),
            "csrf_token_fb140923e2ea5d971e34f04a0f2f30a99dcdfab6f8c2304131848d4ae995784f"
        );
        // SHA-256 of "" + "/" and of a base path (the known vector for "/").
        assert_eq!(
            cookie_name(""),
            "csrf_token_8a5edab282632443219e051e4ade2d1d5bbc671c781051bf1437897cbdfea0f1"
        );
    }

    /// The hand-written decoder this module had before it used the `base64` crate: [`decode`]
    /// must take and refuse exactly what it did.
    fn hand_written_decode(s: &str) -> Option<Vec<u8>> {
        const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let s = s.as_bytes();
        if s.is_empty() || !s.len().is_multiple_of(4) {
            return None;
        }
        let value = |c: u8| ABC.iter().position(|&x| x == c).map(|p| p as u32);
        let mut out = Vec::with_capacity(s.len() / 4 * 3);
        for (i, quad) in s.chunks(4).enumerate() {
            let last = i == s.len() / 4 - 1;
            let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 || (pad > 0 && !last) {
                return None;
            }
            let mut n = 0u32;
            for &c in &quad[..4 - pad] {
                n = (n << 6) | value(c)?;
            }
            n <<= 6 * pad as u32;
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - pad]);
        }
        Some(out)
    }

    #[test]
    fn base64_is_go_std_encoding() {
        for (data, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff, 0xfe], "+//+"),
        ] {
            assert_eq!(B64.encode(data), want);
            if !data.is_empty() {
                assert_eq!(decode(want).as_deref(), Some(data), "{want}");
            }
        }
        for junk in [
            "", "Zm8", "Z=8=", "Zm8*", "Zg=", "Zg===", "Z===", "====", "Zg==Zg==", "Zm8=\n", "Zm-_",
        ] {
            assert_eq!(decode(junk), None, "{junk:?}");
            assert_eq!(hand_written_decode(junk), None, "{junk:?}");
        }
        // Unused low bits of the last symbol are ignored, as Go's (non-strict) decoder does.
        assert_eq!(decode("Zm9=").as_deref(), Some(&b"fo"[..]));
        assert_eq!(decode("Zh==").as_deref(), Some(&b"f"[..]));
    }

    proptest::proptest! {
        #[test]
        fn decoding_is_what_the_hand_written_decoder_did(
            s in "[A-Za-z0-9+/=*_-]{0,16}",
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..70),
        ) {
            proptest::prop_assert_eq!(decode(&s), hand_written_decode(&s));
            let encoded = B64.encode(&bytes);
            proptest::prop_assert_eq!(decode(&encoded), hand_written_decode(&encoded));
            // Every tail of a valid value: the padding rules at each length.
            for cut in 0..encoded.len() {
                proptest::prop_assert_eq!(decode(&encoded[cut..]), hand_written_decode(&encoded[cut..]));
            }
        }
    }

    #[test]
    fn masked_and_plain_tokens_match_their_cookie_only() {
        let t = new_token();
        assert!(is_token(&t) && t.len() == 44);
        let m = mask(&t);
        assert_eq!(m.len(), 88);
        assert_ne!(m, mask(&t), "a fresh pad every time");
        assert!(matches(&m, &t));
        assert!(matches(&t, &t));
        let other = new_token();
        assert!(!matches(&m, &other));
        assert!(!matches("", &t));
        assert!(!matches(&m, "not-a-token"));
    }
}
