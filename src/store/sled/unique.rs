//! Declared unique keys of groups on sled, in `group_unique` (each held key → its
//! group's id) and `group_unique_of` (each group → the keys it holds, to release them
//! when its keys change), apart from users' `user_unique` / `user_unique_of` (staged in
//! `writes.rs`): a user and a group may hold the same value. Read through the batch's
//! view and staged into its write set like everything else a write touches.

use super::codec::{backend, encode};
use super::keys::{GROUP_UNIQUE, GROUP_UNIQUE_OF, entity, parse_id, unique_key};
use super::view::View;
use super::writes::WriteSet;
use crate::model::{DirectoryId, GroupId, UniqueKey};
use crate::store::StoreError;
use crate::store::plan::{self, GroupPlan};

impl View {
    /// Refuses a group write if another group holds a key it claims: one point read per
    /// key.
    pub(super) fn check_group_unique_keys(
        &self,
        dir: &DirectoryId,
        planned: &GroupPlan,
    ) -> Result<(), StoreError> {
        let claimed = planned.unique_keys.as_deref().unwrap_or_default();
        let source = self.source(GROUP_UNIQUE)?;
        let mut holders = Vec::new();
        for key in claimed {
            if let Some(holder) = source.get(&unique_key(dir, key))? {
                let holder = std::str::from_utf8(&holder).map_err(backend)?;
                holders.push((key, parse_id::<GroupId>(holder)?));
            }
        }
        plan::check_group_unique_keys(planned, holders.iter().map(|(k, h)| (*k, h)))
    }

    /// Stages the keys a group write claims in place of those the group held (none when
    /// it was not `stored` before: a new group's keys are not read). Nothing for a write
    /// that keeps its keys, or one that held none and claims none.
    pub(super) fn stage_group_unique_keys(
        &self,
        set: &mut WriteSet,
        stored: bool,
        planned: &GroupPlan,
    ) -> Result<(), StoreError> {
        let Some(keys) = &planned.unique_keys else {
            return Ok(());
        };
        let dir = &planned.group.directory_id;
        let id = planned.group.id.as_str();
        let of = entity(dir, id);
        let held: Vec<UniqueKey> = if stored {
            self.get(GROUP_UNIQUE_OF, &of)?.unwrap_or_default()
        } else {
            Vec::new()
        };
        if held.is_empty() && keys.is_empty() {
            return Ok(());
        }
        for key in &held {
            set.delete(GROUP_UNIQUE, unique_key(dir, key));
        }
        set.delete(GROUP_UNIQUE_OF, of.clone());
        if !keys.is_empty() {
            for key in keys {
                set.put(GROUP_UNIQUE, unique_key(dir, key), id.as_bytes().to_vec());
            }
            set.put(GROUP_UNIQUE_OF, of, encode(keys)?);
        }
        Ok(())
    }
}
