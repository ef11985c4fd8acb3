//! Conveniences built on [`DirectoryStore`]'s primitives.

use async_trait::async_trait;

use super::{DirectoryStore, Keyset, StoreError};
use crate::model::{DirectoryId, GroupId, UserId};

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
