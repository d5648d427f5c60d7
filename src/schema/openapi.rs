//! `--spec FILE`: turns an OpenAPI 3 document's `components/schemas` into a schema set laid out like
//! `schemas/` (one resource `<name>.json` per component), so the same [`super::component::Component`]s compile
//! from it.
//!
//! Translation, OpenAPI 3.0 Schema Object → JSON Schema 2020-12:
//! - `nullable: true` adds `"null"` to `type` (and `null` to `enum`); `nullable` without `type`
//!   already allows null.
//! - `$ref` siblings are dropped: OpenAPI 3.0 ignores them, 2020-12 would apply them.
//! - boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric 2020-12 form.
//! - `#/components/schemas/X[/...]` references become `X.json[#/...]`; any other reference is an
//!   error (nothing is fetched).
//!
//! `discriminator`, `example`, `x-*` and other OpenAPI-only keywords are left in place; a 2020-12
//! validator ignores unknown keywords, and `oneOf` keeps its JSON Schema meaning. OpenAPI 3.1
//! documents are already 2020-12, so only their references are rewritten. Formats JSON Schema does
//! not define (`int64`, `uuid4`, ...) are ignored by the validator.

use super::error::SchemaError;
use super::resource::Resource;
use serde_json::{Map, Value};
use std::path::Path;

/// Keywords whose value is a schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "items",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAY_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is an object of schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

const COMPONENT_REF_PREFIX: &str = "#/components/schemas/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// OpenAPI 3.0.x: the Schema Object is an extended subset of JSON Schema draft 5 (wright-00).
    OpenApi30,
    /// OpenAPI 3.1.x: the Schema Object is JSON Schema 2020-12.
    OpenApi31,
}

struct Translator<'a> {
    path: &'a Path,
    components: &'a Map<String, Value>,
    dialect: Dialect,
    /// Components referenced by what was translated so far (the traversal's frontier).
    referenced: Vec<String>,
}

/// Reads `path` and returns one resource per entry of `components/schemas` reachable from `roots`,
/// under `base`. Only reachable components are translated, so a broken entry the recovery schemas
/// never use (another flow's) does not stop a recovery check.
pub(super) fn resources(
    path: &Path,
    base: &str,
    roots: &[&str],
) -> Result<Vec<Resource>, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
        path: path.to_owned(),
        source,
    })?;
    let document: Value = serde_json::from_str(&text).map_err(|source| SchemaError::Json {
        path: path.to_owned(),
        source,
    })?;
    from_document(path, &document, base, roots)
}

pub(super) fn from_document(
    path: &Path,
    document: &Value,
    base: &str,
    roots: &[&str],
) -> Result<Vec<Resource>, SchemaError> {
    let not_openapi = |reason: String| SchemaError::NotOpenApi {
        path: path.to_owned(),
        reason,
    };
    let version = match document.get("openapi") {
        Some(Value::String(v)) => v.as_str(),
        Some(other) => {
            return Err(not_openapi(format!(
                "`openapi` is {other}, not a version string"
            )))
        }
        None if document.get("swagger").is_some() => {
            return Err(not_openapi(
                "it is a Swagger 2.0 document; pass the OpenAPI 3 one (Kratos: spec/api.json)"
                    .to_owned(),
            ))
        }
        None => return Err(not_openapi("it has no `openapi` version field".to_owned())),
    };
    let dialect = if version.starts_with("3.0") {
        Dialect::OpenApi30
    } else if version.starts_with("3.1") {
        Dialect::OpenApi31
    } else {
        return Err(not_openapi(format!(
            "version {version} is not supported (expected 3.0.x or 3.1.x)"
        )));
    };
    let components = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or_else(|| not_openapi("it has no `components/schemas` object".to_owned()))?;
    let mut translator = Translator {
        path,
        components,
        dialect,
        referenced: roots.iter().map(|r| (*r).to_owned()).collect(),
    };
    let mut done = std::collections::HashSet::new();
    let mut resources = Vec::new();
    while let Some(name) = translator.referenced.pop() {
        // A missing root is reported by the compiler as a missing component; a missing reference
        // target was already reported by `rewrite_ref`.
        let Some(schema) = components.get(&name) else {
            continue;
        };
        if !done.insert(name.clone()) {
            continue;
        }
        if !is_component_name(&name) {
            return Err(not_openapi(format!(
                "component name {name:?} is not ^[a-zA-Z0-9.\\-_]+$ as OpenAPI requires"
            )));
        }
        let mut pointer = format!("/components/schemas/{name}");
        let mut contents = schema.clone();
        translator.translate(&mut contents, &mut pointer)?;
        let file = format!("{name}.json");
        let uri = format!("{base}{file}");
        let contents = match contents {
            Value::Object(mut map) => {
                map.insert("$id".to_owned(), Value::String(uri.clone()));
                Value::Object(map)
            }
            // A boolean schema (3.1) cannot carry `$id`; wrap it.
            other => serde_json::json!({ "$id": uri, "allOf": [other] }),
        };
        resources.push(Resource {
            uri,
            file,
            contents,
        });
    }
    Ok(resources)
}

fn is_component_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

impl Translator<'_> {
    fn translate(&mut self, schema: &mut Value, pointer: &mut String) -> Result<(), SchemaError> {
        let Value::Object(map) = schema else {
            return Ok(());
        };
        if let Some(reference) = map.get("$ref") {
            let (rewritten, target) = self.rewrite_ref(reference, pointer)?;
            self.referenced.push(target);
            if self.dialect == Dialect::OpenApi30 {
                map.clear();
            }
            map.insert("$ref".to_owned(), Value::String(rewritten));
        }
        if self.dialect == Dialect::OpenApi30 {
            translate_nullable(map);
            translate_exclusive(map, "exclusiveMinimum", "minimum");
            translate_exclusive(map, "exclusiveMaximum", "maximum");
        }
        for (key, value) in map.iter_mut() {
            let len = pointer.len();
            // `items` may be a list of schemas in older dialects; treat it like `allOf` then.
            let schema_list = SCHEMA_ARRAY_KEYWORDS.contains(&key.as_str())
                || (key == "items" && value.is_array());
            if SCHEMA_KEYWORDS.contains(&key.as_str()) && !schema_list {
                push_segment(pointer, key);
                self.translate(value, pointer)?;
            } else if schema_list {
                if let Value::Array(items) = value {
                    push_segment(pointer, key);
                    for (i, item) in items.iter_mut().enumerate() {
                        let inner = pointer.len();
                        push_segment(pointer, &i.to_string());
                        self.translate(item, pointer)?;
                        pointer.truncate(inner);
                    }
                }
            } else if SCHEMA_MAP_KEYWORDS.contains(&key.as_str()) {
                if let Value::Object(entries) = value {
                    push_segment(pointer, key);
                    for (name, item) in entries.iter_mut() {
                        let inner = pointer.len();
                        push_segment(pointer, name);
                        self.translate(item, pointer)?;
                        pointer.truncate(inner);
                    }
                }
            }
            pointer.truncate(len);
        }
        Ok(())
    }

    /// The rewritten reference and the component it points into.
    fn rewrite_ref(
        &self,
        reference: &Value,
        pointer: &str,
    ) -> Result<(String, String), SchemaError> {
        let unresolved = |reference: String, reason| SchemaError::UnresolvedRef {
            path: self.path.to_owned(),
            reference,
            location: format!("{pointer}/$ref"),
            reason,
        };
        let Value::String(reference) = reference else {
            return Err(unresolved(reference.to_string(), "`$ref` is not a string"));
        };
        let Some(rest) = reference.strip_prefix(COMPONENT_REF_PREFIX) else {
            return Err(unresolved(
                reference.clone(),
                "only #/components/schemas/... references are supported; nothing is fetched",
            ));
        };
        let (escaped_name, tail) = match rest.split_once('/') {
            Some((name, tail)) => (name, Some(tail)),
            None => (rest, None),
        };
        let name = escaped_name.replace("~1", "/").replace("~0", "~");
        if !self.components.contains_key(&name) {
            return Err(unresolved(
                reference.clone(),
                "no such entry in components/schemas",
            ));
        }
        let rewritten = match tail {
            Some(tail) => format!("{name}.json#/{tail}"),
            None => format!("{name}.json"),
        };
        Ok((rewritten, name))
    }
}

/// OpenAPI 3.0 `nullable: true` → 2020-12: null joins `type` and `enum`.
fn translate_nullable(map: &mut Map<String, Value>) {
    let Some(nullable) = map.remove("nullable") else {
        return;
    };
    if nullable != Value::Bool(true) {
        return;
    }
    let null = Value::String("null".to_owned());
    match map.get_mut("type") {
        Some(Value::String(t)) => {
            let t = Value::String(std::mem::take(t));
            map.insert("type".to_owned(), Value::Array(vec![t, null]));
        }
        Some(Value::Array(types)) if !types.contains(&null) => types.push(null),
        _ => {}
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
}

/// OpenAPI 3.0 `exclusiveMinimum: true` (a modifier of `minimum`) → 2020-12 `exclusiveMinimum: n`.
fn translate_exclusive(map: &mut Map<String, Value>, exclusive: &str, bound: &str) {
    match map.get(exclusive) {
        Some(Value::Bool(true)) => {
            map.remove(exclusive);
            if let Some(limit) = map.remove(bound) {
                map.insert(exclusive.to_owned(), limit);
            }
        }
        Some(Value::Bool(false)) => {
            map.remove(exclusive);
        }
        _ => {}
    }
}

fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn translate(doc: Value) -> Result<Vec<Resource>, SchemaError> {
        from_document(Path::new("doc.json"), &doc, "https://x.invalid/", &["a"])
    }

    #[test]
    fn nullable_and_refs_are_translated() {
        let doc = json!({"openapi": "3.0.3", "components": {"schemas": {
            "a": {"type": "object", "properties": {
                "s": {"type": "string", "nullable": true, "enum": ["x"]},
                "any": {"nullable": true},
                "b": {"$ref": "#/components/schemas/b", "description": "ignored sibling"},
                "n": {"type": "integer", "minimum": 1, "exclusiveMinimum": true}
            }},
            "b": {"type": "string"}
        }}});
        let out = translate(doc).unwrap();
        let a = &out.iter().find(|r| r.file == "a.json").unwrap().contents;
        assert_eq!(a["$id"], json!("https://x.invalid/a.json"));
        assert_eq!(
            a["properties"]["s"],
            json!({"type": ["string", "null"], "enum": ["x", null]})
        );
        assert_eq!(a["properties"]["any"], json!({}));
        assert_eq!(a["properties"]["b"], json!({"$ref": "b.json"}));
        assert_eq!(
            a["properties"]["n"],
            json!({"type": "integer", "exclusiveMinimum": 1})
        );
    }

    #[test]
    fn openapi_31_keeps_ref_siblings() {
        let doc = json!({"openapi": "3.1.0", "components": {"schemas": {
            "a": {"$ref": "#/components/schemas/b/properties/x", "minLength": 1},
            "b": {"properties": {"x": {"type": "string"}}}
        }}});
        let out = translate(doc).unwrap();
        let a = &out.iter().find(|r| r.file == "a.json").unwrap().contents;
        assert_eq!(a["$ref"], json!("b.json#/properties/x"));
        assert_eq!(a["minLength"], json!(1));
    }

    #[test]
    fn tuple_items_are_translated() {
        let doc = json!({"openapi": "3.0.3", "components": {"schemas": {
            "a": {"items": [{"$ref": "#/components/schemas/b"}]},
            "b": {"type": "string"}
        }}});
        let out = translate(doc).unwrap();
        let a = &out.iter().find(|r| r.file == "a.json").unwrap().contents;
        assert_eq!(a["items"], json!([{"$ref": "b.json"}]));
    }

    #[test]
    fn bad_documents_are_named_errors() {
        let cases = [
            (json!({"swagger": "2.0"}), "Swagger 2.0"),
            (json!({}), "no `openapi`"),
            (json!({"openapi": "2.9"}), "not supported"),
            (json!({"openapi": "3.0.0"}), "components/schemas"),
            (
                json!({"openapi": "3.0.0", "components": {"schemas": {
                    "a": {"$ref": "#/components/schemas/a b"}, "a b": {}
                }}}),
                "component name",
            ),
        ];
        for (doc, needle) in cases {
            let err = translate(doc).err().unwrap();
            assert!(matches!(err, SchemaError::NotOpenApi { .. }), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn only_components_reachable_from_the_roots_are_translated() {
        let doc = json!({"openapi": "3.0.3", "components": {"schemas": {
            "a": {"properties": {"b": {"$ref": "#/components/schemas/b"}}},
            "b": {"items": {"$ref": "#/components/schemas/a"}},
            "unrelated": {"$ref": "https://example.com/broken.json"}
        }}});
        let mut files: Vec<String> = translate(doc)
            .unwrap()
            .into_iter()
            .map(|r| r.file)
            .collect();
        files.sort();
        assert_eq!(files, ["a.json", "b.json"]);
    }

    #[test]
    fn foreign_and_dangling_refs_are_rejected() {
        for (reference, reason) in [
            ("https://example.com/x.json", "only #/components/schemas"),
            ("#/components/schemas/missing", "no such entry"),
        ] {
            let doc = json!({"openapi": "3.0.3", "components": {"schemas": {
                "a": {"properties": {"p": {"$ref": reference}}}
            }}});
            let err = translate(doc).err().unwrap();
            let text = err.to_string();
            assert!(text.contains(reason), "{text}");
            assert!(
                text.contains("/components/schemas/a/properties/p/$ref"),
                "{text}"
            );
        }
    }
}
