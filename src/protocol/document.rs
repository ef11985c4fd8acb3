//! Checks a written User or Group document and reduces it to what is stored: the IdP's
//! attributes without the server-owned ones.

use serde_json::{Map, Value};

use crate::error::{ScimError, ScimType};
use crate::protocol::quirks;
use crate::schema::ResourceKind;

/// What kind of write a document arrives with.
#[derive(Debug, Clone, Copy)]
pub enum WriteKind<'a> {
    /// POST: a new resource.
    Create,
    /// PUT: replaces the stored attributes given.
    Replace(&'a Value),
}

/// Attributes the server owns: whatever the client sends for them is ignored.
const SERVER_OWNED: &[&str] = &["id", "meta", "groups", "password"];

fn object(input: Value, kind: &str) -> Result<Map<String, Value>, ScimError> {
    match input {
        Value::Object(map) => Ok(map),
        _ => Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("a {kind} must be a JSON object"),
        )),
    }
}

fn strip_server_owned(doc: &mut Map<String, Value>) {
    doc.retain(|k, _| {
        !SERVER_OWNED
            .iter()
            .any(|owned| k.eq_ignore_ascii_case(owned))
    });
}

/// A User document as stored: an object with a non-empty string `userName` and, if
/// present, a boolean `active`.
pub fn user(input: Value, _kind: WriteKind<'_>) -> Result<Value, ScimError> {
    let mut doc = object(input, "User")?;
    quirks::normalise_document(ResourceKind::User, &mut doc);
    strip_server_owned(&mut doc);
    match doc.get("userName") {
        Some(Value::String(name)) if !name.trim().is_empty() => {}
        _ => {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                "a User needs a non-empty string `userName`",
            ));
        }
    }
    match doc.get("active") {
        None | Some(Value::Bool(_)) | Some(Value::Null) => {}
        Some(other) => {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("`active` must be a boolean, got {other}"),
            ));
        }
    }
    Ok(Value::Object(doc))
}

/// A Group document as stored (without `members`, which are a separate relation).
pub fn group(input: Value, _kind: WriteKind<'_>) -> Result<Value, ScimError> {
    let mut doc = object(input, "Group")?;
    quirks::normalise_document(ResourceKind::Group, &mut doc);
    strip_server_owned(&mut doc);
    doc.remove("members");
    Ok(Value::Object(doc))
}
