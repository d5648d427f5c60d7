//! `create_browser.*`: `GET /self-service/recovery/browser` (createBrowserRecoveryFlow) asked for
//! JSON: Kratos negotiates on `Accept` and answers the flow instead of redirecting.

use crate::check::judge::judge;
use crate::check::judge::{exchange, status, Judge};
use crate::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
use crate::check::probes::{Ctx, Probe};
use crate::report::{Effect, Level, RuleSource};
use crate::schema::Component;

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "create_browser.200",
        title: "A browser flow asked for JSON answers 200 JSON",
        operation: Operation::CreateBrowser,
        rule: "GET /self-service/recovery/browser with Accept: application/json answers 200 application/json (not a redirect)",
        source: RuleSource::ObservedKratos,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["preflight.recovery_enabled"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: status_200,
        fault: "browser_html",
    },
    Check {
        id: "create_browser.schema",
        title: "The browser flow is a valid recoveryFlow",
        operation: Operation::CreateBrowser,
        rule: "the 200 body validates against recoveryFlow",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["create_browser.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Schema(Probe::CreateBrowser, 200, Component::RecoveryFlow)),
        fault: "browser_missing_required_field",
    },
    Check {
        id: "create_browser.type",
        title: "The browser flow's type is browser",
        operation: Operation::CreateBrowser,
        rule: "type == \"browser\"",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["create_browser.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Equals(Probe::CreateBrowser, 200, "/type", "browser")),
        fault: "browser_type_api",
    },
];

fn status_200(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::CreateBrowser).await?;
        let resp = status(ex, 200)?;
        if !resp.is_json_content_type() {
            return Ok(Verdict::fail(format!(
                "asked for JSON, got {}: Accept: application/json must negotiate a JSON flow",
                ex.describe()
            ))
            .with(ex.evidence()));
        }
        Ok(Verdict::pass(format!("answered {}", ex.describe())))
    })
}
