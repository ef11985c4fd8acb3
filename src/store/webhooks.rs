//! [`WebhookStore`]: where a webhook dispatcher keeps its delivery cursors and the changes
//! it gave up on, in the same store as the directory, so a restart resumes where it
//! stopped.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StoreError;
use crate::model::DirectoryId;

/// A change a webhook endpoint did not accept within the retry horizon, kept for an
/// operator to look at and replay. `#[non_exhaustive]`: build one with
/// [`DeadLetter::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The endpoint's name.
    pub endpoint: String,
    /// The directory whose change it is.
    pub directory_id: DirectoryId,
    /// The change's `seq`.
    pub seq: u64,
    /// The request body as it was sent (JSON), so a replay sends the same event even after
    /// the change log was trimmed.
    pub body: String,
    /// How many deliveries were tried.
    pub attempts: u32,
    /// Why the last one failed (a status or a transport error; never a secret).
    pub last_error: String,
    /// When the dispatcher gave up.
    #[serde(with = "time::serde::rfc3339")]
    pub failed_at: OffsetDateTime,
}

impl DeadLetter {
    /// A dead letter with every field given.
    pub fn new(
        endpoint: impl Into<String>,
        directory_id: DirectoryId,
        seq: u64,
        body: impl Into<String>,
        attempts: u32,
        last_error: impl Into<String>,
        failed_at: OffsetDateTime,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            directory_id,
            seq,
            body: body.into(),
            attempts,
            last_error: last_error.into(),
            failed_at,
        }
    }
}

/// Delivery cursors and dead letters of webhook endpoints, per (endpoint, directory).
///
/// A cursor is the `seq` of the last change of the directory the endpoint is done with
/// (delivered, or dead-lettered); 0 before the first. Every write is durable when it
/// returns (a restart after it resumes past that change), so a dispatcher that dies
/// re-sends at most the change it was delivering. Endpoint names are opaque text (the
/// dispatcher allows `[A-Za-z0-9_.-]`, 1 to 64 characters).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// The endpoint's cursor in the directory: 0 if it has none.
    async fn webhook_cursor(&self, endpoint: &str, dir: &DirectoryId) -> Result<u64, StoreError>;
    /// Sets the endpoint's cursor in the directory, durably.
    async fn set_webhook_cursor(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<(), StoreError>;
    /// Stores `letter` (replacing one with the same endpoint, directory and seq) and moves
    /// the endpoint's cursor in the directory to `letter.seq` if it is behind, in one
    /// durable step: a change is either still to deliver or dead-lettered, never lost.
    async fn insert_dead_letter(&self, letter: DeadLetter) -> Result<(), StoreError>;
    /// The endpoint's dead letters, ordered by directory then seq, at most `limit`.
    async fn list_dead_letters(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError>;
    /// One dead letter.
    async fn get_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<Option<DeadLetter>, StoreError>;
    /// Removes a dead letter (after a replay delivered it); whether it was there.
    async fn remove_dead_letter(
        &self,
        endpoint: &str,
        dir: &DirectoryId,
        seq: u64,
    ) -> Result<bool, StoreError>;
}
