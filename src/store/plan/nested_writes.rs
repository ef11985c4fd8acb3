//! Nested groups inside a backend's write: the reads a backend offers
//! ([`NestingReads`]), the nesting rules checked against them
//! ([`check_member_groups`]), the ancestors a user belongs to ([`ancestor_groups`]) and
//! the exact `user.roles_changed` entries of a group or user write
//! ([`nested_group_write_roles`], [`nested_user_write_roles`]), planned over
//! [`NestedRoleFacts`] read before the write.

use std::collections::BTreeSet;

use super::nesting::{
    NestedEffect, NestedRoleFacts, check_nesting, effective_groups, nested_role_changes,
};
use super::roles::{RoleGroup, group_roles};
use super::{ChangeDraft, GroupPlan, MembershipPlan, StoreError, UserPlan};
use crate::model::{Group, GroupId, RoleMapping, User, UserId, UserState};

/// The stored nesting graph and memberships of one directory, as a backend reads them
/// under a write's lock, before the write. Deleted groups are never returned by
/// [`parents_of`](Self::parents_of) / [`children_of`](Self::children_of): a deleted
/// group passes no roles up and is nobody's ancestor.
pub trait NestingReads {
    /// `group`'s direct parent groups (the groups it is a member group of), not deleted.
    fn parents_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError>;
    /// `group`'s direct member groups, not deleted.
    fn children_of(&self, group: &GroupId) -> Result<Vec<GroupId>, StoreError>;
    /// `group` as roles see it; `None` if it is absent or deleted.
    fn role_group(&self, group: &GroupId) -> Result<Option<RoleGroup>, StoreError>;
    /// `group`'s direct user members, whatever their state.
    fn user_members(&self, group: &GroupId) -> Result<Vec<UserId>, StoreError>;
    /// Whether `user` is active, and the groups it is a direct member of (deleted ones
    /// may be included); `None` if the user is absent.
    fn user_groups(&self, user: &UserId) -> Result<Option<(bool, Vec<GroupId>)>, StoreError>;
}

/// Refuses the member groups `membership` adds to `parent` if any breaks a nesting rule
/// ([`check_nesting`] against the stored graph), as [`StoreError::Nesting`]. Each edge is
/// checked on its own: edges a write adds all hang below `parent`, so one cannot lengthen
/// another's chain without closing a cycle, which the check refuses anyway.
pub fn check_member_groups(
    reads: &impl NestingReads,
    parent: &GroupId,
    membership: &MembershipPlan,
    max_depth: usize,
) -> Result<(), StoreError> {
    for child in &membership.add_groups {
        check_nesting(
            parent,
            child,
            max_depth,
            |g| reads.parents_of(g),
            |g| reads.children_of(g),
        )??;
    }
    Ok(())
}

/// The groups `direct` belong to through nesting: every ancestor (not deleted) up to
/// `max_depth` levels above them, not counting `direct` themselves, in id order. What
/// [`DirectoryStore::groups_of_users`](crate::store::DirectoryStore::groups_of_users)
/// lists with `direct: false`.
pub fn ancestor_groups(
    reads: &impl NestingReads,
    direct: &BTreeSet<GroupId>,
    max_depth: usize,
) -> Result<BTreeSet<GroupId>, StoreError> {
    // Most users are in no group: nothing to walk.
    if direct.is_empty() {
        return Ok(BTreeSet::new());
    }
    let mut reached = effective_groups(direct.iter().cloned(), max_depth, |g| reads.parents_of(g))?;
    reached.retain(|g| !direct.contains(g));
    Ok(reached)
}

/// The users of `root` and of every group nested below it (not deleted), each once.
fn subtree_users(
    reads: &impl NestingReads,
    root: &GroupId,
    max_depth: usize,
    into: &mut BTreeSet<UserId>,
) -> Result<(), StoreError> {
    let mut seen = BTreeSet::from([root.clone()]);
    let mut level = vec![root.clone()];
    // The stored graph is at most `max_depth` levels deep; the bound keeps the walk
    // finite even if it were not.
    for _ in 0..=max_depth {
        let mut next = Vec::new();
        for group in &level {
            into.extend(reads.user_members(group)?);
            for child in reads.children_of(group)? {
                if seen.insert(child.clone()) {
                    next.push(child);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    Ok(())
}

/// Records `users` (those that exist) with their direct groups, and every group on their
/// ancestor chains and on `seeds`' with the edges among them.
fn read_facts(
    reads: &impl NestingReads,
    users: &BTreeSet<UserId>,
    seeds: impl IntoIterator<Item = GroupId>,
) -> Result<NestedRoleFacts, StoreError> {
    let mut facts = NestedRoleFacts::default();
    let mut pending: Vec<GroupId> = seeds.into_iter().collect();
    for user in users {
        if let Some((active, groups)) = reads.user_groups(user)? {
            pending.extend(groups.iter().cloned());
            facts.add_user(user.clone(), active, groups);
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(group) = pending.pop() {
        if !seen.insert(group.clone()) {
            continue;
        }
        // A deleted group's edges are read too: a write that restores it needs them.
        if let Some(role_group) = reads.role_group(&group)? {
            facts.add_group(role_group);
        }
        for parent in reads.parents_of(&group)? {
            facts.add_edge(parent.clone(), group.clone());
            pending.push(parent);
        }
    }
    Ok(facts)
}

/// Whether a rule gives a role through `group`.
fn gives_roles(mapping: &RoleMapping, group: Option<&RoleGroup>) -> bool {
    !group_roles(mapping, group).is_empty()
}

/// The `user.roles_changed` entries of a planned group write over `stored` (`None` for
/// a new group) with nested groups: one per user whose effective roles (direct groups
/// and their ancestors, up to `max_depth` levels) differ after the write. `reads` sees
/// the directory before the write. Reads nothing when no rule names the group, its
/// ancestors or what it becomes; otherwise the users of the write (added, removed) and
/// of the subtrees whose ancestry changes (an added or removed member group's; the
/// group's own when what it gives changes or it is deleted), with their ancestor closure.
pub fn nested_group_write_roles(
    mapping: &RoleMapping,
    max_depth: usize,
    reads: &impl NestingReads,
    stored: Option<&Group>,
    planned: &GroupPlan,
) -> Result<Vec<ChangeDraft>, StoreError> {
    if planned.is_noop() || mapping.is_empty() {
        return Ok(Vec::new());
    }
    let id = &planned.group.id;
    let before = stored.and_then(RoleGroup::of);
    let after = RoleGroup::of(&planned.group);
    let membership = &planned.membership;
    let mut relevant =
        gives_roles(mapping, before.as_ref()) || gives_roles(mapping, after.as_ref());
    if !relevant && stored.is_some() {
        for ancestor in ancestor_groups(reads, &BTreeSet::from([id.clone()]), max_depth)? {
            if gives_roles(mapping, reads.role_group(&ancestor)?.as_ref()) {
                relevant = true;
                break;
            }
        }
    }
    if !relevant {
        return Ok(Vec::new());
    }
    let replaced = before != after;
    // A deletion or restoration changes whether the group passes its ancestors' roles
    // down; a rename or new `externalId` changes what it gives itself.
    let ancestry_changes = stored.is_some()
        && (before.is_some() != after.is_some()
            || group_roles(mapping, before.as_ref()) != group_roles(mapping, after.as_ref()));
    let mut users: BTreeSet<UserId> = membership
        .add
        .iter()
        .chain(&membership.remove)
        .cloned()
        .collect();
    for child in membership
        .add_groups
        .iter()
        .chain(&membership.remove_groups)
    {
        subtree_users(reads, child, max_depth, &mut users)?;
    }
    if ancestry_changes {
        subtree_users(reads, id, max_depth, &mut users)?;
    }
    let seeds = std::iter::once(id.clone())
        .chain(membership.add_groups.iter().cloned())
        .chain(membership.remove_groups.iter().cloned());
    let mut facts = read_facts(reads, &users, seeds)?;
    if ancestry_changes {
        // `parents_of` leaves a deleted group out, so a group being restored is not yet
        // among its children's parents: its edges down are read from its side.
        for child in reads.children_of(id)? {
            facts.add_edge(id.clone(), child);
        }
    }
    let mut next = facts.clone();
    if replaced {
        next.apply_in_place(&NestedEffect::Replace {
            id,
            after: after.as_ref(),
        });
    }
    for user in &membership.remove {
        next.apply_in_place(&NestedEffect::RemoveUser { group: id, user });
    }
    for child in &membership.remove_groups {
        next.apply_in_place(&NestedEffect::RemoveChild { parent: id, child });
    }
    for user in &membership.add {
        next.apply_in_place(&NestedEffect::AddUser { group: id, user });
    }
    for child in &membership.add_groups {
        next.apply_in_place(&NestedEffect::AddChild { parent: id, child });
    }
    Ok(nested_role_changes(
        mapping,
        &facts,
        &next,
        max_depth,
        planned.group.meta.last_modified,
    ))
}

/// The `user.roles_changed` entry of a planned user write over `stored` with nested
/// groups: as [`super::user_write_roles`], with the user's ancestor groups counted. Reads
/// the user's groups and their ancestors only when its active-ness changes.
pub fn nested_user_write_roles(
    mapping: &RoleMapping,
    max_depth: usize,
    reads: &impl NestingReads,
    stored: Option<&User>,
    planned: &UserPlan,
) -> Result<Vec<ChangeDraft>, StoreError> {
    let user = &planned.user;
    let reads_groups = stored.is_some_and(|s| super::user_role_reads(mapping, Some(s), user));
    if planned.is_noop() || !reads_groups {
        // A new user has no groups; an unchanged active-ness changes no role.
        return super::user_write_roles(mapping, stored, planned, || Ok(Vec::new()));
    }
    let facts = read_facts(reads, &BTreeSet::from([user.id.clone()]), [])?;
    let next = facts.apply(&NestedEffect::Activity {
        user: &user.id,
        active: user.state == UserState::Active,
    });
    Ok(nested_role_changes(
        mapping,
        &facts,
        &next,
        max_depth,
        user.meta.last_modified,
    ))
}
