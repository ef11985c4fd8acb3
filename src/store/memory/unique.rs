//! Declared unique keys in the memory store: who holds each key, and what each holder
//! holds, so a write that changes its keys releases the old ones. Users and groups each
//! have their own (`DirectoryContents::unique_users` / `unique_groups`): a user and a
//! group may hold the same value.

use std::collections::HashMap;
use std::hash::Hash;

use crate::model::UniqueKey;

/// The declared unique keys a directory's users (or groups) hold.
#[derive(Debug)]
pub(super) struct HeldKeys<Id> {
    holders: HashMap<UniqueKey, Id>,
    of: HashMap<Id, Vec<UniqueKey>>,
}

impl<Id> Default for HeldKeys<Id> {
    fn default() -> Self {
        Self {
            holders: HashMap::new(),
            of: HashMap::new(),
        }
    }
}

impl<Id: Clone + Eq + Hash> HeldKeys<Id> {
    /// The current holders of those of `keys` somebody holds.
    pub(super) fn holders<'a>(
        &'a self,
        keys: &'a [UniqueKey],
    ) -> impl Iterator<Item = (&'a UniqueKey, &'a Id)> {
        keys.iter()
            .filter_map(|key| self.holders.get(key).map(|holder| (key, holder)))
    }

    /// Makes `keys` the ones `holder` holds, releasing those it held before.
    pub(super) fn hold(&mut self, holder: &Id, keys: Vec<UniqueKey>) {
        for key in self.of.remove(holder).unwrap_or_default() {
            self.holders.remove(&key);
        }
        if keys.is_empty() {
            return;
        }
        for key in &keys {
            self.holders.insert(key.clone(), holder.clone());
        }
        self.of.insert(holder.clone(), keys);
    }
}
