//! The change feed: every mutation of a directory, in order, from a cursor; read in pages
//! or followed live.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::watch;

use super::{DirectorySelector, DirectorySync, SyncError};
use crate::model::{Change, DirectoryId};
use crate::store::DirectoryStore;

/// How long a subscription waits for a wake-up before looking at the store anyway, so
/// writes that bypass the notifier (another process, another service instance) still
/// arrive within this bound.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
const FETCH: usize = 256;

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
            .await?;
        let next_cursor = changes.last().map(|c| c.seq).unwrap_or(cursor);
        Ok(ChangePage {
            changes,
            next_cursor,
        })
    }

    /// The `seq` of the directory's latest change (0 if none yet). Record it before a
    /// full sync and follow the feed from it afterwards: a change made during the sync
    /// is then replayed rather than missed. Reads the whole log, in pages of 1000.
    pub async fn latest_cursor(&self, directory: &DirectorySelector) -> Result<u64, SyncError> {
        let directory = self.directory(directory).await?;
        let mut cursor = 0;
        loop {
            let page = self
                .store
                .list_changes(&directory.id, cursor, super::MAX_PAGE_SIZE)
                .await?;
            match page.last() {
                Some(last) if page.len() == super::MAX_PAGE_SIZE => cursor = last.seq,
                Some(last) => return Ok(last.seq),
                None => return Ok(cursor),
            }
        }
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
            directory: directory.id,
            cursor,
            buffered: VecDeque::new(),
            wake: self.notifier.subscribe(),
        })
    }
}

/// A live view of a directory's change feed.
pub struct ChangeSubscription {
    store: std::sync::Arc<dyn DirectoryStore>,
    directory: DirectoryId,
    cursor: u64,
    buffered: VecDeque<Change>,
    wake: watch::Receiver<u64>,
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
            // Mark the current generation seen before reading, so a write that lands
            // between the read and the wait still wakes us.
            self.wake.borrow_and_update();
            let fetched = self
                .store
                .list_changes(&self.directory, self.cursor, FETCH)
                .await?;
            if fetched.is_empty() {
                if let Ok(Err(_)) = tokio::time::timeout(POLL_INTERVAL, self.wake.changed()).await {
                    // Every notifier is gone: nothing will wake us, so poll.
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
            } else {
                self.buffered.extend(fetched);
            }
        }
    }
}
