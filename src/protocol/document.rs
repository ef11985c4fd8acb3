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
use crate::schema::{AttributeDef, AttributeType, Mutability, ResourceKind};

/// What kind of write a document arrives with.
#[derive(Debug, Clone, Copy)]
pub enum WriteKind<'a> {
    /// POST: a new resource.
    Create,
    /// PUT or PATCH: replaces the stored attributes given.
    Replace(&'a Value),
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
            map.insert(def.name.to_owned(), value);
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
            .find(|k| k.eq_ignore_ascii_case(extension.id))
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
                    doc.insert(extension.id.to_owned(), Value::Object(inner));
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

/// A User document as stored: checked against the User schema and its extensions, with a
/// non-empty `userName`.
pub fn user(input: Value, _kind: WriteKind<'_>) -> Result<Value, ProtocolError> {
    let mut doc = object(input, "User")?;
    quirks::normalise_document(ResourceKind::User, &mut doc);
    check_document(ResourceKind::User, &mut doc)?;
    match doc.get("userName") {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(Value::Object(doc)),
        _ => Err(invalid("a User needs a non-empty string `userName`".into())),
    }
}

/// A Group document as stored (without `members`, which are a separate relation).
pub fn group(input: Value, _kind: WriteKind<'_>) -> Result<Value, ProtocolError> {
    let mut doc = object(input, "Group")?;
    quirks::normalise_document(ResourceKind::Group, &mut doc);
    doc.retain(|k, _| !k.eq_ignore_ascii_case("members"));
    check_document(ResourceKind::Group, &mut doc)?;
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
    fn entra_string_booleans_pass_after_the_quirk() {
        let doc = user(
            json!({"userName": "a@x.com", "active": "True"}),
            WriteKind::Create,
        )
        .unwrap();
        assert_eq!(doc["active"], true);
    }
}
