//! What the two `report.html` files ([`super::html_check`], [`super::html_load`]) share: the page
//! shell with its Content-Security-Policy, the style sheet, and fragment ids.
//!
//! Both pages are [maud](https://maud.lambda.xyz/) templates: markup is written in `html!` and
//! every value spliced into it is HTML-escaped by maud, so nothing taken from the run (a body a
//! target returned, a header, a step name) can become markup. `PreEscaped` (maud's way out of
//! the escaping) is used in two places only, for text this crate writes itself: the style sheets
//! here and the charts `plotters` draws from numbers ([`super::chart`]); `tests/report_html.rs`
//! fails if it appears anywhere else in `report/`.
//!
//! Both reports are single self-contained files: inline CSS, inline SVG, no script, no font, no
//! image and no link to anything outside the file, so they read the same offline, on an
//! air-gapped CI runner and years later. The page's Content-Security-Policy (`default-src
//! 'none'`) makes the browser refuse any fetch even if a quoted server body slipped past the
//! escaping; the Chromium tests (`tests/report_html_chromium.rs`) prove no request leaves the file.

use super::text::escape_controls;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::borrow::Cow;

/// The page's policy: nothing may be fetched; only the inline style sheet applies.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// The whole document: doctype, head with charset, policy, title and style sheets (both
/// pages' [`BASE_CSS`], then the page's own `extra_css`), and `body`.
///
/// Control characters in the run's text (a hostile server's ESC sequences, NUL) become visible
/// `\u{..}` escapes here, once for the whole page, as in the other formats: maud escapes markup,
/// not control characters, and a page that shows them as they were sent hides what the target did.
pub(crate) fn page(title: &str, extra_css: &'static str, body: Markup) -> String {
    let page = html! {
        (DOCTYPE) "\n"
        html lang="en" {
            "\n"
            head {
                "\n"
                meta charset="utf-8"; "\n"
                meta http-equiv="Content-Security-Policy" content=(CSP); "\n"
                meta name="viewport" content="width=device-width, initial-scale=1"; "\n"
                meta name="color-scheme" content="light"; "\n"
                title { (title) } "\n"
                style { "\n" (PreEscaped(BASE_CSS)) (PreEscaped(extra_css)) } "\n"
            }
            "\n"
            body { "\n" (body) }
            "\n"
        }
        "\n"
    }
    .into_string();
    match escape_controls(&page) {
        Cow::Borrowed(_) => page,
        Cow::Owned(shown) => shown,
    }
}

/// A fragment id made of `prefix` and `text` with everything but ASCII letters, digits, `.`, `_`
/// and `-` replaced, so that one id reads the same in `id` and in `href="#..."`.
pub(crate) fn anchor(prefix: &str, text: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + text.len());
    out.push_str(prefix);
    out.extend(text.chars().map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '_'
        }
    }));
    out
}

/// The style sheet of both reports: system fonts only, readable tables, and a print layout
/// (no backgrounds needed to tell a failure, sections kept whole where they fit, URLs wrapped).
pub(crate) const BASE_CSS: &str = r#":root { --fail: #b42318; --fail-bg: #fef3f2; --pass: #067647; --pass-bg: #ecfdf3;
  --warn: #b54708; --warn-bg: #fffaeb; --skip: #475467; --skip-bg: #f2f4f7; --line: #d0d5dd;
  --muted: #667085; --ink: #101828; --code-bg: #f8f9fb; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1, h2, h3 { line-height: 1.25; margin: 1.6em 0 .5em; }
h1 { margin-top: 0; font-size: 1.9rem; }
h2 { font-size: 1.3rem; border-bottom: 1px solid var(--line); padding-bottom: .25em; }
h3 { font-size: 1.05rem; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .86em; }
pre { background: var(--code-bg); border: 1px solid var(--line); border-radius: 4px; padding: .6em .8em;
  white-space: pre-wrap; overflow-wrap: anywhere; margin: .4em 0; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { text-align: left; vertical-align: top; padding: .35em .6em; border-bottom: 1px solid var(--line); }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
a { color: inherit; }
.muted { color: var(--muted); }
.verdict { border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; border: 2px solid; }
.verdict .kicker { margin: 0; font-size: .85rem; text-transform: uppercase; letter-spacing: .06em; }
.verdict h1 { margin: .1em 0 .3em; }
.verdict.passed { border-color: var(--pass); background: var(--pass-bg); }
.verdict.failed { border-color: var(--fail); background: var(--fail-bg); }
.verdict.interrupted, .verdict.warning { border-color: var(--warn); background: var(--warn-bg); }
.verdict.passed h1 { color: var(--pass); }
.verdict.failed h1 { color: var(--fail); }
.verdict.interrupted h1, .verdict.warning h1 { color: var(--warn); }
.counts { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: 0; padding: 0; list-style: none; font-size: 1.05rem; }
.counts b { font-size: 1.35rem; }
.badge { display: inline-block; min-width: 4.8em; text-align: center; border-radius: 999px; padding: 0 .6em;
  font-size: .78rem; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; border: 1px solid; }
.badge.passed { color: var(--pass); background: var(--pass-bg); }
.badge.failed, .badge.error { color: var(--fail); background: var(--fail-bg); }
.badge.error { border-style: dashed; }
.badge.warning { color: var(--warn); background: var(--warn-bg); }
.badge.skipped { color: var(--skip); background: var(--skip-bg); }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.2em; margin: 0 0 1rem; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; overflow-wrap: anywhere; }
.alert { border-left: 4px solid var(--warn); background: var(--warn-bg); padding: .5em .9em; margin: .8em 0; }
.alert.fail { border-color: var(--fail); background: var(--fail-bg); }
ul.notes { margin: .5em 0 1em; padding-left: 1.2em; }
footer { margin-top: 2.5rem; padding-top: .6rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  .verdict, .badge, .alert, pre { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2, h3 { break-after: avoid; }
  tr, .evidence, figure, .verdict { break-inside: avoid; }
  nav.toc { display: none; }
  a { text-decoration: none; }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_escapes_the_title_and_shows_controls() {
        let html = page(
            "<script>alert(\"x\")</script> & 'y' \u{1b}[31m\u{0}",
            "",
            html! { p { "a\u{7}" } },
        );
        assert!(html.contains(
            "<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'y' \\u{1b}[31m\\u{0}</title>"
        ));
        assert!(
            html.contains("<body>\n<p>a\\u{7}</p></body>\n</html>\n"),
            "{html}"
        );
        assert!(html.starts_with(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        ));
    }

    #[test]
    fn anchor_keeps_only_safe_characters() {
        assert_eq!(anchor("c-", "get.unknown_id.404"), "c-get.unknown_id.404");
        assert_eq!(anchor("op-", "a b\"<c>"), "op-a_b__c_");
    }
}
