//! The engine: one serde pass over a body's bytes, each value checked by its rule in the
//! [`Program`] as it is read. No DOM is built; keys are matched without allocating, and strings
//! are borrowed from the body.
//!
//! A value whose rule is not known yet (a property read before the [`Union`]'s discriminator)
//! is kept as raw JSON and checked once the discriminator is read. Alternatives that no property
//! tells apart, rules that could not be merged and [`Node::Full`] schemas read the value as raw
//! JSON too, and check it once per rule.
//!
//! A pass can record the strings it read whose content decides nothing but their own rule (a
//! plain string, a format, not an enum member nor a discriminator), and where they are: the
//! memo's templates ([`super::memo`]).

use super::program::{Check, KeyIndex, Node, NodeId, Object, Program, Types, Union, Variant, ANY};
use super::scalar::Scalar;
use super::verdict::{Captured, Facts, Fast, Slot};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Number;
use std::borrow::Cow;
use std::fmt;

/// A string the pass read from the body: its address, its length in bytes, and its rule.
pub(super) type Recorded = (usize, usize, NodeId);

/// Prefix of the data errors that mean "cannot decide" (a property given twice: the DOM keeps
/// the last one) rather than "invalid".
const UNDECIDED: &str = "undecided: ";
const INVALID: &str = "invalid";

/// Checks `bytes` against the rule `entry`; with `record`, also returns the spans of the free
/// strings read.
pub(super) fn run<'de>(
    program: &Program,
    entry: NodeId,
    bytes: &'de [u8],
    record: bool,
) -> (Fast<'de>, Vec<Recorded>) {
    let mut pass = Pass {
        program,
        facts: Facts::default(),
        record,
        spans: Vec::new(),
        kept: Vec::new(),
    };
    // One UTF-8 check of the whole body, ahead: cheaper than serde's check of each string read
    // from a slice. A body that is not UTF-8 is not JSON, which the full validator says.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return (Fast::Undecided, Vec::new());
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = Seed {
        pass: &mut pass,
        node: entry,
        mode: Mode::Committed,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    let verdict = match result {
        Ok(()) => Fast::Valid(pass.facts),
        Err(e) if e.is_data() && !e.to_string().starts_with(UNDECIDED) => Fast::Invalid,
        Err(_) => Fast::Undecided,
    };
    (verdict, pass.spans)
}

fn invalid<E: de::Error>() -> E {
    E::custom(INVALID)
}

fn undecided<E: de::Error>(why: &str) -> E {
    E::custom(format_args!("{UNDECIDED}{why}"))
}

/// How much a value's check decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The body's verdict is this check's: facts are captured and free strings recorded.
    Committed,
    /// One of several rules the value must all meet: facts are captured, but a string another
    /// rule also judges is not free.
    Unconditional,
    /// One alternative being tried: its outcome may not count.
    Trial,
}

struct Pass<'p, 'de> {
    program: &'p Program,
    facts: Facts<'de>,
    record: bool,
    spans: Vec<Recorded>,
    /// The values the [`Union`]s being read keep until their discriminator: (key, or `None` for
    /// a key no alternative names; the value). A stack shared by nested unions, each reading
    /// its own entries from where it started, so a body allocates it once.
    kept: Vec<(Option<usize>, &'de RawValue)>,
}

impl<'p, 'de> Pass<'p, 'de> {
    /// Checks a value kept raw against `node`.
    fn raw<E: de::Error>(&mut self, raw: &'de RawValue, node: NodeId, mode: Mode) -> Result<(), E> {
        match self.try_raw(raw, node, mode)? {
            true => Ok(()),
            false => Err(invalid()),
        }
    }

    /// Whether a value kept raw meets `node`; `Err` only for "cannot decide".
    fn try_raw<E: de::Error>(
        &mut self,
        raw: &'de RawValue,
        node: NodeId,
        mode: Mode,
    ) -> Result<bool, E> {
        if let Some(met) = self.plain_scalar(raw.get(), node, mode) {
            return Ok(met);
        }
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let result = Seed {
            pass: self,
            node,
            mode,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                let message = e.to_string();
                match message.strip_prefix(UNDECIDED) {
                    Some(why) => Err(undecided(why)),
                    None => Ok(false),
                }
            }
        }
    }

    /// Whether a value kept raw meets `node` when it is a plain scalar (a string without
    /// escapes, `true`, `false`, `null`) and `node` a [`Check`]: the very verdict, facts and
    /// recorded spans [`CheckV`] would give, without reading the value a second time. Most of
    /// what a [`Union`] keeps is such (the attributes before a UI node's `node_type`). `None`:
    /// read it again.
    fn plain_scalar(&mut self, text: &'de str, node: NodeId, mode: Mode) -> Option<bool> {
        let program = self.program;
        let (check, node, slot) = match program.node(node) {
            Node::Check(check) => (check, node, None),
            Node::Capture { slot, inner } => match program.node(*inner) {
                Node::Check(check) => (check, *inner, Some(*slot)),
                _ => return None,
            },
            _ => return None,
        };
        let value = match text {
            "true" => Scalar::Bool(true),
            "false" => Scalar::Bool(false),
            "null" => Scalar::Null,
            // Raw text has no surrounding whitespace; without a backslash, the content between
            // the quotes is the string itself.
            _ => match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(content) if !content.contains('\\') => Scalar::String(content),
                _ => return None,
            },
        };
        if !program.scalar_ok(check, &value) {
            return Some(false);
        }
        if let Scalar::String(v) = value {
            self.read_string(v, check, node, mode, slot);
        }
        Some(true)
    }

    /// Records and captures a string of the body that met `check` (the rule `node`).
    fn read_string(
        &mut self,
        v: &'de str,
        check: &Check,
        node: NodeId,
        mode: Mode,
        slot: Option<Slot>,
    ) {
        // A fact is recorded even when it is an enum member: the memo returns it from the body.
        let free = check.values.is_none() || slot.is_some();
        if self.record && mode == Mode::Committed && free {
            self.spans.push((v.as_ptr() as usize, v.len(), node));
        }
        self.capture(slot, mode, || Captured::Str(Cow::Borrowed(v)));
    }

    /// Reads the next value of `map` against `node`.
    fn value<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        node: NodeId,
        mode: Mode,
    ) -> Result<(), A::Error> {
        if node == ANY {
            map.next_value::<Skip>().map(drop)
        } else {
            map.next_value_seed(Seed {
                pass: self,
                node,
                mode,
            })
        }
    }

    fn object<A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        object: &'p Object,
        index: &'p KeyIndex,
        mode: Mode,
    ) -> Result<(), A::Error> {
        let mut seen = 0u128;
        while let Some(key) = map.next_key_seed(Key(&object.keys, index))? {
            match key {
                Some(i) => {
                    seen = mark(seen, i)?;
                    self.value(&mut map, object.rules[i], mode)?;
                }
                None => self.value(&mut map, object.additional, mode)?,
            }
        }
        if seen & object.required == object.required {
            Ok(())
        } else {
            Err(invalid())
        }
    }

    fn union<A: MapAccess<'de>>(
        &mut self,
        map: A,
        union: &'p Union,
        index: &'p KeyIndex,
        mode: Mode,
    ) -> Result<(), A::Error> {
        let start = self.kept.len();
        let result = self.union_from(map, union, index, mode, start);
        // Also after a failure: a trial that fails leaves nothing to the union around it.
        self.kept.truncate(start);
        result
    }

    /// [`Pass::union`], keeping values in `self.kept` above `start`.
    fn union_from<A: MapAccess<'de>>(
        &mut self,
        mut map: A,
        union: &'p Union,
        index: &'p KeyIndex,
        mode: Mode,
        start: usize,
    ) -> Result<(), A::Error> {
        let mut variant: Option<&'p Variant> = None;
        let mut seen = 0u128;
        // Values read before the discriminator, whose rule depends on it, go to `self.kept`.
        while let Some(key) = map.next_key_seed(Key(&union.keys, index))? {
            if let Some(i) = key {
                seen = mark(seen, i)?;
            }
            let rule = match (key, variant) {
                (Some(i), _) if i == union.discriminator => {
                    let picked = map.next_value_seed(Pick {
                        program: self.program,
                        union,
                    })?;
                    variant = Some(&union.variants[picked]);
                    continue;
                }
                (Some(i), Some(v)) => Some(v.rules[i]),
                (Some(i), None) => union.shared[i],
                (None, Some(v)) => Some(v.additional),
                (None, None) => union.shared_additional,
            };
            match rule {
                Some(node) => self.value(&mut map, node, mode)?,
                None => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    self.kept.push((key, raw));
                }
            }
        }
        // Every alternative requires the discriminator.
        let variant = variant.ok_or_else(invalid)?;
        if seen & variant.required != variant.required {
            return Err(invalid());
        }
        // Nested unions push above `end` and truncate back to it.
        let end = self.kept.len();
        for at in start..end {
            let (key, raw) = self.kept[at];
            let node = key.map_or(variant.additional, |i| variant.rules[i]);
            self.raw(raw, node, mode)?;
        }
        Ok(())
    }

    fn capture(&mut self, slot: Option<Slot>, mode: Mode, value: impl FnOnce() -> Captured<'de>) {
        if let Some(slot) = slot {
            if mode != Mode::Trial {
                self.facts.set(slot, value());
            }
        }
    }
}

/// Sets bit `i` of `seen`; a key given twice cannot be decided without the DOM (which keeps
/// the last value).
fn mark<E: de::Error>(seen: u128, i: usize) -> Result<u128, E> {
    let bit = 1u128 << i;
    if seen & bit != 0 {
        return Err(undecided("duplicate property"));
    }
    Ok(seen | bit)
}

/// A value and its rule.
struct Seed<'s, 'p, 'de> {
    pass: &'s mut Pass<'p, 'de>,
    node: NodeId,
    mode: Mode,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let Seed { pass, node, mode } = self;
        let program = pass.program;
        match program.node(node) {
            Node::Any => Skip::deserialize(d).map(drop),
            Node::Never => Err(invalid()),
            Node::Check(check) => CheckV {
                pass,
                check,
                node,
                mode,
                slot: None,
            }
            .read(d),
            Node::Union(union) => d.deserialize_map(UnionV {
                pass,
                union,
                index: &program.keys[node as usize],
                mode,
            }),
            Node::Capture { slot, inner } => match program.node(*inner) {
                Node::Check(check) => CheckV {
                    pass,
                    check,
                    node: *inner,
                    mode,
                    slot: Some(*slot),
                }
                .read(d),
                _ => {
                    // A captured value under a rule of several parts: checked, then read.
                    let raw = <&'de RawValue>::deserialize(d)?;
                    pass.raw(raw, *inner, mode)?;
                    let mut de = serde_json::Deserializer::from_str(raw.get());
                    if let Ok(value) = de.deserialize_any(Read) {
                        pass.capture(Some(*slot), mode, || value);
                    }
                    Ok(())
                }
            },
            Node::Alternatives {
                branches,
                exactly_one,
            } => {
                let raw = <&'de RawValue>::deserialize(d)?;
                let mut passed = 0;
                for &branch in branches.iter() {
                    if pass.try_raw(raw, branch, Mode::Trial)? {
                        passed += 1;
                        if !*exactly_one || passed > 1 {
                            break;
                        }
                    }
                }
                // `anyOf` stops at the first alternative met, `oneOf` at the second.
                if passed == 1 {
                    Ok(())
                } else {
                    Err(invalid())
                }
            }
            Node::All(members) => {
                let raw = <&'de RawValue>::deserialize(d)?;
                let mode = match mode {
                    Mode::Committed => Mode::Unconditional,
                    other => other,
                };
                for &member in members.iter() {
                    pass.raw(raw, member, mode)?;
                }
                Ok(())
            }
            Node::Full(id) => {
                let raw = <&'de RawValue>::deserialize(d)?;
                let value: serde_json::Value = serde_json::from_str(raw.get())
                    .map_err(|_| undecided::<D::Error>("a value the DOM cannot hold"))?;
                if program.full[*id as usize].is_valid(&value) {
                    Ok(())
                } else {
                    Err(invalid())
                }
            }
        }
    }
}

/// A value checked by a [`Check`].
struct CheckV<'s, 'p, 'de> {
    pass: &'s mut Pass<'p, 'de>,
    check: &'p Check,
    node: NodeId,
    mode: Mode,
    /// The fact this value is, if it is one.
    slot: Option<Slot>,
}

impl<'de> CheckV<'_, '_, 'de> {
    /// Reads the value: as the one type the rule allows, when it allows one (another type is
    /// then a data error, like any broken rule), else as any type.
    fn read<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.check.types {
            Types::STRING => d.deserialize_str(self),
            Types::OBJECT => d.deserialize_map(self),
            Types::ARRAY => d.deserialize_seq(self),
            _ => d.deserialize_any(self),
        }
    }

    fn scalar<E: de::Error>(&self, value: &Scalar<'_>) -> Result<(), E> {
        if self.pass.program.scalar_ok(self.check, value) {
            Ok(())
        } else {
            Err(invalid())
        }
    }

    fn number<E: de::Error>(self, n: Number, integer: Option<i64>) -> Result<(), E> {
        self.scalar(&Scalar::Number(n))?;
        if let Some(n) = integer {
            self.pass.capture(self.slot, self.mode, || Captured::Int(n));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for CheckV<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(&Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(Number::from(v), Some(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(Number::from(v), i64::try_from(v).ok())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        let n = Number::from_f64(v).ok_or_else(|| undecided("a number JSON cannot hold"))?;
        self.number(n, None)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.scalar(&Scalar::String(v))?;
        self.pass
            .read_string(v, self.check, self.node, self.mode, self.slot);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        // A string with escapes, decoded in serde's scratch space: not part of the body.
        self.scalar(&Scalar::String(v))?;
        self.pass.capture(self.slot, self.mode, || {
            Captured::Str(Cow::Owned(v.to_owned()))
        });
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(&Scalar::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.check.types & Types::OBJECT == 0 {
            return Err(invalid());
        }
        match &self.check.object {
            Some(object) => {
                let index = &self.pass.program.keys[self.node as usize];
                self.pass.object(map, object, index, self.mode)
            }
            None => {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(())
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.check.types & Types::ARRAY == 0 {
            return Err(invalid());
        }
        let items = self.check.items;
        if items == ANY {
            while seq.next_element::<Skip>()?.is_some() {}
            return Ok(());
        }
        while seq
            .next_element_seed(Seed {
                pass: &mut *self.pass,
                node: items,
                mode: self.mode,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// An object checked by a [`Union`] (alternatives accept objects only).
struct UnionV<'s, 'p, 'de> {
    pass: &'s mut Pass<'p, 'de>,
    union: &'p Union,
    index: &'p KeyIndex,
    mode: Mode,
}

impl<'de> Visitor<'de> for UnionV<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.pass.union(map, self.union, self.index, self.mode)
    }

    // Any other type: `invalid`, through the default methods' "invalid type" data error.
}

/// The discriminator of a [`Union`]: the index of the alternative its value picks, whose rule
/// for it the value meets.
struct Pick<'p> {
    program: &'p Program,
    union: &'p Union,
}

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for Pick<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a discriminator")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        let union = self.union;
        let picked = union
            .variants
            .iter()
            .position(|variant| variant.values.iter().any(|s| **s == *v))
            .ok_or_else(invalid)?;
        let rule = union.variants[picked].rules[union.discriminator];
        match self.program.node(rule) {
            Node::Check(check) if self.program.scalar_ok(check, &Scalar::String(v)) => Ok(picked),
            _ => Err(invalid()),
        }
    }

    // Any other type picks no alternative: "invalid type", a data error.
}

/// Matches an object key against a key table without allocating; `None`: a key the table does
/// not name.
struct Key<'p>(&'p [Box<str>], &'p KeyIndex);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }

    #[inline]
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.1.find(self.0, v))
    }
}

/// A value no rule reads, read as far as the DOM reads it: every string (key or value) must be
/// UTF-8 and its escapes well formed. `IgnoredAny` skips strings unchecked, so a body the full
/// validator cannot parse ("not JSON") would be valid here.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// A captured value read again from raw JSON: a string (borrowed when it has no escapes) or an
/// integer; anything else is not a fact.
struct Read;

impl<'de> Visitor<'de> for Read {
    type Value = Captured<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Captured::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Captured::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Captured::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(Captured::Int).map_err(|_| invalid())
    }
}
