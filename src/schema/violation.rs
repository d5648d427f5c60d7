//! Turns the `jsonschema` crate's errors into [`Violation`]s: pointer, rule, value, sentence.
//!
//! A failed `oneOf`/`anyOf` is expanded into the errors of the alternative the instance was meant to
//! match, when a discriminator picks exactly one: every other alternative fails an `enum`/`const` on
//! one direct property (`node_type`, `action`, a node's `type`). The OpenAPI `discriminator` keyword is
//! informational, so this is inferred from the errors, for the embedded schemas and `--spec` alike.
//! An alternative list that no discriminator narrows is reported as one violation, unless a sibling
//! violation on the same object already explains it (the discriminator is missing or unknown).

use super::resource::BASE_URI;
use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;
use serde_json::Value;

/// One way an instance breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value in the instance (`/ui/nodes/1/attributes/type`);
    /// the empty string is the whole instance (RFC 6901).
    pub pointer: String,
    /// The rule broken, as the schema keyword and its location
    /// (`enum at recoveryFlowState.json#/enum`, or `#/components/schemas/...` for `--spec`).
    pub rule: String,
    /// The offending value, JSON-encoded and cut to a readable length.
    pub value: String,
    /// A human sentence.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{} (at {}: {}, value {})",
            self.message, pointer, self.rule, self.value
        )
    }
}

/// How schema locations are shown in [`Violation::rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocationStyle {
    /// `recoveryFlow.json#/properties/state`: the files of `schemas/` (embedded or a directory).
    Files,
    /// `#/components/schemas/recoveryFlow/properties/state`: an OpenAPI document.
    OpenApi,
}

/// Longest JSON rendering of an offending value kept in a [`Violation`], in characters.
const MAX_VALUE_CHARS: usize = 120;

/// Violations gathered from one validation, before unexplained alternative lists are pruned.
#[derive(Default)]
pub(crate) struct Collector {
    violations: Vec<Violation>,
    /// Indices of `oneOf`/`anyOf` failures that no discriminator narrowed.
    unexplained: Vec<usize>,
}

impl Collector {
    /// Adds the violations `error` stands for.
    pub(crate) fn add(&mut self, error: &ValidationError<'_>, style: LocationStyle) {
        let branches = match error.kind() {
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => Some(context),
            _ => None,
        };
        let Some(branches) = branches else {
            self.violations.push(Violation {
                pointer: error.instance_path().to_string(),
                rule: rule(error, style),
                value: truncate_value(error.instance()),
                message: error.masked().to_string(),
            });
            return;
        };
        if let Some(selected) = selected_branch(error.instance_path().as_str(), branches) {
            for inner in selected {
                self.add(inner, style);
            }
            return;
        }
        self.unexplained.push(self.violations.len());
        self.violations.push(Violation {
            pointer: error.instance_path().to_string(),
            rule: rule(error, style),
            value: truncate_value(error.instance()),
            message: format!(
                "value matches none of the {} alternatives, and no discriminator (an enum/const \
                 property such as node_type or action) singles one out",
                branches.len()
            ),
        });
    }

    /// The violations, without alternative lists that a sibling violation already explains: when
    /// `node_type` is missing, "required" says why no variant matched.
    pub(crate) fn finish(self) -> Vec<Violation> {
        let Collector {
            violations,
            unexplained,
        } = self;
        let explained = |index: usize| {
            let pointer = violations[index].pointer.as_str();
            violations.iter().enumerate().any(|(other, v)| {
                other != index
                    && !unexplained.contains(&other)
                    && (v.pointer == pointer || direct_child(pointer, &v.pointer).is_some())
            })
        };
        let drop: Vec<usize> = unexplained
            .iter()
            .copied()
            .filter(|&i| explained(i))
            .collect();
        violations
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, v)| v)
            .collect()
    }
}

/// The one alternative the instance was meant to match: there is a direct property (the
/// discriminator, e.g. `node_type` or `action`) on which every other alternative failed an `enum` or
/// `const`, and this one did not. `None` when no property singles out exactly one alternative.
fn selected_branch<'a, 'e>(
    parent: &str,
    branches: &'a [Vec<ValidationError<'e>>],
) -> Option<&'a [ValidationError<'e>]> {
    // Per alternative, the direct properties whose enum/const failed.
    let failed: Vec<Vec<&str>> = branches
        .iter()
        .map(|errors| {
            errors
                .iter()
                .filter(|e| {
                    matches!(
                        e.kind(),
                        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
                    )
                })
                .filter_map(|e| direct_child(parent, e.instance_path().as_str()))
                .collect()
        })
        .collect();
    let mut selected = None;
    for property in failed.iter().flatten() {
        let mut passing = failed
            .iter()
            .enumerate()
            .filter(|(_, props)| !props.contains(property));
        if let (Some((index, _)), None) = (passing.next(), passing.next()) {
            match selected {
                None => selected = Some(index),
                Some(previous) if previous == index => {}
                // Two properties single out different alternatives: no clear choice.
                Some(_) => return None,
            }
        }
    }
    selected.map(|index| branches[index].as_slice())
}

/// The property name if `pointer` is a direct child of `parent` (`/a/0/node_type` of `/a/0`).
fn direct_child<'p>(parent: &str, pointer: &'p str) -> Option<&'p str> {
    pointer
        .strip_prefix(parent)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|segment| !segment.is_empty() && !segment.contains('/'))
}

/// `keyword at location`, the location relative to the schema set.
fn rule(error: &ValidationError<'_>, style: LocationStyle) -> String {
    let keyword = error.kind().keyword();
    let location = match error.absolute_keyword_location() {
        Some(uri) => display_location(uri.as_str(), style),
        None => format!("#{}", error.schema_path()),
    };
    format!("{keyword} at {location}")
}

fn display_location(uri: &str, style: LocationStyle) -> String {
    let Some(local) = uri.strip_prefix(BASE_URI) else {
        return uri.to_owned();
    };
    match style {
        LocationStyle::Files => local.to_owned(),
        LocationStyle::OpenApi => {
            let (file, pointer) = local.split_once('#').unwrap_or((local, ""));
            let name = file.strip_suffix(".json").unwrap_or(file);
            format!("#/components/schemas/{name}{pointer}")
        }
    }
}

/// The value as compact JSON, cut at [`MAX_VALUE_CHARS`] characters (on a char boundary).
pub(crate) fn truncate_value(value: &Value) -> String {
    let json = value.to_string();
    match json.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &json[..cut]),
        None => json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truncates_long_values_on_char_boundary() {
        let long = json!("é".repeat(300));
        let out = truncate_value(&long);
        assert_eq!(out.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(out.ends_with('…'));
        assert_eq!(truncate_value(&json!(null)), "null");
    }

    #[test]
    fn direct_child_pointers() {
        assert_eq!(direct_child("/a/0", "/a/0/node_type"), Some("node_type"));
        assert_eq!(direct_child("", "/action"), Some("action"));
        assert_eq!(direct_child("/a/0", "/a/0/x/y"), None);
        assert_eq!(direct_child("/a/0", "/a/0"), None);
        assert_eq!(direct_child("/a/1", "/a/10/x"), None);
    }

    #[test]
    fn locations_per_style() {
        let uri = format!("{BASE_URI}recoveryFlowState.json#/enum");
        assert_eq!(
            display_location(&uri, LocationStyle::Files),
            "recoveryFlowState.json#/enum"
        );
        assert_eq!(
            display_location(&uri, LocationStyle::OpenApi),
            "#/components/schemas/recoveryFlowState/enum"
        );
    }
}
