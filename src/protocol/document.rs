//! Checks a written User or Group document against its schemas and reduces it to what is
//! stored: the IdP's attributes, IdP quirks normalised, names in their canonical
//! spelling, server-owned and read-only attributes dropped.
//!
//! Attributes the schemas do not know are kept as sent: vendors read the IdP's raw
//! attributes, and IdPs send custom ones. Known attributes must have their schema's type
//! (`"active": "maybe"` is refused with 400 `invalidValue`, naming the attribute).

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::ScimType;
use crate::protocol::ProtocolError;
use crate::protocol::quirks;
use crate::schema::{
    AttributeDef, AttributeType, Extensions, Mutability, ResourceKind, SchemaExtension,
};

/// What kind of write a document arrives with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WriteKind {
    /// POST: a new resource.
    Create,
    /// PUT or PATCH: replaces the stored attributes given.
    Replace,
}

/// Attributes the server owns: whatever the client sends for them is ignored.
const SERVER_OWNED: &[&str] = &["id", "meta", "groups", "password"];

fn object(input: Value, kind: &str) -> Result<Map<String, Value>, ProtocolError> {
    match input {
        Value::Object(map) => Ok(map),
        _ => Err(ProtocolError::new(
            ScimType::InvalidSyntax,
            format!("a {kind} must be a JSON object"),
        )),
    }
}

fn invalid(detail: String) -> ProtocolError {
    ProtocolError::new(ScimType::InvalidValue, detail)
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_single(value: &mut Value, def: &AttributeDef, name: &str) -> Result<(), ProtocolError> {
    let ok = match def.kind {
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => {
            value.is_string()
        }
        AttributeType::Boolean => value.is_boolean(),
        AttributeType::Integer => value.is_i64() || value.is_u64(),
        AttributeType::Decimal => value.is_number(),
        AttributeType::DateTime => value
            .as_str()
            .is_some_and(|s| OffsetDateTime::parse(s, &Rfc3339).is_ok()),
        AttributeType::Complex => match value {
            Value::Object(inner) => {
                check_attributes(inner, &def.sub_attributes, &format!("{name}."))?;
                true
            }
            _ => false,
        },
    };
    if ok {
        Ok(())
    } else {
        let wanted = match def.kind {
            AttributeType::String | AttributeType::Reference | AttributeType::Binary => "a string",
            AttributeType::Boolean => "a boolean",
            AttributeType::Integer => "an integer",
            AttributeType::Decimal => "a number",
            AttributeType::DateTime => "an RFC 3339 date-time string",
            AttributeType::Complex => "an object",
        };
        Err(invalid(format!(
            "attribute `{name}` must be {wanted}, got {}",
            describe(value)
        )))
    }
}

fn check_value(value: &mut Value, def: &AttributeDef, name: &str) -> Result<(), ProtocolError> {
    if !def.multi_valued {
        return check_single(value, def, name);
    }
    let Value::Array(items) = value else {
        return Err(invalid(format!(
            "attribute `{name}` is multi-valued and must be an array, got {}",
            describe(value)
        )));
    };
    items.retain(|item| !item.is_null());
    for item in items.iter_mut() {
        check_single(item, def, name)?;
    }
    let primaries = items
        .iter()
        .filter(|i| i.get("primary").and_then(Value::as_bool) == Some(true))
        .count();
    if primaries > 1 {
        return Err(invalid(format!(
            "attribute `{name}` has {primaries} elements marked primary; at most one may be"
        )));
    }
    Ok(())
}

/// Checks the attributes `defs` knows, renaming them to their canonical spelling and
/// dropping nulls and read-only ones; others stay as sent.
fn check_attributes(
    map: &mut Map<String, Value>,
    defs: &[AttributeDef],
    prefix: &str,
) -> Result<(), ProtocolError> {
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let Some(def) = defs.iter().find(|d| d.name.eq_ignore_ascii_case(&key)) else {
            continue;
        };
        let name = format!("{prefix}{}", def.name);
        let keep = map
            .get(&key)
            .is_some_and(|v| !v.is_null() && def.mutability != Mutability::ReadOnly);
        if !keep {
            map.shift_remove(&key);
        } else if key == def.name {
            // Checked in place, so the document keeps the order the IdP sent.
            if let Some(value) = map.get_mut(&key) {
                check_value(value, def, &name)?;
            }
        } else if let Some(mut value) = map.shift_remove(&key) {
            check_value(&mut value, def, &name)?;
            map.insert(def.name.clone(), value);
        }
    }
    Ok(())
}

fn check_document(kind: ResourceKind, doc: &mut Map<String, Value>) -> Result<(), ProtocolError> {
    doc.retain(|k, _| {
        !SERVER_OWNED
            .iter()
            .any(|owned| k.eq_ignore_ascii_case(owned))
    });
    check_attributes(doc, &kind.schema().attributes, "")?;
    // `externalId` is a common attribute (RFC 7643 §3.1), in no schema's list: a string.
    if let Some(value) = doc
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("externalId"))
        .map(|(_, v)| v)
        && !value.is_string()
        && !value.is_null()
    {
        return Err(invalid(format!(
            "`externalId` must be a string, got {}",
            describe(value)
        )));
    }
    for extension in kind.extensions() {
        let Some(key) = doc
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&extension.id))
            .cloned()
        else {
            continue;
        };
        match doc.remove(&key) {
            Some(Value::Object(mut inner)) => {
                check_attributes(
                    &mut inner,
                    &extension.attributes,
                    &format!("{}:", extension.id),
                )?;
                if !inner.is_empty() {
                    doc.insert(extension.id.clone(), Value::Object(inner));
                }
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                return Err(invalid(format!(
                    "extension `{}` must be an object, got {}",
                    extension.id,
                    describe(&other)
                )));
            }
        }
    }
    Ok(())
}

/// Nests flattened keys of a declared extension (`urn:...:acme:2.0:User:costCenter`, as
/// Entra sends them) into its object, under the declared spelling of its URN.
fn nest_declared(extension: &SchemaExtension, doc: &mut Map<String, Value>) {
    let id = &extension.schema().id;
    let prefix = format!("{id}:").to_ascii_lowercase();
    let flattened: Vec<String> = doc
        .keys()
        .filter(|k| {
            k.len() > prefix.len()
                && k.get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(&prefix))
        })
        .cloned()
        .collect();
    let spelled: Vec<String> = doc
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(id) && *k != id)
        .cloned()
        .collect();
    for key in spelled {
        let Some(value) = doc.shift_remove(&key) else {
            continue;
        };
        // Two spellings of the URN, both objects: one object (the declared spelling's
        // values win). Anything else is checked, and refused, as it stands.
        match (doc.get_mut(id.as_str()), value) {
            (Some(Value::Object(kept)), Value::Object(other)) => {
                for (name, v) in other {
                    kept.entry(name).or_insert(v);
                }
            }
            (Some(_), _) => {}
            (None, value) => {
                doc.insert(id.clone(), value);
            }
        }
    }
    for key in flattened {
        let Some(value) = doc.shift_remove(&key) else {
            continue;
        };
        let name = key.get(prefix.len()..).unwrap_or_default().to_owned();
        let target = doc
            .entry(id.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(target) = target.as_object_mut() else {
            // Not an object: refused as such by the check that follows.
            continue;
        };
        match name.split_once('.') {
            Some((attribute, sub)) if !attribute.is_empty() && !sub.is_empty() => {
                let inner = target
                    .entry(attribute.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
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

fn missing(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// Refuses a resource that lacks a `required` attribute of `defs` (or a required
/// sub-attribute of a complex value it has). Names are canonical by now.
fn check_required(
    map: &Map<String, Value>,
    defs: &[AttributeDef],
    prefix: &str,
) -> Result<(), ProtocolError> {
    for def in defs.iter().filter(|d| d.mutability != Mutability::ReadOnly) {
        let value = map.get(&def.name);
        if def.required && missing(value) {
            return Err(invalid(format!(
                "attribute `{prefix}{}` is required",
                def.name
            )));
        }
        let elements: Vec<&Value> = match value {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(other) => vec![other],
            None => Vec::new(),
        };
        for element in elements {
            if let Value::Object(inner) = element {
                check_required(
                    inner,
                    &def.sub_attributes,
                    &format!("{prefix}{}.", def.name),
                )?;
            }
        }
    }
    Ok(())
}

/// Checks the extensions the service declares for `kind`: flattened keys nested, types
/// and `readOnly` as for the core schemas, `required` attributes present.
fn check_declared(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    extensions: &Extensions,
) -> Result<(), ProtocolError> {
    for extension in extensions.of(kind) {
        nest_declared(extension, doc);
        let id = &extension.schema().id;
        let attributes = &extension.schema().attributes;
        match doc.shift_remove(id) {
            Some(Value::Object(mut inner)) => {
                check_attributes(&mut inner, attributes, &format!("{id}:"))?;
                check_required(&inner, attributes, &format!("{id}:"))?;
                if !inner.is_empty() {
                    doc.insert(id.clone(), Value::Object(inner));
                }
            }
            Some(Value::Null) | None if extension.required() => {
                check_required(&Map::new(), attributes, &format!("{id}:"))?;
                return Err(invalid(format!(
                    "extension `{id}` is required on every {}",
                    kind.name()
                )));
            }
            Some(Value::Null) | None => {}
            Some(other) => {
                return Err(invalid(format!(
                    "extension `{id}` must be an object, got {}",
                    describe(&other)
                )));
            }
        }
    }
    Ok(())
}

/// A User document as stored: checked against the User schema and its extensions (the
/// enterprise one and those the service declares), with a non-empty `userName`.
#[cfg(test)]
pub(crate) fn user(input: Value, kind: WriteKind) -> Result<Value, ProtocolError> {
    declared_user(input, kind, Extensions::none())
}

/// [`user`], also checked against the declared extensions.
pub(crate) fn declared_user(
    input: Value,
    _kind: WriteKind,
    extensions: &Extensions,
) -> Result<Value, ProtocolError> {
    let mut doc = object(input, "User")?;
    quirks::normalise_document(ResourceKind::User, &mut doc);
    check_document(ResourceKind::User, &mut doc)?;
    check_declared(ResourceKind::User, &mut doc, extensions)?;
    match doc.get("userName") {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(Value::Object(doc)),
        _ => Err(invalid("a User needs a non-empty string `userName`".into())),
    }
}

/// A Group document as stored (without `members`, which are a separate relation),
/// checked against the declared extensions.
pub(crate) fn declared_group(
    input: Value,
    _kind: WriteKind,
    extensions: &Extensions,
) -> Result<Value, ProtocolError> {
    let mut doc = object(input, "Group")?;
    quirks::normalise_document(ResourceKind::Group, &mut doc);
    doc.retain(|k, _| !k.eq_ignore_ascii_case("members"));
    check_document(ResourceKind::Group, &mut doc)?;
    check_declared(ResourceKind::Group, &mut doc, extensions)?;
    Ok(Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_are_canonicalised_and_read_only_attributes_dropped() {
        let doc = user(json!({
            "USERNAME": "a@x.com", "Name": {"GIVENNAME": "Ann"}, "Groups": [{"value": "g"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"MANAGER": {"value": "m", "displayName": "Boss"}},
            "customThing": {"anything": 1}, "nickName": null
        }), WriteKind::Create).unwrap();
        assert_eq!(
            doc,
            json!({
                "userName": "a@x.com", "name": {"givenName": "Ann"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}},
                "customThing": {"anything": 1}
            })
        );
    }

    #[test]
    fn wrong_types_name_the_attribute() {
        let cases = [
            (
                json!({"userName": "a@x.com", "name": "Ann"}),
                "`name` must be an object",
            ),
            (
                json!({"userName": "a@x.com", "externalId": 12}),
                "`externalId` must be a string",
            ),
            (
                json!({"userName": "a@x.com", "name": {"givenName": 5}}),
                "`name.givenName` must be a string",
            ),
            (
                json!({"userName": "a@x.com", "emails": "a@x.com"}),
                "`emails` is multi-valued",
            ),
            (
                json!({"userName": "a@x.com", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
                "at most one",
            ),
            (
                json!({"userName": "a@x.com", "active": "maybe"}),
                "`active` must be a boolean",
            ),
            (
                json!({"userName": "a@x.com", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": []}}),
                "User:department` must be a string",
            ),
            (json!({"userName": 7}), "`userName` must be a string"),
        ];
        for (doc, message) in cases {
            let error = user(doc.clone(), WriteKind::Create).unwrap_err();
            assert_eq!(error.scim_type, ScimType::InvalidValue);
            assert!(error.detail.contains(message), "{doc}: {}", error.detail);
        }
    }

    #[test]
    fn a_declared_extension_sent_in_two_spellings_is_one_object() {
        let urn = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
        let mut extensions = Extensions::default();
        extensions.add(
            SchemaExtension::builder(ResourceKind::User, urn)
                .attribute(AttributeDef::string("costCenter"))
                .attribute(AttributeDef::integer("level"))
                .build()
                .unwrap(),
        );
        let doc = declared_user(
            json!({"userName": "a@x.com", urn: {"costCenter": "R&D"},
                   urn.to_uppercase(): {"LEVEL": 2, "costCenter": "ignored"}}),
            WriteKind::Create,
            &extensions,
        )
        .unwrap();
        assert_eq!(doc[urn], json!({"costCenter": "R&D", "level": 2}));
        assert!(doc.get(urn.to_uppercase()).is_none(), "{doc}");
    }

    #[test]
    fn entra_string_booleans_pass_after_the_quirk() {
        let doc = user(
            json!({"userName": "a@x.com", "active": "True"}),
            WriteKind::Create,
        )
        .unwrap();
        assert_eq!(doc["active"], true);
    }
}
