//! Conveniences built on [`DirectoryStore`]'s primitives.

use async_trait::async_trait;

use super::{DirectoryStore, Keyset, StoreError};
use crate::model::{DirectoryId, Group, GroupId, User, UserId};

/// Page size for the whole-collection walks below.
const WALK_PAGE: usize = 1000;

/// Helpers every [`DirectoryStore`] gets.
#[async_trait]
pub trait DirectoryStoreExt: DirectoryStore {
    /// Every member id of a group, walking the keyset pages.
    async fn all_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
    ) -> Result<Vec<UserId>, StoreError> {
        let mut out: Vec<UserId> = Vec::new();
        loop {
            let page = self
                .list_members(
                    dir,
                    group,
                    Keyset {
                        after: out.last(),
                        limit: WALK_PAGE,
                    },
                )
                .await?;
            let done = page.len() < WALK_PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// Every user of a directory, whatever its state, in id order.
    async fn all_users(&self, dir: &DirectoryId) -> Result<Vec<User>, StoreError> {
        let mut out: Vec<User> = Vec::new();
        loop {
            let after = out.last().map(|u| u.id.clone());
            let page = self
                .list_users(
                    dir,
                    None,
                    Keyset {
                        after: after.as_ref(),
                        limit: WALK_PAGE,
                    },
                )
                .await?;
            let done = page.len() < WALK_PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// Every group of a directory, deleted or not, in id order.
    async fn all_groups(&self, dir: &DirectoryId) -> Result<Vec<Group>, StoreError> {
        let mut out: Vec<Group> = Vec::new();
        loop {
            let after = out.last().map(|g| g.id.clone());
            let page = self
                .list_groups(
                    dir,
                    Keyset {
                        after: after.as_ref(),
                        limit: WALK_PAGE,
                    },
                )
                .await?;
            let done = page.len() < WALK_PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// Every group id of a user.
    async fn all_groups_of_user(
        &self,
        dir: &DirectoryId,
        user: &UserId,
    ) -> Result<Vec<GroupId>, StoreError> {
        let mut out: Vec<GroupId> = Vec::new();
        loop {
            let page = self
                .list_groups_of_user(
                    dir,
                    user,
                    Keyset {
                        after: out.last(),
                        limit: WALK_PAGE,
                    },
                )
                .await?;
            let done = page.len() < WALK_PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }
}

impl<S: DirectoryStore + ?Sized> DirectoryStoreExt for S {}
