//! Schema set → [`Program`]: reads the JSON Schema documents the full validator compiles and
//! turns every schema object reachable from a component into the engine's rule table.
//!
//! Keywords, by what becomes of them:
//! - read by the engine: `type`, `enum`/`const` of strings, booleans and null, `properties`,
//!   `required`, `additionalProperties`, `items` (a schema), `$ref`, `allOf`, `anyOf`, `oneOf`;
//! - judged by `jsonschema` on the scalar alone ([`Leaf`]): `format`, `pattern`, `minLength`,
//!   `maxLength`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, and
//!   an `enum`/`const` with numbers;
//! - any other keyword `jsonschema` acts on ([`FULL`]): the whole schema object is judged by
//!   `jsonschema`, on a DOM of that value only ([`Node::Full`]);
//! - `$dynamicRef` and friends ([`DYNAMIC`]) anywhere in the set, or a draft other than 2020-12:
//!   no fast path for the component (the full validator judges every body);
//! - everything else (`title`, `description`, `$comment`, `discriminator`, `x-*`, ...) is an
//!   annotation, as for `jsonschema`.
//!
//! `$ref` and `allOf` merge their schemas into one rule (the intersection: types and values
//! intersected, object rules merged key by key with each side's `additionalProperties`). A
//! `oneOf`/`anyOf` is merged with the rest of its schema object into each alternative; when one
//! property is required by every alternative, and each allows it strings no other allows, the
//! alternatives exclude one another and the property picks the one to check ([`Union`]).
//! Otherwise each alternative is tried ([`Node::Alternatives`]).

use super::program::{
    Check, Const, FullId, KeyIndex, LeafId, Node, NodeId, Object, Program, Types, Union, Variant,
    ANY, MAX_KEYS, NEVER,
};
use super::scalar::Leaf;
use super::verdict::Slot;
use crate::schema::component::Component;
use crate::schema::resource::Resource;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The draft every schema of a set must be written in (or leave unsaid).
const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Keywords `jsonschema` acts on (`keywords/mod.rs`, `get_for_draft`) that the engine does not
/// read: a schema object that holds one is judged by `jsonschema` whole.
pub(super) const FULL: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "patternProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "prefixItems",
    "additionalItems",
    "contains",
    "minContains",
    "maxContains",
    "uniqueItems",
    "minItems",
    "maxItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
];

/// Keywords whose meaning depends on the path by which a schema was reached.
const DYNAMIC: &[&str] = &[
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
    "$vocabulary",
];

/// Builds the `jsonschema` validator of a schema location (`<uri>#<pointer>`), with the full
/// validator's registry and options.
pub(super) type FullValidator<'a> = &'a dyn Fn(&str) -> Result<jsonschema::Validator, String>;

/// Compiles every component of `resources`.
pub(super) fn compile(resources: &[Resource], full: FullValidator<'_>) -> Program {
    let mut c = Compiler::new(resources, full);
    let dynamic = resources
        .iter()
        .find(|r| mentions(&r.contents, DYNAMIC))
        .map(|r| {
            format!(
                "{} uses dynamic references ({})",
                r.file,
                DYNAMIC.join(", ")
            )
        });
    let entries = Component::ALL
        .iter()
        .map(|&component| match &dynamic {
            Some(why) => Err(why.clone()),
            None => c.entry(resources, component),
        })
        .collect();
    let keys = c
        .nodes
        .iter()
        .map(|node| match node {
            Node::Check(Check {
                object: Some(object),
                ..
            }) => KeyIndex::new(&object.keys),
            Node::Union(union) => KeyIndex::new(&union.keys),
            _ => KeyIndex::default(),
        })
        .collect();
    Program {
        nodes: c.nodes,
        keys,
        leaves: c.leaves,
        full: c.full,
        entries,
    }
}

/// Whether any object in `value` has one of `keys`.
fn mentions(value: &Value, keys: &[&str]) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| keys.contains(&k.as_str()) || mentions(v, keys)),
        Value::Array(items) => items.iter().any(|v| mentions(v, keys)),
        _ => false,
    }
}

struct Compiler<'a> {
    /// Every document, by the URI it is registered under.
    documents: HashMap<&'a str, &'a Value>,
    full_validator: FullValidator<'a>,
    nodes: Vec<Node>,
    interned: HashMap<Node, NodeId>,
    leaves: Vec<Leaf>,
    leaf_ids: HashMap<String, LeafId>,
    full: Vec<jsonschema::Validator>,
    full_ids: HashMap<String, FullId>,
    /// Schema objects by location: compiled, or being compiled (`None`: a `$ref` back to one
    /// is a cycle).
    at: HashMap<String, Option<NodeId>>,
    merged: HashMap<(NodeId, NodeId), NodeId>,
}

impl<'a> Compiler<'a> {
    fn new(resources: &'a [Resource], full_validator: FullValidator<'a>) -> Self {
        let mut c = Compiler {
            documents: resources
                .iter()
                .map(|r| (r.uri.as_str(), &r.contents))
                .collect(),
            full_validator,
            nodes: Vec::new(),
            interned: HashMap::new(),
            leaves: Vec::new(),
            leaf_ids: HashMap::new(),
            full: Vec::new(),
            full_ids: HashMap::new(),
            at: HashMap::new(),
            merged: HashMap::new(),
        };
        let any = c.add(Node::Any);
        let never = c.add(Node::Never);
        debug_assert_eq!((any, never), (ANY, NEVER));
        c
    }

    /// The rule of a `component` body: its schema, with the places of its facts marked.
    fn entry(&mut self, resources: &[Resource], component: Component) -> Result<NodeId, String> {
        let file = component.file_name();
        let resource = resources
            .iter()
            .find(|r| r.file == file)
            .ok_or_else(|| format!("no {file}"))?;
        let mut node = self.schema(&resource.uri, "", &resource.contents)?;
        for (slot, path) in Slot::paths(component) {
            node = self.capture(node, path, *slot);
        }
        Ok(node)
    }

    fn add(&mut self, node: Node) -> NodeId {
        if let Some(&id) = self.interned.get(&node) {
            return id;
        }
        let id = NodeId::try_from(self.nodes.len()).expect("fewer than 2^32 rules");
        self.nodes.push(node.clone());
        self.interned.insert(node, id);
        id
    }

    fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// A [`Check`], as its simplest equivalent node.
    fn check(&mut self, mut check: Check) -> NodeId {
        if let Some(object) = &check.object {
            let unmet = (0..object.keys.len())
                .any(|i| object.required & (1 << i) != 0 && object.rules[i] == NEVER);
            if unmet {
                // A required property no value can meet: no object passes.
                check.types &= !Types::OBJECT;
            }
        }
        if check.types & Types::OBJECT == 0 {
            check.object = None;
        }
        if check.types & Types::ARRAY == 0 {
            check.items = ANY;
        }
        if check.types & Types::SCALARS == 0 {
            check.values = None;
            check.leaves = Box::new([]);
        }
        if let Some(object) = &check.object {
            if object.keys.is_empty() && object.additional == ANY {
                check.object = None;
            }
        }
        let empty_values = check.values.as_ref().is_some_and(|v| v.is_empty());
        if check.types == 0 || empty_values {
            return NEVER;
        }
        if check.types == Types::ALL
            && check.values.is_none()
            && check.leaves.is_empty()
            && check.object.is_none()
            && check.items == ANY
        {
            return ANY;
        }
        self.add(Node::Check(check))
    }

    /// A [`Check`] that allows everything but is not folded into [`Node::Any`], for captures.
    fn any_check(&mut self) -> NodeId {
        self.add(Node::Check(Check {
            types: Types::ALL,
            values: None,
            leaves: Box::new([]),
            object: None,
            items: ANY,
        }))
    }

    /// The `jsonschema` validator of the schema object at `location`.
    fn full_at(&mut self, location: &str) -> Result<NodeId, String> {
        let id = match self.full_ids.get(location) {
            Some(&id) => id,
            None => {
                let validator = (self.full_validator)(location)?;
                let id = FullId::try_from(self.full.len()).expect("fewer than 2^32 validators");
                self.full.push(validator);
                self.full_ids.insert(location.to_owned(), id);
                id
            }
        };
        Ok(self.add(Node::Full(id)))
    }

    fn leaf(&mut self, keywords: &Map<String, Value>) -> Result<LeafId, String> {
        let key = Value::Object(keywords.clone()).to_string();
        if let Some(&id) = self.leaf_ids.get(&key) {
            return Ok(id);
        }
        let leaf = Leaf::compile(keywords)?;
        let id = LeafId::try_from(self.leaves.len()).expect("fewer than 2^32 leaves");
        self.leaves.push(leaf);
        self.leaf_ids.insert(key, id);
        Ok(id)
    }

    /// The schema `value`, at `pointer` in the document registered as `uri`.
    fn schema(&mut self, uri: &str, pointer: &str, value: &Value) -> Result<NodeId, String> {
        let map = match value {
            Value::Bool(true) => return Ok(ANY),
            Value::Bool(false) => return Ok(NEVER),
            Value::Object(map) => map,
            _ => return Err(format!("{uri}#{pointer} is not a schema")),
        };
        let location = location(uri, pointer)?;
        match self.at.get(&location) {
            Some(Some(id)) => return Ok(*id),
            // A schema that refers to itself: `jsonschema` follows the recursion.
            Some(None) => return self.full_at(&location),
            None => {}
        }
        self.at.insert(location.clone(), None);
        let result = self.schema_object(uri, pointer, &location, map);
        match result {
            Ok(id) => {
                self.at.insert(location, Some(id));
            }
            Err(_) => {
                self.at.remove(&location);
            }
        }
        result
    }

    fn schema_object(
        &mut self,
        uri: &str,
        pointer: &str,
        location: &str,
        map: &Map<String, Value>,
    ) -> Result<NodeId, String> {
        if let Some(draft) = map.get("$schema") {
            if draft != DRAFT {
                return Err(format!(
                    "{location}: $schema is {draft}; the fast path reads draft 2020-12"
                ));
            }
        }
        if let Some(id) = map.get("$id") {
            // A nested resource has its own base URI; the document itself must be registered
            // under its own `$id`, or its relative references would mean something else.
            if !pointer.is_empty() || id.as_str() != Some(uri) {
                return self.full_at(location);
            }
        }
        if map.keys().any(|k| FULL.contains(&k.as_str())) {
            return self.full_at(location);
        }
        let mut check = Check {
            types: Types::ALL,
            values: None,
            leaves: Box::new([]),
            object: None,
            items: ANY,
        };
        if let Some(names) = map.get("type") {
            let names: Vec<&Value> = match names {
                Value::Array(names) => names.iter().collect(),
                name => vec![name],
            };
            let mut types = 0;
            for name in names {
                match name.as_str().and_then(Types::named) {
                    Some(bits) => types |= bits,
                    None => return self.full_at(location),
                }
            }
            check.types = types;
        }
        let mut leaf = Map::new();
        for keyword in ["enum", "const"] {
            let Some(value) = map.get(keyword) else {
                continue;
            };
            let members: Vec<&Value> = match (keyword, value) {
                ("enum", Value::Array(members)) => members.iter().collect(),
                ("enum", _) => return self.full_at(location),
                _ => vec![value],
            };
            let mut types = 0;
            let mut consts = Vec::new();
            for member in &members {
                types |= match member {
                    Value::Null => Types::NULL,
                    Value::Bool(_) => Types::BOOLEAN,
                    Value::Number(_) => Types::INTEGER | Types::FRACTION,
                    Value::String(_) => Types::STRING,
                    // Objects and arrays are compared with the DOM.
                    Value::Array(_) | Value::Object(_) => return self.full_at(location),
                };
                consts.push(match member {
                    Value::Null => Some(Const::Null),
                    Value::Bool(b) => Some(Const::Bool(*b)),
                    Value::String(s) => Some(Const::Str(s.as_str().into())),
                    _ => None,
                });
            }
            check.types &= types;
            match consts.into_iter().collect::<Option<Vec<Const>>>() {
                Some(consts) => check.values = Some(intersect(check.values.take(), consts)),
                // Numbers compare mathematically (`1` is `1.0`): `jsonschema` does it.
                None => {
                    leaf.insert(keyword.to_owned(), value.clone());
                }
            }
        }
        for keyword in Leaf::KEYWORDS {
            if let Some(value) = map.get(*keyword) {
                leaf.insert((*keyword).to_owned(), value.clone());
            }
        }
        if !leaf.is_empty() {
            check.leaves = Box::new([self.leaf(&leaf)?]);
        }
        if ["properties", "required", "additionalProperties"]
            .iter()
            .any(|k| map.contains_key(*k))
        {
            match self.object(uri, pointer, map)? {
                Some(object) => check.object = Some(object),
                None => return self.full_at(location),
            }
        }
        if let Some(items) = map.get("items") {
            if items.is_array() {
                return self.full_at(location);
            }
            check.items = self.schema(uri, &format!("{pointer}/items"), items)?;
        }
        let mut node = self.check(check);
        if let Some(reference) = map.get("$ref") {
            let Some(target) = self.reference(uri, reference)? else {
                return self.full_at(location);
            };
            node = self.merge(node, target);
        }
        if let Some(all) = map.get("allOf") {
            for (i, schema) in list(all, location)?.iter().enumerate() {
                let member = self.schema(uri, &format!("{pointer}/allOf/{i}"), schema)?;
                node = self.merge(node, member);
            }
        }
        for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
            if let Some(branches) = map.get(keyword) {
                let mut compiled = Vec::new();
                for (i, schema) in list(branches, location)?.iter().enumerate() {
                    compiled.push(self.schema(uri, &format!("{pointer}/{keyword}/{i}"), schema)?);
                }
                node = self.alternatives(node, &compiled, exactly_one);
            }
        }
        Ok(node)
    }

    /// `properties`, `required` and `additionalProperties`; `None` when there are more keys
    /// than an object rule holds.
    fn object(
        &mut self,
        uri: &str,
        pointer: &str,
        map: &Map<String, Value>,
    ) -> Result<Option<Object>, String> {
        let additional = match map.get("additionalProperties") {
            Some(schema) => self.schema(uri, &format!("{pointer}/additionalProperties"), schema)?,
            None => ANY,
        };
        let mut keys: Vec<Box<str>> = Vec::new();
        let mut rules = Vec::new();
        if let Some(properties) = map.get("properties") {
            let properties = properties
                .as_object()
                .ok_or_else(|| format!("{uri}#{pointer}/properties is not an object"))?;
            for (key, schema) in properties {
                let at = format!("{pointer}/properties/{}", escape(key));
                rules.push(self.schema(uri, &at, schema)?);
                keys.push(key.as_str().into());
            }
        }
        let mut required = 0u128;
        if let Some(names) = map.get("required") {
            for name in list(names, &format!("{uri}#{pointer}/required"))? {
                let name = name
                    .as_str()
                    .ok_or_else(|| format!("{uri}#{pointer}/required holds a non-string"))?;
                let index = match keys.iter().position(|k| **k == *name) {
                    Some(index) => index,
                    None => {
                        keys.push(name.into());
                        rules.push(additional);
                        keys.len() - 1
                    }
                };
                if index >= MAX_KEYS {
                    return Ok(None);
                }
                required |= 1 << index;
            }
        }
        if keys.len() > MAX_KEYS {
            return Ok(None);
        }
        Ok(Some(Object {
            keys: keys.into(),
            rules: rules.into(),
            required,
            additional,
        }))
    }

    /// The target of a `$ref` written in the document `uri`; `None` when it is not a JSON
    /// pointer into a registered document (an anchor, say): `jsonschema` resolves those.
    fn reference(&mut self, uri: &str, reference: &Value) -> Result<Option<NodeId>, String> {
        let reference = reference
            .as_str()
            .ok_or_else(|| format!("{uri}: a $ref is not a string"))?;
        let (document, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let target = if document.is_empty() {
            uri.to_owned()
        } else {
            match url::Url::parse(uri).and_then(|base| base.join(document)) {
                Ok(url) => url.to_string(),
                Err(_) => return Ok(None),
            }
        };
        if !(fragment.is_empty() || fragment.starts_with('/')) || fragment.contains('%') {
            return Ok(None);
        }
        let Some(&document) = self.documents.get(target.as_str()) else {
            return Ok(None);
        };
        let Some(schema) = document.pointer(fragment) else {
            return Ok(None);
        };
        self.schema(&target, fragment, schema).map(Some)
    }

    /// The intersection of two rules.
    fn merge(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if a == b || b == ANY {
            return a;
        }
        if a == ANY {
            return b;
        }
        if a == NEVER || b == NEVER {
            return NEVER;
        }
        let key = (a.min(b), a.max(b));
        if let Some(&merged) = self.merged.get(&key) {
            return merged;
        }
        let merged = match (self.node(a).clone(), self.node(b).clone()) {
            (Node::Check(x), Node::Check(y)) => {
                self.merge_checks(x, y).unwrap_or_else(|| self.all(a, b))
            }
            (Node::Union(u), Node::Check(c)) => self.union_with(&u, a, &c, b),
            (Node::Check(c), Node::Union(u)) => self.union_with(&u, b, &c, a),
            _ => self.all(a, b),
        };
        self.merged.insert(key, merged);
        merged
    }

    /// Both rules, checked one after the other.
    fn all(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let mut members = Vec::new();
        for id in [a, b] {
            match self.node(id) {
                Node::All(inner) => members.extend(inner.iter().copied()),
                _ => members.push(id),
            }
        }
        members.sort_unstable();
        members.dedup();
        self.add(Node::All(members.into()))
    }

    /// `None` when the merged object would have more keys than an object rule holds.
    fn merge_checks(&mut self, x: Check, y: Check) -> Option<NodeId> {
        let values = match (x.values, y.values) {
            (Some(a), Some(b)) => Some(intersect(Some(a), b.into_vec())),
            (a, b) => a.or(b),
        };
        let mut leaves: Vec<LeafId> = x.leaves.iter().chain(y.leaves.iter()).copied().collect();
        leaves.sort_unstable();
        leaves.dedup();
        let object = match (x.object, y.object) {
            (Some(p), Some(q)) => Some(self.merge_objects(&p, &q)?),
            (p, q) => p.or(q),
        };
        let items = self.merge(x.items, y.items);
        Some(self.check(Check {
            types: x.types & y.types,
            values,
            leaves: leaves.into(),
            object,
            items,
        }))
    }

    fn merge_objects(&mut self, p: &Object, q: &Object) -> Option<Object> {
        let mut keys: Vec<Box<str>> = p.keys.to_vec();
        for key in q.keys.iter() {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        if keys.len() > MAX_KEYS {
            return None;
        }
        let mut rules = Vec::with_capacity(keys.len());
        let mut required = 0u128;
        for (i, key) in keys.iter().enumerate() {
            let (a, a_required) = rule_of(p, key);
            let (b, b_required) = rule_of(q, key);
            rules.push(self.merge(a, b));
            if a_required || b_required {
                required |= 1 << i;
            }
        }
        let additional = self.merge(p.additional, q.additional);
        Some(Object {
            keys: keys.into(),
            rules: rules.into(),
            required,
            additional,
        })
    }

    /// A union (`u`, node `u_id`) intersected with a check (`c`, node `c_id`): each alternative
    /// intersected with it.
    fn union_with(&mut self, u: &Union, u_id: NodeId, c: &Check, c_id: NodeId) -> NodeId {
        if c.types & Types::OBJECT == 0 {
            return NEVER;
        }
        if c.object.is_none() {
            // The check allows every object, and the alternatives allow only objects.
            return u_id;
        }
        let variants: Vec<NodeId> = u
            .variants
            .iter()
            .map(|v| self.merge(v.node, c_id))
            .collect();
        self.alternatives(ANY, &variants, true)
    }

    /// The rule `base` with a `oneOf` (`exactly_one`) or `anyOf` of `branches`.
    fn alternatives(&mut self, base: NodeId, branches: &[NodeId], exactly_one: bool) -> NodeId {
        let variants: Vec<NodeId> = branches
            .iter()
            .map(|&b| self.merge(base, b))
            .filter(|&v| v != NEVER)
            .collect();
        if let Some(union) = self.discriminate(&variants) {
            return union;
        }
        let tried = self.add(Node::Alternatives {
            branches: branches.into(),
            exactly_one,
        });
        self.merge(base, tried)
    }

    /// The alternatives as a [`Union`] (or the one alternative left, or [`NEVER`]), when one
    /// property tells them apart; `None` when none does.
    fn discriminate(&mut self, variants: &[NodeId]) -> Option<NodeId> {
        let objects: Vec<Object> = variants
            .iter()
            .map(|&v| match self.node(v) {
                Node::Check(c) if c.types == Types::OBJECT => {
                    Some(c.object.clone().unwrap_or(Object {
                        keys: Box::new([]),
                        rules: Box::new([]),
                        required: 0,
                        additional: ANY,
                    }))
                }
                _ => None,
            })
            .collect::<Option<_>>()?;
        match variants {
            [] => return Some(NEVER),
            [only] => return Some(*only),
            _ => {}
        }
        let candidates: Vec<Box<str>> = objects[0].keys.to_vec();
        'key: for key in candidates {
            let mut values: Vec<Box<[Box<str>]>> = Vec::new();
            for object in &objects {
                let (rule, required) = rule_of(object, &key);
                let strings = match self.node(rule) {
                    Node::Check(Check {
                        values: Some(values),
                        ..
                    }) if required => values
                        .iter()
                        .map(|c| match c {
                            Const::Str(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect::<Option<Box<[Box<str>]>>>(),
                    _ => None,
                };
                let Some(strings) = strings else {
                    continue 'key;
                };
                if values
                    .iter()
                    .any(|other| other.iter().any(|s| strings.contains(s)))
                {
                    continue 'key;
                }
                values.push(strings);
            }
            return Some(self.union(&key, variants, &objects, values));
        }
        None
    }

    fn union(
        &mut self,
        discriminator: &str,
        nodes: &[NodeId],
        objects: &[Object],
        values: Vec<Box<[Box<str>]>>,
    ) -> NodeId {
        let mut keys: Vec<Box<str>> = Vec::new();
        for object in objects {
            for key in object.keys.iter() {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
        if keys.len() > MAX_KEYS {
            let tried = self.add(Node::Alternatives {
                branches: nodes.into(),
                exactly_one: true,
            });
            return tried;
        }
        let variants: Box<[Variant]> = objects
            .iter()
            .zip(nodes)
            .zip(values)
            .map(|((object, &node), values)| {
                let mut required = 0u128;
                let rules: Box<[NodeId]> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, key)| {
                        let (rule, is_required) = rule_of(object, key);
                        if is_required {
                            required |= 1 << i;
                        }
                        rule
                    })
                    .collect();
                Variant {
                    values,
                    rules,
                    required,
                    additional: object.additional,
                    node,
                }
            })
            .collect();
        let shared = (0..keys.len())
            .map(|i| same(variants.iter().map(|v| v.rules[i])))
            .collect();
        let shared_additional = same(variants.iter().map(|v| v.additional));
        let discriminator = keys
            .iter()
            .position(|k| **k == *discriminator)
            .expect("the discriminator is a key");
        self.add(Node::Union(Union {
            keys: keys.into(),
            discriminator,
            variants,
            shared,
            shared_additional,
        }))
    }

    /// `node`, with the value at `path` captured as the fact `slot`.
    fn capture(&mut self, node: NodeId, path: &[&str], slot: Slot) -> NodeId {
        let Some((key, rest)) = path.split_first() else {
            return node;
        };
        let inner = |c: &mut Self, rule: NodeId| -> NodeId {
            if !rest.is_empty() {
                return c.capture(rule, rest, slot);
            }
            let rule = match c.node(rule) {
                Node::Never => return NEVER,
                Node::Any => c.any_check(),
                _ => rule,
            };
            c.add(Node::Capture { slot, inner: rule })
        };
        match self.node(node).clone() {
            Node::Never => NEVER,
            found @ (Node::Any | Node::Check(_)) => {
                let mut check = match found {
                    Node::Check(check) => check,
                    _ => Check {
                        types: Types::ALL,
                        values: None,
                        leaves: Box::new([]),
                        object: None,
                        items: ANY,
                    },
                };
                let mut object = check.object.take().unwrap_or(Object {
                    keys: Box::new([]),
                    rules: Box::new([]),
                    required: 0,
                    additional: ANY,
                });
                let index = match object.keys.iter().position(|k| **k == **key) {
                    Some(index) => index,
                    None if object.keys.len() < MAX_KEYS => {
                        let mut keys = object.keys.to_vec();
                        keys.push((*key).into());
                        let mut rules = object.rules.to_vec();
                        rules.push(object.additional);
                        object.keys = keys.into();
                        object.rules = rules.into();
                        object.keys.len() - 1
                    }
                    None => return self.probe(node, path, slot),
                };
                let mut rules = object.rules.to_vec();
                rules[index] = inner(self, rules[index]);
                object.rules = rules.into();
                check.object = Some(object);
                // Not through `check()`: an object rule that only captures must stay.
                self.add(Node::Check(check))
            }
            Node::Union(mut union) => {
                let index = union.keys.iter().position(|k| **k == **key);
                match index {
                    Some(index) if index != union.discriminator => {
                        let mut variants = union.variants.to_vec();
                        for variant in &mut variants {
                            let mut rules = variant.rules.to_vec();
                            rules[index] = inner(self, rules[index]);
                            variant.rules = rules.into();
                        }
                        union.shared[index] = same(variants.iter().map(|v| v.rules[index]));
                        union.variants = variants.into();
                        self.add(Node::Union(union))
                    }
                    _ => self.probe(node, path, slot),
                }
            }
            _ => self.probe(node, path, slot),
        }
    }

    /// `node`, and a rule that allows anything and captures the value at `path`.
    fn probe(&mut self, node: NodeId, path: &[&str], slot: Slot) -> NodeId {
        let probe = self.capture(ANY, path, slot);
        self.all(node, probe)
    }
}

/// The rule of `key` in `object`, and whether it is required.
fn rule_of(object: &Object, key: &str) -> (NodeId, bool) {
    match object.keys.iter().position(|k| **k == *key) {
        Some(i) => (object.rules[i], object.required & (1 << i) != 0),
        None => (object.additional, false),
    }
}

/// The one value of `ids`, if they are all equal.
fn same(mut ids: impl Iterator<Item = NodeId>) -> Option<NodeId> {
    let first = ids.next()?;
    ids.all(|id| id == first).then_some(first)
}

/// `current` (if any) ∩ `members`.
fn intersect(current: Option<Box<[Const]>>, members: Vec<Const>) -> Box<[Const]> {
    let mut members = members;
    members.dedup();
    match current {
        None => members.into(),
        Some(current) => members
            .into_iter()
            .filter(|m| current.contains(m))
            .collect(),
    }
}

fn list<'v>(value: &'v Value, location: &str) -> Result<&'v Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{location}: expected an array"))
}

/// A JSON pointer token (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The URI of the schema object at `pointer` in the document `uri`.
fn location(uri: &str, pointer: &str) -> Result<String, String> {
    if pointer.contains('%') {
        return Err(format!("{uri}#{pointer}: a '%' in a schema location"));
    }
    let mut url = url::Url::parse(uri).map_err(|e| format!("{uri}: {e}"))?;
    url.set_fragment(Some(pointer));
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::resource::BASE_URI;
    use serde_json::json;

    /// The resources of `files`, compiled as `Schemas::load` does.
    pub(in crate::schema::fast) fn program(files: &[(&str, Value)]) -> Program {
        let resources: Vec<Resource> = files
            .iter()
            .map(|(file, contents)| Resource {
                uri: format!("{BASE_URI}{file}"),
                file: (*file).to_owned(),
                contents: contents.clone(),
            })
            .collect();
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft202012)
            .extend(resources.iter().map(|r| (r.uri.as_str(), &r.contents)))
            .and_then(|b| b.prepare())
            .expect("registry");
        let options = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_registry(&registry);
        compile(&resources, &|location: &str| {
            options
                .build(&json!({ "$ref": location }))
                .map_err(|e| e.to_string())
        })
    }

    fn embedded() -> Program {
        let files: Vec<(&str, Value)> = crate::schema::embedded::FILES
            .iter()
            .map(|(file, text)| (*file, serde_json::from_str(text).expect("JSON")))
            .collect();
        program(&files)
    }

    /// Every node reachable from `id`.
    fn reachable(p: &Program, id: NodeId, out: &mut Vec<NodeId>) {
        if out.contains(&id) {
            return;
        }
        out.push(id);
        let children: Vec<NodeId> = match p.node(id) {
            Node::Any | Node::Never | Node::Full(_) => vec![],
            Node::Check(c) => {
                let mut v = vec![c.items];
                if let Some(o) = &c.object {
                    v.extend(o.rules.iter().copied());
                    v.push(o.additional);
                }
                v
            }
            Node::Union(u) => u
                .variants
                .iter()
                .flat_map(|v| v.rules.iter().copied().chain([v.additional]))
                .collect(),
            Node::Alternatives { branches, .. } => branches.to_vec(),
            Node::All(members) => members.to_vec(),
            Node::Capture { inner, .. } => vec![*inner],
        };
        for child in children {
            reachable(p, child, out);
        }
    }

    #[test]
    fn the_engine_reads_every_keyword_of_the_embedded_schemas() {
        let p = embedded();
        for component in Component::ALL {
            let entry = *p.entries[component.index()]
                .as_ref()
                .unwrap_or_else(|e| panic!("{component}: {e}"));
            let mut nodes = Vec::new();
            reachable(&p, entry, &mut nodes);
            for id in nodes {
                assert!(
                    !matches!(
                        p.node(id),
                        Node::Full(_) | Node::Alternatives { .. } | Node::All(_)
                    ),
                    "{component}: {:?}",
                    p.node(id)
                );
            }
        }
    }

    #[test]
    fn the_discriminated_unions_are_dispatched_on_their_property() {
        let p = embedded();
        let entry = |c: Component| *p.entries[c.index()].as_ref().expect("covered");
        let Node::Union(node) = p.node(entry(Component::UiNode)) else {
            panic!("uiNode: {:?}", p.node(entry(Component::UiNode)));
        };
        assert_eq!(&*node.keys[node.discriminator], "type");
        assert_eq!(node.variants.len(), 6);
        let attributes = node.keys.iter().position(|k| &**k == "attributes").unwrap();
        for variant in node.variants.iter() {
            // The mirror rule (`attributes.node_type` = `type`) leaves one attribute schema per
            // node type: a plain object rule, no second dispatch.
            let Node::Check(check) = p.node(variant.rules[attributes]) else {
                panic!("{:?}", variant.values);
            };
            let object = check.object.as_ref().expect("object rule");
            let i = object
                .keys
                .iter()
                .position(|k| &**k == "node_type")
                .unwrap();
            let Node::Check(node_type) = p.node(object.rules[i]) else {
                panic!("node_type");
            };
            let value = Const::Str(variant.values[0].clone());
            assert_eq!(node_type.values.as_deref(), Some(&[value][..]));
        }
        let Node::Union(item) = p.node(entry(Component::ContinueWith)) else {
            panic!("continueWith");
        };
        assert_eq!(&*item.keys[item.discriminator], "action");
        assert_eq!(item.variants.len(), 6);
    }

    #[test]
    fn keywords_the_engine_does_not_read_go_to_jsonschema() {
        let p = program(&[(
            "uiText.json",
            json!({"type": "object", "properties": {
                "text": {"type": "string", "not": {"const": "x"}},
                "id": {"type": "integer", "multipleOf": 2},
                "type": {"$ref": "#/$defs/t"}
            }, "$defs": {"t": {"type": "string", "propertyNames": true}}}),
        )]);
        let entry = *p.entries[Component::UiText.index()].as_ref().unwrap();
        let Node::Check(check) = p.node(entry) else {
            panic!()
        };
        let object = check.object.as_ref().unwrap();
        let rule =
            |key: &str| p.node(object.rules[object.keys.iter().position(|k| &**k == key).unwrap()]);
        assert!(matches!(rule("text"), Node::Full(_)));
        assert!(matches!(rule("type"), Node::Full(_)));
        let Node::Check(id) = rule("id") else {
            panic!()
        };
        assert_eq!(id.leaves.len(), 1, "multipleOf is a leaf keyword");
        // The other components are missing from this set.
        assert!(p.entries[Component::RecoveryFlow.index()].is_err());
    }

    #[test]
    fn recursion_goes_to_jsonschema_and_dynamic_references_disable_the_set() {
        let tree = json!({"type": "object", "properties": {
            "id": {"type": "integer"}, "text": {"type": "string"},
            "type": {"type": "string"}, "context": {"$ref": "uiText.json"}}});
        let p = program(&[("uiText.json", tree)]);
        let entry = *p.entries[Component::UiText.index()].as_ref().unwrap();
        let mut nodes = Vec::new();
        reachable(&p, entry, &mut nodes);
        assert!(nodes.iter().any(|&n| matches!(p.node(n), Node::Full(_))));
        let p = program(&[(
            "uiText.json",
            json!({"$dynamicAnchor": "x", "type": "object"}),
        )]);
        let why = p.entries[Component::UiText.index()].as_ref().unwrap_err();
        assert!(why.contains("dynamic"), "{why}");
        let p = program(&[(
            "uiText.json",
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}),
        )]);
        let why = p.entries[Component::UiText.index()].as_ref().unwrap_err();
        assert!(why.contains("2020-12"), "{why}");
    }

    #[test]
    fn alternatives_no_property_tells_apart_are_tried() {
        let p = program(&[(
            "uiText.json",
            json!({"oneOf": [{"type": "string"}, {"type": "object", "required": ["a"]}]}),
        )]);
        let entry = *p.entries[Component::UiText.index()].as_ref().unwrap();
        assert!(
            matches!(
                p.node(entry),
                Node::Alternatives {
                    exactly_one: true,
                    ..
                }
            ),
            "{:?}",
            p.node(entry)
        );
    }
}
