//! [`Memo`]: the pass with a memory of the bodies it found valid.

use super::pass::{self, Recorded};
use super::program::NodeId;
use super::rules::Rules;
use super::verdict::{Captured, Facts, Fast, Slot};
use crate::schema::component::Component;
use std::borrow::Cow;
use std::sync::OnceLock;

/// How many bodies of one component are remembered as templates.
const TEMPLATES: usize = 8;

/// A free string of a template: where its content is, and what it must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    /// The content's byte range (between the quotes).
    start: usize,
    end: usize,
    /// The rule the pass checked it against; `None` when any string meets it.
    rule: Option<NodeId>,
    /// The fact it is, if any.
    fact: Option<Slot>,
}

/// A valid body, and where its free strings are.
#[derive(Debug)]
struct Template {
    bytes: Box<[u8]>,
    /// In order, not overlapping; each range is the content of a string without escapes.
    spans: Box<[Span]>,
    /// The facts that are numbers of the fixed bytes.
    integers: Box<[(Slot, i64)]>,
}

impl Template {
    /// A template of `bytes` (a body the pass found valid), when every fact it yields is one of
    /// its free strings (or a number of its fixed bytes).
    fn learn(rules: &Rules, entry: NodeId, bytes: &[u8]) -> Option<Template> {
        let program = rules.program();
        let (verdict, recorded) = pass::run(program, entry, bytes, true);
        let Fast::Valid(facts) = verdict else {
            return None;
        };
        let base = bytes.as_ptr() as usize;
        // A string with escapes was read from serde's scratch buffer, not from the body: it
        // stays part of the fixed bytes.
        let mut spans: Vec<Span> = recorded
            .into_iter()
            .filter(|&(ptr, len, _): &Recorded| ptr > base && ptr + len < base + bytes.len())
            .map(|(ptr, len, rule)| Span {
                start: ptr - base,
                end: ptr - base + len,
                rule: (!program.any_string(rule)).then_some(rule),
                fact: None,
            })
            .filter(|s| bytes[s.start - 1] == b'"' && bytes[s.end] == b'"')
            .collect();
        spans.sort_unstable();
        spans.dedup();
        // One string checked against two rules (the members of an `allOf` the engine could not
        // merge, say) is not free: leave such bodies to the pass.
        if spans.windows(2).any(|w| w[0].end >= w[1].start) {
            return None;
        }
        let mut integers = Vec::new();
        for slot in Slot::ALL {
            if let Some(n) = facts.integer(slot) {
                integers.push((slot, n));
            }
            match facts.string(slot) {
                None => {}
                Some(Cow::Borrowed(v)) => {
                    let start = (v.as_ptr() as usize).checked_sub(base)?;
                    let span = spans
                        .iter_mut()
                        .find(|s| s.start == start && s.end == start + v.len())?;
                    if span.fact.is_some() {
                        return None;
                    }
                    span.fact = Some(slot);
                }
                Some(Cow::Owned(_)) => return None,
            }
        }
        Some(Template {
            bytes: bytes.into(),
            spans: spans.into(),
            integers: integers.into(),
        })
    }

    /// The facts of `body` when it is this template with other free strings, each of which
    /// meets its rule: the pass would read the same values in the same places, so its
    /// verdict is this template's, valid. `None`: anything else differs.
    fn matches<'a>(&self, rules: &Rules, body: &'a [u8]) -> Option<Facts<'a>> {
        let program = rules.program();
        let fixed = &*self.bytes;
        let mut facts = Facts::default();
        let (mut at_fixed, mut at_body) = (0, 0);
        for span in self.spans.iter() {
            let same = &fixed[at_fixed..span.start];
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
            if let Some(rule) = span.rule {
                if !program.string_ok(rule, content) {
                    return None;
                }
            }
            if let Some(slot) = span.fact {
                facts.set(slot, Captured::Str(Cow::Borrowed(content)));
            }
            at_body += len;
            at_fixed = span.end;
        }
        if body.get(at_body..)? != &fixed[at_fixed..] {
            return None;
        }
        for &(slot, n) in self.integers.iter() {
            facts.set(slot, Captured::Int(n));
        }
        Some(facts)
    }
}

/// The pass with a memory: [`Rules::check`]'s verdict, reached for most bodies of a load run
/// without the pass.
///
/// A load run's bodies are alike: a created flow differs from the previous one in its id, its
/// timestamps and the URLs that carry the id. The memo keeps the first valid bodies of each
/// component as templates, with the byte ranges of their *free strings* (values whose content
/// decides nothing but their own rule: a plain string, a `uuid`, a `date-time`; not an enum
/// member, a discriminator or a key) and of the facts the runner reads. A body that equals a
/// template byte for byte outside those ranges, whose strings there hold no escape and meet
/// their rules, has the template's structure, keys, numbers and enum values, and strings the
/// pass would accept in the same places: the pass's verdict on it is the template's, valid.
/// Every other body gets the pass itself. Every byte of every body is still checked: compared
/// with a validated body, or by the rule of its string.
#[derive(Debug)]
pub struct Memo {
    rules: Rules,
    templates: Box<[[OnceLock<Template>; TEMPLATES]]>,
}

impl Memo {
    /// An empty memo in front of `rules`.
    pub fn new(rules: Rules) -> Memo {
        Memo {
            rules,
            templates: Component::ALL
                .iter()
                .map(|_| std::array::from_fn(|_| OnceLock::new()))
                .collect(),
        }
    }

    /// The rules the memo is in front of.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// [`Rules::check`]'s verdict on `bytes`, from a template when one matches; `None` when
    /// the rules do not cover `component`.
    pub fn check<'a>(&self, component: Component, bytes: &'a [u8]) -> Option<Fast<'a>> {
        let entry = self.rules.entry(component)?;
        let templates = &self.templates[component.index()];
        let mut free = None;
        for slot in templates {
            match slot.get() {
                Some(t) => {
                    if let Some(facts) = t.matches(&self.rules, bytes) {
                        return Some(Fast::Valid(facts));
                    }
                }
                None => {
                    free = Some(slot);
                    break;
                }
            }
        }
        let (verdict, _) = pass::run(self.rules.program(), entry, bytes, false);
        if let (Fast::Valid(_), Some(slot)) = (&verdict, free) {
            if let Some(t) = Template::learn(&self.rules, entry, bytes) {
                // Another thread may have filled the slot meanwhile: then this one is not kept.
                let _ = slot.set(t);
            }
        }
        Some(verdict)
    }

    /// The verdict of a template alone (`None`: no template matches), for the tests that hold
    /// the memo to the pass.
    pub fn remembered<'a>(&self, component: Component, bytes: &'a [u8]) -> Option<Facts<'a>> {
        self.templates[component.index()]
            .iter()
            .map_while(OnceLock::get)
            .find_map(|t| t.matches(&self.rules, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::set::Schemas;

    fn rules() -> Rules {
        Schemas::embedded().expect("embedded").fast_rules().clone()
    }

    fn check<'a>(rules: &Rules, component: Component, bytes: &'a [u8]) -> Fast<'a> {
        rules.check(component, bytes).expect("covered")
    }

    #[test]
    fn facts_are_read_from_a_valid_body() {
        let rules = rules();
        let body = br#"{"id":"7f0a1c2e-8e0b-4d6a-9a43-3a8f0e6b2c11","type":"api","expires_at":"2026-01-01T00:00:00Z","issued_at":"2026-01-01T00:00:00Z","request_url":"http://x","ui":{"action":"http://x","method":"POST","nodes":[]},"state":"choose_method"}"#;
        match check(&rules, Component::RecoveryFlow, body) {
            Fast::Valid(f) => {
                assert_eq!(f.state.as_deref(), Some("choose_method"));
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
        match check(&rules, Component::ErrorGeneric, err) {
            Fast::Valid(f) => {
                let e = f.error.expect("error");
                assert_eq!(e.code, Some(500));
                assert_eq!(e.reason.as_deref(), Some("database is locked"));
            }
            other => panic!("{other:?}"),
        }
        let inner = br#"{"id":"x","code":404,"message":"m"}"#;
        match check(&rules, Component::GenericError, inner) {
            Fast::Valid(f) => assert_eq!(f.error.and_then(|e| e.code), Some(404)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            check(&rules, Component::ErrorGeneric, b"{\"error\":{}}"),
            Fast::Invalid
        );
        assert_eq!(
            check(&rules, Component::ErrorGeneric, b"{\"error\""),
            Fast::Undecided
        );
        assert_eq!(
            check(
                &rules,
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
        let rules = rules();
        let memo = Memo::new(rules.clone());
        let first = flow_fixture();
        let id = "5f0c3a0e-6d4b-4a57-9f6a-2b8e1c7d9a41";
        assert!(memo
            .remembered(Component::RecoveryFlow, first.as_bytes())
            .is_none());
        assert!(matches!(
            memo.check(Component::RecoveryFlow, first.as_bytes()),
            Some(Fast::Valid(_))
        ));
        // Another id (in the URL too) and shorter timestamps: the template's. So is another
        // state of the enum: a fact is read from the body, and checked by its rule.
        let other_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
        let next = first.replace(id, other_id).replace(".123456789Z", ".5Z");
        let sent = next.replace("\"choose_method\"", "\"sent_email\"");
        for (body, state) in [(&next, "choose_method"), (&sent, "sent_email")] {
            let facts = memo
                .remembered(Component::RecoveryFlow, body.as_bytes())
                .expect("decided by the template");
            assert_eq!(facts.id.as_deref(), Some(other_id));
            assert_eq!(facts.state.as_deref(), Some(state));
            assert!(matches!(facts.id, Some(Cow::Borrowed(_))));
            assert_eq!(
                Fast::Valid(facts),
                check(&rules, Component::RecoveryFlow, body.as_bytes())
            );
        }
        // A free string that breaks its format, a state not in the enum, another enum value,
        // a key, a number, an escape, a control character, trailing bytes: never the
        // template's; the pass decides.
        for (what, body) in [
            ("id not a uuid", first.replace(id, "not-a-uuid")),
            (
                "timestamp",
                first.replace("2026-07-29T11:00:00", "2026-07-29T25:00:00"),
            ),
            ("state", first.replace("\"choose_method\"", "\"done\"")),
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
                Some(check(&rules, Component::RecoveryFlow, body.as_bytes())),
                "{what}"
            );
        }
        // A learned error body gives its error's facts from the new bytes.
        let err = br#"{"error":{"id":"x","code":500,"message":"m","reason":"database is locked"}}"#;
        assert!(matches!(
            memo.check(Component::ErrorGeneric, err),
            Some(Fast::Valid(_))
        ));
        let err2 = br#"{"error":{"id":"y","code":500,"message":"n","reason":"disk full"}}"#;
        let facts = memo
            .remembered(Component::ErrorGeneric, err2)
            .expect("decided by the template");
        assert_eq!(
            Fast::Valid(facts.clone()),
            check(&rules, Component::ErrorGeneric, err2)
        );
        assert_eq!(
            facts.error.and_then(|e| e.reason).as_deref(),
            Some("disk full")
        );
    }
}
