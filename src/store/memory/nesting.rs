//! Nested groups in the memory store: the nesting reads the planner walks, the rules and
//! roles of a group write, and a user's rows (direct groups, then ancestors) for
//! `groups_of_users`. The edges are `DirectoryContents::child_groups` /
//! `parent_groups`, kept in step by `apply_membership`.

use std::collections::{BTreeMap, BTreeSet};

use super::DirectoryContents;
use crate::model::{Group, GroupId, RoleMapping, UserId, UserState};
use crate::store::plan::{self, ChangeDraft};
use crate::store::{StoreError, UserGroup};

impl DirectoryContents {
    /// The `user.roles_changed` entries of a planned group write, read before applying,
    /// after refusing member groups that break the nesting rules.
    pub(super) fn group_roles(
        &self,
        mapping: &RoleMapping,
        max_depth: usize,
        stored: Option<&Group>,
        planned: &plan::GroupPlan,
    ) -> Result<Vec<ChangeDraft>, StoreError> {
        plan::check_member_groups(self, &planned.group.id, &planned.membership, max_depth)?;
        plan::nested_group_write_roles(mapping, max_depth, self, stored, planned)
    }

    /// The `groups_of_users` rows of one user: direct groups, then ancestors.
    pub(super) fn user_group_rows(
        &self,
        user: &UserId,
        max_depth: usize,
    ) -> Result<BTreeMap<GroupId, UserGroup>, StoreError> {
        let row = |group: &Group, direct| UserGroup {
            user_id: user.clone(),
            group_id: group.id.clone(),
            display_name: group.display_name.clone(),
            external_id: group.external_id().map(str::to_owned),
            group_deleted: group.deleted,
            direct,
        };
        let mut rows = BTreeMap::new();
        let mut live = BTreeSet::new();
        for group in self
            .groups_of_user
            .page(user, None)
            .filter_map(|g| self.groups.get(g))
        {
            if !group.deleted {
                live.insert(group.id.clone());
            }
            rows.insert(group.id.clone(), row(group, true));
        }
        for ancestor in plan::ancestor_groups(self, &live, max_depth)? {
            if let Some(group) = self.groups.get(&ancestor) {
                rows.insert(ancestor, row(group, false));
            }
        }
        Ok(rows)
    }

    fn live_groups<'s>(
        &'s self,
        ids: impl Iterator<Item = &'s GroupId> + 's,
    ) -> impl Iterator<Item = GroupId> + 's {
        ids.filter(|g| self.groups.get(*g).is_some_and(|g| !g.deleted))
            .cloned()
    }
}

impl plan::NestingReads for DirectoryContents {
    fn parents_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError> {
        Ok(self
            .live_groups(self.parent_groups.page(group, None))
            .collect())
    }

    fn children_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError> {
        Ok(self
            .live_groups(self.child_groups.page(group, None))
            .collect())
    }

    fn role_group(&self, group: &GroupId) -> Result<Option<plan::RoleGroup>, StoreError> {
        Ok(self.groups.get(group).and_then(plan::RoleGroup::of))
    }

    fn user_members(&self, group: &GroupId) -> Result<Vec<UserId>, StoreError> {
        Ok(self.members.page(group, None).cloned().collect())
    }

    fn user_groups(&self, user: &UserId) -> Result<Option<(bool, Vec<GroupId>)>, StoreError> {
        Ok(self.users.get(user).map(|stored| {
            let groups = self.groups_of_user.page(user, None).cloned().collect();
            (stored.state == UserState::Active, groups)
        }))
    }
}
