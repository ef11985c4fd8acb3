//! PATCH (RFC 7644 §3.5.2): the PatchOp request, paths, and the engine that applies
//! operations to a stored document. IdP deviations are normalised first, in
//! [`crate::protocol::quirks`].

mod engine;
mod path;

pub(crate) use engine::apply_operations;
pub(crate) use path::PatchPath;

use serde_json::Value;

use crate::error::ScimType;
use crate::protocol::ProtocolError;
use crate::schema::ResourceKind;

/// The PatchOp message URN.
pub(crate) use crate::urn::PATCH_OP as PATCH_OP_SCHEMA;

/// Why a PATCH was refused. Each maps to the RFC 7644 §3.12 `scimType` of its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The request is not a PatchOp message.
    #[error("{0}")]
    InvalidSyntax(String),
    /// A path is malformed or names no attribute of this resource type.
    #[error("{0}")]
    InvalidPath(String),
    /// A path matched nothing to act on.
    #[error("{0}")]
    NoTarget(String),
    /// A value is missing or has the wrong shape.
    #[error("{0}")]
    InvalidValue(String),
    /// The operation would change what the client may not.
    #[error("{0}")]
    Mutability(String),
}

impl From<PatchError> for ProtocolError {
    fn from(error: PatchError) -> Self {
        let scim_type = match &error {
            PatchError::InvalidSyntax(_) => ScimType::InvalidSyntax,
            PatchError::InvalidPath(_) => ScimType::InvalidPath,
            PatchError::NoTarget(_) => ScimType::NoTarget,
            PatchError::InvalidValue(_) => ScimType::InvalidValue,
            PatchError::Mutability(_) => ScimType::Mutability,
        };
        ProtocolError::new(scim_type, error.to_string())
    }
}

/// A PATCH operation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `remove`.
    Remove,
}

impl OpKind {
    /// The operation's name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// One operation of a PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatchOp {
    /// What to do.
    pub op: OpKind,
    /// Where; `None` means the value is an object of attributes.
    pub path: Option<PatchPath>,
    /// With what.
    pub value: Option<Value>,
}

/// Parses a PatchOp request body (after [`crate::protocol::quirks::normalise_patch`]).
pub(crate) fn parse_request(body: &Value, kind: ResourceKind) -> Result<Vec<PatchOp>, PatchError> {
    let Some(object) = body.as_object() else {
        return Err(PatchError::InvalidSyntax(
            "a PATCH body must be a PatchOp JSON object".into(),
        ));
    };
    if let Some(schemas) = object.get("schemas") {
        let names_patch_op = schemas.as_array().is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        let names_scim_1 = schemas.as_array().is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.to_ascii_lowercase().starts_with("urn:scim:schemas:"))
            })
        });
        if !names_patch_op && names_scim_1 {
            // SCIM 1.1's PATCH is a partial resource (`meta.attributes`, `"operation":
            // "delete"`), not a list of operations: reading it as 2.0 would guess.
            return Err(PatchError::InvalidSyntax(format!(
                "this is a SCIM 1.1 PATCH (its `schemas` names a `urn:scim:schemas:` URN); this service provider speaks SCIM 2.0 only: send a PatchOp (`{PATCH_OP_SCHEMA}`) with `Operations`"
            )));
        }
        if !names_patch_op {
            return Err(PatchError::InvalidSyntax(format!(
                "`schemas` must list `{PATCH_OP_SCHEMA}`"
            )));
        }
    }
    let operations = object.get("Operations").or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("operations"))
            .map(|(_, v)| v)
    });
    let Some(Value::Array(operations)) = operations else {
        return Err(PatchError::InvalidSyntax(
            "a PatchOp needs an `Operations` array".into(),
        ));
    };
    if operations.is_empty() {
        return Err(PatchError::InvalidSyntax("`Operations` is empty".into()));
    }
    operations
        .iter()
        .enumerate()
        .map(|(i, operation)| parse_operation(i, operation, kind))
        .collect()
}

fn parse_operation(
    index: usize,
    operation: &Value,
    kind: ResourceKind,
) -> Result<PatchOp, PatchError> {
    let field = |name: &str| {
        operation.as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    };
    let op = match field("op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(op) if op.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(op) if op.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(other) => {
            return Err(PatchError::InvalidSyntax(format!(
                "operation {index}: `op` must be add, replace or remove, not `{other}`"
            )));
        }
        None => {
            return Err(PatchError::InvalidSyntax(format!(
                "operation {index}: `op` is missing"
            )));
        }
    };
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(PatchPath::parse(p, kind)?),
        Some(_) => {
            return Err(PatchError::InvalidPath(format!(
                "operation {index}: `path` must be a string"
            )));
        }
    };
    Ok(PatchOp {
        op,
        path,
        value: field("value").cloned(),
    })
}

#[cfg(test)]
mod tests;
