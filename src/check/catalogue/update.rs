//! `update.*`: `POST /self-service/recovery?flow=` (updateRecoveryFlow) with the flow's active
//! method (`code` by default): an email moves the flow to `sent_email` with the "sent" message, a
//! missing email answers a 400 flow with a message on the email node, and a wrong code keeps the
//! flow in `sent_email` with an error message. Every body is validated against its schema.

use crate::check::judge::judge;
use crate::check::judge::{equals, exchange, has_ui_message, json_with_status, node_error, Judge};
use crate::check::model::{Check, Judged, Needs, Operation, Phase};
use crate::check::probes::{flow_method, Ctx, Probe, Variant};
use crate::report::{Effect, Level, RuleSource};
use crate::schema::Component;

const PRE: &[&str] = &["preflight.recovery_enabled"];

/// The checks of this file.
pub const CHECKS: &[Check] = &[
    Check {
        id: "update.email.200",
        title: "Submitting an email answers 200 JSON",
        operation: Operation::Update,
        rule: "POST {method, email} to a new flow answers 200 application/json",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::StatusJson(Probe::UpdateEmail, 200)),
        fault: "update_email_500",
    },
    Check {
        id: "update.email.schema",
        title: "The answer to an email is a valid recoveryFlow",
        operation: Operation::Update,
        rule: "the 200 body validates against recoveryFlow",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["update.email.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Schema(Probe::UpdateEmail, 200, Component::RecoveryFlow)),
        fault: "update_email_missing_required_field",
    },
    Check {
        id: "update.email.state",
        title: "After the address the flow awaits the code",
        operation: Operation::Update,
        rule: "state == \"sent_email\" (v1) or \"recovery_awaiting_code\" (v2, choose_recovery_address) after the --email address is submitted (known and unknown addresses are compared by enumeration.same_answer)",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["update.email.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: email_state,
        fault: "update_email_state",
    },
    Check {
        id: "update.email.message",
        title: "After the address the flow says the message was sent",
        operation: Operation::Update,
        rule: "ui.messages holds the info message 1060003 (code), 1060002 (link) or, in v2, 1060004 (sent to the masked address)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["update.email.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: email_message,
        fault: "update_email_no_message",
    },
    Check {
        id: "update.missing_email.400",
        title: "Submitting without an address answers 400",
        operation: Operation::Update,
        rule: "POST {method} without email (v2: recovery_address) answers 400",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: PRE,
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Status(Probe::UpdateMissingEmail, 400)),
        fault: "missing_email_200",
    },
    Check {
        id: "update.missing_email.schema",
        title: "The 400 is a recoveryFlow with errors",
        operation: Operation::Update,
        rule: "the 400 body validates against recoveryFlow (a flow with validation messages)",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows],
        requires: &["update.missing_email.400"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Schema(Probe::UpdateMissingEmail, 400, Component::RecoveryFlow)),
        fault: "missing_email_missing_required_field",
    },
    Check {
        id: "update.missing_email.message",
        title: "The address node says what is missing",
        operation: Operation::Update,
        rule: "the `email` node (v2: `recovery_address`) carries a message of type error",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows],
        requires: &["update.missing_email.400"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: missing_message,
        fault: "missing_email_no_node_message",
    },
    Check {
        id: "update.wrong_code.200",
        title: "A wrong code answers 200",
        operation: Operation::Update,
        rule: "POST {method: code, code: <wrong>} after the address answers 200 (not 400)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["update.email.state"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Status(Probe::UpdateWrongCode, 200)),
        fault: "wrong_code_400",
    },
    Check {
        id: "update.wrong_code.schema",
        title: "The answer to a wrong code is a valid recoveryFlow",
        operation: Operation::Update,
        rule: "the 200 body validates against recoveryFlow",
        source: RuleSource::OpenApi,
        level: Level::Required,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["update.wrong_code.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: judge!(Judge::Schema(Probe::UpdateWrongCode, 200, Component::RecoveryFlow)),
        fault: "wrong_code_missing_required_field",
    },
    Check {
        id: "update.wrong_code.state",
        title: "A wrong code keeps the flow awaiting the code",
        operation: Operation::Update,
        rule: "state stays \"sent_email\" (v1) or \"recovery_awaiting_code\" (v2)",
        source: RuleSource::SpecProse,
        level: Level::Required,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["update.wrong_code.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: wrong_state,
        fault: "wrong_code_state",
    },
    Check {
        id: "update.wrong_code.message",
        title: "A wrong code is reported as an error",
        operation: Operation::Update,
        rule: "ui.messages holds a message of type error (Kratos: 4060006)",
        source: RuleSource::ObservedKratos,
        level: Level::Recommended,
        effects: &[Effect::CreatesFlows, Effect::SendsMail],
        requires: &["update.wrong_code.200"],
        needs: Needs::Nothing,
        phase: Phase::Main,
        judge: wrong_message,
        fault: "wrong_code_no_message",
    },
];

fn email_state(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::UpdateEmail).await?;
        let body = json_with_status(ex, 200)?;
        let variant = Variant::of(exchange(ctx, Probe::UpdateFlow).await?);
        equals(ex, body, "/state", variant.sent_state())
    })
}

fn email_message(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::UpdateEmail).await?;
        let body = json_with_status(ex, 200)?;
        let flow = exchange(ctx, Probe::UpdateFlow).await?;
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
        let ex = exchange(ctx, Probe::UpdateMissingEmail).await?;
        let body = json_with_status(ex, 400)?;
        let field = Variant::of(exchange(ctx, Probe::MissingEmailFlow).await?).address_field();
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
        let ex = exchange(ctx, Probe::UpdateWrongCode).await?;
        let body = json_with_status(ex, 200)?;
        let variant = Variant::of(exchange(ctx, Probe::UpdateFlow).await?);
        equals(ex, body, "/state", variant.sent_state())
    })
}

fn wrong_message(ctx: &Ctx) -> Judged<'_> {
    Box::pin(async move {
        let ex = exchange(ctx, Probe::UpdateWrongCode).await?;
        let body = json_with_status(ex, 200)?;
        has_ui_message(ex, body, "error", &[], "an error message about the code")
    })
}
