//! The change feed: every mutation of a directory, in order, from a cursor; read in pages
//! or followed live.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{DirectorySelector, DirectorySync, SyncError, SyncGroup, SyncUser};
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

impl Change {
    /// The user as of this change ([`Change::user`]) in the Sync API's shape: the changed
    /// user, or the member who joined or left.
    pub fn sync_user(&self) -> Option<SyncUser> {
        self.user().cloned().map(SyncUser::from)
    }

    /// The group as of this change ([`Change::group`]) in the Sync API's shape.
    pub fn sync_group(&self) -> Option<SyncGroup> {
        self.group().cloned().map(SyncGroup::from)
    }
}

/// A page of the change feed. `#[non_exhaustive]`: read its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

    /// Follows the feed from `cursor`: the [`ChangeSubscription`] is a
    /// [`Stream`](futures_core::Stream) of each later change in order, waiting for new
    /// ones ([`ChangeSubscription::next`] reads one without a stream combinator).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use futures_util::StreamExt;
    /// use scimkit::store::{DirectoryStore, MemoryStore};
    /// use scimkit::sync::{DirectorySelector, DirectorySync};
    /// use scimkit::Admin;
    ///
    /// let store = Arc::new(MemoryStore::new());
    /// let admin = Admin::new(store.clone());
    /// let org = admin.create_organization(None, vec![]).await?;
    /// let directory = admin.create_directory(&org.id, true).await?;
    /// let sync = DirectorySync::new(store);
    /// let selector = DirectorySelector::Directory(directory.id.clone());
    ///
    /// let mut feed = sync.subscribe(&selector, sync.latest_cursor(&selector).await?).await?;
    /// // Wait for the next change with a timeout, as a sync job's select loop would.
    /// let next = tokio::time::timeout(std::time::Duration::from_millis(10), feed.next()).await;
    /// assert!(next.is_err(), "no change was made yet, so nothing arrives");
    /// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
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
            in_flight: None,
        })
    }
}

/// What one read of the log (and, if it was empty, one wait) hands back: the listener
/// and poll interval travel with the future, so a dropped `next()` loses neither.
struct Fetched {
    wake: Option<Box<dyn ChangeListener>>,
    poll_interval: Duration,
    result: Result<Vec<Change>, SyncError>,
}

type Fetch = Pin<Box<dyn Future<Output = Fetched> + Send>>;

/// A live view of a directory's change feed: a
/// [`Stream`](futures_core::Stream) of `Result<Change, SyncError>` that never ends.
///
/// Cancel-safe: the read in flight lives in the subscription, not in the future that
/// polls it, so dropping a `next()` (say, in `tokio::select!`) loses no change. An error
/// is yielded once and the next poll reads the log again from the same cursor; after
/// [`SyncError::CursorTrimmed`] every poll fails the same way, so stop and resync. Needs a
/// Tokio runtime with its timer enabled.
pub struct ChangeSubscription {
    store: Arc<dyn DirectoryStore>,
    directory: DirectoryId,
    cursor: u64,
    buffered: VecDeque<Change>,
    /// `None` while a read is in flight (it holds the listener) or without a notifier.
    wake: Option<Box<dyn ChangeListener>>,
    poll_interval: Duration,
    in_flight: Option<Fetch>,
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

    /// The next change, waiting until there is one: the stream's next item without
    /// needing `StreamExt`. Cancel-safe, like the stream.
    pub async fn next(&mut self) -> Result<Change, SyncError> {
        std::future::poll_fn(|cx| self.poll_change(cx)).await
    }

    fn poll_change(&mut self, cx: &mut Context<'_>) -> Poll<Result<Change, SyncError>> {
        loop {
            if let Some(change) = self.buffered.pop_front() {
                self.cursor = change.seq;
                return Poll::Ready(Ok(change));
            }
            let fetch = match self.in_flight.as_mut() {
                Some(fetch) => fetch,
                None => {
                    let fetch = self.start_fetch();
                    self.in_flight.insert(fetch)
                }
            };
            let Poll::Ready(fetched) = fetch.as_mut().poll(cx) else {
                return Poll::Pending;
            };
            self.in_flight = None;
            self.wake = fetched.wake;
            self.poll_interval = fetched.poll_interval;
            match fetched.result {
                Ok(changes) => self.buffered.extend(changes),
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    /// One read of the log after the cursor; if it is empty, one wait for a wake-up or
    /// the poll interval, after which the caller reads again.
    fn start_fetch(&mut self) -> Fetch {
        let store = self.store.clone();
        let directory = self.directory.clone();
        let cursor = self.cursor;
        let mut wake = self.wake.take();
        let mut poll_interval = self.poll_interval;
        Box::pin(async move {
            // The listener remembers notifications since its last wake-up, so a write
            // that lands between this read and the wait below still wakes us.
            let result = store
                .list_changes(&directory, cursor, FETCH)
                .await
                .map_err(trimmed);
            if matches!(&result, Ok(changes) if changes.is_empty()) {
                match wake.as_mut() {
                    Some(listener) => {
                        if let Ok(false) =
                            tokio::time::timeout(poll_interval, listener.changed()).await
                        {
                            // The notifier is gone: nothing will wake us, so poll.
                            wake = None;
                            poll_interval = POLL_WITHOUT_NOTIFIER;
                        }
                    }
                    None => tokio::time::sleep(poll_interval).await,
                }
            }
            Fetched {
                wake,
                poll_interval,
                result,
            }
        })
    }
}

impl futures_core::Stream for ChangeSubscription {
    type Item = Result<Change, SyncError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is Unpin (the read in flight is boxed), so the subscription is too.
        self.get_mut().poll_change(cx).map(Some)
    }
}
