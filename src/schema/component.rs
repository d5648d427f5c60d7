//! The spec components a recovery response (or part of one) is validated against.

/// A spec component that a recovery response (or part of one) is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// `recoveryFlow`: every 200 (and 400 flow-with-errors) body.
    RecoveryFlow,
    /// `errorGeneric`: the `{"error": {...}}` envelope.
    ErrorGeneric,
    /// `errorBrowserLocationChangeRequired`: the 422 after a correct code (as sent on the wire).
    ErrorBrowserLocationChangeRequired,
    /// `selfServiceFlowExpiredError`: the rich 410.
    SelfServiceFlowExpiredError,
    /// `continueWith`: one item of `continue_with`.
    ContinueWith,
    /// `genericError`: the object inside the `error` envelope.
    GenericError,
    /// `uiContainer`: a flow's `ui`.
    UiContainer,
    /// `uiNode`: one item of `ui.nodes`.
    UiNode,
    /// `uiText`: one message (`ui.messages[i]`, a node's message, a label).
    UiText,
}

impl Component {
    /// Every component, in declaration order (the order they are compiled in).
    pub const ALL: [Component; 9] = [
        Component::RecoveryFlow,
        Component::ErrorGeneric,
        Component::ErrorBrowserLocationChangeRequired,
        Component::SelfServiceFlowExpiredError,
        Component::ContinueWith,
        Component::GenericError,
        Component::UiContainer,
        Component::UiNode,
        Component::UiText,
    ];

    /// The component's name as in the OpenAPI document (`recoveryFlow`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Component::RecoveryFlow => "recoveryFlow",
            Component::ErrorGeneric => "errorGeneric",
            Component::ErrorBrowserLocationChangeRequired => "errorBrowserLocationChangeRequired",
            Component::SelfServiceFlowExpiredError => "selfServiceFlowExpiredError",
            Component::ContinueWith => "continueWith",
            Component::GenericError => "genericError",
            Component::UiContainer => "uiContainer",
            Component::UiNode => "uiNode",
            Component::UiText => "uiText",
        }
    }

    /// The component called `name` in the OpenAPI document (`recoveryFlow`), if the harness has it.
    pub fn from_name(name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The schema file that holds the component (`recoveryFlow.json`).
    pub fn file_name(self) -> String {
        format!("{}.json", self.name())
    }

    /// The component's position in [`Component::ALL`], for tables indexed by component.
    pub(crate) fn index(self) -> usize {
        // `ALL` lists the variants in declaration order, so the discriminant is the index.
        self as usize
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_index_and_name_round_trip() {
        for (i, c) in Component::ALL.iter().enumerate() {
            assert_eq!(c.index(), i, "{c}");
            assert_eq!(Component::from_name(c.name()), Some(*c));
        }
        assert_eq!(Component::from_name("RecoveryFlow"), None);
    }
}
