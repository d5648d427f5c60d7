//! The fast path: the embedded schemas' rules as one typed, borrowing serde pass over the body's
//! bytes. No DOM is built; every object is walked once, its keys matched without allocating, each
//! value checked by the rule of its property (types, enums, `const`, formats `uuid`/`date-time`
//! with the very functions `jsonschema` uses, integer ranges, required properties, the `node_type`
//! and `action` discriminated unions of `uiNodeAttributes` and `continueWith`).
//!
//! The format and integer checks follow `jsonschema` 0.61's own (`keywords/format.rs`:
//! `is_valid_uuid` is the hyphenated form of `uuid-simd`, `is_valid_datetime` is RFC 3339 with its
//! leap-second rule; drafts 6+ count `1.0` as an integer); the `schema_fast` tests hold them to
//! the validator's verdicts on generated strings.
//!
//! The verdicts are exact for the embedded schemas (the `schema_fast` tests compare them with
//! `jsonschema` on every fixture, every mutation and generated bodies). [`Fast::Undecided`] is
//! returned when the pass cannot be sure without the DOM: a syntax error (the caller must say
//! "not JSON") or a property given twice (the DOM keeps the last one). A schema given with
//! `--schemas` or `--spec` has no fast path: [`super::Schemas::fast`] is `None` there.
//!
//! Properties whose rule depends on a discriminator that may come later in the object (the
//! attributes of a node before its `node_type`, a `continue_with` item's `flow` before its
//! `action`) are classified while they are read ([`Kind`]) or kept as raw JSON and checked once
//! the discriminator is known.
//!
//! [`Memo`] (what [`super::Schemas::fast`] uses) puts a memory in front of the pass: a body equal
//! to one the pass already found valid, except in strings whose content decides nothing but their
//! own format, gets that body's verdict after a byte comparison and those formats' checks.

use super::Component;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// What the fast pass found.
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
    pub state: Option<&'static str>,
    /// The `error` object of an error body.
    pub error: Option<ErrorFacts<'a>>,
}

/// The parts of `genericError` a failure message quotes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorFacts<'a> {
    /// `error.id`.
    pub id: Option<Cow<'a, str>>,
    /// `error.code` (an integer of 100..=599 when valid).
    pub code: Option<i64>,
    /// `error.message`.
    pub message: Option<Cow<'a, str>>,
    /// `error.reason`.
    pub reason: Option<Cow<'a, str>>,
}

/// Marks the one data error that means "undecided" rather than "invalid".
const DUPLICATE: &str = "duplicate property";

/// Checks `bytes` against `component` of the embedded schemas.
pub fn check(component: Component, bytes: &[u8]) -> Fast<'_> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = match component {
        Component::RecoveryFlow => FlowV.deserialize(&mut de),
        Component::ErrorGeneric => ErrorBodyV(ErrorBody::Generic).deserialize(&mut de),
        Component::ErrorBrowserLocationChangeRequired => {
            ErrorBodyV(ErrorBody::LocationChange).deserialize(&mut de)
        }
        Component::SelfServiceFlowExpiredError => {
            ErrorBodyV(ErrorBody::Expired).deserialize(&mut de)
        }
        Component::GenericError => GenericErrorV.deserialize(&mut de).map(|e| Facts {
            error: Some(e),
            ..Facts::default()
        }),
        Component::ContinueWith => ContinueWithV
            .deserialize(&mut de)
            .map(|()| Facts::default()),
        Component::UiContainer => UiContainerV.deserialize(&mut de).map(|()| Facts::default()),
        Component::UiNode => UiNodeV.deserialize(&mut de).map(|()| Facts::default()),
        Component::UiText => UiTextV.deserialize(&mut de).map(|()| Facts::default()),
    };
    match result.and_then(|facts| de.end().map(|()| facts)) {
        Ok(facts) => Fast::Valid(facts),
        Err(e) if e.is_data() && e.to_string().starts_with(DUPLICATE) => Fast::Undecided,
        Err(e) if e.is_data() => Fast::Invalid,
        Err(_) => Fast::Undecided,
    }
}

fn broken<E: de::Error>(what: &str) -> E {
    E::custom(what)
}

// ---- formats ------------------------------------------------------------------------------

/// `format: uuid`: 8-4-4-4-12 hex digits, either case.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn digits(b: &[u8]) -> Option<u16> {
    b.iter().try_fold(0u16, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
    })
}

/// `format: date` (RFC 3339 full-date).
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (digits(&b[..4]), digits(&b[5..7]), digits(&b[8..]))
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let last = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=last).contains(&day)
}

/// `format: time` (RFC 3339 full-time), a leap second only at 23:59:60 UTC.
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) =
        (digits(&b[..2]), digits(&b[3..5]), digits(&b[6..8]))
    else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 8;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i == b.len() {
        return false;
    }
    let sign = match b[i] {
        b'Z' | b'z' => return i == b.len() - 1 && (second != 60 || (hour == 23 && minute == 59)),
        b'+' => -1i16,
        b'-' => 1i16,
        _ => return false,
    };
    if b.len() - i != 6 || b[i + 3] != b':' {
        return false;
    }
    let (Some(off_h), Some(off_m)) = (digits(&b[i + 1..i + 3]), digits(&b[i + 4..i + 6])) else {
        return false;
    };
    if off_h > 23 || off_m > 59 {
        return false;
    }
    if second != 60 {
        return true;
    }
    // A leap second must fall on 23:59 UTC.
    let mut utc_h = hour as i16 + sign * off_h as i16;
    let mut utc_m = minute as i16 + sign * off_m as i16;
    utc_h += utc_m / 60;
    utc_m %= 60;
    if utc_m < 0 {
        utc_m += 60;
        utc_h -= 1;
    }
    utc_h = (utc_h + 24) % 24;
    utc_h == 23 && utc_m == 59
}

/// `format: date-time` (RFC 3339): split at the first `T`/`t`.
fn is_date_time(s: &str) -> bool {
    match s.bytes().position(|b| b == b'T' || b == b't') {
        Some(t) => is_date(&s[..t]) && is_time(&s[t + 1..]),
        None => false,
    }
}

// ---- keys ---------------------------------------------------------------------------------

/// Matches an object key against a property list without allocating; `None`: not a property
/// the schema names (any value is allowed there).
struct KeyOf(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyOf {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyOf {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

/// Walks an object: each named property once (a repeat is [`DUPLICATE`]), `f` reads its value;
/// any other property is skipped. Returns the bit set of the properties seen.
fn properties<'de, A: MapAccess<'de>>(
    map: &mut A,
    keys: &'static [&'static str],
    mut f: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
) -> Result<u64, A::Error> {
    let mut seen = 0u64;
    while let Some(key) = map.next_key_seed(KeyOf(keys))? {
        match key {
            Some(i) => {
                let bit = 1u64 << i;
                if seen & bit != 0 {
                    return Err(broken(DUPLICATE));
                }
                seen |= bit;
                f(i, map)?;
            }
            None => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(seen)
}

/// The bit set of the properties at `indexes`.
const fn bits(indexes: &[usize]) -> u64 {
    let mut out = 0u64;
    let mut i = 0;
    while i < indexes.len() {
        out |= 1u64 << indexes[i];
        i += 1;
    }
    out
}

fn require<E: de::Error>(seen: u64, required: u64) -> Result<(), E> {
    if seen & required == required {
        Ok(())
    } else {
        Err(broken("a required property is missing"))
    }
}

// ---- leaf values --------------------------------------------------------------------------

/// `{"type": "string"}`.
struct StrV;

impl<'de> DeserializeSeed<'de> for StrV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for StrV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        record(v, Format::None);
        Ok(())
    }
}

/// A string kept (borrowed from the body when it has no escapes), with an optional format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    None,
    Uuid,
    DateTime,
}

struct CowV(Format);

impl<'de> DeserializeSeed<'de> for CowV {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Format {
    fn holds(self, v: &str) -> bool {
        match self {
            Format::None => true,
            Format::Uuid => is_uuid(v),
            Format::DateTime => is_date_time(v),
        }
    }
}

impl CowV {
    fn formatted<E: de::Error>(&self, v: &str) -> Result<(), E> {
        if self.0.holds(v) {
            record(v, self.0);
            Ok(())
        } else {
            Err(broken("a string breaks its format"))
        }
    }
}

impl<'de> Visitor<'de> for CowV {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        self.formatted(v)?;
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.formatted(v)?;
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// A string with a format, not kept.
struct FormatV(Format);

impl<'de> DeserializeSeed<'de> for FormatV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for FormatV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        CowV(self.0).formatted(v)
    }
}

/// `{"type": "string", "enum": [...]}` (or an enum of strings only): the member's index.
struct EnumV(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for EnumV {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for EnumV {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of the enum's strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|m| *m == v)
            .ok_or_else(|| broken("a string is not one of the enum"))
    }
}

/// Whether a JSON number is an integer as `jsonschema` counts them (drafts 6+: `1.0` is one).
fn f64_is_integer(v: f64) -> bool {
    // serde_json gives a finite f64 for every number that is not an i64/u64 (this build has no
    // arbitrary precision); jsonschema counts it as an integer when its fraction is zero.
    v.is_finite() && v.fract() == 0.0
}

/// `{"type": "integer"}` with an optional inclusive range; the value when it fits an `i64`.
struct IntV(Option<(f64, f64)>);

impl<'de> DeserializeSeed<'de> for IntV {
    type Value = Option<i64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl IntV {
    fn ranged<E: de::Error>(&self, v: f64) -> Result<(), E> {
        match self.0 {
            Some((lo, hi)) if !(lo..=hi).contains(&v) => {
                Err(broken("an integer is out of its range"))
            }
            _ => Ok(()),
        }
    }
}

impl Visitor<'_> for IntV {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.ranged(v as f64)?;
        Ok(i64::try_from(v).ok())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.ranged(v as f64)?;
        Ok(Some(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if !f64_is_integer(v) {
            return Err(broken("a number is not an integer"));
        }
        self.ranged(v)?;
        Ok(None)
    }
}

/// `{"type": "object"}` with any properties; with `strings`, every value a string
/// (`additionalProperties: {"type": "string"}`).
struct ObjectV {
    strings: bool,
}

impl<'de> DeserializeSeed<'de> for ObjectV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Keys are skipped unread; a repeated key is harmless (each value must pass the same rule).
        while map.next_key::<IgnoredAny>()?.is_some() {
            if self.strings {
                map.next_value_seed(StrV)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `{"type": "array", "items": ...}`.
struct ArrayV<S>(S);

impl<'de, S: DeserializeSeed<'de, Value = ()> + Copy> DeserializeSeed<'de> for ArrayV<S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de, Value = ()> + Copy> Visitor<'de> for ArrayV<S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self.0)?.is_some() {}
        Ok(())
    }
}

/// What a value whose rule is not yet known turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Absent,
    /// A string; `member`: it is one of the enum the classifier was given.
    Str {
        member: bool,
    },
    Bool,
    Int,
    Other,
}

impl Kind {
    /// Absent or a string (`{"type": "string"}` on an optional property).
    fn str_ok(self) -> bool {
        matches!(self, Kind::Absent | Kind::Str { .. })
    }
    /// Absent or a string of the enum.
    fn member_ok(self) -> bool {
        matches!(self, Kind::Absent | Kind::Str { member: true })
    }
    fn bool_ok(self) -> bool {
        matches!(self, Kind::Absent | Kind::Bool)
    }
    fn int_ok(self) -> bool {
        matches!(self, Kind::Absent | Kind::Int)
    }
}

/// Reads any value and says what it is.
#[derive(Clone, Copy)]
struct Classify(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Classify {
    type Value = Kind;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Classify {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Kind, E> {
        Ok(Kind::Bool)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Kind, E> {
        Ok(Kind::Int)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Kind, E> {
        Ok(Kind::Int)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(if f64_is_integer(v) {
            Kind::Int
        } else {
            Kind::Other
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        if self.0.is_empty() {
            // Any string is the same kind here: its content decides nothing.
            record(v, Format::None);
        }
        Ok(Kind::Str {
            member: self.0.contains(&v),
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Kind::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Kind::Other)
    }
}

/// Checks a value kept raw against `seed` once its rule is known.
fn raw_ok<'de, S: DeserializeSeed<'de>>(raw: Option<&'de RawValue>, seed: S) -> bool {
    match raw {
        None => true,
        Some(raw) => {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            seed.deserialize(&mut de).is_ok()
        }
    }
}

fn keep_raw<'de, A: MapAccess<'de>>(map: &mut A) -> Result<&'de RawValue, A::Error> {
    map.next_value::<&'de RawValue>()
}

// ---- the components -----------------------------------------------------------------------

/// `recoveryFlowState.json`.
pub const FLOW_STATES: &[&str] = &[
    "choose_method",
    "sent_email",
    "passed_challenge",
    "recovery_awaiting_address",
    "recovery_awaiting_address_choice",
    "recovery_confirming_address",
    "recovery_awaiting_code",
];
/// `selfServiceFlowType.json`.
pub const FLOW_TYPES: &[&str] = &["api", "browser"];
/// `uiNode.json#/properties/type` and `uiNodeAttributes.json#/properties/node_type`, in the
/// order of [`NodeType`].
pub const NODE_TYPES: &[&str] = &["text", "input", "img", "a", "script", "div"];
/// `uiNode.json#/properties/group`.
pub const NODE_GROUPS: &[&str] = &[
    "default",
    "password",
    "oidc",
    "profile",
    "link",
    "code",
    "totp",
    "lookup_secret",
    "webauthn",
    "passkey",
    "identifier_first",
    "captcha",
    "saml",
    "deviceauthn",
];
/// `uiNodeInputAttributes.json#/properties/type`.
pub const INPUT_TYPES: &[&str] = &[
    "text",
    "password",
    "number",
    "checkbox",
    "hidden",
    "email",
    "tel",
    "submit",
    "button",
    "datetime-local",
    "date",
    "url",
];
/// `uiNodeInputAttributes.json#/properties/autocomplete`.
pub const AUTOCOMPLETE: &[&str] = &[
    "email",
    "tel",
    "url",
    "current-password",
    "new-password",
    "one-time-code",
    "username",
    "username webauthn",
];
/// `uiNodeInputAttributes.json#/properties/onclickTrigger` (and `onloadTrigger`).
pub const TRIGGERS: &[&str] = &[
    "oryWebAuthnRegistration",
    "oryWebAuthnLogin",
    "oryPasskeyLogin",
    "oryPasskeyLoginAutocompleteInit",
    "oryPasskeyRegistration",
    "oryPasskeySettingsRegistration",
];
/// `uiText.json#/properties/type`.
pub const TEXT_TYPES: &[&str] = &["info", "error", "success"];
/// `continueWith.json#/properties/action`, in the order of its `oneOf`.
pub const CONTINUE_ACTIONS: &[&str] = &[
    "show_verification_ui",
    "set_ory_session_token",
    "show_settings_ui",
    "show_recovery_ui",
    "redirect_browser_to",
    "show_pin_entry_ui",
];

/// `recoveryFlow`.
struct FlowV;

const FLOW_KEYS: &[&str] = &[
    "id",
    "type",
    "expires_at",
    "issued_at",
    "request_url",
    "return_to",
    "active",
    "ui",
    "state",
    "continue_with",
    "transient_payload",
];
const FLOW_REQUIRED: u64 = bits(&[0, 1, 2, 3, 4, 7, 8]);

impl<'de> DeserializeSeed<'de> for FlowV {
    type Value = Facts<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FlowV {
    type Value = Facts<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a recovery flow")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut facts = Facts::default();
        let seen = properties(&mut map, FLOW_KEYS, |i, map| {
            match i {
                0 => facts.id = Some(map.next_value_seed(CowV(Format::Uuid))?),
                1 => {
                    map.next_value_seed(EnumV(FLOW_TYPES))?;
                }
                2 | 3 => map.next_value_seed(FormatV(Format::DateTime))?,
                4..=6 => map.next_value_seed(StrV)?,
                7 => map.next_value_seed(UiContainerV)?,
                8 => facts.state = Some(FLOW_STATES[map.next_value_seed(EnumV(FLOW_STATES))?]),
                9 => map.next_value_seed(ArrayV(ContinueWithV))?,
                _ => map.next_value_seed(ObjectV { strings: false })?,
            }
            Ok(())
        })?;
        require(seen, FLOW_REQUIRED)?;
        Ok(facts)
    }
}

/// `uiContainer`.
#[derive(Clone, Copy)]
struct UiContainerV;

const CONTAINER_KEYS: &[&str] = &["action", "method", "nodes", "messages"];

impl<'de> DeserializeSeed<'de> for UiContainerV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UiContainerV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UI container")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let seen = properties(&mut map, CONTAINER_KEYS, |i, map| match i {
            0 | 1 => map.next_value_seed(StrV),
            2 => map.next_value_seed(ArrayV(UiNodeV)),
            _ => map.next_value_seed(ArrayV(UiTextV)),
        })?;
        require(seen, bits(&[0, 1, 2]))
    }
}

/// `uiText`.
#[derive(Clone, Copy)]
struct UiTextV;

const TEXT_KEYS: &[&str] = &["id", "text", "type", "context"];

impl<'de> DeserializeSeed<'de> for UiTextV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UiTextV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UI text")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let seen = properties(&mut map, TEXT_KEYS, |i, map| match i {
            0 => map.next_value_seed(IntV(None)).map(drop),
            1 => map.next_value_seed(StrV),
            2 => map.next_value_seed(EnumV(TEXT_TYPES)).map(drop),
            _ => map.next_value_seed(ObjectV { strings: false }),
        })?;
        require(seen, bits(&[0, 1, 2]))
    }
}

/// `uiNodeMeta`.
struct MetaV;

impl<'de> DeserializeSeed<'de> for MetaV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetaV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UI node meta")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        properties(&mut map, &["label"], |_, map| map.next_value_seed(UiTextV)).map(drop)
    }
}

/// `uiNode`: its attributes' `node_type` must be its `type` (the `oneOf` of `uiNode.json`).
#[derive(Clone, Copy)]
struct UiNodeV;

const NODE_KEYS: &[&str] = &["type", "group", "attributes", "messages", "meta"];

impl<'de> DeserializeSeed<'de> for UiNodeV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UiNodeV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UI node")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut node_type, mut attributes_type) = (usize::MAX, usize::MAX);
        let seen = properties(&mut map, NODE_KEYS, |i, map| {
            match i {
                0 => node_type = map.next_value_seed(EnumV(NODE_TYPES))?,
                1 => {
                    map.next_value_seed(EnumV(NODE_GROUPS))?;
                }
                2 => attributes_type = map.next_value_seed(AttributesV)?,
                3 => map.next_value_seed(ArrayV(UiTextV))?,
                _ => map.next_value_seed(MetaV)?,
            }
            Ok(())
        })?;
        require(seen, bits(&[0, 1, 2, 3, 4]))?;
        if node_type != attributes_type {
            return Err(broken("attributes.node_type is not the node's type"));
        }
        Ok(())
    }
}

/// `uiNodeAttributes`: returns the index of its `node_type` in [`NODE_TYPES`].
struct AttributesV;

const ATTRIBUTE_KEYS: &[&str] = &[
    "node_type",      // 0
    "name",           // 1
    "type",           // 2
    "value",          // 3
    "required",       // 4
    "autocomplete",   // 5
    "label",          // 6
    "pattern",        // 7
    "disabled",       // 8
    "onclick",        // 9
    "onclickTrigger", // 10
    "onload",         // 11
    "onloadTrigger",  // 12
    "maxlength",      // 13
    "options",        // 14
    "text",           // 15
    "id",             // 16
    "src",            // 17
    "width",          // 18
    "height",         // 19
    "href",           // 20
    "title",          // 21
    "async",          // 22
    "referrerpolicy", // 23
    "crossorigin",    // 24
    "integrity",      // 25
    "nonce",          // 26
    "class",          // 27
    "data",           // 28
];

impl<'de> DeserializeSeed<'de> for AttributesV {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AttributesV {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UI node attributes")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut node_type = usize::MAX;
        let mut kind = [Kind::Absent; ATTRIBUTE_KEYS.len()];
        // label, options, text, data, title: structures, checked once node_type says which rule
        // holds.
        let mut raw: [Option<&'de RawValue>; 5] = [None; 5];
        let seen = properties(&mut map, ATTRIBUTE_KEYS, |i, map| {
            match i {
                0 => node_type = map.next_value_seed(EnumV(NODE_TYPES))?,
                6 => raw[0] = Some(keep_raw(map)?),
                14 => raw[1] = Some(keep_raw(map)?),
                15 => raw[2] = Some(keep_raw(map)?),
                28 => raw[3] = Some(keep_raw(map)?),
                21 => raw[4] = Some(keep_raw(map)?),
                2 => kind[i] = map.next_value_seed(Classify(INPUT_TYPES))?,
                5 => kind[i] = map.next_value_seed(Classify(AUTOCOMPLETE))?,
                10 | 12 => kind[i] = map.next_value_seed(Classify(TRIGGERS))?,
                _ => kind[i] = map.next_value_seed(Classify(&[]))?,
            }
            Ok(())
        })?;
        require(seen, bits(&[0]))?;
        let k = |i: usize| kind[i];
        let strs = |is: &[usize]| is.iter().all(|&i| k(i).str_ok());
        let ok = match NODE_TYPES[node_type] {
            "input" => {
                seen & bits(&[1, 2, 8]) == bits(&[1, 2, 8])
                    && strs(&[1, 7, 9, 11])
                    && k(2).member_ok()
                    && k(4).bool_ok()
                    && k(5).member_ok()
                    && raw_ok(raw[0], UiTextV)
                    && k(8).bool_ok()
                    && k(10).member_ok()
                    && k(12).member_ok()
                    && k(13).int_ok()
                    && raw_ok(raw[1], ArrayV(OptionV))
            }
            "text" => {
                seen & bits(&[15, 16]) == bits(&[15, 16]) && raw_ok(raw[2], UiTextV) && strs(&[16])
            }
            "img" => {
                seen & bits(&[16, 17, 18, 19]) == bits(&[16, 17, 18, 19])
                    && strs(&[16, 17])
                    && k(18).int_ok()
                    && k(19).int_ok()
            }
            "a" => {
                seen & bits(&[16, 20, 21]) == bits(&[16, 20, 21])
                    && strs(&[16, 20])
                    && raw_ok(raw[4], UiTextV)
            }
            "script" => {
                let required = bits(&[2, 16, 17, 22, 23, 24, 25, 26]);
                seen & required == required && strs(&[2, 16, 17, 23, 24, 25, 26]) && k(22).bool_ok()
            }
            _ => {
                seen & bits(&[16]) == bits(&[16])
                    && strs(&[16, 27])
                    && raw_ok(raw[3], ObjectV { strings: true })
            }
        };
        if ok {
            Ok(node_type)
        } else {
            Err(broken("attributes break their node_type's schema"))
        }
    }
}

/// `uiNodeInputAttributesOption`.
#[derive(Clone, Copy)]
struct OptionV;

impl<'de> DeserializeSeed<'de> for OptionV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OptionV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an input option")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let seen = properties(&mut map, &["value"], |_, map| {
            map.next_value::<IgnoredAny>().map(drop)
        })?;
        require(seen, 1)
    }
}

/// `continueWith`: one of its variants, chosen by `action`.
#[derive(Clone, Copy)]
struct ContinueWithV;

const CONTINUE_KEYS: &[&str] = &[
    "action",
    "flow",
    "data",
    "redirect_browser_to",
    "ory_session_token",
];

impl<'de> DeserializeSeed<'de> for ContinueWithV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ContinueWithV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a continue_with item")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut action = usize::MAX;
        let (mut flow, mut data) = (None, None);
        let mut kind = [Kind::Absent; 5];
        let seen = properties(&mut map, CONTINUE_KEYS, |i, map| {
            match i {
                0 => action = map.next_value_seed(EnumV(CONTINUE_ACTIONS))?,
                1 => flow = Some(keep_raw(map)?),
                2 => data = Some(keep_raw(map)?),
                _ => kind[i] = map.next_value_seed(Classify(&[]))?,
            }
            Ok(())
        })?;
        require(seen, 1)?;
        let has = |i: usize| seen & (1 << i) != 0;
        let ok = match CONTINUE_ACTIONS[action] {
            "show_verification_ui" => has(1) && raw_ok(flow, ContinueFlowV { verification: true }),
            "set_ory_session_token" => has(4) && kind[4].str_ok(),
            "show_settings_ui" | "show_recovery_ui" => {
                has(1)
                    && raw_ok(
                        flow,
                        ContinueFlowV {
                            verification: false,
                        },
                    )
            }
            "redirect_browser_to" => has(3) && kind[3].str_ok(),
            _ => has(2) && raw_ok(data, PinDataV),
        };
        if ok {
            Ok(())
        } else {
            Err(broken("a continue_with item breaks its action's schema"))
        }
    }
}

/// The `flow` of `continueWith{Verification,Settings,Recovery}Ui`.
struct ContinueFlowV {
    verification: bool,
}

impl<'de> DeserializeSeed<'de> for ContinueFlowV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ContinueFlowV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a continue_with flow")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let keys: &'static [&'static str] = if self.verification {
            &["id", "url", "verifiable_address"]
        } else {
            &["id", "url"]
        };
        let seen = properties(&mut map, keys, |i, map| match i {
            0 => map.next_value_seed(FormatV(Format::Uuid)),
            _ => map.next_value_seed(StrV),
        })?;
        require(seen, if self.verification { 0b101 } else { 0b1 })
    }
}

/// `continueWithDeviceAuthnPinEntryUiData`.
struct PinDataV;

impl<'de> DeserializeSeed<'de> for PinDataV {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PinDataV {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pin entry data")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let seen = properties(&mut map, &["enc", "ciphertext"], |_, map| {
            map.next_value_seed(StrV)
        })?;
        require(seen, 0b11)
    }
}

/// `genericError`.
struct GenericErrorV;

const ERROR_KEYS: &[&str] = &[
    "id", "code", "status", "request", "reason", "debug", "details", "message",
];

impl<'de> DeserializeSeed<'de> for GenericErrorV {
    type Value = ErrorFacts<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for GenericErrorV {
    type Value = ErrorFacts<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a generic error")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut e = ErrorFacts::default();
        let seen = properties(&mut map, ERROR_KEYS, |i, map| {
            match i {
                0 => e.id = Some(map.next_value_seed(CowV(Format::None))?),
                1 => e.code = map.next_value_seed(IntV(Some((100.0, 599.0))))?,
                4 => e.reason = Some(map.next_value_seed(CowV(Format::None))?),
                6 => map.next_value_seed(ObjectV { strings: false })?,
                7 => e.message = Some(map.next_value_seed(CowV(Format::None))?),
                _ => map.next_value_seed(StrV)?,
            }
            Ok(())
        })?;
        require(seen, bits(&[7]))?;
        Ok(e)
    }
}

/// The three error envelopes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ErrorBody {
    /// `errorGeneric`.
    Generic,
    /// `errorBrowserLocationChangeRequired`.
    LocationChange,
    /// `selfServiceFlowExpiredError`.
    Expired,
}

struct ErrorBodyV(ErrorBody);

const ERROR_BODY_KEYS: &[&str] = &[
    "error",
    "redirect_browser_to",
    "expired_at",
    "since",
    "use_flow_id",
];

impl<'de> DeserializeSeed<'de> for ErrorBodyV {
    type Value = Facts<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ErrorBodyV {
    type Value = Facts<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an error body")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut facts = Facts::default();
        let body = self.0;
        // Only the properties of this envelope are checked; the others are any value.
        let keys: &'static [&'static str] = match body {
            ErrorBody::Generic => &ERROR_BODY_KEYS[..1],
            ErrorBody::LocationChange => &ERROR_BODY_KEYS[..2],
            ErrorBody::Expired => ERROR_BODY_KEYS,
        };
        let seen = properties(&mut map, keys, |i, map| {
            match i {
                0 => facts.error = Some(map.next_value_seed(GenericErrorV)?),
                1 if body == ErrorBody::LocationChange => map.next_value_seed(StrV)?,
                2 => map.next_value_seed(FormatV(Format::DateTime))?,
                3 => {
                    map.next_value_seed(IntV(None))?;
                }
                4 => map.next_value_seed(FormatV(Format::Uuid))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        })?;
        let required = if body == ErrorBody::LocationChange {
            0b11
        } else {
            0b1
        };
        require(seen, required)?;
        Ok(facts)
    }
}

// ---- the memo: bodies that differ from a validated one only in free strings -----------------

// The strings a validating pass read whose content decides nothing but their own rule (any
// string, `uuid`, `date-time`), recorded while a template is learned. A thread's pass runs on
// that thread only, so a thread-local holds them; the flag keeps the common pass at one read.
thread_local! {
    static RECORDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static RECORDED: std::cell::RefCell<Vec<(usize, usize, Format)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn record(v: &str, format: Format) {
    if RECORDING.with(std::cell::Cell::get) {
        RECORDED.with(|r| {
            r.borrow_mut().push((v.as_ptr() as usize, v.len(), format));
        });
    }
}

/// How many bodies of one component are remembered as templates.
const TEMPLATES: usize = 8;

/// Where a fact of a template's body lies: the index of its span, or nowhere.
type FactAt = Option<usize>;

/// A valid body, and where its free strings are: the byte ranges of their contents.
#[derive(Debug)]
struct Template {
    bytes: Box<[u8]>,
    /// `(start, end, format)`, in order, not overlapping; each range is the content of a string
    /// without escapes, between its quotes.
    spans: Box<[(usize, usize, Format)]>,
    id: FactAt,
    state: Option<&'static str>,
    error: Option<ErrorAt>,
}

#[derive(Debug, Clone, Copy)]
struct ErrorAt {
    id: FactAt,
    code: Option<i64>,
    message: FactAt,
    reason: FactAt,
}

impl Template {
    /// A template of `bytes` (a body the pass found valid), when every fact it yields is one of
    /// its free strings.
    fn learn(component: Component, bytes: &[u8]) -> Option<Template> {
        RECORDING.with(|r| r.set(true));
        let verdict = check(component, bytes);
        RECORDING.with(|r| r.set(false));
        let recorded = RECORDED.with(|r| std::mem::take(&mut *r.borrow_mut()));
        let Fast::Valid(facts) = verdict else {
            return None;
        };
        let base = bytes.as_ptr() as usize;
        // A string with escapes was read from serde's scratch buffer, not from the body: it stays
        // part of the fixed bytes.
        let mut spans: Vec<(usize, usize, Format)> = recorded
            .into_iter()
            .filter(|&(ptr, len, _)| ptr > base && ptr + len < base + bytes.len())
            .map(|(ptr, len, f)| (ptr - base, ptr - base + len, f))
            .filter(|&(start, end, _)| bytes[start - 1] == b'"' && bytes[end] == b'"')
            .collect();
        spans.sort_unstable_by_key(|s| s.0);
        spans.dedup_by_key(|s| s.0);
        if spans.windows(2).any(|w| w[0].1 >= w[1].0) {
            return None;
        }
        let at = |s: &Option<Cow<'_, str>>| -> Option<FactAt> {
            match s {
                None => Some(None),
                Some(Cow::Borrowed(v)) => {
                    let start = (v.as_ptr() as usize).checked_sub(base)?;
                    spans.iter().position(|s| s.0 == start).map(Some)
                }
                Some(Cow::Owned(_)) => None,
            }
        };
        let error = match &facts.error {
            None => None,
            Some(e) => Some(ErrorAt {
                id: at(&e.id)?,
                code: e.code,
                message: at(&e.message)?,
                reason: at(&e.reason)?,
            }),
        };
        Some(Template {
            id: at(&facts.id)?,
            state: facts.state,
            error,
            bytes: bytes.into(),
            spans: spans.into(),
        })
    }

    /// The facts of `body` when it is this template with other free strings, each of which
    /// holds its format: the pass would read the same values in the same places, so its
    /// verdict is this template's, valid. `None`: anything else differs.
    fn matches<'a>(&self, body: &'a [u8]) -> Option<Facts<'a>> {
        let fixed = &*self.bytes;
        let mut found: [&'a str; 4] = [""; 4];
        let slots = [
            self.id,
            self.error.and_then(|e| e.id),
            self.error.and_then(|e| e.message),
            self.error.and_then(|e| e.reason),
        ];
        let (mut at_fixed, mut at_body) = (0, 0);
        for (i, &(start, end, format)) in self.spans.iter().enumerate() {
            let same = &fixed[at_fixed..start];
            if body.get(at_body..at_body + same.len())? != same {
                return None;
            }
            at_body += same.len();
            // The content runs to the first quote; an escape or a control character (which JSON
            // forbids in a string) sends the body to the pass.
            let rest = &body[at_body..];
            let len = rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            if rest[len] != b'"' {
                return None;
            }
            let content = std::str::from_utf8(&rest[..len]).ok()?;
            if !format.holds(content) {
                return None;
            }
            if let Some(slot) = slots.iter().position(|s| *s == Some(i)) {
                found[slot] = content;
                // Two facts on one span (never in practice): each gets it.
                for (j, s) in slots.iter().enumerate().skip(slot + 1) {
                    if *s == Some(i) {
                        found[j] = content;
                    }
                }
            }
            at_body += len;
            at_fixed = end;
        }
        if body.get(at_body..)? != &fixed[at_fixed..] {
            return None;
        }
        let fact = |slot: usize| slots[slot].map(|_| Cow::Borrowed(found[slot]));
        Some(Facts {
            id: fact(0),
            state: self.state,
            error: self.error.map(|e| ErrorFacts {
                id: fact(1),
                code: e.code,
                message: fact(2),
                reason: fact(3),
            }),
        })
    }
}

/// The pass with a memory: [`check`]'s verdict, reached for most bodies of a load run without
/// the pass.
///
/// A load run's bodies are alike: a created flow differs from the previous one in its id, its
/// timestamps and the URLs that carry the id. The memo keeps the first valid bodies of each
/// component as templates, with the byte ranges of their *free strings* (values whose content
/// decides nothing but their own rule: a plain string, a `uuid`, a `date-time`; not an enum, a
/// discriminator or a key). A body that equals a template byte for byte outside those ranges,
/// whose strings there hold no escape and hold their formats, has the template's structure, keys,
/// numbers and enum values, and strings the pass would accept in the same places: the pass's
/// verdict on it is the template's, valid. Every other body gets the pass itself. Every byte of
/// every body is still checked: compared with a validated body, or by the rule of its string.
#[derive(Debug)]
pub struct Memo {
    templates: Box<[[std::sync::OnceLock<Template>; TEMPLATES]]>,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            templates: Component::ALL
                .iter()
                .map(|_| std::array::from_fn(|_| std::sync::OnceLock::new()))
                .collect(),
        }
    }
}

impl Memo {
    /// [`check`]'s verdict on `bytes`, from a template when one matches.
    pub fn check<'a>(&self, component: Component, bytes: &'a [u8]) -> Fast<'a> {
        let templates = &self.templates[component.index()];
        let mut free = None;
        for slot in templates {
            match slot.get() {
                Some(t) => {
                    if let Some(facts) = t.matches(bytes) {
                        return Fast::Valid(facts);
                    }
                }
                None => {
                    free = Some(slot);
                    break;
                }
            }
        }
        let verdict = check(component, bytes);
        if let (Fast::Valid(_), Some(slot)) = (&verdict, free) {
            if let Some(t) = Template::learn(component, bytes) {
                // Another thread may have filled the slot meanwhile: then this one is not kept.
                let _ = slot.set(t);
            }
        }
        verdict
    }

    /// The verdict of a template alone (`None`: no template matches), for the tests that hold
    /// the memo to the pass.
    pub fn remembered<'a>(&self, component: Component, bytes: &'a [u8]) -> Option<Facts<'a>> {
        self.templates[component.index()]
            .iter()
            .map_while(std::sync::OnceLock::get)
            .find_map(|t| t.matches(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_of(file: &str, pointer: &str) -> Vec<String> {
        let text = super::super::embedded::FILES
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("{file}"));
        let v: serde_json::Value = serde_json::from_str(text).expect("JSON");
        v.pointer(pointer)
            .and_then(|e| e.as_array())
            .unwrap_or_else(|| panic!("{file}#{pointer}"))
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    }

    #[test]
    fn the_enums_are_the_schemas_enums() {
        let cases: &[(&[&str], &str, &str)] = &[
            (FLOW_STATES, "recoveryFlowState.json", "/enum"),
            (FLOW_TYPES, "selfServiceFlowType.json", "/enum"),
            (NODE_TYPES, "uiNode.json", "/properties/type/enum"),
            (NODE_GROUPS, "uiNode.json", "/properties/group/enum"),
            (
                INPUT_TYPES,
                "uiNodeInputAttributes.json",
                "/properties/type/enum",
            ),
            (
                AUTOCOMPLETE,
                "uiNodeInputAttributes.json",
                "/properties/autocomplete/enum",
            ),
            (
                TRIGGERS,
                "uiNodeInputAttributes.json",
                "/properties/onclickTrigger/enum",
            ),
            (
                TRIGGERS,
                "uiNodeInputAttributes.json",
                "/properties/onloadTrigger/enum",
            ),
            (TEXT_TYPES, "uiText.json", "/properties/type/enum"),
            (
                CONTINUE_ACTIONS,
                "continueWith.json",
                "/properties/action/enum",
            ),
        ];
        for (ours, file, pointer) in cases {
            let mut theirs = enum_of(file, pointer);
            let mut ours: Vec<String> = ours.iter().map(|s| (*s).to_owned()).collect();
            theirs.sort();
            ours.sort();
            assert_eq!(ours, theirs, "{file}#{pointer}");
        }
    }

    #[test]
    fn facts_are_read_from_a_valid_body() {
        let body = br#"{"id":"7f0a1c2e-8e0b-4d6a-9a43-3a8f0e6b2c11","type":"api","expires_at":"2026-01-01T00:00:00Z","issued_at":"2026-01-01T00:00:00Z","request_url":"http://x","ui":{"action":"http://x","method":"POST","nodes":[]},"state":"choose_method"}"#;
        match check(Component::RecoveryFlow, body) {
            Fast::Valid(f) => {
                assert_eq!(f.state, Some("choose_method"));
                assert_eq!(
                    f.id.as_deref(),
                    Some("7f0a1c2e-8e0b-4d6a-9a43-3a8f0e6b2c11")
                );
                assert!(
                    matches!(f.id, Some(Cow::Borrowed(_))),
                    "borrowed, not copied"
                );
            }
            other => panic!("{other:?}"),
        }
        let err = br#"{"error":{"id":"x","code":500,"message":"m","reason":"database is locked"}}"#;
        match check(Component::ErrorGeneric, err) {
            Fast::Valid(f) => {
                let e = f.error.expect("error");
                assert_eq!(e.code, Some(500));
                assert_eq!(e.reason.as_deref(), Some("database is locked"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            check(Component::ErrorGeneric, b"{\"error\":{}}"),
            Fast::Invalid
        );
        assert_eq!(
            check(Component::ErrorGeneric, b"{\"error\""),
            Fast::Undecided
        );
        assert_eq!(
            check(
                Component::ErrorGeneric,
                br#"{"error":{"message":"a"},"error":{"message":"b"}}"#
            ),
            Fast::Undecided
        );
    }

    fn flow_fixture() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/kratos/flow-create-api.json"
        );
        std::fs::read_to_string(path).expect("fixture")
    }

    #[test]
    fn the_memo_decides_a_body_like_a_learned_one_and_nothing_else() {
        let memo = Memo::default();
        let first = flow_fixture();
        let id = "5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d9a41";
        assert!(memo
            .remembered(Component::RecoveryFlow, first.as_bytes())
            .is_none());
        assert!(matches!(
            memo.check(Component::RecoveryFlow, first.as_bytes()),
            Fast::Valid(_)
        ));
        // Another id (in the URL too) and shorter timestamps: the template's.
        let other_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
        let next = first.replace(id, other_id).replace(".123456789Z", ".5Z");
        let facts = memo
            .remembered(Component::RecoveryFlow, next.as_bytes())
            .expect("decided by the template");
        assert_eq!(facts.id.as_deref(), Some(other_id));
        assert_eq!(facts.state, Some("choose_method"));
        assert!(matches!(facts.id, Some(Cow::Borrowed(_))));
        assert_eq!(
            Fast::Valid(facts),
            check(Component::RecoveryFlow, next.as_bytes())
        );
        // A free string that breaks its format, an enum, a key, a number, an escape, a control
        // character, trailing bytes: never the template's; the pass decides.
        for (what, body) in [
            ("id not a uuid", first.replace(id, "not-a-uuid")),
            (
                "timestamp",
                first.replace("2026-07-29T11:00:00", "2026-07-29T25:00:00"),
            ),
            (
                "state",
                first.replace("\"choose_method\"", "\"sent_email\""),
            ),
            ("enum", first.replace("\"hidden\"", "\"email\"")),
            ("key", first.replace("\"required\"", "\"requirex\"")),
            ("number", first.replace("1070007", "1070008")),
            ("escape", first.replace("\"Email\"", "\"E\\u006dail\"")),
            ("quote", first.replace("\"Email\"", "\"Em\\\"ail\"")),
            ("control", first.replace("\"Email\"", "\"Em\tail\"")),
            ("trailing", format!("{first} x")),
            ("cut", first[..first.len() - 3].to_owned()),
        ] {
            assert!(
                memo.remembered(Component::RecoveryFlow, body.as_bytes())
                    .is_none(),
                "{what}"
            );
            assert_eq!(
                memo.check(Component::RecoveryFlow, body.as_bytes()),
                check(Component::RecoveryFlow, body.as_bytes()),
                "{what}"
            );
        }
        // A learned error body gives its error's facts from the new bytes.
        let err = br#"{"error":{"id":"x","code":500,"message":"m","reason":"database is locked"}}"#;
        assert!(matches!(
            memo.check(Component::ErrorGeneric, err),
            Fast::Valid(_)
        ));
        let err2 = br#"{"error":{"id":"y","code":500,"message":"n","reason":"disk full"}}"#;
        let facts = memo
            .remembered(Component::ErrorGeneric, err2)
            .expect("decided by the template");
        assert_eq!(
            facts,
            match check(Component::ErrorGeneric, err2) {
                Fast::Valid(f) => f,
                other => panic!("{other:?}"),
            }
        );
        assert_eq!(
            facts.error.and_then(|e| e.reason).as_deref(),
            Some("disk full")
        );
    }
}
