//! A scalar read from the body, and the keywords that judge one value alone (`format`, `pattern`,
//! lengths, numeric bounds, numeric `enum`s) judged by `jsonschema` itself, without a DOM.
//!
//! `jsonschema` validates any JSON representation that implements its [`Json`] trait. [`Scalars`]
//! is the smallest one: a node is a null, a boolean, a number or a string borrowed from the body,
//! never an object or an array. A [`Leaf`] is a `jsonschema` validator compiled for such keywords
//! alone (`{"format": "uuid"}`), with the options of the full validator, so a string's format or a
//! number's bound gets the very verdict the full validator gives, with no allocation.

use jsonschema::json::{Array, Json, JsonNumber, Node, NodeIdentity, Object};
use jsonschema::types::JsonType;
use serde_json::{Number, Value};
use std::borrow::Cow;

/// One scalar value of a body.
#[derive(Debug, Clone)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(&'a str),
}

/// Whether `n` is an integer, by `jsonschema`'s own rule (drafts 6+: `1.0` is one).
pub(super) fn is_integer(n: &Number) -> bool {
    JsonNumber::is_integer(n)
}

/// The [`Json`] representation of [`Scalar`]s.
pub(super) struct Scalars;

/// Objects and arrays: a scalar is never one.
pub(super) enum NoContainer {}

impl Json for Scalars {
    type Node<'a> = Scalar<'a>;
    type PreparedKey = ();
    type StringBuffer = ();

    fn prepare_key(_: &str) {}

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(Scalar<'_>) -> T) -> T {
        f(Scalar::String(string))
    }
}

impl<'a> Node<'a, Scalars> for Scalar<'a> {
    type Object = NoContainer;
    type Array = NoContainer;
    type Number = Number;

    fn as_object(&self) -> Option<NoContainer> {
        None
    }

    fn as_array(&self) -> Option<NoContainer> {
        None
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::String(s) => Some(Cow::Borrowed(s)),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<Number> {
        match self {
            Scalar::Number(n) => Some(n.clone()),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    fn json_type(&self) -> JsonType {
        match self {
            Scalar::Null => JsonType::Null,
            Scalar::Bool(_) => JsonType::Boolean,
            Scalar::Number(_) => JsonType::Number,
            Scalar::String(_) => JsonType::String,
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Number(n) => Value::Number(n.clone()),
            Scalar::String(s) => Value::String((*s).to_owned()),
        })
    }

    fn identity(&self) -> Option<NodeIdentity> {
        // A scalar holds no subschema cycle to detect.
        None
    }
}

impl<'a> Object<'a, Scalars> for NoContainer {
    type Node = Scalar<'a>;
    type MemberName = &'a str;
    type MembersIter = std::iter::Empty<(&'a str, Scalar<'a>)>;

    fn len(&self) -> usize {
        match *self {}
    }

    fn get(&self, _: &()) -> Option<Scalar<'a>> {
        match *self {}
    }

    fn members(&self) -> Self::MembersIter {
        match *self {}
    }
}

impl<'a> Array<'a, Scalars> for NoContainer {
    type Node = Scalar<'a>;
    type ElementsIter = std::iter::Empty<Scalar<'a>>;

    fn len(&self) -> usize {
        match *self {}
    }

    fn elements(&self) -> Self::ElementsIter {
        match *self {}
    }
}

/// The keywords of one schema object that judge a scalar alone, compiled by `jsonschema`.
pub(super) struct Leaf {
    /// The keywords, as JSON (`{"format":"uuid"}`): what equal leaves are recognised by.
    pub(super) keywords: String,
    validator: jsonschema::Validator<Scalars>,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.keywords)
    }
}

impl Leaf {
    /// The keywords that judge a scalar alone, and are left to `jsonschema` (the others are read
    /// by the engine, or make a schema object go to the full validator).
    pub(super) const KEYWORDS: &'static [&'static str] = &[
        "format",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ];

    /// Compiles `keywords` (an object of [`Leaf::KEYWORDS`], and an `enum`/`const` whose
    /// members are not all strings, booleans or null) with the full validator's options.
    pub(super) fn compile(keywords: &serde_json::Map<String, Value>) -> Result<Leaf, String> {
        let schema = Value::Object(keywords.clone());
        let validator = jsonschema::options_for::<Scalars>()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| format!("{schema}: {e}"))?;
        Ok(Leaf {
            keywords: schema.to_string(),
            validator,
        })
    }

    pub(super) fn is_valid(&self, value: &Scalar<'_>) -> bool {
        self.validator.is_valid(value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaf(v: Value) -> Leaf {
        Leaf::compile(v.as_object().expect("object")).expect("compiles")
    }

    #[test]
    fn leaves_give_jsonschemas_verdicts_on_scalars() {
        let uuid = leaf(json!({"format": "uuid"}));
        assert!(uuid.is_valid(&Scalar::String("5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d9a41")));
        assert!(!uuid.is_valid(&Scalar::String("5f0c3a0e6d4b4a579f6a2b8e1c7d9a41")));
        // A format judges strings only.
        assert!(uuid.is_valid(&Scalar::Number(Number::from(3))));
        let range = leaf(json!({"minimum": 100, "maximum": 599}));
        assert!(range.is_valid(&Scalar::Number(Number::from(100))));
        assert!(!range.is_valid(&Scalar::Number(Number::from(600))));
        assert!(range.is_valid(&Scalar::Number(Number::from_f64(599.0).unwrap())));
        assert!(!range.is_valid(&Scalar::Number(Number::from(-1i64))));
        let numbers = leaf(json!({"enum": [1, "a"]}));
        assert!(numbers.is_valid(&Scalar::Number(Number::from_f64(1.0).unwrap())));
        assert!(!numbers.is_valid(&Scalar::Number(Number::from(2))));
        let length = leaf(json!({"maxLength": 2, "pattern": "^é"}));
        assert!(length.is_valid(&Scalar::String("éé")));
        assert!(!length.is_valid(&Scalar::String("ééé")));
        assert!(!length.is_valid(&Scalar::String("ab")));
    }

    #[test]
    fn integers_as_drafts_6_and_later_count_them() {
        for (n, integer) in [
            (Number::from(1), true),
            (Number::from(-1i64), true),
            (Number::from_f64(1.0).unwrap(), true),
            (Number::from_f64(-0.0).unwrap(), true),
            (Number::from_f64(1.5).unwrap(), false),
        ] {
            assert_eq!(is_integer(&n), integer, "{n}");
        }
    }
}
