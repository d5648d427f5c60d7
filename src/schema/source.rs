//! Where a schema set comes from (the embedded copies, a directory, an OpenAPI document), and
//! reading it into [`Resource`]s.

use super::embedded;
use super::error::SchemaError;
use super::openapi;
use super::resource::{Resource, BASE_URI};
use super::violation::LocationStyle;
use std::path::{Path, PathBuf};

/// Where the schemas come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SchemaSource {
    /// The copies of `schemas/` embedded in the binary.
    #[default]
    Embedded,
    /// A directory of schema files laid out like `schemas/` (`--schemas DIR`).
    Dir(PathBuf),
    /// An OpenAPI 3 document whose `components/schemas` are used (`--spec FILE`).
    OpenApi(PathBuf),
}

impl std::fmt::Display for SchemaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaSource::Embedded => f.write_str("the embedded schemas"),
            SchemaSource::Dir(dir) => write!(f, "the schema directory {}", dir.display()),
            SchemaSource::OpenApi(file) => write!(f, "the OpenAPI document {}", file.display()),
        }
    }
}

impl SchemaSource {
    /// Reads every schema document of the source, each registered under [`BASE_URI`], with the
    /// way its locations are shown in violations. `roots` are the component names an OpenAPI
    /// document is translated from (what they reach, not the whole document).
    pub(crate) fn read(
        &self,
        roots: &[&str],
    ) -> Result<(Vec<Resource>, LocationStyle), SchemaError> {
        Ok(match self {
            SchemaSource::Embedded => (embedded_resources()?, LocationStyle::Files),
            SchemaSource::Dir(dir) => (dir_resources(dir)?, LocationStyle::Files),
            SchemaSource::OpenApi(file) => (
                openapi::resources(file, BASE_URI, roots)?,
                LocationStyle::OpenApi,
            ),
        })
    }
}

fn embedded_resources() -> Result<Vec<Resource>, SchemaError> {
    embedded::FILES
        .iter()
        .map(|(file, text)| {
            let contents = serde_json::from_str(text).map_err(|source| SchemaError::Json {
                path: PathBuf::from(format!("embedded:{file}")),
                source,
            })?;
            Ok(Resource {
                uri: format!("{BASE_URI}{file}"),
                file: (*file).to_owned(),
                contents,
            })
        })
        .collect()
}

/// Every `*.json` file of `dir`, each registered under its file name: components are looked up by
/// name, and any other file (a helper an edited schema refers to) is available to `$ref`.
fn dir_resources(dir: &Path) -> Result<Vec<Resource>, SchemaError> {
    let read_err = |source| SchemaError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let path = entry.path();
        let is_json = path.extension().is_some_and(|ext| ext == "json");
        if is_json && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut resources = Vec::with_capacity(files.len());
    for path in files {
        let Some(file) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Read {
            path: path.clone(),
            source,
        })?;
        let contents = serde_json::from_str(&text).map_err(|source| SchemaError::Json {
            path: path.clone(),
            source,
        })?;
        resources.push(Resource {
            uri: format!("{BASE_URI}{file}"),
            file,
            contents,
        });
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn embedded_table_covers_every_file_in_schemas_dir() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.ends_with(".json").then_some(name)
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = embedded::FILES
            .iter()
            .map(|(f, _)| (*f).to_owned())
            .collect();
        embedded.sort();
        assert_eq!(
            embedded, on_disk,
            "src/schema/embedded.rs must list every schemas/*.json"
        );
        for (file, text) in embedded::FILES {
            let on_disk = std::fs::read_to_string(dir.join(file)).unwrap();
            assert_eq!(*text, on_disk, "{file}");
        }
    }

    #[test]
    fn every_embedded_file_has_id_under_base_and_draft_2020_12() {
        for (file, text) in embedded::FILES {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value["$id"], json!(format!("{BASE_URI}{file}")), "{file}");
            assert_eq!(
                value["$schema"],
                json!("https://json-schema.org/draft/2020-12/schema"),
                "{file}"
            );
        }
    }
}
