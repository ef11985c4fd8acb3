//! The SCIM protocol layer: pure functions over SCIM JSON, no HTTP.
pub(crate) mod cursor;
pub(crate) mod document;
pub(crate) mod filter;
pub(crate) mod patch;
pub(crate) mod path;
pub(crate) mod projection;
pub(crate) mod quirks;
pub(crate) mod resource;
pub(crate) mod stored_text;

use crate::error::ScimType;

/// Why the protocol layer refused a request: the RFC 7644 §3.12 `scimType` and a detail a
/// person can act on. It carries no HTTP status (the protocol layer knows nothing of
/// HTTP): every protocol refusal is the client's to fix, and the service answers it 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ProtocolError {
    /// The SCIM error type.
    pub scim_type: ScimType,
    /// What is wrong, for a person.
    pub detail: String,
}

impl ProtocolError {
    /// A refusal of `scim_type` with `detail`.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            scim_type,
            detail: detail.into(),
        }
    }
}
