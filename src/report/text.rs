//! Plain-text pieces that several formats share, so that the terminal, JUnit, Markdown and HTML
//! show the same facts in the same shape: an exchange's evidence as lines, the JSON pointer of
//! the document root, control characters made visible, counts and milliseconds for people.

use super::model::Evidence;
use std::fmt::Write as _;

/// One line (possibly with embedded newlines, e.g. a body excerpt) of plain-text evidence.
/// Shared by the terminal, JUnit and Markdown formats so they show the same facts in one shape.
pub(crate) fn evidence_lines(ev: &Evidence) -> Vec<String> {
    let mut lines = Vec::new();
    let outcome = match (ev.status, &ev.transport_error) {
        (Some(status), _) => status.to_string(),
        (None, Some(_)) => "no response".to_owned(),
        (None, None) => "no status".to_owned(),
    };
    lines.push(format!("{} {} → {outcome}", ev.method, ev.url));
    for (name, value) in &ev.request_headers {
        lines.push(format!("> {name}: {value}"));
    }
    for (name, value) in &ev.response_headers {
        lines.push(format!("< {name}: {value}"));
    }
    match (&ev.pointer, &ev.value) {
        (Some(pointer), Some(value)) => lines.push(format!("{} = {value}", show_pointer(pointer))),
        (Some(pointer), None) => lines.push(format!("at {}", show_pointer(pointer))),
        (None, Some(value)) => lines.push(format!("value: {value}")),
        (None, None) => {}
    }
    if let Some(body) = &ev.body_excerpt {
        lines.push(format!("body: {body}"));
    }
    if let Some(err) = &ev.transport_error {
        lines.push(format!("error: {err}"));
    }
    if let Some(curl) = &ev.curl {
        lines.push(curl.clone());
    }
    lines
}

/// The empty JSON pointer is the whole document; printed bare it would be invisible.
pub(crate) fn show_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(document root)"
    } else {
        pointer
    }
}

/// Makes untrusted text safe for a terminal or a Markdown page: C0 and C1 control characters
/// (ESC sequences from a hostile server could rewrite the terminal) and DEL become visible
/// `\u{..}` escapes. Newlines and tabs are kept; a carriage return is escaped because it would
/// overwrite the line it ends.
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !has_controls(text.as_bytes()) {
        return std::borrow::Cow::Borrowed(text);
    }
    // The text between two control characters is copied whole: a whole page (the load report's
    // SVG charts included) goes through here when one quoted reason holds an ESC.
    let mut out = String::with_capacity(text.len() + 8);
    let mut copied = 0;
    for (i, c) in text.char_indices().filter(|&(_, c)| needs_escape(c)) {
        out.push_str(&text[copied..i]);
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
        copied = i + c.len_utf8();
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// `char::is_control` (Unicode's Cc: exactly U+0000–U+001F and U+007F–U+009F) without its
/// table lookup, less newline and tab.
fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}') && c != '\n' && c != '\t'
}

/// Whether `bytes` (UTF-8) hold a character [`needs_escape`] accepts, found on the bytes: a whole
/// `report.html` goes through this scan, and decoding it char by char cost more than rendering it.
fn has_controls(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        (b < 0x20 && b != b'\n' && b != b'\t')
            || b == 0x7f
            // U+0080–U+009F are encoded 0xC2 0x80–0x9F.
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

/// `1 warning`, `2 warnings`: the summary lines count with words people read.
pub(crate) fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Formats milliseconds for people: one decimal under 10 ms (a fast local check is not "0 ms"),
/// whole milliseconds above.
pub(crate) fn human_ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A number without trailing zeros (`2`, `2.5`, `0.25`).
pub(crate) fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn escape_controls_keeps_text_and_escapes_controls() {
        let cases = [
            ("plain", "plain"),
            ("tab\tand\nnewline", "tab\tand\nnewline"),
            ("esc\u{1b}[31m", "esc\\u{1b}[31m"),
            ("cr\rbell\u{7}", "cr\\u{d}bell\\u{7}"),
            ("del\u{7f} c1\u{85}", "del\\u{7f} c1\\u{85}"),
            ("ünïcødé ✓", "ünïcødé ✓"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape_controls(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn the_byte_scan_agrees_with_is_control() {
        for c in (0..=0x2ffu32).filter_map(char::from_u32) {
            let text = format!("a{c}b");
            assert_eq!(
                has_controls(text.as_bytes()),
                c.is_control() && c != '\n' && c != '\t',
                "{:#x}",
                c as u32
            );
            assert_eq!(needs_escape(c), has_controls(text.as_bytes()));
        }
    }

    #[test]
    fn human_ms_switches_precision_at_ten() {
        let cases = [
            (Duration::from_micros(400), "0.4 ms"),
            (Duration::from_micros(9_940), "9.9 ms"),
            (Duration::from_millis(10), "10 ms"),
            (Duration::from_micros(1_234_567), "1235 ms"),
        ];
        for (input, expected) in cases {
            assert_eq!(human_ms(input), expected);
        }
    }

    #[test]
    fn trim_float_drops_trailing_zeros() {
        assert_eq!(trim_float(2.0), "2");
        assert_eq!(trim_float(2.5), "2.5");
        assert_eq!(trim_float(0.25), "0.25");
        assert_eq!(trim_float(0.0), "0");
        assert_eq!(trim_float(-0.001), "0");
    }

    #[test]
    fn evidence_lines_cover_every_field() {
        let ev = Evidence {
            method: "GET".into(),
            url: "http://h/x".into(),
            request_headers: vec![("X-Session-Token".into(), "[REDACTED]".into())],
            status: None,
            response_headers: vec![("content-type".into(), "text/html".into())],
            pointer: Some(String::new()),
            value: Some("null".into()),
            body_excerpt: Some("<html>".into()),
            curl: Some("curl 'http://h/x'".into()),
            transport_error: Some("timed out after 10s".into()),
        };
        assert_eq!(
            evidence_lines(&ev),
            [
                "GET http://h/x → no response",
                "> X-Session-Token: [REDACTED]",
                "< content-type: text/html",
                "(document root) = null",
                "body: <html>",
                "error: timed out after 10s",
                "curl 'http://h/x'",
            ]
        );
    }
}
