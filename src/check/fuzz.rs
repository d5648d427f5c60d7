//! Property-based probing: proptest strategies generate requests (query strings, `return_to`,
//! session headers, cookies, flow ids, update bodies), the runner sends them and judges the
//! invariants (never 5xx, every error an errorGeneric, every 200 a valid flow). proptest's value
//! trees are driven by hand so the requests can be awaited: the cases run concurrently, the first
//! failing one (lowest index, so the result does not depend on timing) is shrunk with
//! `simplify`/`complicate` to a minimal request, reported with a `curl` line. The same `--seed`
//! generates the same cases.

use super::client::{Exchange, Request};
use super::judge::{answered, equals, error_envelope, json, schema};
use super::model::{Step, Verdict};
use super::probes::{flow_id, paths, Ctx, Probe, UNKNOWN_FLOW_ID};
use crate::schema::Component;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Upper bound on shrinking steps (each is one or two requests).
const MAX_SHRINK_STEPS: u32 = 256;

/// The operation probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// createNativeRecoveryFlow.
    CreateNative,
    /// getRecoveryFlow.
    GetFlow,
    /// updateRecoveryFlow.
    Update,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::CreateNative => "create_native",
            Target::GetFlow => "get_flow",
            Target::Update => "update",
        }
    }
}

/// Which flow a generated get/update request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowSel {
    /// A real flow (get: one created by the suite; update: a fresh one per case).
    Real,
    /// A real id in upper case.
    RealUpper,
    /// A real id cut to this many characters.
    RealCut(usize),
    /// The `id`/`flow` parameter twice (a real id, then a literal).
    Twice(String),
    /// A literal value.
    Literal(String),
    /// No parameter.
    Missing,
}

/// A body of a generated submission.
#[derive(Debug, Clone, PartialEq)]
pub enum GenBody {
    /// A JSON object.
    Json(Map<String, Value>),
    /// The same fields as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// Raw text with a content type.
    Raw(String, String),
}

/// One generated request.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Extra query pairs.
    pub query: Vec<(String, String)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The flow named (get / update).
    pub flow: FlowSel,
    /// The body (update).
    pub body: Option<GenBody>,
}

fn header_token() -> impl Strategy<Value = String> {
    "[!-~]{0,40}"
}

fn query_pair() -> impl Strategy<Value = (String, String)> {
    let key = prop_oneof![
        3 => Just("return_to".to_owned()),
        1 => Just("refresh".to_owned()),
        1 => Just("skip_settings".to_owned()),
        1 => Just("flow".to_owned()),
        1 => "[a-z_]{1,10}",
    ];
    let value = prop_oneof![
        3 => "https?://[a-z]{1,10}(\\.[a-z]{2,5})?(:[0-9]{1,5})?/[a-z/]{0,12}",
        2 => "\\PC{0,20}",
        1 => Just(String::new()),
        1 => Just("//evil.example".to_owned()),
        1 => Just("javascript:alert(1)".to_owned()),
        1 => "/[a-z/]{0,10}",
        1 => Just("true".to_owned()),
    ];
    (key, value)
}

fn session_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let token = header_token().prop_map(|t| ("X-Session-Token".to_owned(), t));
    let bearer = prop_oneof![
        header_token().prop_map(|t| format!("Bearer {t}")),
        header_token(),
    ]
    .prop_map(|v| ("Authorization".to_owned(), v));
    let cookie = (
        prop_oneof![
            Just("ory_kratos_session".to_owned()),
            Just("chx_auth_session".to_owned()),
            Just("csrf_token_0123".to_owned()),
            "[a-z_]{1,12}",
        ],
        "[A-Za-z0-9_=-]{0,40}",
    )
        .prop_map(|(n, v)| ("Cookie".to_owned(), format!("{n}={v}")));
    (
        proptest::option::of(token),
        proptest::option::of(bearer),
        proptest::option::of(cookie),
    )
        .prop_map(|(a, b, c)| [a, b, c].into_iter().flatten().collect())
}

fn create_native_cases() -> SBoxedStrategy<Case> {
    (
        proptest::collection::vec(query_pair(), 0..4),
        session_headers(),
    )
        .prop_map(|(query, headers)| Case {
            query,
            headers,
            flow: FlowSel::Missing,
            body: None,
        })
        .sboxed()
}

fn flow_sel(real_weight: u32) -> impl Strategy<Value = FlowSel> {
    prop_oneof![
        real_weight => Just(FlowSel::Real),
        1 => Just(FlowSel::RealUpper),
        1 => (0usize..36).prop_map(FlowSel::RealCut),
        1 => "[0-9a-f-]{0,40}".prop_map(FlowSel::Twice),
        1 => any::<u128>().prop_map(|n| FlowSel::Literal(uuid::Builder::from_random_bytes(n.to_le_bytes()).into_uuid().to_string())),
        1 => "[!-~]{0,40}".prop_map(FlowSel::Literal),
        1 => Just(FlowSel::Missing),
    ]
}

fn get_flow_cases() -> SBoxedStrategy<Case> {
    flow_sel(3)
        .prop_map(|flow| Case {
            query: Vec::new(),
            headers: Vec::new(),
            flow,
            body: None,
        })
        .sboxed()
}

fn fields() -> impl Strategy<Value = Vec<(String, Value)>> {
    let method = prop_oneof![
        4 => Just("code".to_owned()),
        1 => Just("link".to_owned()),
        1 => Just(String::new()),
        1 => "[a-z]{1,10}",
    ];
    let email = prop_oneof![
        // Reserved domains only: a deployment that notifies unknown recipients must not mail
        // real people because of a probe.
        3 => "[a-z]{1,8}@example\\.(com|org|net)",
        1 => "\\PC{0,20}",
        1 => Just("a".repeat(330)),
    ];
    let code = prop_oneof!["[0-9]{0,8}", "\\PC{0,10}"];
    (
        proptest::option::of(method),
        proptest::option::of(email),
        proptest::option::of(code),
        proptest::option::of("[A-Za-z0-9]{0,20}"),
    )
        .prop_map(|(m, e, c, t)| {
            let mut out = Vec::new();
            if let Some(m) = m {
                out.push(("method".to_owned(), Value::String(m)));
            }
            if let Some(e) = e {
                out.push(("email".to_owned(), Value::String(e)));
            }
            if let Some(c) = c {
                out.push(("code".to_owned(), Value::String(c)));
            }
            if let Some(t) = t {
                out.push(("csrf_token".to_owned(), Value::String(t)));
            }
            out
        })
}

fn update_cases() -> SBoxedStrategy<Case> {
    let body = prop_oneof![
        6 => fields().prop_map(|f| GenBody::Json(f.into_iter().collect())),
        2 => fields().prop_map(|f| GenBody::Form(
            f.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned())).collect()
        )),
        1 => prop_oneof![
            Just("{".to_owned()), Just("[]".to_owned()), Just("null".to_owned()),
            Just("\"x\"".to_owned()), "[ -~]{0,30}",
        ].prop_map(|t| GenBody::Raw("application/json".to_owned(), t)),
        1 => "[ -~]{0,30}".prop_map(|t| GenBody::Raw("text/plain".to_owned(), t)),
    ];
    (flow_sel(8), body)
        .prop_map(|(flow, body)| Case {
            query: Vec::new(),
            headers: Vec::new(),
            flow,
            body: Some(body),
        })
        .sboxed()
}

fn seed_bytes(seed: u64, target: Target) -> [u8; 32] {
    // splitmix64: spreads one u64 over the 32 bytes ChaCha wants, distinct per target.
    let mut state = seed ^ (target as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    out
}

/// Generates the cases of `target` for `seed` (deterministic).
pub fn generate(target: Target, seed: u64, n: u32) -> Vec<Box<dyn ValueTree<Value = Case>>> {
    let strategy = match target {
        Target::CreateNative => create_native_cases(),
        Target::GetFlow => get_flow_cases(),
        Target::Update => update_cases(),
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed, target));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok())
        .collect()
}

enum CaseOutcome {
    Kept(u16),
    Broken(Verdict),
    /// No answer (or no flow to submit to): not a property of the request, so not shrunk.
    NoAnswer(Verdict),
}

fn apply_flow(sel: &FlowSel, real: &str, key: &str, url: &mut url::Url) -> Option<String> {
    let mut pairs = url.query_pairs_mut();
    let asked = match sel {
        FlowSel::Real => Some(real.to_owned()),
        FlowSel::RealUpper => Some(real.to_ascii_uppercase()),
        FlowSel::RealCut(n) => Some(real.chars().take(*n).collect()),
        FlowSel::Twice(other) => {
            pairs.append_pair(key, real);
            Some(other.clone())
        }
        FlowSel::Literal(s) => Some(s.clone()),
        FlowSel::Missing => None,
    };
    if let Some(v) = &asked {
        pairs.append_pair(key, v);
    }
    drop(pairs);
    if url.query() == Some("") {
        url.set_query(None);
    }
    asked
}

async fn run_case(
    ctx: &Ctx,
    target: Target,
    case: &Case,
    label: String,
    real: &str,
) -> (CaseOutcome, Option<Exchange>) {
    let path = match target {
        Target::CreateNative => paths::CREATE_NATIVE,
        Target::GetFlow => paths::GET_FLOW,
        Target::Update => paths::UPDATE,
    };
    let mut url = ctx.url(path);
    for (k, v) in &case.query {
        url.query_pairs_mut().append_pair(k, v);
    }
    let mut real = real.to_owned();
    if target == Target::Update
        && case.flow != FlowSel::Missing
        && !matches!(case.flow, FlowSel::Literal(_))
    {
        // Each submission gets a fresh flow so that cases do not change each other's state.
        let created = ctx
            .client
            .send(Request::get(
                format!("{label}.flow"),
                ctx.url(paths::CREATE_NATIVE),
            ))
            .await;
        match flow_id(&created) {
            Ok(id) => real = id,
            Err(why) => {
                let v = Verdict::fail(format!("could not create a flow to submit to: {why}"))
                    .with(created.evidence());
                return (CaseOutcome::NoAnswer(v), Some(created));
            }
        }
    }
    let asked = match target {
        Target::CreateNative => None,
        Target::GetFlow => apply_flow(&case.flow, &real, "id", &mut url),
        Target::Update => apply_flow(&case.flow, &real, "flow", &mut url),
    };
    let mut request = Request::get(label, url);
    request.headers = case.headers.clone();
    if let Some(body) = &case.body {
        request.method = reqwest::Method::POST;
        request.body = Some(match body {
            GenBody::Json(map) => (
                "application/json".to_owned(),
                Value::Object(map.clone()).to_string().into_bytes(),
            ),
            GenBody::Form(pairs) => (
                "application/x-www-form-urlencoded".to_owned(),
                serde_urlencoded::to_string(pairs)
                    .unwrap_or_default()
                    .into_bytes(),
            ),
            GenBody::Raw(ct, text) => (ct.clone(), text.clone().into_bytes()),
        });
    }
    let ex = ctx.client.send(request).await;
    let outcome = match judge(ctx, target, &ex, asked.as_deref(), case) {
        Ok(status) => CaseOutcome::Kept(status),
        Err(v) if ex.response().is_none() => CaseOutcome::NoAnswer(v),
        Err(v) => CaseOutcome::Broken(v),
    };
    (outcome, Some(ex))
}

/// The invariants for one answer.
fn judge(
    ctx: &Ctx,
    target: Target,
    ex: &Exchange,
    asked_id: Option<&str>,
    case: &Case,
) -> Step<u16> {
    let resp = answered(ex)?;
    let s = resp.status;
    if s >= 500 {
        return Err(Verdict::fail(format!(
            "a client's request got a server error: {}",
            ex.describe()
        ))
        .with(ex.evidence()));
    }
    match (target, s) {
        (_, 200) => {
            schema(ctx, ex, Component::RecoveryFlow)?;
            let body = json(ex)?;
            if target == Target::CreateNative {
                equals(ex, body, "/type", "api")?;
            }
            if target == Target::GetFlow && !matches!(case.flow, FlowSel::Twice(_)) {
                if let Some(id) = asked_id {
                    let got = body.get("id").and_then(Value::as_str);
                    if got.map(str::to_ascii_lowercase) != Some(id.to_ascii_lowercase()) {
                        return Err(Verdict::fail(format!(
                            "asked for flow {id}, got flow {}",
                            got.unwrap_or("without id")
                        ))
                        .with(ex.evidence_at("/id", body.get("id"))));
                    }
                }
            }
        }
        (Target::Update, 400) => {
            if schema(ctx, ex, Component::RecoveryFlow).is_err() {
                error_envelope(ctx, ex, resp).map_err(|v| match v {
                    Verdict::Failed { detail, evidence } => Verdict::Failed {
                        detail: format!("a 400 must be a recoveryFlow with messages or an errorGeneric: {detail}"),
                        evidence,
                    },
                    other => other,
                })?;
            }
        }
        (Target::Update, 303) => {
            if resp.header("location").is_none_or(str::is_empty) {
                return Err(Verdict::fail("a 303 without a Location header").with(ex.evidence()));
            }
        }
        (Target::Update, 422) => {
            schema(ctx, ex, Component::ErrorBrowserLocationChangeRequired).map(|_| ())?
        }
        _ => error_envelope(ctx, ex, resp)?,
    }
    Ok(s)
}

/// Runs the property-based probe of `target` and returns its verdict.
pub async fn probe(ctx: &Ctx, target: Target) -> Verdict {
    let n = ctx.cfg.fuzz_cases;
    let seed = ctx.cfg.seed;
    let mut trees = generate(target, seed, n);
    // The real flow a get case names: the suite's own creation (sent once, shared).
    let real = match target {
        Target::GetFlow => match ctx.exchange(Probe::CreateNative).await.and_then(flow_id) {
            Ok(id) => id,
            Err(why) => return Verdict::skip(why),
        },
        _ => UNKNOWN_FLOW_ID.to_owned(),
    };
    let name = target.name();
    let cases: Vec<Case> = trees.iter().map(|t| t.current()).collect();
    let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
    let mut first: Option<(usize, Verdict)> = None;
    // Batches of `--concurrency` cases: concurrent within a batch, and the probe stops after the
    // first batch with a failure (a target that hangs costs one timeout, not one per case). The
    // failure reported is the lowest index of that batch, so timing does not change the result.
    let batch = ctx.cfg.concurrency.max(1);
    for (b, chunk) in cases.chunks(batch).enumerate() {
        let results = futures::future::join_all(chunk.iter().enumerate().map(|(j, c)| {
            let i = b * batch + j;
            run_case(ctx, target, c, format!("fuzz.{name}.{i}"), &real)
        }))
        .await;
        for (j, (outcome, _)) in results.into_iter().enumerate() {
            let i = b * batch + j;
            match outcome {
                CaseOutcome::Kept(s) => *statuses.entry(s).or_default() += 1,
                CaseOutcome::NoAnswer(v) if first.is_none() => {
                    let prefix = format!("generated case {i} of {n} (seed {seed}) got no answer");
                    return match v {
                        Verdict::Failed { detail, evidence } => Verdict::Failed {
                            detail: format!("{prefix}: {detail}"),
                            evidence,
                        },
                        Verdict::Error { detail, evidence } => Verdict::Error {
                            detail: format!("{prefix}: {detail}"),
                            evidence,
                        },
                        other => other,
                    };
                }
                CaseOutcome::Broken(v) if first.is_none() => first = Some((i, v)),
                _ => {}
            }
        }
        if first.is_some() {
            break;
        }
    }
    let Some((index, verdict)) = first else {
        let seen: Vec<String> = statuses.iter().map(|(s, c)| format!("{s}×{c}")).collect();
        return Verdict::pass(format!(
            "{n} generated requests (seed {seed}) kept the invariants; statuses {}",
            if seen.is_empty() {
                "none".to_owned()
            } else {
                seen.join(", ")
            }
        ));
    };
    let tree = &mut trees[index];
    let original = tree.current();
    // A failure is replayed before it is shrunk or reported: a transient 500 (Kratos on SQLite
    // under load) must not be reported as the "minimal request" whose curl line then answers 200.
    let (replayed, replay_ex) =
        run_case(ctx, target, &original, format!("fuzz.{name}.replay"), &real).await;
    if !matches!(replayed, CaseOutcome::Broken(_)) {
        return flaky(index, n, seed, &original, verdict, replay_ex.as_ref());
    }
    let original_verdict = verdict.clone();
    let mut best = (original.clone(), verdict);
    let mut steps = 0;
    if tree.simplify() {
        loop {
            steps += 1;
            if steps > MAX_SHRINK_STEPS {
                break;
            }
            let case = tree.current();
            let (outcome, _) =
                run_case(ctx, target, &case, format!("fuzz.{name}.shrink"), &real).await;
            if let CaseOutcome::Broken(v) = outcome {
                best = (case, v);
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    let (mut minimal, mut v) = best;
    if minimal != original {
        // The minimal request must fail again too, or the original is what is reported.
        let (again, _) = run_case(
            ctx,
            target,
            &minimal,
            format!("fuzz.{name}.replay_minimal"),
            &real,
        )
        .await;
        if !matches!(again, CaseOutcome::Broken(_)) {
            minimal = original.clone();
            v = original_verdict;
        }
    }
    match v {
        Verdict::Failed { detail, evidence } => Verdict::Failed {
            detail: format!(
                "generated case {index} of {n} (seed {seed}) broke an invariant; shrunk in {steps} steps to the minimal \
                 request below ({}): {detail}. Replay with --seed {seed}.",
                describe_case(&minimal)
            ),
            evidence,
        },
        other => other,
    }
}

/// A generated failure that did not happen again when the same request was replayed: reported
/// with the original request and the replay's answer, as an error of the run (flaky), not as a
/// broken rule.
fn flaky(
    index: usize,
    n: u32,
    seed: u64,
    case: &Case,
    verdict: Verdict,
    replay: Option<&Exchange>,
) -> Verdict {
    let (detail, mut evidence) = match verdict {
        Verdict::Failed { detail, evidence } | Verdict::Error { detail, evidence } => {
            (detail, evidence)
        }
        other => (format!("{other:?}"), Vec::new()),
    };
    let seen = replay.map_or("nothing".to_owned(), Exchange::describe);
    if let Some(ex) = replay {
        evidence.push(ex.evidence());
    }
    Verdict::Flaky {
        detail: format!(
            "FLAKY: generated case {index} of {n} (seed {seed}) broke an invariant once ({}): {detail}; \
             the same request replayed answered {seen} and kept the invariants, so this is not reported as a \
             broken rule. The original request is the first evidence below. Replay with --seed {seed}.",
            describe_case(case)
        ),
        evidence,
    }
}

fn describe_case(c: &Case) -> String {
    let mut parts = Vec::new();
    if !c.query.is_empty() {
        parts.push(format!("query {:?}", c.query));
    }
    if !c.headers.is_empty() {
        let names: Vec<&str> = c.headers.iter().map(|(n, _)| n.as_str()).collect();
        parts.push(format!("headers {names:?}"));
    }
    if c.flow != FlowSel::Missing || c.body.is_some() {
        parts.push(format!("flow {:?}", c.flow));
    }
    if let Some(b) = &c.body {
        parts.push(format!("body {b:?}"));
    }
    if parts.is_empty() {
        "no extra parameters".to_owned()
    } else {
        super::client::shorten(&parts.join(", "), 300)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_generates_the_same_cases() {
        for target in [Target::CreateNative, Target::GetFlow, Target::Update] {
            let a: Vec<Case> = generate(target, 7, 16)
                .iter()
                .map(|t| t.current())
                .collect();
            let b: Vec<Case> = generate(target, 7, 16)
                .iter()
                .map(|t| t.current())
                .collect();
            let c: Vec<Case> = generate(target, 8, 16)
                .iter()
                .map(|t| t.current())
                .collect();
            assert_eq!(a.len(), 16);
            assert_eq!(a, b);
            assert_ne!(a, c);
        }
    }

    #[test]
    fn shrinking_reaches_simpler_cases() {
        let mut trees = generate(Target::CreateNative, 1, 32);
        let tree = trees
            .iter_mut()
            .find(|t| !t.current().query.is_empty())
            .expect("some case has a query");
        let mut simplified = false;
        while tree.simplify() {
            simplified = true;
        }
        assert!(simplified);
        assert!(tree.current().query.len() <= 1);
    }
}
