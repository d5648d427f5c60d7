//! `create_native.*`: `GET /self-service/recovery/api` (createNativeRecoveryFlow), the seed
//! endpoint: the 200 flow, its fields, `return_to`, and the "already signed in" 400s.

use crate::check::client::Exchange;
use crate::check::judge::judge;
use crate::check::judge::{
    equals, error_generic, exchange, json_with_status, status, string_at, Judge,
};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Step, Verdict};
use crate::check::probes::{Ctx, Probe, Variant};
use crate::report::{Effect, Level, RuleSource};
use crate::schema::Component;
use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

const OK: &[&str] = &["create_native.200"];
const PRE: &[&str] = &["preflight.recovery_enabled"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "create_native.200",
        title: "Creating a native flow answers 200",
        operation: Operation::CreateNative,
        rule: "GET /self-service/recovery/api without credentials answers 200",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: status_200,
        fault: "create_native_500",
    },
    Check {
        id: "create_native.content_type",
        title: "The flow is sent as JSON",
        operation: Operation::CreateNative,
        rule: "the 200 answer has Content-Type application/json",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::StatusJson(Probe::CreateNative, 200)),
        fault: "create_native_text_plain",
    },
    Check {
        id: "create_native.cache_control",
        title: "The flow is not cacheable",
        operation: Operation::CreateNative,
        rule: "the 200 answer carries Cache-Control with no-store (Kratos: private, no-cache, no-store, must-revalidate): a cached flow would hand one user's flow to another",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: cache_control,
        fault: "create_native_cacheable",
    },
    Check {
        id: "create_native.schema",
        title: "The flow is a valid recoveryFlow",
        operation: Operation::CreateNative,
        rule: "the 200 body validates against recoveryFlow",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Schema(Probe::CreateNative, 200, Component::RecoveryFlow)),
        fault: "flow_missing_required_field",
    },
    Check {
        id: "create_native.type",
        title: "The flow type is api",
        operation: Operation::CreateNative,
        rule: "type == \"api\" for a flow created through the native endpoint",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Equals(Probe::CreateNative, 200, "/type", "api")),
        fault: "type_browser_on_api",
    },
    Check {
        id: "create_native.state",
        title: "A new flow is in its initial state",
        operation: Operation::CreateNative,
        rule: "state == \"choose_method\" on creation (v2, choose_recovery_address: \"recovery_awaiting_address\")",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: state,
        fault: "state_sent_email_on_create",
    },
    Check {
        id: "create_native.id.uuid",
        title: "The flow id is a UUID",
        operation: Operation::CreateNative,
        rule: "id is a UUID",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: id_uuid,
        fault: "id_not_uuid",
    },
    Check {
        id: "create_native.id.unique",
        title: "Each creation gets a new id",
        operation: Operation::CreateNative,
        rule: "two creations return different ids",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: id_unique,
        fault: "repeated_id",
    },
    Check {
        id: "create_native.timestamps.order",
        title: "issued_at is not after expires_at",
        operation: Operation::CreateNative,
        rule: "issued_at and expires_at are RFC 3339 date-times and issued_at <= expires_at",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: timestamps_order,
        fault: "issued_after_expiry",
    },
    Check {
        id: "create_native.timestamps.issued_now",
        title: "issued_at is now",
        operation: Operation::CreateNative,
        rule: "issued_at is within --clock-tolerance of this machine's clock at the time of the request",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: issued_now,
        fault: "issued_long_ago",
    },
    Check {
        id: "create_native.timestamps.not_expired",
        title: "A new flow is not already expired",
        operation: Operation::CreateNative,
        rule: "expires_at is later than the moment the answer arrived",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: not_expired,
        fault: "already_expired",
    },
    Check {
        id: "create_native.request_url",
        title: "request_url is the path and query requested",
        operation: Operation::CreateNative,
        rule: "request_url is an absolute URL with the path requested (with or without the target's prefix: a proxy may strip it) and the same query",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: request_url,
        fault: "request_url_other_path",
    },
    Check {
        id: "create_native.request_url.host",
        title: "request_url names the public scheme, host and port",
        operation: Operation::CreateNative,
        rule: "request_url has the scheme, host and port the client requested (Kratos takes them from X-Forwarded-Host/-Proto behind a proxy)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: request_url_host,
        fault: "request_url_internal",
    },
    Check {
        id: "create_native.ui.action",
        title: "ui.action is the public update endpoint for this flow",
        operation: Operation::CreateNative,
        rule: "ui.action is the target's own update endpoint (same scheme, host, port and prefix, …/self-service/recovery) with flow=<id>: the spec says to use it as the form's action, so a browser must reach it",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: ui_action,
        fault: "action_internal_host",
    },
    Check {
        id: "create_native.ui.method",
        title: "ui.method is POST",
        operation: Operation::CreateNative,
        rule: "ui.method == \"POST\": updateRecoveryFlow is declared for POST only",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Equals(Probe::CreateNative, 200, "/ui/method", "POST")),
        fault: "ui_method_get",
    },
    Check {
        id: "create_native.ui.nodes",
        title: "The form has the address input and the active method's submit",
        operation: Operation::CreateNative,
        rule: "ui.nodes holds an input `email` of type email (v2: `recovery_address` of type text, required) and a submit `method` whose value is the active method, both in its group",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: ui_nodes,
        fault: "no_email_node",
    },
    Check {
        id: "create_native.return_to.echo",
        title: "An allowed return_to is echoed",
        operation: Operation::CreateNative,
        rule: "creating with an allowed ?return_to answers 200 with the same return_to in the flow",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: OK,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: return_to_echo,
        fault: "return_to_dropped",
    },
    Check {
        id: "create_native.return_to.forbidden.400",
        title: "A forbidden return_to is refused",
        operation: Operation::CreateNative,
        rule: "creating with a return_to outside the allow-list answers 400 errorGeneric, error.id self_service_flow_return_to_forbidden",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::ErrorGeneric(Probe::ReturnToForbidden, 400, Some("self_service_flow_return_to_forbidden"))),
        fault: "return_to_unchecked",
    },
    Check {
        id: "create_native.signed_in.token.400",
        title: "Signed in via X-Session-Token: 400",
        operation: Operation::CreateNative,
        rule: "with a valid session in X-Session-Token the answer is 400 errorGeneric, error.id session_already_available",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[],
        requires: PRE,
        needs: Needs::SessionToken,
        phase: Phase::Main,
        judge: signed_in_token,
        fault: "session_token_ignored",
    },
    Check {
        id: "create_native.signed_in.cookie.400",
        title: "Signed in via the session cookie: 400",
        operation: Operation::CreateNative,
        rule: "with a valid session cookie the answer is 400 errorGeneric, error.id session_already_available",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[],
        requires: PRE,
        needs: Needs::SessionCookie,
        phase: Phase::Main,
        judge: signed_in_cookie,
        fault: "session_cookie_ignored",
    },
    Check {
        id: "create_native.signed_in.bearer.400",
        title: "Signed in via Authorization: Bearer: 400",
        operation: Operation::CreateNative,
        rule: "with a valid session in Authorization: Bearer the answer is 400 errorGeneric, error.id session_already_available",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[],
        requires: PRE,
        needs: Needs::SessionToken,
        phase: Phase::Main,
        judge: signed_in_bearer,
        fault: "bearer_ignored",
    },
    Check {
        id: "create_native.invalid_token.200",
        title: "An invalid session token does not block recovery",
        operation: Operation::CreateNative,
        rule: "with an unknown X-Session-Token the answer is 200 (an invalid credential is no session)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: invalid_token,
        fault: "any_token_is_a_session",
    },
];

/// The 200 flow of the plain creation.
async fn flow(ctx: &Ctx) -> Step<(&Exchange, &Value)> {
    let ex = exchange(ctx, Probe::CreateNative).await?;
    Ok((ex, json_with_status(ex, 200)?))
}

fn status_200(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::CreateNative).await?;
        status(ex, 200)?;
        Ok(Verdict::pass(format!("answered {}", ex.describe())))
    })
}

fn cache_control(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::CreateNative).await?;
        let resp = status(ex, 200)?;
        let value = resp.header("cache-control").unwrap_or_default();
        let no_store = value
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store"));
        if no_store {
            Ok(Verdict::pass(format!("Cache-Control: {value}")))
        } else {
            Ok(Verdict::fail(format!(
                "expected Cache-Control with no-store, got {}",
                if value.is_empty() {
                    "none".to_owned()
                } else {
                    format!("`{value}`")
                }
            ))
            .with(ex.evidence()))
        }
    })
}

fn state(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let variant = Variant::of(ex);
        equals(ex, body, "/state", variant.initial_state()).map(|v| match v {
            Verdict::Passed { detail, evidence } => Verdict::Passed {
                detail: format!("{detail}: recovery flow {}", variant.describe()),
                evidence,
            },
            other => other,
        })
    })
}

fn id_uuid(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let id = string_at(ex, body, "/id")?;
        match uuid::Uuid::parse_str(id) {
            Ok(u) if u.hyphenated().to_string() == id.to_ascii_lowercase() => Ok(Verdict::pass(
                format!("id {id} is a UUID (version {})", u.get_version_num()),
            )),
            _ => Ok(Verdict::fail(format!("id `{id}` is not a hyphenated UUID"))
                .with(ex.evidence_at("/id", body.get("id")))),
        }
    })
}

fn id_unique(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let first = string_at(ex, body, "/id")?;
        let again = exchange(ctx, Probe::CreateNativeAgain).await?;
        let body2 = json_with_status(again, 200)?;
        let second = string_at(again, body2, "/id")?;
        if first == second {
            Ok(
                Verdict::fail(format!("two creations returned the same id {first}"))
                    .with(ex.evidence_at("/id", body.get("id")))
                    .with(again.evidence_at("/id", body2.get("id"))),
            )
        } else {
            Ok(Verdict::pass(format!(
                "two creations returned {first} and {second}"
            )))
        }
    })
}

fn time_at(ex: &Exchange, body: &Value, pointer: &str) -> Step<DateTime<Utc>> {
    let s = string_at(ex, body, pointer)?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Verdict::fail(format!(
                "{pointer} `{s}` is not an RFC 3339 date-time ({e})"
            ))
            .with(ex.evidence_at(pointer, body.pointer(pointer)))
        })
}

fn timestamps_order(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let issued = time_at(ex, body, "/issued_at")?;
        let expires = time_at(ex, body, "/expires_at")?;
        if issued <= expires {
            Ok(Verdict::pass(format!(
                "issued_at {issued} <= expires_at {expires} (lifespan {})",
                humantime::format_duration((expires - issued).to_std().unwrap_or_default())
            )))
        } else {
            Ok(
                Verdict::fail(format!("issued_at {issued} is after expires_at {expires}"))
                    .with(ex.evidence_at("/expires_at", body.get("expires_at"))),
            )
        }
    })
}

fn issued_now(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let issued = time_at(ex, body, "/issued_at")?;
        let tol =
            chrono::Duration::from_std(ctx.cfg.clock_tolerance).unwrap_or(chrono::Duration::MAX);
        // A huge --clock-tolerance must widen the window, not overflow the date arithmetic.
        let lo = ex
            .sent_at
            .checked_sub_signed(tol)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let hi = ex
            .received_at
            .checked_add_signed(tol)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if issued >= lo && issued <= hi {
            Ok(Verdict::pass(format!(
                "issued_at {issued} is within {} of the request ({})",
                humantime::format_duration(ctx.cfg.clock_tolerance),
                ex.sent_at
            )))
        } else {
            Ok(Verdict::fail(format!(
                "issued_at {issued} is more than --clock-tolerance {} away from this machine's clock when the request was made ({}); \
                 either the target's clock is off or the flow is not new",
                humantime::format_duration(ctx.cfg.clock_tolerance),
                ex.sent_at
            ))
            .with(ex.evidence_at("/issued_at", body.get("issued_at"))))
        }
    })
}

fn not_expired(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let expires = time_at(ex, body, "/expires_at")?;
        if expires > ex.received_at {
            Ok(Verdict::pass(format!(
                "expires_at {expires} is in the future"
            )))
        } else {
            Ok(Verdict::fail(format!(
                "the new flow is already expired: expires_at {expires} is not after {} (when the answer arrived)",
                ex.received_at
            ))
            .with(ex.evidence_at("/expires_at", body.get("expires_at"))))
        }
    })
}

/// How `got` differs from `want`, part by part (empty: the same URL).
fn url_diffs(got: &Url, want: &Url) -> Vec<String> {
    // Host and port together: a proxy often changes only the port, and "host `h` instead of
    // `h`" would hide it.
    let authority = |u: &Url| {
        format!(
            "{}:{}",
            u.host_str().unwrap_or_default(),
            u.port_or_known_default()
                .map_or_else(String::new, |p| p.to_string())
        )
    };
    let mut diffs = Vec::new();
    if got.scheme() != want.scheme() {
        diffs.push(format!(
            "scheme `{}` instead of `{}`",
            got.scheme(),
            want.scheme()
        ));
    }
    if authority(got) != authority(want) {
        diffs.push(format!(
            "host `{}` instead of `{}`",
            authority(got),
            authority(want)
        ));
    }
    if got.path() != want.path() {
        diffs.push(format!(
            "path `{}` instead of `{}`",
            got.path(),
            want.path()
        ));
    }
    if got.query() != want.query() {
        diffs.push(format!(
            "query `{}` instead of `{}`",
            got.query().unwrap_or_default(),
            want.query().unwrap_or_default()
        ));
    }
    diffs
}

/// The part of the target's path before the API (`/auth` for `https://host/auth`), empty at
/// the root.
fn prefix(ctx: &Ctx) -> String {
    ctx.url("").path().trim_end_matches('/').to_owned()
}

fn request_url_of<'a>(ex: &Exchange, body: &'a Value) -> Step<(&'a str, Url)> {
    let got = string_at(ex, body, "/request_url")?;
    match Url::parse(got) {
        Ok(parsed) => Ok((got, parsed)),
        Err(_) => Err(Verdict::fail(format!(
            "request_url `{got}` is not an absolute URL; expected {}",
            ex.request.url
        ))
        .with(ex.evidence_at("/request_url", body.get("request_url")))),
    }
}

/// Path and query: a proxy that strips the target's prefix (`/auth`) before Kratos sees the
/// request makes Kratos report the path without it, and that is still the URL Kratos was asked
/// for (the spec's "the initial URL that was requested from Ory Kratos").
fn request_url(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let (got, parsed) = request_url_of(ex, body)?;
        let want = &ex.request.url;
        let prefix = prefix(ctx);
        let stripped = want
            .path()
            .strip_prefix(prefix.as_str())
            .filter(|_| !prefix.is_empty());
        let path_ok = parsed.path() == want.path() || Some(parsed.path()) == stripped;
        let query_ok = parsed.query() == want.query();
        if path_ok && query_ok {
            let how = if parsed.path() == want.path() {
                "the path requested"
            } else {
                "the path requested without the target's prefix (a prefix-stripping proxy)"
            };
            return Ok(Verdict::pass(format!("request_url is {got}: {how}")));
        }
        let mut diffs = Vec::new();
        if !path_ok {
            diffs.push(match stripped {
                Some(s) => format!(
                    "path `{}` instead of `{}` (or `{s}` behind a proxy that strips `{prefix}`)",
                    parsed.path(),
                    want.path()
                ),
                None => format!("path `{}` instead of `{}`", parsed.path(), want.path()),
            });
        }
        if !query_ok {
            diffs.push(format!(
                "query `{}` instead of `{}`",
                parsed.query().unwrap_or_default(),
                want.query().unwrap_or_default()
            ));
        }
        Ok(Verdict::fail(format!(
            "request_url `{got}` is not the URL requested ({want}): {}",
            diffs.join(", ")
        ))
        .with(ex.evidence_at("/request_url", body.get("request_url"))))
    })
}

/// Scheme, host and port: Kratos takes them from the request's Host, or from
/// `X-Forwarded-Host` / `X-Forwarded-Proto` when a proxy sets them. Kratos practice, not spec:
/// a proxy that forwards neither makes Kratos report its internal address.
fn request_url_host(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let (got, parsed) = request_url_of(ex, body)?;
        let want = &ex.request.url;
        let diffs: Vec<String> = url_diffs(&parsed, want)
            .into_iter()
            .filter(|d| d.starts_with("scheme") || d.starts_with("host"))
            .collect();
        if diffs.is_empty() {
            return Ok(Verdict::pass(format!(
                "request_url {got} names the scheme, host and port requested"
            )));
        }
        Ok(Verdict::fail(format!(
            "request_url `{got}` does not name the public address requested ({want}): {}. Kratos builds \
             request_url from the Host it saw, or from X-Forwarded-Host and X-Forwarded-Proto: make the \
             proxy in front of Kratos forward both",
            diffs.join(", ")
        ))
        .with(ex.evidence_at("/request_url", body.get("request_url"))))
    })
}

/// Browsers post the form to `ui.action`, so it must be the public update endpoint: the
/// target's scheme, host, port and prefix (Kratos builds it from `serve.public.base_url`).
fn ui_action(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let id = string_at(ex, body, "/id")?;
        let action = string_at(ex, body, "/ui/action")?;
        let fail = |why: String| {
            Ok(Verdict::fail(format!("ui.action `{action}` {why}"))
                .with(ex.evidence_at("/ui/action", body.pointer("/ui/action"))))
        };
        let Ok(url) = Url::parse(action) else {
            return fail("is not an absolute URL".to_owned());
        };
        let want = ctx.url(crate::check::probes::paths::UPDATE);
        let mut diffs = url_diffs(&url, &want);
        diffs.retain(|d| !d.starts_with("query"));
        if !diffs.is_empty() {
            return fail(format!(
                "is not the public update endpoint {want}: {}. A browser posts the form there; set \
                 Kratos's serve.public.base_url to the public URL, prefix included",
                diffs.join(", ")
            ));
        }
        let flows: Vec<String> = url
            .query_pairs()
            .filter(|(k, _)| k == "flow")
            .map(|(_, v)| v.into_owned())
            .collect();
        if flows != [id] {
            return fail(format!("must carry flow={id}; it carries {flows:?}"));
        }
        Ok(Verdict::pass(format!("ui.action is {action}")))
    })
}

fn ui_nodes(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let (ex, body) = flow(ctx).await?;
        let active = body.get("active").and_then(Value::as_str);
        let nodes = body
            .pointer("/ui/nodes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let attr = |n: &Value, k: &str| {
            n.pointer(&format!("/attributes/{k}"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let in_group =
            |n: &Value| active.is_none_or(|a| n.get("group").and_then(Value::as_str) == Some(a));
        let variant = Variant::of(ex);
        let (field, kind) = match variant {
            Variant::V1 => ("email", "email"),
            Variant::V2 => ("recovery_address", "text"),
        };
        let email = nodes.iter().position(|n| {
            attr(n, "name").as_deref() == Some(field)
                && attr(n, "type").as_deref() == Some(kind)
                && (variant == Variant::V1
                    || n.pointer("/attributes/required").and_then(Value::as_bool) == Some(true))
                && in_group(n)
        });
        let submit = nodes.iter().position(|n| {
            attr(n, "name").as_deref() == Some("method")
                && attr(n, "type").as_deref() == Some("submit")
                && active.is_none_or(|a| attr(n, "value").as_deref() == Some(a))
                && in_group(n)
        });
        let group = active.map_or("any group".to_owned(), |a| format!("group `{a}`"));
        match (email, submit) {
            (Some(e), Some(s)) => Ok(Verdict::pass(format!(
                "ui.nodes/{e} is the {field} input and ui.nodes/{s} the submit, in {group}"
            ))),
            (e, s) => {
                let mut missing = Vec::new();
                if e.is_none() {
                    missing.push(format!(
                        "an input named `{field}` of type `{kind}`{} in {group}",
                        if variant == Variant::V2 {
                            ", required,"
                        } else {
                            ""
                        }
                    ));
                }
                if s.is_none() {
                    missing.push(format!(
                        "a submit named `method`{} in {group}",
                        active
                            .map(|a| format!(" with value `{a}`"))
                            .unwrap_or_default()
                    ));
                }
                Ok(
                    Verdict::fail(format!("ui.nodes lacks {}", missing.join(" and ")))
                        .with(ex.evidence_at("/ui/nodes", body.pointer("/ui/nodes"))),
                )
            }
        }
    })
}

fn return_to_echo(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::ReturnTo).await?;
        let want = ctx.cfg.allowed_return_to();
        let body = json_with_status(ex, 200).map_err(|v| match v {
            Verdict::Failed { detail, evidence } => Verdict::Failed {
                detail: format!("{detail}. If {want} is not on the deployment's allow-list, pass one that is with --return-to"),
                evidence,
            },
            other => other,
        })?;
        equals(ex, body, "/return_to", want.as_str())
    })
}

fn signed_in_token(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::SignedInToken).await?;
        signed_in_verdict(ctx, ex, "--session-token is not a live session there")
    })
}

fn signed_in_cookie(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::SignedInCookie).await?;
        signed_in_verdict(
            ctx,
            ex,
            "--session-cookie is not a live session there, or its name is not the deployment's session cookie name",
        )
    })
}

fn signed_in_bearer(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::SignedInBearer).await?;
        signed_in_verdict(ctx, ex, "--session-token is not a live session there")
    })
}

/// The signed-in rule, with a hint on a 200: the harness cannot tell a deployment that ignores
/// the session from a credential that is not a session there (expired, another environment, a
/// renamed cookie), so the detail names both instead of only blaming the deployment.
fn signed_in_verdict(ctx: &Ctx, ex: &Exchange, credential_hint: &str) -> Step<Verdict> {
    error_generic(ctx, ex, 400, Some("session_already_available")).map_err(|v| match v {
        Verdict::Failed {
            mut detail,
            evidence,
        } if ex.response().is_some_and(|r| r.status == 200) => {
            detail.push_str(&format!(
                " (the deployment treated the request as signed out: either it ignores this credential, or {credential_hint})"
            ));
            Verdict::Failed { detail, evidence }
        }
        other => other,
    })
}

fn invalid_token(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::InvalidToken).await?;
        status(ex, 200)?;
        Ok(Verdict::pass(
            "an unknown token is treated as no session: 200",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_port_is_named_with_the_host() {
        let got = Url::parse("http://127.0.0.1:4433/self-service/recovery/api").expect("url");
        let want = Url::parse("https://127.0.0.1:8443/self-service/recovery/api").expect("url");
        assert_eq!(
            url_diffs(&got, &want),
            [
                "scheme `http` instead of `https`",
                "host `127.0.0.1:4433` instead of `127.0.0.1:8443`"
            ]
        );
        assert!(url_diffs(&want, &want).is_empty());
        let default_port =
            Url::parse("https://127.0.0.1:443/self-service/recovery/api").expect("url");
        assert!(url_diffs(
            &default_port,
            &Url::parse("https://127.0.0.1/self-service/recovery/api").expect("url")
        )
        .is_empty());
    }
}
