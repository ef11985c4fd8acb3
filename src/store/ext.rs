//! Conveniences built on [`DirectoryStore`]'s primitives.
//!
//! Each helper is one store call: the listing methods take `Keyset::all()`, so a backend
//! answers a walk with one query (one SQL statement, one index scan) instead of a loop of
//! pages driven from above. A backend with a faster path for one of these overrides the
//! primitive it calls, not the helper.

use async_trait::async_trait;

use super::{
    DirectoryStore, GroupFilter, GroupKey, Keyset, States, StoreError, UserFilter, UserKey,
};
use crate::model::{DirectoryId, Group, GroupId, User, UserId};

/// Helpers every [`DirectoryStore`] gets.
#[async_trait]
pub trait DirectoryStoreExt: DirectoryStore {
    /// Every member id of a group whose state `states` includes, in id order.
    async fn all_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
    ) -> Result<Vec<UserId>, StoreError> {
        self.list_members(dir, group, states, Keyset::all()).await
    }

    /// Users whose indexed attribute equals `key`, whatever their state, in id order.
    async fn find_users(&self, dir: &DirectoryId, key: UserKey) -> Result<Vec<User>, StoreError> {
        let filter = UserFilter {
            key: Some(key),
            ..UserFilter::default()
        };
        self.list_users(dir, &filter, Keyset::all()).await
    }

    /// Groups whose indexed attribute equals `key`, deleted or not, in id order.
    async fn find_groups(
        &self,
        dir: &DirectoryId,
        key: GroupKey,
    ) -> Result<Vec<Group>, StoreError> {
        let filter = GroupFilter {
            key: Some(key),
            ..GroupFilter::default()
        };
        self.list_groups(dir, &filter, Keyset::all()).await
    }

    /// Every group a user belongs to whose state `states` includes, in id order.
    async fn groups_of_user(
        &self,
        dir: &DirectoryId,
        user: &UserId,
        states: States,
    ) -> Result<Vec<Group>, StoreError> {
        let filter = GroupFilter {
            states,
            member: Some(user.clone()),
            ..GroupFilter::default()
        };
        self.list_groups(dir, &filter, Keyset::all()).await
    }
}

impl<S: DirectoryStore + ?Sized> DirectoryStoreExt for S {}
