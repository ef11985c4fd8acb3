//! Sync page tokens: the keyset position of a listing, sealed so a client can neither
//! forge one nor reuse it for another directory or listing.

use serde::{Deserialize, Serialize};

use super::SyncError;
use crate::model::DirectoryId;
use crate::seal::Sealer;

/// What a page token holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Position {
    /// Which listing: `users`, `groups`, or `users_of:{group id}`.
    pub listing: String,
    /// The directory listed.
    pub directory: DirectoryId,
    /// The id of the last item already returned.
    pub after: String,
}

pub(super) fn encode(sealer: &Sealer, position: &Position) -> String {
    // Serialising plain strings to JSON cannot fail.
    let payload = serde_json::to_vec(position).unwrap_or_default();
    sealer.seal(&payload)
}

pub(super) fn decode(
    sealer: &Sealer,
    token: &str,
    listing: &str,
    directory: &DirectoryId,
) -> Result<String, SyncError> {
    let payload = sealer
        .open(token)
        .map_err(|_| SyncError::InvalidPageToken)?;
    let position: Position =
        serde_json::from_slice(&payload).map_err(|_| SyncError::InvalidPageToken)?;
    if position.listing != listing || position.directory != *directory {
        return Err(SyncError::InvalidPageToken);
    }
    Ok(position.after)
}
