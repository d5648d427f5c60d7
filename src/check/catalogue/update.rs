//! `update.*`: `POST /self-service/recovery?flow=` (updateRecoveryFlow) with the flow's active
//! method (`code` by default): an email moves the flow to `sent_email` with the "sent" message, a
//! missing email answers a 400 flow with a message on the email node, and a wrong code keeps the
//! flow in `sent_email` with an error message. Every body is validated against its schema.

use crate::check::judge::judge;
use crate::check::judge::{
    equals, has_ui_message, json_with_status, node_error, precondition, Judge,
};
use crate::check::model::{Check, Judged, Operation};
use crate::check::probes::{flow_method, Ctx, Probe, Variant};
use crate::report::{Level, RuleSource};
use crate::schema::Component;

const PRE: &[&str] = &["preflight.recovery_enabled"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check::new("update.email.200", "Submitting an email answers 200 JSON", Operation::Update,
        "POST {method, email} to a new flow answers 200 application/json",
        RuleSource::OpenApi, Level::Required, PRE, judge!(Judge::StatusJson(Probe::UpdateEmail, 200))),
    Check::new("update.email.schema", "The answer to an email is a valid recoveryFlow", Operation::Update,
        "the 200 body validates against recoveryFlow",
        RuleSource::OpenApi, Level::Required, &["update.email.200"], judge!(Judge::Schema(Probe::UpdateEmail, 200, Component::RecoveryFlow))),
    Check::new("update.email.state", "After the address the flow awaits the code", Operation::Update,
        "state == \"sent_email\" (v1) or \"recovery_awaiting_code\" (v2, choose_recovery_address) after the --email address is submitted (known and unknown addresses are compared by enumeration.same_answer)",
        RuleSource::SpecProse, Level::Required, &["update.email.200"], email_state),
    Check::new("update.email.message", "After the address the flow says the message was sent", Operation::Update,
        "ui.messages holds the info message 1060003 (code), 1060002 (link) or, in v2, 1060004 (sent to the masked address)",
        RuleSource::ObservedKratos, Level::Recommended, &["update.email.200"], email_message),
    Check::new("update.missing_email.400", "Submitting without an address answers 400", Operation::Update,
        "POST {method} without email (v2: recovery_address) answers 400",
        RuleSource::OpenApi, Level::Required, PRE, judge!(Judge::Status(Probe::UpdateMissingEmail, 400))),
    Check::new("update.missing_email.schema", "The 400 is a recoveryFlow with errors", Operation::Update,
        "the 400 body validates against recoveryFlow (a flow with validation messages)",
        RuleSource::OpenApi, Level::Required, &["update.missing_email.400"], judge!(Judge::Schema(Probe::UpdateMissingEmail, 400, Component::RecoveryFlow))),
    Check::new("update.missing_email.message", "The address node says what is missing", Operation::Update,
        "the `email` node (v2: `recovery_address`) carries a message of type error",
        RuleSource::ObservedKratos, Level::Recommended, &["update.missing_email.400"], missing_message),
    Check::new("update.wrong_code.200", "A wrong code answers 200", Operation::Update,
        "POST {method: code, code: <wrong>} after the address answers 200 (not 400)",
        RuleSource::ObservedKratos, Level::Recommended, &["update.email.state"], judge!(Judge::Status(Probe::UpdateWrongCode, 200))),
    Check::new("update.wrong_code.schema", "The answer to a wrong code is a valid recoveryFlow", Operation::Update,
        "the 200 body validates against recoveryFlow",
        RuleSource::OpenApi, Level::Required, &["update.wrong_code.200"], judge!(Judge::Schema(Probe::UpdateWrongCode, 200, Component::RecoveryFlow))),
    Check::new("update.wrong_code.state", "A wrong code keeps the flow awaiting the code", Operation::Update,
        "state stays \"sent_email\" (v1) or \"recovery_awaiting_code\" (v2)",
        RuleSource::SpecProse, Level::Required, &["update.wrong_code.200"], wrong_state),
    Check::new("update.wrong_code.message", "A wrong code is reported as an error", Operation::Update,
        "ui.messages holds a message of type error (Kratos: 4060006)",
        RuleSource::ObservedKratos, Level::Recommended, &["update.wrong_code.200"], wrong_message),
];

fn email_state(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = precondition(ctx.update_email().await)?;
        let body = json_with_status(ex, 200)?;
        let variant = Variant::of(ctx.update_flow().await);
        equals(ex, body, "/state", variant.sent_state())
    })
}

fn email_message(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = precondition(ctx.update_email().await)?;
        let body = json_with_status(ex, 200)?;
        let flow = ctx.update_flow().await;
        let (ids, what): (&[u64], _) = match (Variant::of(flow), flow_method(flow).as_str()) {
            (Variant::V2, _) => (
                &[1060004],
                "the \"recovery code sent to <masked address>\" message",
            ),
            (_, "link") => (&[1060002], "the \"recovery link sent\" message"),
            _ => (&[1060003], "the \"recovery code sent\" message"),
        };
        has_ui_message(ex, body, "info", ids, what)
    })
}

fn missing_message(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = precondition(ctx.update_missing_email().await)?;
        let body = json_with_status(ex, 400)?;
        let field = Variant::of(ctx.missing_email_flow().await).address_field();
        node_error(
            ex,
            body,
            field,
            |_| true,
            (
                format!("the 400 flow has no `{field}` node to carry the message"),
                format!("the {field} node says"),
                format!("the {field} node carries no error message"),
            ),
        )
    })
}

fn wrong_state(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = precondition(ctx.update_wrong_code().await)?;
        let body = json_with_status(ex, 200)?;
        let variant = Variant::of(ctx.update_flow().await);
        equals(ex, body, "/state", variant.sent_state())
    })
}

fn wrong_message(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = precondition(ctx.update_wrong_code().await)?;
        let body = json_with_status(ex, 200)?;
        has_ui_message(ex, body, "error", &[], "an error message about the code")
    })
}
