//! The change feed: every mutation of a directory, in order, from a cursor; read in pages
//! or followed live.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::{DirectorySelector, DirectorySync, SyncError};
use crate::error::StoreError;
use crate::model::{Change, DirectoryId};
use crate::store::{ChangeListener, DirectoryStore};

/// How long a subscription without a notifier waits before looking at the store again.
pub(super) const POLL_WITHOUT_NOTIFIER: Duration = Duration::from_millis(250);
/// How long a subscription with a notifier waits, unwoken, before looking at the store
/// anyway: the bound on how late a change that bypassed the notifier arrives.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);
const FETCH: usize = 256;

fn trimmed(error: StoreError) -> SyncError {
    match error {
        StoreError::ChangesTrimmed { through } => SyncError::CursorTrimmed { through },
        other => SyncError::Store(other),
    }
}

/// A page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    /// Changes with `seq` greater than the cursor asked for, in order.
    pub changes: Vec<Change>,
    /// The cursor to ask from next: the last `seq` returned, or the same cursor if none.
    pub next_cursor: u64,
}

impl DirectorySync {
    /// Changes after `cursor` (0 for the beginning), at most `limit` (1 to 1000).
    pub async fn changes(
        &self,
        directory: &DirectorySelector,
        cursor: u64,
        limit: usize,
    ) -> Result<ChangePage, SyncError> {
        if !(1..=super::MAX_PAGE_SIZE).contains(&limit) {
            return Err(SyncError::InvalidPageSize(limit));
        }
        let directory = self.directory(directory).await?;
        let changes = self
            .store
            .list_changes(&directory.id, cursor, limit)
            .await
            .map_err(trimmed)?;
        let next_cursor = changes.last().map(|c| c.seq).unwrap_or(cursor);
        Ok(ChangePage {
            changes,
            next_cursor,
        })
    }

    /// The `seq` of the directory's latest change (0 if none yet). Record it before a
    /// full sync and follow the feed from it afterwards: a change made during the sync
    /// is then replayed rather than missed. One store call.
    pub async fn latest_cursor(&self, directory: &DirectorySelector) -> Result<u64, SyncError> {
        let directory = self.directory(directory).await?;
        Ok(self.store.latest_change_seq(&directory.id).await?)
    }

    /// Follows the feed from `cursor`: [`ChangeSubscription::next`] yields each later
    /// change in order, waiting for new ones.
    pub async fn subscribe(
        &self,
        directory: &DirectorySelector,
        cursor: u64,
    ) -> Result<ChangeSubscription, SyncError> {
        let directory = self.directory(directory).await?;
        Ok(ChangeSubscription {
            store: self.store.clone(),
            wake: self.notifier.as_ref().map(|n| n.listen(&directory.id)),
            directory: directory.id,
            cursor,
            buffered: VecDeque::new(),
            poll_interval: self.poll_interval,
        })
    }
}

/// A live view of a directory's change feed.
pub struct ChangeSubscription {
    store: Arc<dyn DirectoryStore>,
    directory: DirectoryId,
    cursor: u64,
    buffered: VecDeque<Change>,
    wake: Option<Box<dyn ChangeListener>>,
    poll_interval: Duration,
}

impl std::fmt::Debug for ChangeSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeSubscription")
            .field("directory", &self.directory)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl ChangeSubscription {
    /// The `seq` of the last change returned (resume from it after a restart).
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The next change, waiting until there is one. Needs a Tokio runtime with its
    /// timer enabled. Cancel-safe: dropping the future (say, in `tokio::select!`) loses
    /// no change.
    pub async fn next(&mut self) -> Result<Change, SyncError> {
        loop {
            if let Some(change) = self.buffered.pop_front() {
                self.cursor = change.seq;
                return Ok(change);
            }
            // The listener remembers notifications since its last wake-up, so a write
            // that lands between this read and the wait below still wakes us.
            let fetched = self
                .store
                .list_changes(&self.directory, self.cursor, FETCH)
                .await
                .map_err(trimmed)?;
            if fetched.is_empty() {
                let wait = self.poll_interval;
                match self.wake.as_mut() {
                    Some(listener) => {
                        if let Ok(false) = tokio::time::timeout(wait, listener.changed()).await {
                            // The notifier is gone: nothing will wake us, so poll.
                            self.wake = None;
                            self.poll_interval = POLL_WITHOUT_NOTIFIER;
                        }
                    }
                    None => tokio::time::sleep(wait).await,
                }
            } else {
                self.buffered.extend(fetched);
            }
        }
    }
}
