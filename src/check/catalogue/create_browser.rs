//! `create_browser.*`: `GET /self-service/recovery/browser` (createBrowserRecoveryFlow) asked for
//! JSON: Kratos negotiates on `Accept` and answers the flow instead of redirecting.

use crate::check::judge::judge;
use crate::check::judge::{status, Judge};
use crate::check::model::{Check, Judged, Operation, Verdict};
use crate::check::probes::{Ctx, Probe};
use crate::report::{Level, RuleSource};
use crate::schema::Component;

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check::new("create_browser.200", "A browser flow asked for JSON answers 200 JSON", Operation::CreateBrowser,
        "GET /self-service/recovery/browser with Accept: application/json answers 200 application/json (not a redirect)",
        RuleSource::ObservedKratos, Level::Required, &["preflight.recovery_enabled"], status_200),
    Check::new("create_browser.schema", "The browser flow is a valid recoveryFlow", Operation::CreateBrowser,
        "the 200 body validates against recoveryFlow",
        RuleSource::OpenApi, Level::Required, &["create_browser.200"], judge!(Judge::Schema(Probe::CreateBrowser, 200, Component::RecoveryFlow))),
    Check::new("create_browser.type", "The browser flow's type is browser", Operation::CreateBrowser,
        "type == \"browser\"",
        RuleSource::SpecProse, Level::Required, &["create_browser.200"], judge!(Judge::Equals(Probe::CreateBrowser, 200, "/type", "browser"))),
];

fn status_200(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = ctx.create_browser().await;
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
