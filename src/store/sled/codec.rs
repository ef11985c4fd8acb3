//! How records are stored: JSON values (the documents are JSON to begin with, and the
//! database stays readable when debugging), counters as big-endian `u64`.
//!
//! **Depth.** serde_json refuses to decode input nested deeper than 128 levels. A stored
//! user or group wraps its attributes one level deeper than they arrived, so an IdP body
//! that parsed could once be stored and never read again (issue #11 item 9). Encoding
//! therefore refuses attributes nested deeper than [`MAX_ATTRIBUTE_DEPTH`], which leaves
//! the wrapper and some headroom inside the decoder's limit: whatever is written can be
//! read back. The service refuses deep bodies earlier, with a 400; this is the backstop.
//!
//! **Undecodable records** (written by an older build, or damaged) are errors where one
//! record was asked for, and skipped with a `tracing` warning in listings and batch
//! reads, so that one record cannot take down every page. The warning names the tree, the
//! key and the error's position, never the document's contents.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::store::StoreError;

/// The deepest nesting of a user's or group's attributes a write may store (the
/// attributes object itself is level 1). serde_json decodes 128 levels; the stored
/// record adds one, and the rest is headroom.
pub(super) const MAX_ATTRIBUTE_DEPTH: usize = 120;

/// A write whose document could not be read back once stored.
#[derive(Debug, thiserror::Error)]
#[error("the document is nested deeper than {limit} levels and cannot be stored")]
pub(super) struct TooDeep {
    /// [`MAX_ATTRIBUTE_DEPTH`].
    pub limit: usize,
}

/// Why a stored record could not be decoded. Carries no part of the record.
#[derive(Debug, thiserror::Error)]
#[error("undecodable record in {tree} ({category:?} error at line {line}, column {column})")]
pub(super) struct Undecodable {
    /// The tree it is in.
    pub tree: &'static str,
    /// serde_json's classification.
    pub category: serde_json::error::Category,
    /// Where in the record.
    pub line: usize,
    /// Where in the record.
    pub column: usize,
}

pub(super) fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

/// Encodes a record with no attributes of its own (organization, directory, token,
/// change).
pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(backend)
}

/// Encodes a user or group whose `attributes` came from an IdP: refused if too deep to
/// decode again.
pub(super) fn encode_document<T: Serialize>(
    value: &T,
    attributes: &Value,
) -> Result<Vec<u8>, StoreError> {
    if depth(attributes) > MAX_ATTRIBUTE_DEPTH {
        return Err(backend(TooDeep {
            limit: MAX_ATTRIBUTE_DEPTH,
        }));
    }
    encode(value)
}

/// Nesting depth of arrays and objects (a scalar is 0), walked without recursion so a
/// value built deeper than any parser allows cannot overflow the stack here.
pub(super) fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, level)) = stack.pop() {
        match value {
            Value::Array(items) => {
                deepest = deepest.max(level);
                stack.extend(items.iter().map(|v| (v, level + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(level);
                stack.extend(map.values().map(|v| (v, level + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Decodes a record of `tree`. serde_json's own recursion limit (128) is the decode
/// limit; [`MAX_ATTRIBUTE_DEPTH`] keeps every write inside it.
pub(super) fn decode<T: DeserializeOwned>(
    tree: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| {
        backend(Undecodable {
            tree,
            category: e.classify(),
            line: e.line(),
            column: e.column(),
        })
    })
}

/// Decodes a record met while listing: `None` (and a warning) if it cannot be, so the
/// listing goes on without it.
pub(super) fn decode_listed<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Option<T> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Some(value),
        Err(e) => {
            // Keys are ids and escaped index values of ours, never document contents;
            // the error's message can quote the document, so only its position is kept.
            tracing::warn!(
                tree,
                key = %String::from_utf8_lossy(key).replace('\0', "/"),
                category = ?e.classify(),
                line = e.line(),
                column = e.column(),
                "skipping an undecodable stored record"
            );
            None
        }
    }
}

/// A stored counter or sequence number.
pub(super) fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend("corrupt counter".into()))?;
    Ok(u64::from_be_bytes(array))
}
