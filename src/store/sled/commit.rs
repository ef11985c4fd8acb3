//! Committing writes: batches of writes, one transaction per batch, and group commit.
//!
//! **Batches.** A write queues its plan (the closure that reads and decides) and takes
//! the writer lock. Whoever holds it takes every queued plan (its own included, unless
//! an earlier holder already committed it), plans each in queue order against a batch
//! [`View`] in which the earlier plans' writes are staged, and commits all the staged
//! writes in ONE sled transaction. sled's transaction costs about the same for one write
//! as for a few dozen (most of it is per transaction and per tree), so concurrent
//! writers share it. Later plans see earlier ones, so uniqueness, versions, memberships
//! and the change-log seq are decided exactly as if the writes had committed one by one;
//! a plan that refuses (conflict, stale version) fails alone and stages nothing. The
//! holder releases the lock before waiting for the disk, so the next batch is planned
//! while this one syncs.
//!
//! **Group commit.** A write is acknowledged only once it is on disk. Rather than each
//! writer calling `flush` (sled 0.34 then syncs once per caller: 16 writers measured the
//! same rate as one), one writer at a time becomes the flusher: it notes the latest
//! ticket committed (one ticket per batch), flushes, and marks every ticket up to that one
//! durable. Everything committed while it flushed waits for the next flush, which one of
//! those writers runs for all of them, so N concurrent writers share each disk sync. A
//! write is marked durable only by a flush that *began after* its transaction committed
//! (the ticket is read before the flush starts), so no acknowledged write can be lost
//! to a crash.
//!
//! **Commit delay.** A flush covers only what committed before it began, so with writes
//! still queued the flusher first waits for them (a bounded [`COMMIT_DELAY`], like
//! PostgreSQL's `commit_delay` with `commit_siblings`): one sync then acknowledges the
//! whole queue. A lone writer has nothing queued behind it and never waits.
//!
//! The flush is sled's blocking `flush`, never `flush_async`, which deadlocks under
//! concurrent callers in sled 0.34 (spacejam/sled#1308); there is only ever one flusher.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ::sled::Transactional;
use ::sled::Tree;
use ::sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use super::Inner;
use super::codec::{backend, decode_u64};
use super::keys::DIR_META;
use super::view::View;
use super::writes::WriteSet;
use crate::store::StoreError;

/// Longest a flusher waits for queued writes to commit before it flushes.
const COMMIT_DELAY: Duration = Duration::from_millis(2);

/// Most writes one transaction takes: bounds a batch's memory and the time its writers
/// wait for it; the rest of the queue goes into the next batch.
const MAX_BATCH: usize = 256;

/// A queued write's plan: reads through the batch view and returns what to stage.
pub(super) type Plan = Box<dyn FnOnce(&View) -> Result<WriteSet, StoreError> + Send>;

/// What became of a queued write: `Some(ticket)` once its batch committed, `None` when
/// it staged nothing, or its error.
pub(super) type Outcome = Result<Option<u64>, StoreError>;

/// The writer lock, the queue, the commit order and the flusher's state.
#[derive(Default)]
pub(super) struct Committer {
    /// Held while a batch (or exclusive work) reads, decides and commits.
    writer: Mutex<()>,
    /// Writes waiting for a batch, in arrival order.
    queue: Mutex<Vec<Job>>,
    /// The ticket of the latest committed batch (set under `writer`).
    committed: AtomicU64,
    /// Writes queued or being planned and not yet committed or refused.
    queued: AtomicUsize,
    flush: Mutex<Flush>,
    flushed: Condvar,
    /// Signalled after each batch while a flusher waits for the queued writes.
    commits: Condvar,
}

/// One queued write. Dropped without an outcome (a batch that panicked), it tells its
/// writer so rather than leaving it waiting.
struct Job {
    plan: Option<Plan>,
    outcome: Arc<Mutex<Option<Outcome>>>,
}

impl Job {
    fn finish(&mut self, outcome: Outcome) {
        *lock(&self.outcome) = Some(outcome);
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let mut slot = lock(&self.outcome);
        if slot.is_none() {
            *slot = Some(Err(StoreError::Backend(
                "the batch this write was in failed before committing".into(),
            )));
        }
    }
}

/// Counts work in `queued` until it commits or gives up (dropped on every path).
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

/// Takes the batch's jobs out of `queued` when the batch is done (on every path), and
/// wakes a flusher waiting for them.
struct Taken<'c>(&'c Committer, usize);

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(self.1, Ordering::AcqRel);
        // Taking the lock orders this with a flusher about to wait on `commits`, so
        // the signal cannot fall between its check and its wait.
        let _state = lock(&self.0.flush);
        self.0.commits.notify_all();
    }
}

impl Inner {
    /// Queues `plan`, which reads and decides; its writes commit with its batch's, in one
    /// transaction; returns once they are on disk. A write that stages nothing (a no-op,
    /// or a refusal) returns once its batch has committed, without waiting for the disk:
    /// like any read, what it saw may include other writes that are not on disk yet.
    pub(super) fn write<T: Send + 'static>(
        &self,
        plan: impl FnOnce(&View) -> Result<(WriteSet, T), StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let value: Arc<Mutex<Option<T>>> = Arc::default();
        let outcome: Arc<Mutex<Option<Outcome>>> = Arc::default();
        let slot = value.clone();
        let job = Job {
            plan: Some(Box::new(move |view: &View| {
                let (set, out) = plan(view)?;
                *lock(&slot) = Some(out);
                Ok(set)
            })),
            outcome: outcome.clone(),
        };
        self.commit.queued.fetch_add(1, Ordering::AcqRel);
        lock(&self.commit.queue).push(job);
        {
            let _writer = lock(&self.commit.writer);
            // An earlier holder may have taken this write into its batch already.
            if lock(&outcome).is_none() {
                self.commit_queued();
            }
        }
        let decided = lock(&outcome).take();
        let ticket = decided.unwrap_or_else(|| {
            Err(StoreError::Backend(
                "the write was dropped from the commit queue".into(),
            ))
        })?;
        if let Some(ticket) = ticket {
            self.wait_durable(ticket)?;
        }
        lock(&value)
            .take()
            .ok_or_else(|| StoreError::Backend("the write's plan returned nothing".into()))
    }

    /// Under the writer lock: plans the queued writes (up to [`MAX_BATCH`]) in order
    /// against one batch view, commits what they staged in one transaction, and gives
    /// each its outcome.
    fn commit_queued(&self) {
        let mut jobs: Vec<Job> = {
            let mut queue = lock(&self.commit.queue);
            let take = queue.len().min(MAX_BATCH);
            queue.drain(..take).collect()
        };
        let _taken = Taken(&self.commit, jobs.len());
        let mut view = self.for_batch();
        // Each job's planned outcome, and whether it read anything staged by an earlier
        // job (if the batch then fails, that answer was about writes that never were).
        let mut planned: Vec<(Outcome, bool)> = Vec::with_capacity(jobs.len());
        let mut staged_any = false;
        for job in &mut jobs {
            let saw_staged = !view.nothing_staged();
            let result = match job.plan.take() {
                Some(plan) => plan(&view),
                None => Err(StoreError::Backend("a write was planned twice".into())),
            };
            let outcome = match result {
                Ok(set) if set.is_empty() => Ok(None),
                Ok(set) => view.stage(set).map(|()| {
                    staged_any = true;
                    Some(0)
                }),
                Err(e) => Err(e),
            };
            planned.push((outcome, saw_staged));
        }
        let committed = if staged_any {
            self.apply(view.into_write_set()).map(|()| {
                let ticket = self.commit.committed.load(Ordering::Relaxed) + 1;
                self.commit.committed.store(ticket, Ordering::Release);
                ticket
            })
        } else {
            Ok(0)
        };
        for (job, (outcome, saw_staged)) in jobs.iter_mut().zip(planned) {
            let outcome = match (&committed, outcome) {
                (Ok(ticket), Ok(Some(_))) => Ok(Some(*ticket)),
                (Err(e), Ok(Some(_))) => Err(batch_failed(e)),
                (Err(e), _) if saw_staged => Err(batch_failed(e)),
                (_, outcome) => outcome,
            };
            job.finish(outcome);
        }
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
        // tree, and a user write touches 9 of the 23.
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

/// What every write of a batch whose transaction failed is told.
fn batch_failed(error: &StoreError) -> StoreError {
    StoreError::Backend(format!("committing the batch this write was in failed: {error}").into())
}

/// The latest committed ticket and the latest durable one (tests).
#[cfg(test)]
pub(super) fn durable(inner: &Inner) -> (u64, u64) {
    let committed = inner.commit.committed.load(Ordering::Acquire);
    (committed, lock(&inner.commit.flush).durable)
}

/// Commits `plans` as one batch, as a holder of the writer lock finding them all queued
/// would (tests); returns each one's outcome.
#[cfg(test)]
pub(super) fn commit_together(inner: &Inner, plans: Vec<Plan>) -> Vec<Outcome> {
    let _writer = lock(&inner.commit.writer);
    let outcomes: Vec<Arc<Mutex<Option<Outcome>>>> = plans
        .into_iter()
        .map(|plan| {
            let outcome = Arc::default();
            inner.commit.queued.fetch_add(1, Ordering::AcqRel);
            lock(&inner.commit.queue).push(Job {
                plan: Some(plan),
                outcome: Arc::clone(&outcome),
            });
            outcome
        })
        .collect();
    inner.commit_queued();
    outcomes
        .iter()
        .map(|outcome| {
            lock(outcome)
                .take()
                .unwrap_or_else(|| Err(StoreError::Backend("no outcome".into())))
        })
        .collect()
}
