//! Nested groups: which group-in-group edges a write may add, and what a user's
//! effective groups (direct groups plus every ancestor) are.
//!
//! The nesting graph is kept acyclic and no deeper than a limit by refusing, at write
//! time, an edge that would break either rule ([`check_nesting`]). Because the graph a
//! backend holds always satisfies both, every walk here is bounded by the limit: an
//! ancestor walk visits at most `max_depth` levels, so resolving a user's roles costs
//! their direct groups' ancestors, never the directory.
//!
//! Roles over nesting are planned like direct ones ([`super::role_changes`]), from facts
//! the backend reads under the write's lock: [`NestedRoleFacts`] holds the affected users'
//! direct groups and the ancestor closure of those groups as stored before the write;
//! [`NestedRoleFacts::apply`] applies the write's [`NestedEffect`] to a copy, and
//! [`nested_role_changes`] diffs each user's effective roles before and after.
//!
//! ```
//! use scimkit::model::{GroupId, GroupMatch, RoleMapping, UserId};
//! use scimkit::store::plan::{self, NestedEffect, NestedRoleFacts, RoleGroup};
//! # let id = || uuid::Uuid::now_v7();
//! # let (eng, backend, ann) = (GroupId::from_uuid(id()), GroupId::from_uuid(id()), UserId::from_uuid(id()));
//! let mapping = RoleMapping::new()
//!     .map(GroupMatch::DisplayName("Engineering".into()), "developer")
//!     .with_default("viewer");
//! // Ann is in Backend; the IdP now pushes Backend as a member of Engineering.
//! let mut before = NestedRoleFacts::default();
//! before.add_user(ann.clone(), true, [backend.clone()]);
//! before.add_group(RoleGroup { id: eng.clone(), display_name: "Engineering".into(), external_id: None });
//! before.add_group(RoleGroup { id: backend.clone(), display_name: "Backend".into(), external_id: None });
//! let effect = NestedEffect::AddChild { parent: &eng, child: &backend };
//! let after = before.apply(&effect);
//! let at = time::OffsetDateTime::UNIX_EPOCH;
//! let changes = plan::nested_role_changes(&mapping, &before, &after, plan::DEFAULT_MAX_GROUP_DEPTH, at);
//! assert_eq!(changes.len(), 1);
//! let roles = changes[0].roles.as_ref().unwrap();
//! assert_eq!(roles.before, ["viewer".to_owned()].into());
//! assert_eq!(roles.after, ["developer".to_owned()].into());
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use time::OffsetDateTime;

use super::roles::RoleGroup;
use super::{ChangeDraft, StoreError};
use crate::model::{ChangeKind, GroupId, RoleMapping, RolesDelta, UserId};

/// How many group-in-group levels a chain may have by default: a user of a group nested
/// eight levels down still gets the top group's roles; a ninth level is refused.
pub const DEFAULT_MAX_GROUP_DEPTH: usize = 8;

/// Why a group may not become a member of another.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NestingRefusal {
    /// A group named itself as a member.
    #[error("group `{0}` cannot be a member of itself")]
    Itself(GroupId),
    /// The edge would close a cycle; the groups along it, starting and ending with the
    /// group that would be added.
    #[error("adding the group would create the membership cycle {}", cycle_text(.0))]
    Cycle(Vec<GroupId>),
    /// The edge would make a chain of nested groups longer than the limit.
    #[error("adding the group would nest groups {depth} levels deep; at most {limit} are allowed")]
    TooDeep {
        /// The chain's length in group-in-group levels, with the edge.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// The backend does not store nested groups (yet): a group cannot be a member.
    #[error("this directory's store does not support groups as group members (`{0}`)")]
    Unsupported(GroupId),
}

fn cycle_text(cycle: &[GroupId]) -> String {
    cycle
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ∋ ")
}

/// Checks that `child` may become a member of `parent` in a graph kept acyclic and at
/// most `max_depth` levels deep: not itself, no cycle, no chain past the limit.
/// `parents_of` and `children_of` read one group's direct parent / child groups (not
/// deleted) as stored; they are called for at most `max_depth + 1` levels on each side.
/// A group already a member passes (its edge is already counted).
pub fn check_nesting(
    parent: &GroupId,
    child: &GroupId,
    max_depth: usize,
    mut parents_of: impl FnMut(&GroupId) -> Result<Vec<GroupId>, StoreError>,
    mut children_of: impl FnMut(&GroupId) -> Result<Vec<GroupId>, StoreError>,
) -> Result<Result<(), NestingRefusal>, StoreError> {
    if parent == child {
        return Ok(Err(NestingRefusal::Itself(parent.clone())));
    }
    // Walk up from `parent` level by level. A group may sit on several levels (two
    // paths of different lengths reach it); keeping it on each is what makes the count
    // the longest chain, and the stored graph's own bound keeps the levels few.
    let mut came_from: BTreeMap<GroupId, GroupId> = BTreeMap::new();
    let mut level = BTreeSet::from([parent.clone()]);
    let mut up = 0;
    loop {
        let mut next = BTreeSet::new();
        for group in &level {
            for above in parents_of(group)? {
                came_from
                    .entry(above.clone())
                    .or_insert_with(|| group.clone());
                if above == *child {
                    return Ok(Err(NestingRefusal::Cycle(cycle_path(
                        child, parent, &came_from,
                    ))));
                }
                next.insert(above);
            }
        }
        if next.is_empty() {
            break;
        }
        up += 1;
        if up + 1 > max_depth {
            return Ok(Err(NestingRefusal::TooDeep {
                depth: up + 1,
                limit: max_depth,
            }));
        }
        level = next;
    }
    let mut down = 0;
    let mut level = BTreeSet::from([child.clone()]);
    loop {
        let mut next = BTreeSet::new();
        for group in &level {
            next.extend(children_of(group)?);
        }
        if next.is_empty() {
            break;
        }
        down += 1;
        if up + 1 + down > max_depth {
            return Ok(Err(NestingRefusal::TooDeep {
                depth: up + 1 + down,
                limit: max_depth,
            }));
        }
        level = next;
    }
    Ok(Ok(()))
}

/// `child ∋ … ∋ parent ∋ child`, from the walk's back-links (each ancestor to the group
/// below it on the way up from `parent`).
fn cycle_path(
    child: &GroupId,
    parent: &GroupId,
    came_from: &BTreeMap<GroupId, GroupId>,
) -> Vec<GroupId> {
    let mut path = vec![child.clone()];
    let mut at = child;
    // Bounded even if the stored graph were not acyclic.
    for _ in 0..=came_from.len() {
        let Some(below) = came_from.get(at) else {
            break;
        };
        path.push(below.clone());
        if below == parent {
            break;
        }
        at = below;
    }
    path.push(child.clone());
    path
}

/// The groups (not deleted) a user belongs to for roles: `direct` and every ancestor of
/// them up to `max_depth` levels, each once, in id order. `parents_of` reads one group's
/// direct parents (not deleted).
pub fn effective_groups(
    direct: impl IntoIterator<Item = GroupId>,
    max_depth: usize,
    mut parents_of: impl FnMut(&GroupId) -> Result<Vec<GroupId>, StoreError>,
) -> Result<BTreeSet<GroupId>, StoreError> {
    let mut seen: BTreeSet<GroupId> = direct.into_iter().collect();
    let mut queue: VecDeque<(GroupId, usize)> = seen.iter().map(|g| (g.clone(), 0)).collect();
    while let Some((group, depth)) = queue.pop_front() {
        if depth >= max_depth {
            continue;
        }
        for above in parents_of(&group)? {
            if seen.insert(above.clone()) {
                queue.push_back((above, depth + 1));
            }
        }
    }
    Ok(seen)
}

/// A user as nested roles see them, before the write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NestedUser {
    /// Active (not deleted or deactivated).
    pub active: bool,
    /// The groups the user is a direct member of (deleted ones may be listed: they are
    /// ignored unless [`NestedRoleFacts::groups`] holds them).
    pub groups: BTreeSet<GroupId>,
}

/// What a group write's role planning reads: the affected users, every group (not
/// deleted) on their ancestor chains and the group-in-group edges among those groups,
/// all as stored before the write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NestedRoleFacts {
    /// The affected users.
    pub users: BTreeMap<UserId, NestedUser>,
    /// The groups (not deleted) the users' effective groups may include.
    pub groups: BTreeMap<GroupId, RoleGroup>,
    /// Each group's direct parents.
    pub parents: BTreeMap<GroupId, BTreeSet<GroupId>>,
}

/// What a group write does to the nesting facts.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum NestedEffect<'a> {
    /// `child` becomes a member of `parent`.
    AddChild {
        /// The parent group.
        parent: &'a GroupId,
        /// The member group.
        child: &'a GroupId,
    },
    /// `child` stops being a member of `parent`.
    RemoveChild {
        /// The parent group.
        parent: &'a GroupId,
        /// The member group.
        child: &'a GroupId,
    },
    /// A user joins a group.
    AddUser {
        /// The group.
        group: &'a GroupId,
        /// The user.
        user: &'a UserId,
    },
    /// A user leaves a group.
    RemoveUser {
        /// The group.
        group: &'a GroupId,
        /// The user.
        user: &'a UserId,
    },
    /// A group is renamed or given another `externalId` (`Some`), or deleted (`None`:
    /// it gives no roles and leaves every parent).
    Replace {
        /// The group.
        id: &'a GroupId,
        /// The group after the write.
        after: Option<&'a RoleGroup>,
    },
    /// A user becomes active, or stops being active.
    Activity {
        /// The user.
        user: &'a UserId,
        /// Active after the write.
        active: bool,
    },
}

impl NestedRoleFacts {
    /// Records an affected user and its direct groups.
    pub fn add_user(
        &mut self,
        user: UserId,
        active: bool,
        groups: impl IntoIterator<Item = GroupId>,
    ) {
        self.users.insert(
            user,
            NestedUser {
                active,
                groups: groups.into_iter().collect(),
            },
        );
    }

    /// Records a group (not deleted).
    pub fn add_group(&mut self, group: RoleGroup) {
        self.groups.insert(group.id.clone(), group);
    }

    /// Records that `child` is a member of `parent`.
    pub fn add_edge(&mut self, parent: GroupId, child: GroupId) {
        self.parents.entry(child).or_default().insert(parent);
    }

    /// The facts once `effect` is applied.
    #[must_use]
    pub fn apply(&self, effect: &NestedEffect<'_>) -> Self {
        let mut next = self.clone();
        next.apply_in_place(effect);
        next
    }

    /// Applies `effect` to these facts (a write's effects one after another, without a
    /// copy per effect).
    pub fn apply_in_place(&mut self, effect: &NestedEffect<'_>) {
        let next = self;
        match *effect {
            NestedEffect::AddChild { parent, child } => {
                next.add_edge(parent.clone(), child.clone());
            }
            NestedEffect::RemoveChild { parent, child } => {
                if let Some(parents) = next.parents.get_mut(child) {
                    parents.remove(parent);
                }
            }
            NestedEffect::AddUser { group, user } => {
                next.users
                    .entry(user.clone())
                    .or_default()
                    .groups
                    .insert(group.clone());
            }
            NestedEffect::RemoveUser { group, user } => {
                if let Some(facts) = next.users.get_mut(user) {
                    facts.groups.remove(group);
                }
            }
            NestedEffect::Replace { id, after } => match after {
                Some(group) => next.add_group(group.clone()),
                None => {
                    next.groups.remove(id);
                    next.parents.remove(id);
                }
            },
            NestedEffect::Activity { user, active } => {
                next.users.entry(user.clone()).or_default().active = active;
            }
        }
    }

    /// `user`'s effective groups (direct and ancestors, not deleted), up to `max_depth`
    /// levels of nesting.
    pub fn effective_groups(&self, user: &UserId, max_depth: usize) -> Vec<&RoleGroup> {
        let Some(facts) = self.users.get(user) else {
            return Vec::new();
        };
        let direct = facts
            .groups
            .iter()
            .filter(|g| self.groups.contains_key(*g))
            .cloned();
        let reached = effective_groups(direct, max_depth, |group| {
            Ok(self
                .parents
                .get(group)
                .into_iter()
                .flatten()
                .filter(|p| self.groups.contains_key(*p))
                .cloned()
                .collect())
        })
        .unwrap_or_default();
        reached.iter().filter_map(|g| self.groups.get(g)).collect()
    }

    /// `user`'s effective roles under `mapping` (none if the user is not among the facts).
    pub fn roles_of(
        &self,
        mapping: &RoleMapping,
        user: &UserId,
        max_depth: usize,
    ) -> BTreeSet<String> {
        let Some(facts) = self.users.get(user) else {
            return BTreeSet::new();
        };
        mapping.roles_of(
            facts.active,
            self.effective_groups(user, max_depth)
                .into_iter()
                .map(RoleGroup::facts),
        )
    }
}

/// Effective roles already worked out, by a user's active-ness and direct groups.
#[derive(Default)]
struct RolesByGroups(BTreeMap<(bool, BTreeSet<GroupId>), BTreeSet<String>>);

impl RolesByGroups {
    fn of(
        &mut self,
        facts: &NestedRoleFacts,
        mapping: &RoleMapping,
        user: &UserId,
        max_depth: usize,
    ) -> BTreeSet<String> {
        let Some(known) = facts.users.get(user) else {
            return BTreeSet::new();
        };
        let key = (known.active, known.groups.clone());
        if let Some(roles) = self.0.get(&key) {
            return roles.clone();
        }
        let roles = facts.roles_of(mapping, user, max_depth);
        self.0.insert(key, roles.clone());
        roles
    }
}

/// The `user.roles_changed` entries between `before` and `after` (the same facts with
/// a write applied): one per user, in id order, whose effective roles differ.
pub fn nested_role_changes(
    mapping: &RoleMapping,
    before: &NestedRoleFacts,
    after: &NestedRoleFacts,
    max_depth: usize,
    at: OffsetDateTime,
) -> Vec<ChangeDraft> {
    if mapping.is_empty() {
        return Vec::new();
    }
    let users: BTreeSet<&UserId> = before.users.keys().chain(after.users.keys()).collect();
    // Users below one group share their direct groups: their roles are worked out once
    // per distinct (active, direct groups), not once per user.
    let (mut old_roles, mut new_roles) = (RolesByGroups::default(), RolesByGroups::default());
    users
        .into_iter()
        .filter_map(|user| {
            let old = old_roles.of(before, mapping, user, max_depth);
            let new = new_roles.of(after, mapping, user, max_depth);
            (old != new).then(|| ChangeDraft {
                roles: Some(RolesDelta::new(old, new)),
                ..ChangeDraft::new(ChangeKind::RolesChanged, user.clone(), at)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GroupMatch, ResourceId};

    fn gid(n: u128) -> GroupId {
        GroupId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn uid(n: u128) -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn group(n: u128, name: &str) -> RoleGroup {
        RoleGroup {
            id: gid(n),
            display_name: name.into(),
            external_id: None,
        }
    }

    /// A chain 1 ∋ 2 ∋ … ∋ n as (parent, child) edges.
    fn chain(n: u128) -> Vec<(GroupId, GroupId)> {
        (1..n).map(|i| (gid(i), gid(i + 1))).collect()
    }

    fn check(
        edges: &[(GroupId, GroupId)],
        parent: u128,
        child: u128,
        limit: usize,
    ) -> Result<(), NestingRefusal> {
        let parents = |g: &GroupId| {
            Ok(edges
                .iter()
                .filter(|(_, c)| c == g)
                .map(|(p, _)| p.clone())
                .collect())
        };
        let children = |g: &GroupId| {
            Ok(edges
                .iter()
                .filter(|(p, _)| p == g)
                .map(|(_, c)| c.clone())
                .collect())
        };
        check_nesting(&gid(parent), &gid(child), limit, parents, children)
            .unwrap_or_else(|e| panic!("reads do not fail here: {e}"))
    }

    #[test]
    fn a_group_cannot_contain_itself() {
        assert_eq!(check(&[], 1, 1, 8), Err(NestingRefusal::Itself(gid(1))));
    }

    #[test]
    fn a_cycle_is_refused_and_named() {
        // 1 ∋ 2 ∋ 3; adding 1 to 3 closes 1 ∋ 2 ∋ 3 ∋ 1.
        let refusal = check(&chain(3), 3, 1, 8).unwrap_err();
        assert_eq!(
            refusal,
            NestingRefusal::Cycle(vec![gid(1), gid(2), gid(3), gid(1)])
        );
        let text = refusal.to_string();
        assert!(text.contains(&gid(2).to_string()), "{text}");
        // The two-group cycle A ∋ B ∋ A.
        assert_eq!(
            check(&chain(2), 2, 1, 8),
            Err(NestingRefusal::Cycle(vec![gid(1), gid(2), gid(1)]))
        );
    }

    #[test]
    fn chains_up_to_the_limit_pass_and_one_more_level_is_refused() {
        // 1 ∋ … ∋ 8 has 7 levels; 8 ∋ 9 makes 8.
        assert_eq!(check(&chain(8), 8, 9, 8), Ok(()));
        let edges = chain(9);
        assert_eq!(
            check(&edges, 9, 10, 8),
            Err(NestingRefusal::TooDeep { depth: 9, limit: 8 })
        );
        // Joining two chains in the middle counts both sides.
        let mut edges: Vec<_> = chain(5);
        edges.extend((20..24).map(|i| (gid(i), gid(i + 1))));
        assert_eq!(
            check(&edges, 5, 20, 8),
            Err(NestingRefusal::TooDeep { depth: 9, limit: 8 })
        );
        assert_eq!(check(&edges, 4, 20, 8), Ok(()));
    }

    #[test]
    fn depth_counts_the_longest_chain_not_the_shortest() {
        // 1 ∋ 2 ∋ 3 ∋ 4 and a shortcut 1 ∋ 4: 4 is three levels down, not one.
        let mut edges = chain(4);
        edges.push((gid(1), gid(4)));
        assert_eq!(
            check(&edges, 4, 5, 3),
            Err(NestingRefusal::TooDeep { depth: 4, limit: 3 })
        );
        assert_eq!(check(&edges, 4, 5, 4), Ok(()));
    }

    #[test]
    fn diamonds_are_not_cycles() {
        // 1 ∋ 2, 1 ∋ 3, 2 ∋ 4; adding 4 to 3 makes a diamond.
        let edges = [(gid(1), gid(2)), (gid(1), gid(3)), (gid(2), gid(4))];
        assert_eq!(check(&edges, 3, 4, 8), Ok(()));
    }

    fn nested_facts() -> NestedRoleFacts {
        // Eng(1) ∋ Backend(2) ∋ Db(3); ann in Db, bob in Backend.
        let mut facts = NestedRoleFacts::default();
        facts.add_group(group(1, "Eng"));
        facts.add_group(group(2, "Backend"));
        facts.add_group(group(3, "Db"));
        facts.add_edge(gid(1), gid(2));
        facts.add_edge(gid(2), gid(3));
        facts.add_user(uid(1), true, [gid(3)]);
        facts.add_user(uid(2), true, [gid(2)]);
        facts
    }

    fn mapping() -> RoleMapping {
        RoleMapping::new()
            .map(GroupMatch::DisplayName("Eng".into()), "developer")
            .map(GroupMatch::DisplayName("Db".into()), "dba")
            .with_default("viewer")
    }

    fn summary(changes: &[ChangeDraft]) -> Vec<(ResourceId, Vec<String>, Vec<String>)> {
        changes
            .iter()
            .map(|c| {
                let roles = c.roles.clone().unwrap_or_default();
                (
                    c.resource_id.clone(),
                    roles.before.into_iter().collect(),
                    roles.after.into_iter().collect(),
                )
            })
            .collect()
    }

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn roles_resolve_through_every_ancestor() {
        let facts = nested_facts();
        assert_eq!(
            facts.roles_of(&mapping(), &uid(1), 8),
            ["dba".to_owned(), "developer".to_owned()].into()
        );
        assert_eq!(
            facts.roles_of(&mapping(), &uid(2), 8),
            ["developer".to_owned()].into()
        );
        // With one level of nesting allowed, Db's users reach Backend but not Eng.
        assert_eq!(
            facts.roles_of(&mapping(), &uid(1), 1),
            ["dba".to_owned()].into()
        );
    }

    #[test]
    fn removing_a_child_group_changes_each_descendant_users_roles_once() {
        let before = nested_facts();
        let after = before.apply(&NestedEffect::RemoveChild {
            parent: &gid(1),
            child: &gid(2),
        });
        let changes =
            nested_role_changes(&mapping(), &before, &after, 8, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            summary(&changes),
            [
                (uid(1).into(), roles(&["dba", "developer"]), roles(&["dba"])),
                (uid(2).into(), roles(&["developer"]), roles(&["viewer"])),
            ]
        );
    }

    #[test]
    fn renaming_or_deleting_an_ancestor_reaches_users_below_it() {
        let before = nested_facts();
        let renamed = group(1, "Platform");
        let after = before.apply(&NestedEffect::Replace {
            id: &gid(1),
            after: Some(&renamed),
        });
        let changes =
            nested_role_changes(&mapping(), &before, &after, 8, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(changes.len(), 2, "{:?}", summary(&changes));
        // Deleting the middle group cuts Db's users off from Eng.
        let after = before.apply(&NestedEffect::Replace {
            id: &gid(2),
            after: None,
        });
        let changes =
            nested_role_changes(&mapping(), &before, &after, 8, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            summary(&changes),
            [
                (uid(1).into(), roles(&["dba", "developer"]), roles(&["dba"])),
                (uid(2).into(), roles(&["developer"]), roles(&["viewer"])),
            ]
        );
    }

    #[test]
    fn a_change_that_keeps_roles_records_nothing() {
        let before = nested_facts();
        // Bob joins Eng directly: he already had developer through Backend.
        let after = before.apply(&NestedEffect::AddUser {
            group: &gid(1),
            user: &uid(2),
        });
        assert!(
            nested_role_changes(&mapping(), &before, &after, 8, OffsetDateTime::UNIX_EPOCH)
                .is_empty()
        );
    }
    /// The longest chain (in edges) from `group` downwards, by brute force; `None` on a
    /// cycle.
    fn longest_below(
        edges: &[(GroupId, GroupId)],
        group: &GroupId,
        path: &mut Vec<GroupId>,
    ) -> Option<usize> {
        if path.contains(group) {
            return None;
        }
        path.push(group.clone());
        let mut longest = 0;
        for (_, child) in edges.iter().filter(|(p, _)| p == group) {
            longest = longest.max(longest_below(edges, child, path)? + 1);
        }
        path.pop();
        Some(longest)
    }

    proptest::proptest! {
        /// Whatever edges an IdP asks for, the accepted ones form a graph with no cycle
        /// and no chain longer than the limit, and a refused edge would have broken one
        /// of the two.
        #[test]
        fn accepted_edges_keep_the_graph_acyclic_and_within_the_limit(
            asks in proptest::collection::vec((0u128..7, 0u128..7), 0..40),
            limit in 1usize..4,
        ) {
            let mut edges: Vec<(GroupId, GroupId)> = Vec::new();
            for (parent, child) in asks {
                let verdict = check(&edges, parent, child, limit);
                let mut with = edges.clone();
                if !with.contains(&(gid(parent), gid(child))) {
                    with.push((gid(parent), gid(child)));
                }
                let fits = (0..7).all(|g| {
                    longest_below(&with, &gid(g), &mut Vec::new()).is_some_and(|d| d <= limit)
                });
                proptest::prop_assert_eq!(verdict.is_ok(), fits, "{:?} -> {:?}", (parent, child), verdict);
                if verdict.is_ok() {
                    edges = with;
                }
            }
        }
    }
}
