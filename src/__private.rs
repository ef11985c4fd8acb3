//! Internals that scimkit's own fuzz targets, property tests and benches drive directly:
//! the filter parser and evaluator, the PATCH path parser and engine, and the quirk
//! normalisers, behind signatures that name no internal type. Not part of the API: no
//! stability promise, may change in any release.

use serde_json::{Map, Value};

use crate::protocol::{filter, patch, quirks};
use crate::schema::ResourceKind;

/// A parsed filter expression.
#[derive(Debug, Clone)]
pub struct Filter(filter::Filter);

impl Filter {
    /// Parses `text`, or says why not.
    pub fn parse(text: &str) -> Result<Self, String> {
        filter::parse_filter(text)
            .map(Self)
            .map_err(|e| e.to_string())
    }

    /// Whether `resource` (a `kind` document) matches, with the core schemas' `caseExact`.
    pub fn matches(&self, resource: &Value, kind: ResourceKind) -> bool {
        self.0.matches(resource, &kind)
    }
}

impl std::fmt::Display for Filter {
    /// The canonical text, which parses again to the same filter.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether `path` parses as a PATCH path of a `kind` resource.
pub fn parse_patch_path(path: &str, kind: ResourceKind) -> bool {
    patch::PatchPath::parse(path, kind).is_ok()
}

/// Applies a PatchOp `body` to `doc` as the service does after the quirks: the patched
/// document, or the refusal's text.
pub fn apply_patch(doc: &Value, body: &Value, kind: ResourceKind) -> Result<Value, String> {
    let operations = patch::parse_request(body, kind).map_err(|e| e.to_string())?;
    patch::apply_operations(doc, &operations, kind).map_err(|e| e.to_string())
}

/// The PATCH quirk normalisers, for a resource of `kind` whose id is `id`.
pub fn normalise_patch(kind: ResourceKind, id: &str, body: &mut Value) {
    quirks::normalise_patch(quirks::PatchTarget { kind, id }, body);
}

/// The document quirk normalisers (POST and PUT bodies).
pub fn normalise_document(kind: ResourceKind, doc: &mut Map<String, Value>) {
    quirks::normalise_document(kind, doc);
}
