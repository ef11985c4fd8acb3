//! Identity-provider quirks, normalised in one place before the PATCH engine and before a
//! POST/PUT body is checked. One entry per quirk, naming the IdP that sends it.
//!
//! The table of what each quirk is, who sends it and what scimkit does lives in
//! `docs::identity_providers` (a test keeps it complete).

use serde_json::{Map, Value};

use crate::protocol::patch::PatchPath;
use crate::schema::{AttributeDef, AttributeType, ENTERPRISE_USER, GROUP, ResourceKind, USER};

/// A quirk: what it is called, who sends it, and its normaliser. The name and the sender
/// are what the table in `docs::identity_providers` lists; a test holds the two together.
pub(crate) struct Quirk<F> {
    /// Short name.
    #[cfg_attr(not(test), allow(dead_code))]
    pub name: &'static str,
    /// The identity provider(s) that send it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub sent_by: &'static str,
    /// The normaliser.
    pub normalise: F,
}

/// What a PATCH request is applied to, for quirks that depend on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PatchTarget<'a> {
    /// The resource type.
    pub kind: ResourceKind,
    /// The id in the request's URL.
    pub id: &'a str,
}

/// A normaliser of PatchOp request bodies.
pub(crate) type PatchNormaliser = fn(PatchTarget<'_>, &mut Value);
/// A normaliser of whole User or Group documents.
pub(crate) type DocumentNormaliser = fn(ResourceKind, &mut Map<String, Value>);

/// Quirks of PatchOp requests, applied to the request body.
pub(crate) static PATCH_QUIRKS: &[Quirk<PatchNormaliser>] = &[
    Quirk {
        name: "capitalised-op-names",
        sent_by: "Microsoft Entra ID",
        normalise: lower_case_op_names,
    },
    Quirk {
        name: "url-encoded-paths",
        sent_by: "Microsoft Entra ID",
        normalise: decode_paths,
    },
    Quirk {
        name: "empty-user-name",
        sent_by: "Microsoft Entra ID",
        normalise: drop_empty_user_name,
    },
    Quirk {
        name: "string-booleans-in-patch-values",
        sent_by: "Microsoft Entra ID",
        normalise: patch_string_booleans,
    },
    Quirk {
        name: "own-id-in-patch",
        sent_by: "Okta, Microsoft Entra ID",
        normalise: drop_own_id,
    },
];

/// Quirks of whole documents, applied to POST/PUT bodies and to PATCH results.
pub(crate) static DOCUMENT_QUIRKS: &[Quirk<DocumentNormaliser>] = &[
    Quirk {
        name: "scim-1.1-urns",
        sent_by: "OneLogin",
        normalise: upgrade_scim_1_urns,
    },
    Quirk {
        name: "flattened-extension-keys",
        sent_by: "Microsoft Entra ID, Okta",
        normalise: nest_extension_keys,
    },
    Quirk {
        name: "flattened-custom-extension-keys",
        sent_by: "Microsoft Entra ID, Okta",
        normalise: nest_custom_extension_keys,
    },
    Quirk {
        name: "unlisted-extension-schemas",
        sent_by: "Microsoft Entra ID",
        normalise: list_extension_schemas,
    },
    Quirk {
        name: "single-object-multi-valued",
        sent_by: "OneLogin",
        normalise: wrap_single_objects,
    },
    Quirk {
        name: "string-booleans",
        sent_by: "Microsoft Entra ID",
        normalise: parse_string_booleans,
    },
    Quirk {
        name: "manager-shapes",
        sent_by: "Microsoft Entra ID, Okta, OneLogin",
        normalise: normalise_manager,
    },
    Quirk {
        name: "members-null-ref",
        sent_by: "Okta",
        normalise: drop_null_member_refs,
    },
];

/// Applies every PATCH quirk to a request body.
pub(crate) fn normalise_patch(target: PatchTarget<'_>, body: &mut Value) {
    for quirk in PATCH_QUIRKS {
        (quirk.normalise)(target, body);
    }
}

/// Applies every document quirk.
pub(crate) fn normalise_document(kind: ResourceKind, doc: &mut Map<String, Value>) {
    for quirk in DOCUMENT_QUIRKS {
        (quirk.normalise)(kind, doc);
    }
}

fn operations(body: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    body.as_object_mut()
        .and_then(|o| {
            o.iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("operations"))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn lower_case_op_names(_: PatchTarget<'_>, body: &mut Value) {
    for op in operations(body) {
        if let Some(Value::String(name)) = op.get_mut("op") {
            *name = name.to_ascii_lowercase();
        }
    }
}

fn decode_paths(_: PatchTarget<'_>, body: &mut Value) {
    for op in operations(body) {
        if let Some(Value::String(path)) = op.get_mut("path")
            && has_percent_escape(path)
        {
            let decoded: String =
                form_urlencoded::parse(format!("p={}", path.replace('+', "%2B")).as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
            if !decoded.is_empty() {
                *path = decoded;
            }
        }
    }
}

fn has_percent_escape(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w.first() == Some(&b'%') && w.iter().skip(1).all(u8::is_ascii_hexdigit))
}

fn drop_empty_user_name(_: PatchTarget<'_>, body: &mut Value) {
    let is_empty_string = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .is_some_and(|s| s.trim().is_empty())
    };
    if let Some(ops) = body
        .as_object_mut()
        .and_then(|o| {
            o.iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("operations"))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_array_mut)
    {
        ops.retain(|op| {
            let path_is_user_name = op
                .get("path")
                .and_then(Value::as_str)
                .is_some_and(|p| p.eq_ignore_ascii_case("userName"));
            !(path_is_user_name && is_empty_string(op.get("value")))
        });
        for op in ops.iter_mut() {
            if let Some(Value::Object(values)) = op.get_mut("value") {
                values.retain(|k, v| {
                    !(k.eq_ignore_ascii_case("userName") && is_empty_string(Some(v)))
                });
            }
        }
    }
}

/// Turns `"True"`/`"False"` into booleans wherever `path_text` (a PATCH path, or a key of
/// a path-less value) reaches a boolean attribute or a complex one with boolean
/// sub-attributes, so that the engine compares `primary` as a boolean and never keeps two
/// copies of an element that differ only in how `primary` was spelled.
fn booleans_at(kind: ResourceKind, path_text: &str, value: &mut Value) {
    if let Some(extension) = kind.extension(path_text) {
        if let Value::Object(inner) = value {
            for (name, v) in inner.iter_mut() {
                booleans_at(kind, &format!("{}:{name}", extension.id), v);
            }
        }
        return;
    }
    let Ok(PatchPath::Attribute {
        path,
        sub_attribute,
        ..
    }) = PatchPath::parse(path_text, kind)
    else {
        return;
    };
    let path = match sub_attribute {
        Some(sub) => path.with_sub(sub),
        None => path,
    };
    if let Some(def) = kind.attribute(&path) {
        booleans_of(def, value);
    }
}

fn booleans_of(def: &AttributeDef, value: &mut Value) {
    match def.kind {
        AttributeType::Boolean => string_to_bool(value),
        AttributeType::Complex => {
            let elements: Vec<&mut Value> = match value {
                Value::Array(items) => items.iter_mut().collect(),
                other => vec![other],
            };
            for element in elements {
                if let Value::Object(object) = element {
                    for (k, v) in object.iter_mut() {
                        if let Some(sub) = def.sub_attribute(k) {
                            booleans_of(sub, v);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn patch_string_booleans(target: PatchTarget<'_>, body: &mut Value) {
    for op in operations(body) {
        let path = op.get("path").and_then(Value::as_str).map(str::to_owned);
        let Some(value) = op.get_mut("value") else {
            continue;
        };
        match (path, value) {
            (Some(path), value) if !path.trim().is_empty() => {
                booleans_at(target.kind, &path, value);
            }
            (_, Value::Object(values)) => {
                for (key, v) in values.iter_mut() {
                    booleans_at(target.kind, key, v);
                }
            }
            _ => {}
        }
    }
}

/// Okta renames a group with a path-less replace whose value carries the group's own
/// `id`; Entra has been seen to send `{"op": "replace", "path": "id", "value": <own id>}`.
/// Both restate what is already true, so they are dropped. A *different* id in a
/// path-less value is ignored by the engine (it is server-owned), while an explicit
/// `path: "id"` naming another id is refused there with 400 `mutability`.
fn drop_own_id(target: PatchTarget<'_>, body: &mut Value) {
    let is_own = |v: Option<&Value>| v.and_then(Value::as_str) == Some(target.id);
    let Some(ops) = body
        .as_object_mut()
        .and_then(|o| {
            o.iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("operations"))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    ops.retain(|op| {
        let names_id = op
            .get("path")
            .and_then(Value::as_str)
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("id"));
        let is_remove = op
            .get("op")
            .and_then(Value::as_str)
            .is_some_and(|o| o.eq_ignore_ascii_case("remove"));
        !(names_id && !is_remove && is_own(op.get("value")))
    });
    for op in ops.iter_mut() {
        if let Some(Value::Object(values)) = op.get_mut("value") {
            values.retain(|k, v| !(k.eq_ignore_ascii_case("id") && is_own(Some(v))));
        }
    }
}

const SCIM_1_CORE: &str = "urn:scim:schemas:core:1.0";
const SCIM_1_ENTERPRISE: &str = "urn:scim:schemas:extension:enterprise:1.0";

fn upgrade_scim_1_urns(kind: ResourceKind, doc: &mut Map<String, Value>) {
    let core = match kind {
        ResourceKind::User => USER,
        ResourceKind::Group => GROUP,
    };
    if let Some(Value::Array(schemas)) = doc.get_mut("schemas") {
        for schema in schemas.iter_mut() {
            if let Value::String(s) = schema {
                if s.eq_ignore_ascii_case(SCIM_1_CORE) {
                    *s = core.to_owned();
                } else if s.eq_ignore_ascii_case(SCIM_1_ENTERPRISE) {
                    *s = ENTERPRISE_USER.to_owned();
                }
            }
        }
    }
    if let Some(key) = doc
        .keys()
        .find(|k| k.eq_ignore_ascii_case(SCIM_1_ENTERPRISE))
        .cloned()
        && let Some(value) = doc.remove(&key)
    {
        doc.insert(ENTERPRISE_USER.to_owned(), value);
    }
}

fn nest_extension_keys(kind: ResourceKind, doc: &mut Map<String, Value>) {
    for extension in kind.extensions() {
        let prefix = format!("{}:", extension.id).to_ascii_lowercase();
        let flattened: Vec<String> = doc
            .keys()
            .filter(|k| k.to_ascii_lowercase().starts_with(&prefix) && k.len() > prefix.len())
            .cloned()
            .collect();
        for key in flattened {
            let Some(value) = doc.remove(&key) else {
                continue;
            };
            let name = key.get(prefix.len()..).unwrap_or("").to_owned();
            let target = doc
                .entry(extension.id.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(target) = target.as_object_mut() {
                target.insert(name, value);
            }
        }
    }
}

/// Where a flattened custom-extension key (`urn:...:Acme:2.0:User:tag`) belongs: the
/// extension's URN and the attribute name, or `None` when the key is not one.
fn flattened_custom_key(kind: ResourceKind, key: &str, value: &Value) -> Option<(String, String)> {
    // A known extension's own URN (the enterprise one) is validated as that extension,
    // whatever its value: never split into a made-up `urn:...:2.0` extension.
    if kind.is_custom_extension_object(key) || kind.extension(key).is_some() {
        return None;
    }
    let (urn, name) = key.rsplit_once(':')?;
    if name.is_empty() || !kind.is_custom_extension(urn) {
        return None;
    }
    // An object under a URN that does not end in the resource type's name is taken as an
    // extension object (Okta's namespaces), not as one complex attribute.
    if value.is_object() && !kind.is_custom_extension_object(urn) {
        return None;
    }
    Some((urn.to_owned(), name.to_owned()))
}

fn nest_custom_extension_keys(kind: ResourceKind, doc: &mut Map<String, Value>) {
    let flattened: Vec<(String, String, String)> = doc
        .iter()
        .filter_map(|(k, v)| flattened_custom_key(kind, k, v).map(|(u, n)| (k.clone(), u, n)))
        .collect();
    for (key, urn, name) in flattened {
        let Some(value) = doc.shift_remove(&key) else {
            continue;
        };
        let existing = doc.keys().find(|k| k.eq_ignore_ascii_case(&urn)).cloned();
        let target = doc
            .entry(existing.unwrap_or(urn))
            .or_insert_with(|| Value::Object(Map::new()));
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let Some(target) = target.as_object_mut() else {
            continue;
        };
        // `urn:...:User:name.givenName` sets one sub-attribute.
        match name.split_once('.') {
            Some((attribute, sub)) if !attribute.is_empty() && !sub.is_empty() => {
                let inner = target
                    .entry(attribute.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !inner.is_object() {
                    *inner = Value::Object(Map::new());
                }
                if let Some(inner) = inner.as_object_mut() {
                    inner.insert(sub.to_owned(), value);
                }
            }
            _ => {
                target.insert(name, value);
            }
        }
    }
}

/// Lists every custom extension object the document carries in its `schemas` (RFC 7643
/// §3), so a custom extension added by PATCH, or sent without being listed, is announced (and a
/// client that reads `schemas` to find extensions finds it).
fn list_extension_schemas(kind: ResourceKind, doc: &mut Map<String, Value>) {
    let carried: Vec<String> = doc
        .iter()
        .filter(|(k, v)| v.is_object() && kind.is_custom_extension(k))
        .map(|(k, _)| k.clone())
        .collect();
    if carried.is_empty() {
        return;
    }
    let key = match doc.keys().find(|k| k.eq_ignore_ascii_case("schemas")) {
        Some(key) => key.clone(),
        None => {
            let core = kind.schema().id.as_str();
            doc.insert("schemas".into(), Value::Array(vec![core.into()]));
            "schemas".to_owned()
        }
    };
    if let Some(Value::Array(schemas)) = doc.get_mut(&key) {
        for urn in carried {
            let listed = schemas
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&urn)));
            if !listed {
                schemas.push(Value::String(urn));
            }
        }
    }
}

fn wrap_single_objects(kind: ResourceKind, doc: &mut Map<String, Value>) {
    for def in kind.schema().attributes.iter().filter(|d| d.multi_valued) {
        if let Some(key) = doc
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&def.name))
            .cloned()
            && let Some(value) = doc.get_mut(&key)
            && value.is_object()
        {
            *value = Value::Array(vec![value.take()]);
        }
    }
}

fn string_to_bool(value: &mut Value) {
    if let Value::String(s) = value {
        if s.eq_ignore_ascii_case("true") {
            *value = Value::Bool(true);
        } else if s.eq_ignore_ascii_case("false") {
            *value = Value::Bool(false);
        }
    }
}

fn parse_string_booleans(kind: ResourceKind, doc: &mut Map<String, Value>) {
    for def in &kind.schema().attributes {
        let Some(key) = doc
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&def.name))
            .cloned()
        else {
            continue;
        };
        let Some(value) = doc.get_mut(&key) else {
            continue;
        };
        if def.kind == AttributeType::Boolean {
            string_to_bool(value);
        }
        let boolean_subs: Vec<&str> = def
            .sub_attributes
            .iter()
            .filter(|s| s.kind == AttributeType::Boolean)
            .map(|s| s.name.as_str())
            .collect();
        if boolean_subs.is_empty() {
            continue;
        }
        let elements: Vec<&mut Value> = match value {
            Value::Array(items) => items.iter_mut().collect(),
            other => vec![other],
        };
        for element in elements {
            if let Some(object) = element.as_object_mut() {
                for (k, v) in object.iter_mut() {
                    if boolean_subs.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                        string_to_bool(v);
                    }
                }
            }
        }
    }
}

fn normalise_manager(kind: ResourceKind, doc: &mut Map<String, Value>) {
    if kind != ResourceKind::User {
        return;
    }
    let Some(Value::Object(extension)) = doc.get_mut(ENTERPRISE_USER) else {
        return;
    };
    let Some(key) = extension
        .keys()
        .find(|k| k.eq_ignore_ascii_case("manager"))
        .cloned()
    else {
        return;
    };
    let Some(manager) = extension.get_mut(&key) else {
        return;
    };
    let normalised = match manager.take() {
        Value::String(id) if id.is_empty() => None,
        Value::String(id) => Some(serde_json::json!({ "value": id })),
        Value::Array(mut items) => items.drain(..).next().and_then(|first| match first {
            Value::String(id) => Some(serde_json::json!({ "value": id })),
            Value::Object(o) => Some(Value::Object(o)),
            _ => None,
        }),
        Value::Null => None,
        other => Some(other),
    };
    match normalised {
        Some(value) => *manager = value,
        None => {
            extension.remove(&key);
        }
    }
}

fn drop_null_member_refs(kind: ResourceKind, doc: &mut Map<String, Value>) {
    if kind != ResourceKind::Group {
        return;
    }
    if let Some(Value::Array(members)) = doc.get_mut("members") {
        for member in members.iter_mut().filter_map(Value::as_object_mut) {
            member.retain(|k, v| !(k == "$ref" && v.is_null()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_table_names_every_quirk() {
        let docs = include_str!("../docs.rs");
        let names = PATCH_QUIRKS
            .iter()
            .map(|q| (q.name, q.sent_by))
            .chain(DOCUMENT_QUIRKS.iter().map(|q| (q.name, q.sent_by)));
        for (name, sent_by) in names {
            assert!(
                docs.contains(&format!("/// | `{name}` |")),
                "docs::identity_providers lacks the quirk `{name}` (sent by {sent_by})"
            );
        }
    }
    use serde_json::json;

    fn document(kind: ResourceKind, doc: Value) -> Value {
        let Value::Object(mut map) = doc else {
            panic!("object")
        };
        normalise_document(kind, &mut map);
        Value::Object(map)
    }

    #[test]
    fn string_booleans_become_booleans_only_where_the_schema_says_boolean() {
        // Entra ID sends `"active": "False"` (its known-issues page on SCIM compliance).
        let out = document(
            ResourceKind::User,
            json!({
                "active": "False", "title": "true", "emails": [{"value": "a@x.com", "primary": "True"}]
            }),
        );
        assert_eq!(out["active"], false);
        assert_eq!(out["title"], "true");
        assert_eq!(out["emails"][0]["primary"], true);
    }

    #[test]
    fn manager_shapes_become_an_object() {
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        for manager in [
            json!("mgr-1"),
            json!([{"value": "mgr-1"}]),
            json!({"value": "mgr-1"}),
        ] {
            let out = document(ResourceKind::User, json!({ ext: {"manager": manager} }));
            assert_eq!(out[ext]["manager"], json!({"value": "mgr-1"}));
        }
        let out = document(ResourceKind::User, json!({ ext: {"manager": ""} }));
        assert!(out[ext].get("manager").is_none());
    }

    #[test]
    fn onelogin_scim_1_documents_read_as_scim_2() {
        // OneLogin's SCIM 1.1 connector shape: 1.0 URNs and a single emails object.
        let out = document(
            ResourceKind::User,
            json!({
                "schemas": ["urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0"],
                "userName": "a@x.com",
                "emails": {"value": "a@x.com", "primary": true},
                "urn:scim:schemas:extension:enterprise:1.0": {"department": "R&D"}
            }),
        );
        assert_eq!(out["schemas"], json!([USER, ENTERPRISE_USER]));
        assert_eq!(
            out["emails"],
            json!([{"value": "a@x.com", "primary": true}])
        );
        assert_eq!(out[ENTERPRISE_USER]["department"], "R&D");
    }

    #[test]
    fn flattened_extension_keys_are_nested() {
        let out = document(
            ResourceKind::User,
            json!({
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"
            }),
        );
        assert_eq!(out[ENTERPRISE_USER]["department"], "Sales");
    }

    #[test]
    fn patch_requests_are_normalised() {
        let mut body = json!({"Operations": [
            {"op": "Replace", "path": "userName", "value": ""},
            {"op": "Remove", "path": "members[value eq %22abc%22]"},
            {"op": "Add", "value": {"userName": "", "title": "x"}}
        ]});
        normalise_patch(
            PatchTarget {
                kind: ResourceKind::User,
                id: "scim_user_1",
            },
            &mut body,
        );
        assert_eq!(
            body,
            json!({"Operations": [
                {"op": "remove", "path": "members[value eq \"abc\"]"},
                {"op": "add", "value": {"title": "x"}}
            ]})
        );
    }
}
