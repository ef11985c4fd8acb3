//! Nested groups on sled: the edges live in two trees, `group_children`
//! (`dir \0 parent \0 child`) and `group_parents` (`dir \0 child \0 parent`), written in
//! the same transaction as the group write that adds or removes them. Walks read them
//! through the batch [`View`], so a write is planned against the edges earlier writes of
//! its batch staged.

use std::collections::BTreeSet;

use super::keys::*;
use super::view::View;
use super::writes::WriteSet;
use crate::model::{DirectoryId, GroupId, UserId, UserState};
use crate::store::StoreError;
use crate::store::plan::{MembershipPlan, NestingReads, RoleGroup};

/// One directory of a [`View`], as the nesting planner reads it.
pub(super) struct DirectoryGraph<'a> {
    pub(super) view: &'a View,
    pub(super) dir: &'a DirectoryId,
}

impl DirectoryGraph<'_> {
    /// The last parts of the keys of `tree` under `dir \0 group \0`, not deleted groups.
    fn live_related(&self, tree: usize, group: &GroupId) -> Result<Vec<GroupId>, StoreError> {
        let prefix = prefix(&[self.dir.as_str().as_bytes(), group.as_str().as_bytes()]);
        let mut out = Vec::new();
        for id in ids_after(self.view.source(tree)?, prefix, None) {
            let id = id?;
            if self.view.exists(GROUP_LIVE, &entity(self.dir, &id))? {
                out.push(parse_id(&id)?);
            }
        }
        Ok(out)
    }
}

impl NestingReads for DirectoryGraph<'_> {
    fn parents_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError> {
        self.live_related(GROUP_PARENTS, group)
    }

    fn children_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError> {
        self.live_related(GROUP_CHILDREN, group)
    }

    fn role_group(&self, group: &GroupId) -> Result<Option<RoleGroup>, StoreError> {
        Ok(self
            .view
            .group(self.dir, group)?
            .as_ref()
            .and_then(RoleGroup::of))
    }

    fn user_members(&self, group: &GroupId) -> Result<Vec<UserId>, StoreError> {
        self.view.all_members(self.dir, group)
    }

    fn user_groups(&self, user: &UserId) -> Result<Option<(bool, Vec<GroupId>)>, StoreError> {
        let Some(stored) = self.view.user(self.dir, user)? else {
            return Ok(None);
        };
        let prefix = prefix(&[self.dir.as_str().as_bytes(), user.as_str().as_bytes()]);
        let groups = ids_after(self.view.source(MEMBER_OF)?, prefix, None)
            .map(|id| parse_id(&id?))
            .collect::<Result<Vec<GroupId>, _>>()?;
        Ok(Some((stored.state == UserState::Active, groups)))
    }
}

impl View {
    /// Whether `child` is a member group of `parent`.
    pub(super) fn is_member_group(
        &self,
        dir: &DirectoryId,
        parent: &GroupId,
        child: &GroupId,
    ) -> Result<bool, StoreError> {
        self.exists(
            GROUP_CHILDREN,
            &key(&[
                dir.as_str().as_bytes(),
                parent.as_str().as_bytes(),
                child.as_str().as_bytes(),
            ]),
        )
    }

    /// Every member group of `parent`, deleted ones included (for `RemoveAll`).
    pub(super) fn all_member_groups(
        &self,
        dir: &DirectoryId,
        parent: &GroupId,
    ) -> Result<BTreeSet<GroupId>, StoreError> {
        let prefix = prefix(&[dir.as_str().as_bytes(), parent.as_str().as_bytes()]);
        ids_after(self.source(GROUP_CHILDREN)?, prefix, None)
            .map(|id| parse_id(&id?))
            .collect()
    }
}

/// Stages the nesting edges `planned` adds to and removes from `parent`, both ways.
pub(super) fn stage_edges(
    set: &mut WriteSet,
    dir: &DirectoryId,
    parent: &GroupId,
    planned: &MembershipPlan,
) {
    let (d, p) = (dir.as_str().as_bytes(), parent.as_str().as_bytes());
    for child in &planned.remove_groups {
        let c = child.as_str().as_bytes();
        set.delete(GROUP_CHILDREN, key(&[d, p, c]));
        set.delete(GROUP_PARENTS, key(&[d, c, p]));
    }
    for child in &planned.add_groups {
        let c = child.as_str().as_bytes();
        set.put(GROUP_CHILDREN, key(&[d, p, c]), Vec::new());
        set.put(GROUP_PARENTS, key(&[d, c, p]), Vec::new());
    }
}
