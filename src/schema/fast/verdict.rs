//! What the fast path answers: a verdict, and for a valid body the few values the load runner
//! reads from it ([`Facts`]), borrowed from the body.

use crate::schema::component::Component;
use std::borrow::Cow;

/// What the fast path found.
#[derive(Debug, Clone, PartialEq)]
pub enum Fast<'a> {
    /// The body is valid; what the runner needs from it.
    Valid(Facts<'a>),
    /// The body breaks the schema (the full validator explains where).
    Invalid,
    /// The pass cannot decide (not JSON, or a property given twice): ask the full validator.
    Undecided,
}

/// The values of a valid body the load runner reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts<'a> {
    /// A flow's `id`.
    pub id: Option<Cow<'a, str>>,
    /// A flow's `state`.
    pub state: Option<Cow<'a, str>>,
    /// The `error` object of an error body (`Some` when one of its facts is there).
    pub error: Option<ErrorFacts<'a>>,
}

/// The parts of `genericError` a failure message quotes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorFacts<'a> {
    /// `error.id`.
    pub id: Option<Cow<'a, str>>,
    /// `error.code`, when it is an integer that fits an `i64` and is written without a fraction.
    pub code: Option<i64>,
    /// `error.message`.
    pub message: Option<Cow<'a, str>>,
    /// `error.reason`.
    pub reason: Option<Cow<'a, str>>,
}

/// Which fact a captured value is. Strings except [`Slot::ErrorCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Slot {
    Id,
    State,
    ErrorId,
    ErrorCode,
    ErrorMessage,
    ErrorReason,
}

impl Slot {
    /// Every slot, in the order of a template's fact table.
    pub(super) const ALL: [Slot; 6] = [
        Slot::Id,
        Slot::State,
        Slot::ErrorId,
        Slot::ErrorCode,
        Slot::ErrorMessage,
        Slot::ErrorReason,
    ];

    /// Where each fact of a `component` body is: the property path from the body's root. This
    /// is what the load runner reads, not a validation rule; the rules at those places are the
    /// schemas'.
    pub(super) fn paths(component: Component) -> &'static [(Slot, &'static [&'static str])] {
        const FLOW: &[(Slot, &[&str])] = &[(Slot::Id, &["id"]), (Slot::State, &["state"])];
        const ENVELOPE: &[(Slot, &[&str])] = &[
            (Slot::ErrorId, &["error", "id"]),
            (Slot::ErrorCode, &["error", "code"]),
            (Slot::ErrorMessage, &["error", "message"]),
            (Slot::ErrorReason, &["error", "reason"]),
        ];
        const ERROR: &[(Slot, &[&str])] = &[
            (Slot::ErrorId, &["id"]),
            (Slot::ErrorCode, &["code"]),
            (Slot::ErrorMessage, &["message"]),
            (Slot::ErrorReason, &["reason"]),
        ];
        match component {
            Component::RecoveryFlow => FLOW,
            Component::ErrorGeneric
            | Component::ErrorBrowserLocationChangeRequired
            | Component::SelfServiceFlowExpiredError => ENVELOPE,
            Component::GenericError => ERROR,
            Component::ContinueWith
            | Component::UiContainer
            | Component::UiNode
            | Component::UiText => &[],
        }
    }
}

/// A captured value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Captured<'a> {
    Str(Cow<'a, str>),
    Int(i64),
}

impl<'a> Facts<'a> {
    /// Puts `value` in `slot`; a value of the wrong kind for the slot is not a fact.
    pub(super) fn set(&mut self, slot: Slot, value: Captured<'a>) {
        let error = || ErrorFacts::default();
        match (slot, value) {
            (Slot::Id, Captured::Str(s)) => self.id = Some(s),
            (Slot::State, Captured::Str(s)) => self.state = Some(s),
            (Slot::ErrorId, Captured::Str(s)) => self.error.get_or_insert_with(error).id = Some(s),
            (Slot::ErrorCode, Captured::Int(n)) => {
                self.error.get_or_insert_with(error).code = Some(n);
            }
            (Slot::ErrorMessage, Captured::Str(s)) => {
                self.error.get_or_insert_with(error).message = Some(s);
            }
            (Slot::ErrorReason, Captured::Str(s)) => {
                self.error.get_or_insert_with(error).reason = Some(s);
            }
            _ => {}
        }
    }

    /// The string in `slot`, if any.
    pub(super) fn string(&self, slot: Slot) -> Option<&Cow<'a, str>> {
        let error = self.error.as_ref();
        match slot {
            Slot::Id => self.id.as_ref(),
            Slot::State => self.state.as_ref(),
            Slot::ErrorId => error.and_then(|e| e.id.as_ref()),
            Slot::ErrorMessage => error.and_then(|e| e.message.as_ref()),
            Slot::ErrorReason => error.and_then(|e| e.reason.as_ref()),
            Slot::ErrorCode => None,
        }
    }

    /// The integer in `slot`, if any.
    pub(super) fn integer(&self, slot: Slot) -> Option<i64> {
        match slot {
            Slot::ErrorCode => self.error.as_ref().and_then(|e| e.code),
            _ => None,
        }
    }
}
