//! Declared unique keys on sled: for users in `user_unique` / `user_unique_of`, for
//! groups in `group_unique` / `group_unique_of`, apart (a user and a group may hold the
//! same value). A holders tree maps each held key to its holder's id; an "of" tree
//! lists what each holder holds, so a write that changes its keys releases the old
//! ones. Read through the batch's view and staged into its write set like everything
//! else a write touches.

use std::str::FromStr;

use super::codec::{backend, encode};
use super::keys::{
    GROUP_UNIQUE, GROUP_UNIQUE_OF, USER_UNIQUE, USER_UNIQUE_OF, entity, parse_id, unique_key,
};
use super::view::View;
use super::writes::WriteSet;
use crate::model::{DirectoryId, UniqueKey};
use crate::store::StoreError;
use crate::store::plan::{self, GroupPlan, UserPlan};

/// The two trees one kind of holder keeps its keys in.
#[derive(Clone, Copy)]
struct KeyTrees {
    holders: usize,
    of: usize,
}

const USER_KEYS: KeyTrees = KeyTrees {
    holders: USER_UNIQUE,
    of: USER_UNIQUE_OF,
};

const GROUP_KEYS: KeyTrees = KeyTrees {
    holders: GROUP_UNIQUE,
    of: GROUP_UNIQUE_OF,
};

impl View {
    /// Refuses a user write if another user holds a key it claims: one point read per key.
    pub(super) fn check_unique_keys(
        &self,
        dir: &DirectoryId,
        planned: &UserPlan,
    ) -> Result<(), StoreError> {
        let holders = self.key_holders(USER_KEYS, dir, &planned.unique_keys)?;
        plan::check_unique_keys(planned, holders.iter().map(|(k, h)| (*k, h)))
    }

    /// Stages the keys a user write claims in place of those the user held.
    pub(super) fn stage_unique_keys(
        &self,
        set: &mut WriteSet,
        dir: &DirectoryId,
        planned: &UserPlan,
    ) -> Result<(), StoreError> {
        let holder = planned.user.id.as_str();
        self.stage_held_keys(USER_KEYS, set, dir, holder, &planned.unique_keys)
    }

    /// Refuses a group write if another group holds a key it claims.
    pub(super) fn check_group_unique_keys(
        &self,
        dir: &DirectoryId,
        planned: &GroupPlan,
    ) -> Result<(), StoreError> {
        let claimed = planned.unique_keys.as_deref().unwrap_or_default();
        let holders = self.key_holders(GROUP_KEYS, dir, claimed)?;
        plan::check_group_unique_keys(planned, holders.iter().map(|(k, h)| (*k, h)))
    }

    /// Stages the keys a group write claims in place of those the group held; nothing
    /// for a write that keeps them.
    pub(super) fn stage_group_unique_keys(
        &self,
        set: &mut WriteSet,
        dir: &DirectoryId,
        planned: &GroupPlan,
    ) -> Result<(), StoreError> {
        match &planned.unique_keys {
            Some(keys) => {
                self.stage_held_keys(GROUP_KEYS, set, dir, planned.group.id.as_str(), keys)
            }
            None => Ok(()),
        }
    }

    /// The current holders of those of `keys` somebody holds.
    fn key_holders<'a, Id>(
        &self,
        trees: KeyTrees,
        dir: &DirectoryId,
        keys: &'a [UniqueKey],
    ) -> Result<Vec<(&'a UniqueKey, Id)>, StoreError>
    where
        Id: FromStr,
        Id::Err: std::error::Error + Send + Sync + 'static,
    {
        let source = self.source(trees.holders)?;
        let mut holders = Vec::new();
        for key in keys {
            if let Some(holder) = source.get(&unique_key(dir, key))? {
                let holder = std::str::from_utf8(&holder).map_err(backend)?;
                holders.push((key, parse_id(holder)?));
            }
        }
        Ok(holders)
    }

    /// Stages `keys` as what `holder` holds, releasing what it held before. Nothing when
    /// it held none and claims none, the common case.
    fn stage_held_keys(
        &self,
        trees: KeyTrees,
        set: &mut WriteSet,
        dir: &DirectoryId,
        holder: &str,
        keys: &[UniqueKey],
    ) -> Result<(), StoreError> {
        let of = entity(dir, holder);
        let held: Vec<UniqueKey> = self.get(trees.of, &of)?.unwrap_or_default();
        if held.is_empty() && keys.is_empty() {
            return Ok(());
        }
        for key in &held {
            set.delete(trees.holders, unique_key(dir, key));
        }
        set.delete(trees.of, of.clone());
        if !keys.is_empty() {
            for key in keys {
                set.put(
                    trees.holders,
                    unique_key(dir, key),
                    holder.as_bytes().to_vec(),
                );
            }
            set.put(trees.of, of, encode(&keys)?);
        }
        Ok(())
    }
}
