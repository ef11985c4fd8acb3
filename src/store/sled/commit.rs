//! Committing writes: one writer at a time, one transaction per write, and group commit.
//!
//! **One writer.** A write's checks (uniqueness, versions, memberships) and its commit are
//! one step under `writer`, so what it read cannot change before it commits; the write
//! also takes its place in the commit order (its *ticket*) under that lock.
//!
//! **Group commit.** A write is acknowledged only once it is on disk. Rather than each
//! writer calling `flush` (sled 0.34 then syncs once per caller: 16 writers measured the
//! same rate as one), one writer at a time becomes the flusher: it notes the latest
//! ticket committed, flushes, and marks every ticket up to that one durable. Everything
//! committed while it flushed waits for the next flush, which one of those writers runs
//! for all of them, so N concurrent writers share each disk sync. A write is marked
//! durable only by a flush that *began after* its transaction committed (the ticket is
//! read before the flush starts), so no acknowledged write can be lost to a crash.
//!
//! **Commit delay.** A flush covers only what committed before it began, so with writers
//! still queued for the writer lock the flusher first waits for them (a bounded
//! [`COMMIT_DELAY`], like PostgreSQL's `commit_delay` with `commit_siblings`): one sync
//! then acknowledges the whole queue instead of the one or two writes that fit in the
//! previous flush. A lone writer has no siblings and never waits.
//!
//! The flush is sled's blocking `flush`, never `flush_async`, which deadlocks under
//! concurrent callers in sled 0.34 (spacejam/sled#1308); there is only ever one flusher.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ::sled::Transactional;
use ::sled::Tree;
use ::sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::Inner;
use super::codec::{backend, decode_u64};
use super::keys::DIR_META;
use super::writes::WriteSet;
use crate::store::StoreError;

/// Longest a flusher waits for queued writers to commit before it flushes.
const COMMIT_DELAY: Duration = Duration::from_millis(2);

/// The writer lock, the commit order and the flusher's state.
#[derive(Default)]
pub(super) struct Committer {
    /// Held while a write reads, decides and commits.
    writer: Mutex<()>,
    /// The ticket of the latest committed write (set under `writer`).
    committed: AtomicU64,
    /// Writers that have asked for `writer` and not yet committed or given up.
    queued: AtomicUsize,
    flush: Mutex<Flush>,
    flushed: Condvar,
    /// Signalled after each commit while a flusher waits for the queued writers.
    commits: Condvar,
}

/// Counts a writer in `queued` until it commits or gives up (dropped on every path).
struct Queued<'c>(&'c Committer);

impl<'c> Queued<'c> {
    fn enter(commit: &'c Committer) -> Self {
        commit.queued.fetch_add(1, Ordering::AcqRel);
        Self(commit)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::AcqRel);
        // Taking the lock orders this with a flusher about to wait on `commits`, so
        // the signal cannot fall between its check and its wait.
        let _state = lock(&self.0.flush);
        self.0.commits.notify_all();
    }
}

#[derive(Default)]
struct Flush {
    /// Every ticket up to this one is on disk.
    durable: u64,
    /// Whether a flusher is running.
    running: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves nothing half-done that the next holder could
    // see (sled's transaction either applied or not), so poisoning is ignored.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// Under the writer lock: `plan` reads and decides, its writes commit in one
    /// transaction; returns once the write is on disk. A write that stages nothing (a
    /// no-op, or a refusal) returns at once: like any read, what it saw may include
    /// other writers' commits that are not acknowledged yet.
    pub(super) fn write<T>(
        &self,
        plan: impl FnOnce(&Inner) -> Result<(WriteSet, T), StoreError>,
    ) -> Result<T, StoreError> {
        let ticket = {
            let queued = Queued::enter(&self.commit);
            let _writer = lock(&self.commit.writer);
            let (set, out) = plan(self)?;
            if set.is_empty() {
                return Ok(out);
            }
            self.apply(set)?;
            let ticket = self.commit.committed.load(Ordering::Relaxed) + 1;
            self.commit.committed.store(ticket, Ordering::Release);
            drop(queued);
            (ticket, out)
        };
        self.wait_durable(ticket.0)?;
        Ok(ticket.1)
    }

    /// Under the writer lock, `work` commits by its own means (batches for bulk deletes);
    /// returns once that is on disk.
    pub(super) fn exclusive<T>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (ticket, out) = {
            let queued = Queued::enter(&self.commit);
            let _writer = lock(&self.commit.writer);
            let out = work(self)?;
            let ticket = self.commit.committed.load(Ordering::Relaxed) + 1;
            self.commit.committed.store(ticket, Ordering::Release);
            drop(queued);
            (ticket, out)
        };
        self.wait_durable(ticket)?;
        Ok(out)
    }

    /// Commits `set` as one transaction over every tree. Counter deltas are resolved
    /// against the stored values, which the writer lock keeps still.
    fn apply(&self, mut set: WriteSet) -> Result<(), StoreError> {
        let counters = std::mem::take(&mut set.counts);
        for (key, delta) in counters {
            if delta == 0 {
                continue;
            }
            let current = match self.tree(DIR_META)?.get(&key).map_err(backend)? {
                Some(bytes) => decode_u64(&bytes)?,
                None => 0,
            };
            let next = if delta < 0 {
                current.saturating_sub(delta.unsigned_abs())
            } else {
                current.saturating_add(delta.unsigned_abs())
            };
            set.put(DIR_META, key, next.to_be_bytes().to_vec());
        }
        // Only the trees this write touches take part: sled's transaction does work per
        // tree, and a user write touches 9 of the 21.
        let mut touched: Vec<usize> = set
            .deletes
            .iter()
            .map(|(tree, _)| *tree)
            .chain(set.puts.iter().map(|(tree, _, _)| *tree))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let trees: Vec<Tree> = touched
            .iter()
            .map(|index| self.tree(*index).cloned())
            .collect::<Result<_, _>>()?;
        let slot = |tree: usize| touched.binary_search(&tree).ok();
        trees
            .as_slice()
            .transaction(|tx: &Vec<TransactionalTree>| {
                for (tree, key) in &set.deletes {
                    if let Some(t) = slot(*tree).and_then(|i| tx.get(i)) {
                        t.remove(key.as_slice())?;
                    }
                }
                for (tree, key, value) in &set.puts {
                    if let Some(t) = slot(*tree).and_then(|i| tx.get(i)) {
                        t.insert(key.as_slice(), value.as_slice())?;
                    }
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e: TransactionError<()>| match e {
                TransactionError::Storage(e) => backend(e),
                TransactionError::Abort(()) => StoreError::Backend("transaction aborted".into()),
            })
    }

    /// Waits until `ticket` is on disk, flushing for every waiter when no one else is.
    fn wait_durable(&self, ticket: u64) -> Result<(), StoreError> {
        let commit = &self.commit;
        let mut state = lock(&commit.flush);
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.running {
                state = commit
                    .flushed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.running = true;
            // Writers queued behind the writer lock commit first, so this one sync
            // covers them too (bounded: a steady stream of writers never empties it).
            let deadline = Instant::now() + COMMIT_DELAY;
            while commit.queued.load(Ordering::Acquire) > 0 {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    break;
                };
                state = commit
                    .commits
                    .wait_timeout(state, left)
                    .map(|(state, _)| state)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            // Read before the flush begins: every ticket up to `target` committed before
            // it, so the flush covers them.
            let target = commit.committed.load(Ordering::Acquire);
            drop(state);
            let flushed = self.db.flush();
            state = lock(&commit.flush);
            state.running = false;
            if flushed.is_ok() {
                state.durable = state.durable.max(target);
            }
            commit.flushed.notify_all();
            // On failure the other waiters retry the flush themselves.
            flushed.map_err(backend)?;
        }
    }
}

/// The latest committed ticket and the latest durable one (tests).
#[cfg(test)]
pub(super) fn durable(inner: &Inner) -> (u64, u64) {
    let committed = inner.commit.committed.load(Ordering::Acquire);
    (committed, lock(&inner.commit.flush).durable)
}
