//! The compiled rule table: what [`super::compile`] makes of a schema set, and what the pass
//! ([`super::pass`]) and the memo ([`super::memo`]) interpret. Nothing here names a property
//! or a component: every key, enum value, format and requirement in it was read from a schema.
//!
//! A schema object becomes one [`Node`]. Most become a [`Check`]: the instance types it allows,
//! the strings (booleans, null) of its `enum`/`const`, the `jsonschema` [`Leaf`] for its other
//! value keywords, and the object and array rules of `properties`, `required`,
//! `additionalProperties` and `items`. `$ref` and `allOf` are merged into one [`Check`] (the
//! intersection of the rules), and a `oneOf`/`anyOf` whose alternatives each require one
//! property with values no other alternative allows becomes a [`Union`], dispatched on that
//! property. What the engine does not read itself goes whole to `jsonschema` ([`Node::Full`]).

use super::scalar::{is_integer, Leaf, Scalar};
use super::verdict::Slot;

/// Index of a [`Node`] in [`Program::nodes`].
pub(super) type NodeId = u32;
/// Index of a [`Leaf`] in [`Program::leaves`].
pub(super) type LeafId = u32;
/// Index of a full validator in [`Program::full`].
pub(super) type FullId = u32;

/// [`Node::Any`]: always the first node of a program.
pub(super) const ANY: NodeId = 0;
/// [`Node::Never`]: always the second.
pub(super) const NEVER: NodeId = 1;

/// The instance types a schema allows, one bit per type (`integer` and the other numbers apart).
pub(super) struct Types;

impl Types {
    pub(super) const NULL: u8 = 1;
    pub(super) const BOOLEAN: u8 = 1 << 1;
    pub(super) const INTEGER: u8 = 1 << 2;
    /// Numbers with a fraction (`number` is `INTEGER | FRACTION`).
    pub(super) const FRACTION: u8 = 1 << 3;
    pub(super) const STRING: u8 = 1 << 4;
    pub(super) const ARRAY: u8 = 1 << 5;
    pub(super) const OBJECT: u8 = 1 << 6;
    pub(super) const ALL: u8 = (1 << 7) - 1;
    pub(super) const SCALARS: u8 =
        Types::NULL | Types::BOOLEAN | Types::INTEGER | Types::FRACTION | Types::STRING;

    /// The type bit of `value`: integers apart from other numbers.
    pub(super) fn of(value: &Scalar<'_>) -> u8 {
        match value {
            Scalar::Null => Types::NULL,
            Scalar::Bool(_) => Types::BOOLEAN,
            Scalar::Number(n) if is_integer(n) => Types::INTEGER,
            Scalar::Number(_) => Types::FRACTION,
            Scalar::String(_) => Types::STRING,
        }
    }

    /// The bits of a `type` keyword's name; `None` for a name JSON Schema does not define.
    pub(super) fn named(name: &str) -> Option<u8> {
        Some(match name {
            "null" => Types::NULL,
            "boolean" => Types::BOOLEAN,
            "integer" => Types::INTEGER,
            "number" => Types::INTEGER | Types::FRACTION,
            "string" => Types::STRING,
            "array" => Types::ARRAY,
            "object" => Types::OBJECT,
            _ => return None,
        })
    }
}

/// A member of an `enum`/`const` that the engine compares itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Const {
    Null,
    Bool(bool),
    Str(Box<str>),
}

impl Const {
    fn matches(&self, value: &Scalar<'_>) -> bool {
        match (self, value) {
            (Const::Null, Scalar::Null) => true,
            (Const::Bool(a), Scalar::Bool(b)) => a == b,
            (Const::Str(a), Scalar::String(b)) => **a == **b,
            _ => false,
        }
    }
}

/// A schema object the engine reads itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Check {
    /// [`Types`] bits: `type`, narrowed by `enum`/`const` to their members' types.
    pub(super) types: u8,
    /// `enum`/`const` when every member is a string, a boolean or null.
    pub(super) values: Option<Box<[Const]>>,
    /// The value keywords `jsonschema` judges ([`Leaf`]), for scalars.
    pub(super) leaves: Box<[LeafId]>,
    /// `properties`, `required`, `additionalProperties`, for objects.
    pub(super) object: Option<Object>,
    /// `items`, for arrays.
    pub(super) items: NodeId,
}

/// The object rules of a [`Check`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Object {
    /// Every property named by `properties` or `required`.
    pub(super) keys: Box<[Box<str>]>,
    /// The rule of each key (`additionalProperties` for a key only `required` names).
    pub(super) rules: Box<[NodeId]>,
    /// Bit `i`: `keys[i]` is required.
    pub(super) required: u128,
    /// `additionalProperties`: the rule of any other key.
    pub(super) additional: NodeId,
}

/// The most keys an [`Object`] or a [`Union`] can have (its bit sets are `u128`).
pub(super) const MAX_KEYS: usize = 128;

/// A `oneOf`/`anyOf` of object rules that one required property tells apart: each alternative
/// allows that property only strings no other alternative allows. The alternative is picked by
/// the property's value; the object must then be valid against it, and only it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Union {
    /// Every key any alternative names.
    pub(super) keys: Box<[Box<str>]>,
    /// The index of the discriminating property in `keys`.
    pub(super) discriminator: usize,
    pub(super) variants: Box<[Variant]>,
    /// Per key, its rule when every alternative has the same one: a value read before the
    /// discriminator is checked at once. Otherwise it is kept (as raw JSON) until then.
    pub(super) shared: Box<[Option<NodeId>]>,
    /// The rule of other keys, when every alternative has the same one.
    pub(super) shared_additional: Option<NodeId>,
}

/// One alternative of a [`Union`]: an object rule over the union's keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Variant {
    /// The discriminator's values that pick this alternative.
    pub(super) values: Box<[Box<str>]>,
    /// The rule of each key of the union (the alternative's `additionalProperties` for a key
    /// it does not name).
    pub(super) rules: Box<[NodeId]>,
    pub(super) required: u128,
    pub(super) additional: NodeId,
    /// The alternative as a rule of its own (to intersect the union with another rule).
    pub(super) node: NodeId,
}

/// One compiled schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Node {
    /// `true`, `{}`, or annotations only.
    Any,
    /// `false`, or rules no instance can meet.
    Never,
    Check(Check),
    Union(Union),
    /// A `oneOf` (`exactly_one`) or `anyOf` that no property tells apart: each alternative is
    /// tried on the value.
    Alternatives {
        branches: Box<[NodeId]>,
        exactly_one: bool,
    },
    /// Rules that could not be merged into one: the value must meet each.
    All(Box<[NodeId]>),
    /// A schema object with keywords the engine does not read (`not`, `if`, `patternProperties`,
    /// `uniqueItems`, ...): `jsonschema` judges the value, parsed into a DOM.
    Full(FullId),
    /// The rule `inner`, and the value is the fact `slot` of the body.
    Capture {
        slot: Slot,
        inner: NodeId,
    },
}

/// The fewest keys a table is hashed for: below, comparing the heads one by one (whose
/// branches a run of alike bodies predicts) is as fast.
const HASHED_FROM: usize = 17;

/// The key table of an [`Object`] or a [`Union`], hashed: a property name is found with one
/// multiplication and one comparison of its length and first 16 bytes, however many keys the
/// table has.
#[derive(Debug, Default)]
pub(super) struct KeyIndex {
    /// Per key: its length and its first 16 bytes ([`head`]).
    heads: Box<[Head]>,
    /// By hash: the key's index + 1, or 0. Empty: the heads are compared one by one (too few
    /// keys to hash, or no multiplier spread them without a collision).
    slots: Box<[u8]>,
    multiplier: u64,
    shift: u32,
}

impl KeyIndex {
    /// The index of `keys` (at most [`MAX_KEYS`]).
    pub(super) fn new(keys: &[Box<str>]) -> KeyIndex {
        let heads: Box<[Head]> = keys.iter().map(|k| head(k.as_bytes())).collect();
        if keys.len() < HASHED_FROM {
            return KeyIndex {
                heads,
                ..KeyIndex::default()
            };
        }
        let mut size = (keys.len() * 2).next_power_of_two();
        while size <= 1024 {
            let shift = 64 - size.trailing_zeros();
            for k in 0..64u64 {
                let multiplier = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(2 * k + 1);
                let mut slots = vec![0u8; size];
                let spread = heads.iter().enumerate().all(|(i, head)| {
                    let slot = &mut slots[slot(head, multiplier, shift)];
                    let free = *slot == 0;
                    *slot = u8::try_from(i + 1).unwrap_or(u8::MAX);
                    free
                });
                if spread {
                    return KeyIndex {
                        heads,
                        slots: slots.into(),
                        multiplier,
                        shift,
                    };
                }
            }
            size *= 2;
        }
        KeyIndex {
            heads,
            ..KeyIndex::default()
        }
    }

    /// The index of `name` in `keys` (the table this index was built for).
    #[inline]
    pub(super) fn find(&self, keys: &[Box<str>], name: &str) -> Option<usize> {
        let bytes = name.as_bytes();
        let head = head(bytes);
        // Names longer than 16 bytes are told apart by the rest too.
        let rest = |i: usize| bytes.len() <= 16 || keys[i].as_bytes()[16..] == bytes[16..];
        if self.slots.is_empty() {
            return (0..self.heads.len()).find(|&i| self.heads[i] == head && rest(i));
        }
        let i = usize::from(self.slots[slot(&head, self.multiplier, self.shift)]).checked_sub(1)?;
        (self.heads[i] == head && rest(i)).then_some(i)
    }
}

/// A name's length and first 16 bytes ([`head`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    len: u64,
    lo: u64,
    hi: u64,
}

/// A name's length and first 16 bytes, folded so that they tell it from any other name with
/// the same first 16 bytes: overlapping loads of the start and the end, no copy through memory
/// (whose store-to-load stall cost more than the rest of the lookup).
#[inline]
fn head(name: &[u8]) -> Head {
    fn word<const N: usize>(bytes: &[u8]) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&bytes[..N]);
        out
    }
    let n = name.len();
    let (lo, hi) = match n {
        16.. => (
            u64::from_le_bytes(word(name)),
            u64::from_le_bytes(word(&name[8..])),
        ),
        8..=15 => (
            u64::from_le_bytes(word(name)),
            u64::from_le_bytes(word(&name[n - 8..])),
        ),
        4..=7 => (
            u64::from(u32::from_le_bytes(word(name))),
            u64::from(u32::from_le_bytes(word(&name[n - 4..]))),
        ),
        1..=3 => (
            u64::from(name[0]) | u64::from(name[n / 2]) << 8 | u64::from(name[n - 1]) << 16,
            0,
        ),
        0 => (0, 0),
    };
    Head {
        len: n as u64,
        lo,
        hi,
    }
}

/// A name's slot in a table of `2^(64 - shift)`: its head, multiplied.
#[inline]
fn slot(head: &Head, multiplier: u64, shift: u32) -> usize {
    let folded = head.lo ^ head.hi.rotate_left(29) ^ head.len.rotate_right(8);
    (folded.wrapping_mul(multiplier) >> shift) as usize
}

/// A compiled schema set.
pub(super) struct Program {
    pub(super) nodes: Vec<Node>,
    /// Per node, the index of its key table (empty for nodes without one).
    pub(super) keys: Vec<KeyIndex>,
    pub(super) leaves: Vec<Leaf>,
    pub(super) full: Vec<jsonschema::Validator>,
    /// Per component ([`crate::schema::component::Component::index`]), the node a body is
    /// checked against, or why the engine cannot check it.
    pub(super) entries: Vec<Result<NodeId, String>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("nodes", &self.nodes.len())
            .field("keys", &self.keys.len())
            .field("leaves", &self.leaves)
            .field("full", &self.full.len())
            .field("entries", &self.entries)
            .finish()
    }
}

impl Program {
    pub(super) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// Whether the scalar `value` meets `check`.
    #[inline]
    pub(super) fn scalar_ok(&self, check: &Check, value: &Scalar<'_>) -> bool {
        check.types & Types::of(value) != 0
            && check
                .values
                .as_ref()
                .is_none_or(|values| values.iter().any(|c| c.matches(value)))
            && check
                .leaves
                .iter()
                .all(|&leaf| self.leaves[leaf as usize].is_valid(value))
    }

    /// Whether every string meets the rule `node` (a plain `{"type": "string"}`).
    pub(super) fn any_string(&self, node: NodeId) -> bool {
        match self.node(node) {
            Node::Any => true,
            Node::Check(check) => {
                check.types & Types::STRING != 0
                    && check.values.is_none()
                    && check.leaves.is_empty()
            }
            _ => false,
        }
    }

    /// Whether the string `value` meets the rule `node` (a [`Check`], as the memo's spans are).
    pub(super) fn string_ok(&self, node: NodeId, value: &str) -> bool {
        match self.node(node) {
            Node::Check(check) => self.scalar_ok(check, &Scalar::String(value)),
            Node::Any => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_index_finds_every_key_and_nothing_else() {
        let tables: [&[&str]; 4] = [
            &["a", "b"],
            &[
                "autocomplete",
                "disabled",
                "label",
                "maxlength",
                "name",
                "node_type",
                "onclick",
                "onclickTrigger",
                "onload",
                "onloadTrigger",
                "options",
                "pattern",
                "required",
                "type",
                "value",
            ],
            &["", "x", "xx", "xy", "yx", "x\u{e9}"],
            // Equal length and first 16 bytes: no multiplier separates them.
            &["0123456789abcdefX", "0123456789abcdefY", "q", "r"],
        ];
        for table in tables {
            let keys: Vec<Box<str>> = table.iter().map(|k| (*k).into()).collect();
            let index = KeyIndex::new(&keys);
            for (i, key) in table.iter().enumerate() {
                assert_eq!(index.find(&keys, key), Some(i), "{key}");
            }
            for other in [
                "c",
                "typ",
                "types",
                "nam",
                "0123456789abcdefZ",
                "\u{e9}",
                "type\0",
            ] {
                assert_eq!(index.find(&keys, other), None, "{other}");
            }
        }
        // Names that differ in one byte, at every position, for every length up to 20.
        for len in 1..=20usize {
            let keys: Vec<Box<str>> = (0..len)
                .map(|at| {
                    (0..len)
                        .map(|i| if i == at { 'b' } else { 'a' })
                        .collect::<String>()
                })
                .chain(["a".repeat(len)])
                .map(Into::into)
                .collect();
            let index = KeyIndex::new(&keys);
            for (i, key) in keys.iter().enumerate() {
                assert_eq!(index.find(&keys, key), Some(i), "{key}");
            }
            assert_eq!(index.find(&keys, &"c".repeat(len)), None);
        }
        let many: Vec<Box<str>> = (0..40).map(|i| format!("key_{i}").into()).collect();
        let index = KeyIndex::new(&many);
        assert!(!index.slots.is_empty(), "hashed");
        for (i, key) in many.iter().enumerate() {
            assert_eq!(index.find(&many, key), Some(i), "{key}");
        }
        assert_eq!(index.find(&many, "key_40"), None);
        let keys: Vec<Box<str>> = ["0123456789abcdefX", "0123456789abcdefY", "q", "r"]
            .map(Into::into)
            .into();
        assert!(
            KeyIndex::new(&keys).slots.is_empty(),
            "falls back to a scan"
        );
    }
}
