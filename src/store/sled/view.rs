//! What reads see: the committed trees and, while a batch of writes is being planned,
//! what the batch's earlier writes staged on top of them.
//!
//! A batch commits as one transaction (`commit.rs`), so its second write must be planned
//! as if the first had committed: a `userName` the first took is taken, a seq the first
//! used is used. Rather than committing between plans, the batch's [`View`] keeps each
//! staged key (a value, or `None` for a delete) per tree and answers point reads from it
//! first; scans merge it with the tree in key order. Outside a batch nothing is staged
//! and reads go straight to sled.

use std::cmp::Ordering;
use std::collections::btree_map;
use std::collections::{BTreeMap, HashMap};
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::atomic::{self, AtomicUsize};
use std::sync::{Arc, Mutex};

use ::sled::{Db, IVec, Tree};

use super::codec::{backend, decode};
use super::keys::DIRS;
use super::writes::WriteSet;
use crate::model::{Directory, DirectoryId};
use crate::store::{StoreError, plan};

/// Keys staged in one tree by a batch's earlier writes; `None` is a delete.
type Staged = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A batch's staged keys of one tree, from some key on.
type StagedRange<'a> = Peekable<btree_map::Range<'a, Vec<u8>, Option<Vec<u8>>>>;

/// Directory records a batch's plans have read, decoded once per batch (most batches
/// are many writes to one directory, each of which checks the directory and reads its
/// role mapping).
type Directories = Mutex<HashMap<DirectoryId, Option<Arc<Directory>>>>;

/// The database as reads and write plans see it.
pub(super) struct View {
    pub(super) db: Db,
    pub(super) trees: Vec<Tree>,
    /// One map per tree while a batch is planned; empty otherwise.
    staged: Vec<Staged>,
    /// `DIR_META` counter deltas of the batch, summed; resolved at commit. Plans never
    /// read counters, so they are not merged into reads.
    counts: BTreeMap<Vec<u8>, i64>,
    /// While a batch is planned; `None` for the committed view, which other writes
    /// change under it.
    directories: Option<Directories>,
    /// Group-in-group levels allowed ([`SledStore::with_max_group_depth`]); shared by
    /// every view of one store, so a batch plans with the store's setting.
    ///
    /// [`SledStore::with_max_group_depth`]: super::SledStore::with_max_group_depth
    max_group_depth: Arc<AtomicUsize>,
}

impl View {
    pub(super) fn new(db: Db, trees: Vec<Tree>) -> Self {
        Self {
            db,
            trees,
            staged: Vec::new(),
            counts: BTreeMap::new(),
            directories: None,
            max_group_depth: Arc::new(AtomicUsize::new(plan::DEFAULT_MAX_GROUP_DEPTH)),
        }
    }

    /// How many group-in-group levels nesting allows.
    pub(super) fn max_group_depth(&self) -> usize {
        self.max_group_depth.load(atomic::Ordering::Relaxed)
    }

    pub(super) fn set_max_group_depth(&self, levels: usize) {
        self.max_group_depth
            .store(levels, atomic::Ordering::Relaxed);
    }

    /// A view for planning one batch: the same trees, nothing staged yet.
    pub(super) fn for_batch(&self) -> Self {
        Self {
            db: self.db.clone(),
            trees: self.trees.clone(),
            staged: vec![Staged::new(); self.trees.len()],
            counts: BTreeMap::new(),
            directories: Some(Directories::default()),
            max_group_depth: self.max_group_depth.clone(),
        }
    }

    pub(super) fn tree(&self, index: usize) -> Result<&Tree, StoreError> {
        self.trees
            .get(index)
            .ok_or_else(|| StoreError::Backend("missing tree".into()))
    }

    /// Tree `index` as this view sees it.
    pub(super) fn source(&self, index: usize) -> Result<Source<'_>, StoreError> {
        Ok(Source {
            tree: self.tree(index)?,
            staged: self.staged.get(index).filter(|staged| !staged.is_empty()),
        })
    }

    /// The directory record `dir`, as this view sees it; a batch view decodes it once.
    pub(super) fn directory(
        &self,
        dir: &DirectoryId,
    ) -> Result<Option<Arc<Directory>>, StoreError> {
        let read = || -> Result<Option<Arc<Directory>>, StoreError> {
            match self.source(DIRS)?.get(dir.as_str().as_bytes())? {
                Some(bytes) => Ok(Some(Arc::new(decode("directories", &bytes)?))),
                None => Ok(None),
            }
        };
        let Some(directories) = &self.directories else {
            return read();
        };
        let mut directories = directories.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = directories.get(dir) {
            return Ok(known.clone());
        }
        let record = read()?;
        directories.insert(dir.clone(), record.clone());
        Ok(record)
    }

    /// Adds a planned write to the batch, so later plans see it. Deletes before puts, as
    /// the transaction applies them.
    pub(super) fn stage(&mut self, set: WriteSet) -> Result<(), StoreError> {
        let WriteSet {
            puts,
            deletes,
            counts,
        } = set;
        let directory_written = deletes.iter().any(|(tree, _)| *tree == DIRS)
            || puts.iter().any(|(tree, _, _)| *tree == DIRS);
        if directory_written && let Some(directories) = &mut self.directories {
            directories
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
        for (tree, key) in deletes {
            self.staged_mut(tree)?.insert(key, None);
        }
        for (tree, key, value) in puts {
            self.staged_mut(tree)?.insert(key, Some(value));
        }
        for (key, delta) in counts {
            *self.counts.entry(key).or_default() += delta;
        }
        Ok(())
    }

    fn staged_mut(&mut self, tree: usize) -> Result<&mut Staged, StoreError> {
        self.staged
            .get_mut(tree)
            .ok_or_else(|| StoreError::Backend("missing tree".into()))
    }

    /// Whether no write has been staged in this view.
    pub(super) fn nothing_staged(&self) -> bool {
        self.counts.is_empty() && self.staged.iter().all(Staged::is_empty)
    }

    /// Everything the batch staged, as one write set: each key's last value or delete.
    pub(super) fn into_write_set(self) -> WriteSet {
        let mut set = WriteSet {
            counts: self.counts,
            ..WriteSet::default()
        };
        for (tree, staged) in self.staged.into_iter().enumerate() {
            for (key, value) in staged {
                match value {
                    Some(value) => set.put(tree, key, value),
                    None => set.delete(tree, key),
                }
            }
        }
        set
    }
}

/// One tree as a [`View`] sees it.
pub(super) struct Source<'a> {
    tree: &'a Tree,
    staged: Option<&'a Staged>,
}

impl<'a> Source<'a> {
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<IVec>, StoreError> {
        if let Some(staged) = self.staged.and_then(|staged| staged.get(key)) {
            return Ok(staged.as_deref().map(IVec::from));
        }
        self.tree.get(key).map_err(backend)
    }

    pub(super) fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        if let Some(staged) = self.staged.and_then(|staged| staged.get(key)) {
            return Ok(staged.is_some());
        }
        self.tree.contains_key(key).map_err(backend)
    }

    /// Entries from `start` to the end of the tree, in key order.
    pub(super) fn range_from(&self, start: Bound<Vec<u8>>) -> Entries<'a> {
        let staged = self
            .staged
            .map(|staged| staged.range::<Vec<u8>, _>((start.clone(), Bound::Unbounded)));
        Entries {
            committed: self
                .tree
                .range::<Vec<u8>, _>((start, Bound::Unbounded))
                .peekable(),
            staged: staged.map(Iterator::peekable),
        }
    }
}

/// A tree's entries merged with a batch's staged keys (a staged key wins).
pub(super) struct Entries<'a> {
    committed: Peekable<::sled::Iter>,
    staged: Option<StagedRange<'a>>,
}

impl Iterator for Entries<'_> {
    type Item = Result<(IVec, IVec), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(staged) = self.staged.as_mut() else {
                return self.committed.next().map(|entry| entry.map_err(backend));
            };
            let order = match (self.committed.peek(), staged.peek()) {
                (_, None) | (Some(Err(_)), _) => {
                    return self.committed.next().map(|entry| entry.map_err(backend));
                }
                (None, Some(_)) => Ordering::Greater,
                (Some(Ok((key, _))), Some((staged_key, _))) => {
                    key.as_ref().cmp(staged_key.as_slice())
                }
            };
            if order == Ordering::Less {
                return self.committed.next().map(|entry| entry.map_err(backend));
            }
            if order == Ordering::Equal {
                self.committed.next();
            }
            match staged.next() {
                Some((key, Some(value))) => {
                    return Some(Ok((
                        IVec::from(key.as_slice()),
                        IVec::from(value.as_slice()),
                    )));
                }
                // A staged delete hides the committed entry.
                Some((_, None)) => continue,
                None => return None,
            }
        }
    }
}
