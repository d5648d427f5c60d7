//! The scenarios of the concurrency checks (`race.*`): a code, right or wrong, submitted
//! `--race-width` times at once through a [`burst`](super::burst), one connection each.
//!
//! - [`code_race`]: `--race-trials` trials; each creates an API flow, submits `--known-email`,
//!   reads the code from the code source, then releases the burst of that right code.
//! - [`guess_race`]: one flow of the known address, its code read, then a burst of wrong codes,
//!   then the right code alone.
//!
//! Both hold the e-mail lock of [`security_probes`](super::security_probes) for one trial at a
//! time (a code read from a mail catcher must be the trial's own, and the burst's concurrent
//! writes must meet no other scenario's in a database like SQLite that takes one writer). A trial
//! that cannot be set up (no code arrived) ends the scenario with the trials run so far and the
//! reason.

use super::burst::{self, Burst};
use super::client::{Exchange, Request};
use super::probes::{Ctx, WRONG_CODE};
use super::security_probes::{
    base, code_prerequisites, flow_with_code, memo, send, submit, writes, Outcome,
};
use crate::codes::{Mark, SourceKind};
use serde_json::{json, Value};
use std::sync::Arc;
use url::Url;

/// One trial of the code race.
#[derive(Debug)]
pub struct Trial {
    /// 1-based.
    pub number: usize,
    /// The flow whose code was raced.
    pub flow: String,
    /// The burst of the right code.
    pub burst: Burst,
}

/// The trials of the code race.
#[derive(Debug)]
pub struct CodeRace {
    /// The trials run, in order.
    pub trials: Vec<Trial>,
    /// `--race-trials`.
    pub planned: usize,
    /// Why the scenario stopped before `planned` trials, if it did.
    pub stopped: Option<String>,
    /// Where the codes were read.
    pub source: String,
    /// What the deployment says of its Kratos version.
    pub version: String,
}

/// The wrong codes raced on one flow, then its right code.
#[derive(Debug)]
pub struct GuessRace {
    /// The flow's id.
    pub flow: String,
    /// The burst of wrong codes.
    pub burst: Burst,
    /// The right code, submitted alone after the burst.
    pub right: Arc<Exchange>,
    /// Where the code was read.
    pub source: String,
}

fn code_body(code: &str) -> Value {
    json!({"method": "code", "code": code})
}

fn burst_of(on: &Url, probe: &str, flow: &str, code: &str, width: usize) -> Vec<Request> {
    (1..=width)
        .map(|i| submit(on, &format!("{probe}.{i}"), flow, &code_body(code)))
        .collect()
}

/// The code race (needs a code source and `--known-email`).
pub async fn code_race(ctx: &Ctx) -> Outcome<CodeRace> {
    memo(ctx, "race.code", async {
        let (source, _) = code_prerequisites(ctx)?;
        let on = base(ctx);
        let version = version_guess(ctx).await;
        let mut out = CodeRace {
            trials: Vec::new(),
            planned: ctx.cfg.race_trials,
            stopped: None,
            source: source.describe(),
            version,
        };
        let mut seen = Mark::empty();
        for number in 1..=ctx.cfg.race_trials {
            let _turn = writes(ctx).lock_owned().await;
            let prefix = format!("race.code.{number}");
            let (flow, code) = match flow_with_code(ctx, &on, &prefix, &mut seen).await {
                Ok(v) => v,
                Err(why) if out.trials.is_empty() => return Err(why),
                Err(why) => {
                    out.stopped = Some(format!("trial {number} could not start: {why}"));
                    break;
                }
            };
            let requests = burst_of(
                &on,
                &format!("{prefix}.submit"),
                &flow,
                &code,
                ctx.cfg.race_width,
            );
            let burst = burst::release(&ctx.client, requests).await;
            out.trials.push(Trial {
                number,
                flow,
                burst,
            });
        }
        Ok(out)
    })
    .await
}

/// The guess race (needs a code source and `--known-email`).
pub async fn guess_race(ctx: &Ctx) -> Outcome<GuessRace> {
    memo(ctx, "race.guess", async {
        let (source, _) = code_prerequisites(ctx)?;
        let on = base(ctx);
        let _turn = writes(ctx).lock_owned().await;
        let mut seen = Mark::empty();
        let (flow, code) = flow_with_code(ctx, &on, "race.brute_force", &mut seen).await?;
        let requests = burst_of(
            &on,
            "race.brute_force.guess",
            &flow,
            WRONG_CODE,
            ctx.cfg.race_width,
        );
        let burst = burst::release(&ctx.client, requests).await;
        let right = send(
            ctx,
            submit(&on, "race.brute_force.right_code", &flow, &code_body(&code)),
            &[303, 200, 400],
        )
        .await;
        Ok(GuessRace {
            flow,
            burst,
            right,
            source: source.describe(),
        })
    })
    .await
}

/// The deployment's Kratos version as its admin API states it (`GET /version`, when the code
/// source is the courier, that is the admin API), else what the flow's form suggests.
async fn version_guess(ctx: &Ctx) -> String {
    if ctx.cfg.embedded {
        return "the embedded reference server".to_owned();
    }
    if let Some(source) = ctx
        .cfg
        .code_source
        .as_ref()
        .filter(|s| s.kind() == SourceKind::Courier)
    {
        if let Ok(url) = Url::parse(&format!("{}/version", source.base().trim_end_matches('/'))) {
            // Outside the recovery API: sent, not logged (no rule of the run judges it).
            let mut request = Request::get("race.version", url);
            if let Some(auth) = source.endpoint().authorization() {
                request = request.header("Authorization", auth.expose());
            }
            let ex = ctx.client.send(request).await;
            if let Some(v) = ex
                .json()
                .and_then(|b| b.get("version"))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            {
                return format!(
                    "{} (GET {}/version)",
                    crate::check::client::shorten(v, 40),
                    source.base().trim_end_matches('/')
                );
            }
        }
    }
    "unknown (Kratos's admin API states it at GET /version: the checks ask it when the code source is --courier-url)".to_owned()
}
