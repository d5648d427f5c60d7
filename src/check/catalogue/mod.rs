//! The check catalogue: every check is one [`Check`] item (data plus a judging function). The first
//! segment of a check's id names the file that defines it (`create_native.signed_in.token.400` is in
//! `create_native.rs`); adding a check is adding one item to that file's `CHECKS` (and, in
//! `tests/check_faults.rs`, the broken server that proves it can fail).
//!
//! The common rules are declarative ([`judge::Judge`] through [`judge!`](crate::judge): status,
//! content type, schema component, error envelope, pointer equals value, on a
//! [`Probe`](crate::check::probes::Probe)). Other judging functions read shared exchanges from
//! [`Ctx`] (each sent once per run) and return a [`Verdict`]; the helpers below turn the usual expectations (status, JSON, schema, the
//! errorGeneric envelope) into verdicts with evidence, so a check body reads as its rule.

pub mod brute_force;
pub mod create_browser;
pub mod create_native;
pub mod csrf;
pub mod default;
pub mod enumeration;
pub mod expiry;
pub mod fuzz;
pub mod get_flow;
pub mod judge;
pub mod native_context;
pub mod pinned;
pub mod preflight;
pub mod recover;
pub mod update;

use super::client::{Exchange, Response};
use super::probes::Ctx;
use super::CheckError;
use crate::report::{Evidence, Level, RuleSource};
use crate::schema::Component;
use futures::future::LocalBoxFuture;
use serde_json::Value;

/// The operation a check exercises; reports group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /self-service/recovery/api`.
    CreateNative,
    /// `GET /self-service/recovery/browser`.
    CreateBrowser,
    /// `GET /self-service/recovery/flows?id=`.
    GetFlow,
    /// `POST /self-service/recovery?flow=`.
    Update,
    /// Every operation (rules about every response of the run).
    Any,
}

impl Operation {
    /// The operation id of the OpenAPI document.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateNative => "createNativeRecoveryFlow",
            Operation::CreateBrowser => "createBrowserRecoveryFlow",
            Operation::GetFlow => "getRecoveryFlow",
            Operation::Update => "updateRecoveryFlow",
            Operation::Any => "allOperations",
        }
    }
}

/// What a check needs beyond the target; without it, it is skipped with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing.
    Nothing,
    /// `--session-token`.
    SessionToken,
    /// `--session-cookie`.
    SessionCookie,
    /// `--fuzz-cases` above 0.
    FuzzCases,
}

/// When a check is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// With the others, concurrently.
    Main,
    /// After every main check: it judges the exchanges of the whole run.
    Final,
}

/// The verdict of a judging function.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The rule holds.
    Passed {
        /// What was seen.
        detail: String,
        /// Supporting exchanges.
        evidence: Vec<Evidence>,
    },
    /// The rule is broken (or could not be checked because the target did not answer).
    Failed {
        /// Expected, seen, where.
        detail: String,
        /// The exchanges to blame.
        evidence: Vec<Evidence>,
    },
    /// Not judged, with the reason.
    Skipped {
        /// Why.
        reason: String,
    },
    /// The run could not establish a verdict: the target gave no answer even to the request
    /// sent alone. Not a broken rule, but it fails the run.
    Error {
        /// What happened.
        detail: String,
        /// The exchanges involved.
        evidence: Vec<Evidence>,
    },
    /// A generated failure that did not reproduce when replayed (a transient 500 under
    /// concurrency, such as SQLite's `database is locked`): reported as a warning with the
    /// original request, so that the verdict does not depend on `--concurrency`.
    Flaky {
        /// What happened, and what the replay answered.
        detail: String,
        /// The original request first, then the replay.
        evidence: Vec<Evidence>,
    },
}

impl Verdict {
    /// Passed with a detail.
    pub fn pass(detail: impl Into<String>) -> Self {
        Verdict::Passed {
            detail: detail.into(),
            evidence: Vec::new(),
        }
    }
    /// Failed with a detail.
    pub fn fail(detail: impl Into<String>) -> Self {
        Verdict::Failed {
            detail: detail.into(),
            evidence: Vec::new(),
        }
    }
    /// Skipped with a reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Verdict::Skipped {
            reason: reason.into(),
        }
    }
    /// Adds evidence.
    pub fn with(mut self, ev: Evidence) -> Self {
        if let Verdict::Passed { evidence, .. }
        | Verdict::Failed { evidence, .. }
        | Verdict::Error { evidence, .. }
        | Verdict::Flaky { evidence, .. } = &mut self
        {
            evidence.push(ev);
        }
        self
    }
}

/// A step of judging: `Err` ends the check early with that verdict (usually a failure).
pub type Step<T> = Result<T, Verdict>;

/// What a judging function returns (`Err` and `Ok` are both verdicts; `Err` allows `?`).
pub type Judged<'a> = LocalBoxFuture<'a, Step<Verdict>>;

/// A judging function.
pub type JudgeFn = for<'a> fn(&'a Ctx) -> Judged<'a>;

/// One check of the catalogue.
#[derive(Clone, Copy)]
pub struct Check {
    /// Stable dotted id; the first segment is the file under `catalogue/`.
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// The operation exercised.
    pub operation: Operation,
    /// The rule, in words.
    pub rule: &'static str,
    /// Where the rule comes from.
    pub source: RuleSource,
    /// How binding the rule is: `Required` (the spec or its prose) fails the run,
    /// `Recommended` (Kratos practice, hardening) is a warning unless `--strict`.
    pub level: Level,
    /// Checks that must pass first (otherwise this one is skipped, naming them).
    pub requires: &'static [&'static str],
    /// Inputs without which it is skipped.
    pub needs: Needs,
    /// When it is judged.
    pub phase: Phase,
    /// The judging function.
    pub judge: JudgeFn,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Every check, in catalogue (and report) order.
pub fn all() -> impl Iterator<Item = &'static Check> {
    preflight::CHECKS
        .iter()
        .chain(create_native::CHECKS)
        .chain(get_flow::CHECKS)
        .chain(create_browser::CHECKS)
        .chain(update::CHECKS)
        .chain(csrf::CHECKS)
        .chain(native_context::CHECKS)
        .chain(brute_force::CHECKS)
        .chain(recover::CHECKS)
        .chain(enumeration::CHECKS)
        .chain(expiry::CHECKS)
        .chain(pinned::CHECKS)
        .chain(default::CHECKS)
        .chain(fuzz::CHECKS)
}

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    all().find(|c| c.id == id)
}

/// Whether `id` matches an `--only` pattern: a glob with `*`, or a prefix at a dot boundary.
pub fn matches(pattern: &str, id: &str) -> bool {
    if pattern.contains('*') {
        glob(pattern.as_bytes(), id.as_bytes())
    } else {
        id == pattern
            || id
                .strip_prefix(pattern)
                .is_some_and(|rest| rest.starts_with('.'))
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// The checks selected by `--only` (all when empty) plus their prerequisites, minus those
/// matched by `--skip`, in catalogue order. A `--skip` pattern that matches no id is an error
/// (a typo would otherwise silently run everything).
pub fn select(only: &[String], skip: &[String]) -> Result<Vec<&'static Check>, CheckError> {
    for pattern in skip {
        if !all().any(|c| matches(pattern, c.id)) {
            return Err(CheckError::NothingSkipped {
                pattern: pattern.clone(),
            });
        }
    }
    let kept = |c: &&'static Check| !skip.iter().any(|p| matches(p, c.id));
    let chosen = select_only(only)?;
    let left: Vec<&'static Check> = chosen.into_iter().filter(kept).collect();
    if left.is_empty() {
        return Err(CheckError::NothingSelected {
            pattern: format!(
                "{} minus --skip {}",
                if only.is_empty() {
                    "every check".to_owned()
                } else {
                    only.join(",")
                },
                skip.join(",")
            ),
        });
    }
    Ok(left)
}

fn select_only(only: &[String]) -> Result<Vec<&'static Check>, CheckError> {
    if only.is_empty() {
        return Ok(all().collect());
    }
    let mut wanted: Vec<&'static str> = all()
        .filter(|c| only.iter().any(|p| matches(p, c.id)))
        .map(|c| c.id)
        .collect();
    if wanted.is_empty() {
        return Err(CheckError::NothingSelected {
            pattern: only.join(","),
        });
    }
    let mut i = 0;
    while i < wanted.len() {
        if let Some(check) = by_id(wanted[i]) {
            for dep in check.requires {
                if !wanted.contains(dep) {
                    wanted.push(dep);
                }
            }
        }
        i += 1;
    }
    Ok(all().filter(|c| wanted.contains(&c.id)).collect())
}

// ---------------------------------------------------------------------------------------------
// Judging helpers shared by the catalogue files.

/// The response, or a failure saying why none arrived; an error of the run when the target did
/// not answer even the request sent alone (a hang is not a broken rule).
pub fn answered(ex: &Exchange) -> Step<&Response> {
    if ex.no_answer_alone {
        return Err(Verdict::Error {
            detail: format!(
                "no answer to {} {}: {}",
                ex.request.method,
                ex.redact(ex.request.url.as_str()),
                ex.describe()
            ),
            evidence: vec![ex.evidence()],
        });
    }
    ex.response().ok_or_else(|| {
        Verdict::fail(format!(
            "no usable answer to {} {}: {}",
            ex.request.method,
            ex.redact(ex.request.url.as_str()),
            ex.describe()
        ))
        .with(ex.evidence())
    })
}

/// The response if its status is `expected`.
pub fn status(ex: &Exchange, expected: u16) -> Step<&Response> {
    let resp = answered(ex)?;
    if resp.status != expected {
        return Err(
            Verdict::fail(format!("expected status {expected}, got {}", ex.describe()))
                .with(ex.evidence()),
        );
    }
    Ok(resp)
}

/// The body as JSON.
pub fn json(ex: &Exchange) -> Step<&Value> {
    let resp = answered(ex)?;
    resp.json()
        .map_err(|why| Verdict::fail(format!("expected a JSON body: {why}")).with(ex.evidence()))
}

/// The body as JSON if the status is `expected` (for checks that read a field of a 200 flow).
pub fn json_with_status(ex: &Exchange, expected: u16) -> Step<&Value> {
    status(ex, expected)?;
    json(ex)
}

/// Passes when the body is valid against `component`; fails naming the first violations.
pub fn schema(ctx: &Ctx, ex: &Exchange, component: Component) -> Step<Verdict> {
    let body = json(ex)?;
    match ctx.schemas.validate(component, body) {
        Ok(()) => Ok(Verdict::pass(format!(
            "the body is a valid {}",
            component.name()
        ))),
        Err(violations) => {
            let first = violations.first();
            let list: Vec<String> = violations.iter().take(5).map(|v| v.to_string()).collect();
            let more = violations.len().saturating_sub(5);
            let mut detail = format!(
                "the body is not a valid {}: {}",
                component.name(),
                list.join("; ")
            );
            if more > 0 {
                detail.push_str(&format!("; and {more} more"));
            }
            let mut ev = ex.evidence();
            if let Some(v) = first {
                ev.pointer = Some(v.pointer.clone());
                ev.value = Some(ex.redact(&v.value));
            }
            Err(Verdict::fail(detail).with(ev))
        }
    }
}

/// Passes when the answer is `expected` with an errorGeneric JSON body whose `error.code` (when
/// present) equals the status, and (when given) whose `error.id` is `id`.
pub fn error_generic(ctx: &Ctx, ex: &Exchange, expected: u16, id: Option<&str>) -> Step<Verdict> {
    let resp = status(ex, expected)?;
    error_envelope(ctx, ex, resp)?;
    let body = json(ex)?;
    if let Some(want) = id {
        let got = body.pointer("/error/id");
        if got.and_then(Value::as_str) != Some(want) {
            return Err(Verdict::fail(format!(
                "expected error.id `{want}`, got {}",
                got.map_or("none".to_owned(), Value::to_string)
            ))
            .with(ex.evidence_at("/error/id", got)));
        }
    }
    Ok(Verdict::pass(format!(
        "{expected} with an errorGeneric body{}",
        id.map(|i| format!(", error.id `{i}`")).unwrap_or_default()
    )))
}

/// The errorGeneric rules for any error answer: JSON content type, valid envelope, `error.code`
/// equal to the status when present.
pub fn error_envelope(ctx: &Ctx, ex: &Exchange, resp: &Response) -> Step<()> {
    if !resp.is_json_content_type() {
        return Err(Verdict::fail(format!(
            "an error must be sent as application/json with an errorGeneric body; got {}",
            ex.describe()
        ))
        .with(ex.evidence()));
    }
    schema(ctx, ex, Component::ErrorGeneric)?;
    let body = json(ex)?;
    if let Some(code) = body.pointer("/error/code") {
        if code.as_u64() != Some(u64::from(resp.status)) {
            return Err(Verdict::fail(format!(
                "error.code must equal the HTTP status {}; it is {code}",
                resp.status
            ))
            .with(ex.evidence_at("/error/code", Some(code))));
        }
    }
    Ok(())
}

/// A string field of a JSON body, or a failure naming its pointer.
pub fn string_at<'a>(ex: &Exchange, body: &'a Value, pointer: &str) -> Step<&'a str> {
    let v = body.pointer(pointer);
    v.and_then(Value::as_str).ok_or_else(|| {
        Verdict::fail(format!(
            "expected a string at {pointer}, got {}",
            v.map_or("nothing".to_owned(), Value::to_string)
        ))
        .with(ex.evidence_at(pointer, v))
    })
}

/// A multi-step scenario's exchanges, or a skip with the reason it could not be carried out
/// (see [`crate::check::security_probes`]).
pub fn scenario<T>(outcome: &Result<T, String>) -> Step<&T> {
    outcome
        .as_ref()
        .map_err(|reason| Verdict::skip(reason.clone()))
}

/// A probe that could not be sent because its precondition failed becomes a skip.
pub fn precondition<T>(r: Result<T, String>) -> Step<T> {
    r.map_err(Verdict::skip)
}

/// Passes when `body[pointer] == want`; fails with the pointer and value.
pub fn equals(ex: &Exchange, body: &Value, pointer: &str, want: &str) -> Step<Verdict> {
    let got = body.pointer(pointer);
    if got.and_then(Value::as_str) == Some(want) {
        Ok(Verdict::pass(format!("{pointer} is `{want}`")))
    } else {
        Err(Verdict::fail(format!(
            "expected {pointer} to be `{want}`, got {}",
            got.map_or("nothing".to_owned(), Value::to_string)
        ))
        .with(ex.evidence_at(pointer, got)))
    }
}

/// Passes when `ui.messages` holds a message of `kind` (and id, when given); fails listing them.
pub fn has_ui_message(
    ex: &Exchange,
    body: &Value,
    kind: &str,
    ids: &[u64],
    what: &str,
) -> Step<Verdict> {
    let messages = body.pointer("/ui/messages").and_then(Value::as_array);
    let found = messages.into_iter().flatten().find(|m| {
        m.get("type").and_then(Value::as_str) == Some(kind)
            && (ids.is_empty()
                || m.get("id")
                    .and_then(Value::as_u64)
                    .is_some_and(|i| ids.contains(&i)))
    });
    match found {
        Some(m) => Ok(Verdict::pass(format!(
            "ui.messages holds {what}: {}",
            super::client::shorten(&m.to_string(), 160)
        ))),
        None => Err(Verdict::fail(format!(
            "expected ui.messages to hold {what} (type `{kind}`{}), got {}",
            if ids.is_empty() {
                String::new()
            } else {
                format!(", id {ids:?}")
            },
            messages.map_or("no ui.messages".to_owned(), |m| {
                super::client::shorten(&Value::Array(m.clone()).to_string(), 300)
            })
        ))
        .with(ex.evidence_at("/ui/messages", body.pointer("/ui/messages")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_patterns_match_prefixes_and_globs() {
        assert!(matches("create_native", "create_native.200"));
        assert!(matches(
            "create_native.signed_in",
            "create_native.signed_in.token.400"
        ));
        assert!(!matches(
            "create_native.sign",
            "create_native.signed_in.token.400"
        ));
        assert!(matches("*.400", "create_native.signed_in.token.400"));
        assert!(matches("update.*.schema", "update.email.schema"));
        assert!(!matches("update.*.schema", "update.email.200"));
    }

    #[test]
    fn selection_adds_prerequisites() {
        let picked = select(&["update.wrong_code.message".to_owned()], &[]).expect("selects");
        let ids: Vec<&str> = picked.iter().map(|c| c.id).collect();
        assert!(ids.contains(&"update.wrong_code.message"));
        assert!(ids.contains(&"update.email.state"), "{ids:?}");
        assert!(ids.contains(&"preflight.recovery_enabled"), "{ids:?}");
        assert!(select(&["nope".to_owned()], &[]).is_err());
    }

    #[test]
    fn skip_mirrors_only() {
        let all_count = all().count();
        let picked = select(&[], &["fuzz".to_owned(), "*.400".to_owned()]).expect("selects");
        assert!(picked
            .iter()
            .all(|c| !c.id.starts_with("fuzz.") && !c.id.ends_with(".400")));
        assert!(picked.len() < all_count);
        // A prerequisite left out is left out, even when a selected check needs it.
        let picked =
            select(&["update.email".to_owned()], &["preflight".to_owned()]).expect("selects");
        assert!(picked.iter().all(|c| c.id != "preflight.recovery_enabled"));
        assert!(select(&[], &["nope".to_owned()]).is_err());
        assert!(select(
            &["fuzz".to_owned()],
            &["fuzz".to_owned(), "preflight".to_owned()]
        )
        .is_err());
    }

    #[test]
    fn catalogue_is_well_formed() {
        let checks: Vec<&Check> = all().collect();
        for (i, c) in checks.iter().enumerate() {
            assert!(
                checks.iter().filter(|o| o.id == c.id).count() == 1,
                "duplicate id {}",
                c.id
            );
            assert!(
                c.id.split('.').all(|seg| !seg.is_empty()
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
                "id {} is not a lowercase dotted id",
                c.id
            );
            // Prerequisites come earlier, so the graph has no cycle.
            for dep in c.requires {
                let pos = checks.iter().position(|o| o.id == *dep);
                assert!(
                    pos.is_some_and(|p| p < i),
                    "{} requires {dep}, which is not earlier",
                    c.id
                );
            }
            assert!(
                !c.title.is_empty() && !c.rule.is_empty(),
                "{} lacks title or rule",
                c.id
            );
        }
        let files = [
            ("preflight", preflight::CHECKS),
            ("create_native", create_native::CHECKS),
            ("get_flow", get_flow::CHECKS),
            ("create_browser", create_browser::CHECKS),
            ("update", update::CHECKS),
            ("csrf", csrf::CHECKS),
            ("native_context", native_context::CHECKS),
            ("brute_force", brute_force::CHECKS),
            ("recover", recover::CHECKS),
            ("enumeration", enumeration::CHECKS),
            ("expiry", expiry::CHECKS),
            ("pinned", pinned::CHECKS),
            ("default", default::CHECKS),
            ("fuzz", fuzz::CHECKS),
        ];
        for (file, list) in files {
            for c in list {
                assert_eq!(
                    c.id.split('.').next(),
                    Some(file),
                    "{} is defined in {file}.rs",
                    c.id
                );
            }
        }
    }
}
