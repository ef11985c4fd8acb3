//! Effective-role changes, planned at write time.
//!
//! A write that can change someone's effective roles (see
//! [`RoleMapping::roles_of`]) records one `user.roles_changed` entry per user whose roles
//! differ before and after it, in the same atomic step as the write. The backend reads,
//! under the write's lock, the directory's mapping and, for the users
//! [`user_role_reads`] / [`group_role_reads`] name, whether each is active and the
//! groups (not deleted) each is a direct member of, as stored before the write; the
//! planner applies the write's effect to those facts and diffs. Nothing is read when the
//! mapping is empty or the write cannot matter (a group no rule names, an attribute edit
//! that keeps a user's state).
//!
//! ```
//! use std::collections::BTreeMap;
//! use scimkit::model::{ChangeKind, Group, GroupId, GroupMatch, RoleMapping, UserId};
//! use scimkit::store::plan::{self, RoleEffect, RoleGroup, RoleUser};
//! # let (engineering, ann) = (GroupId::from_uuid(uuid::Uuid::now_v7()), UserId::from_uuid(uuid::Uuid::now_v7()));
//! let mapping = RoleMapping::new()
//!     .map(GroupMatch::DisplayName("Engineering".into()), "developer")
//!     .with_default("viewer");
//! // Ann, active and in no group, is added to Engineering.
//! let before = BTreeMap::from([(ann.clone(), RoleUser { active: true, groups: vec![] })]);
//! let group = RoleGroup { id: engineering.clone(), display_name: "Engineering".into(), external_id: None };
//! let effect = RoleEffect::Group {
//!     id: &engineering,
//!     before: Some(&group),
//!     after: Some(&group),
//!     add: std::slice::from_ref(&ann),
//!     remove: &[],
//! };
//! let at = time::OffsetDateTime::UNIX_EPOCH;
//! let changes = plan::role_changes(&mapping, &before, &effect, at);
//! assert_eq!(changes.len(), 1);
//! assert_eq!(changes[0].kind, ChangeKind::RolesChanged);
//! let roles = changes[0].roles.as_ref().unwrap();
//! assert_eq!(roles.before, ["viewer".to_owned()].into());
//! assert_eq!(roles.after, ["developer".to_owned()].into());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::{ChangeDraft, MembershipPlan};
use crate::model::{
    ChangeKind, Group, GroupFacts, GroupId, RoleMapping, RolesDelta, User, UserId, UserState,
};
use crate::store::UserGroup;

/// A group (not deleted) as a [`RoleMapping`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "facts a backend builds for the planner"
)]
pub struct RoleGroup {
    /// Its id.
    pub id: GroupId,
    /// Its `displayName`.
    pub display_name: String,
    /// Its `externalId`.
    pub external_id: Option<String>,
}

impl RoleGroup {
    /// `group` as roles see it; `None` if it is deleted (a deleted group gives no role).
    pub fn of(group: &Group) -> Option<Self> {
        (!group.deleted).then(|| Self {
            id: group.id.clone(),
            display_name: group.display_name.clone(),
            external_id: group.external_id().map(str::to_owned),
        })
    }

    /// A membership row's group; `None` if it is deleted.
    pub fn of_row(row: &UserGroup) -> Option<Self> {
        (!row.group_deleted).then(|| Self {
            id: row.group_id.clone(),
            display_name: row.display_name.clone(),
            external_id: row.external_id.clone(),
        })
    }

    /// What a rule looks at.
    pub fn facts(&self) -> GroupFacts<'_> {
        GroupFacts {
            id: &self.id,
            display_name: &self.display_name,
            external_id: self.external_id.as_deref(),
        }
    }
}

/// A user as roles see them, before the write: whether active, and the groups (not
/// deleted) they are a direct member of. A user absent from the facts does not exist
/// yet and has no roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "facts a backend builds for the planner"
)]
pub struct RoleUser {
    /// Active (not deleted or deactivated).
    pub active: bool,
    /// Direct groups, not deleted.
    pub groups: Vec<RoleGroup>,
}

impl RoleUser {
    /// `user` with its membership rows (rows of other users and deleted groups ignored).
    pub fn of(user: &User, rows: &[UserGroup]) -> Self {
        Self {
            active: user.state == UserState::Active,
            groups: rows
                .iter()
                .filter(|r| r.user_id == user.id)
                .filter_map(RoleGroup::of_row)
                .collect(),
        }
    }

    fn roles(&self, mapping: &RoleMapping) -> BTreeSet<String> {
        mapping.roles_of(self.active, self.groups.iter().map(RoleGroup::facts))
    }
}

/// What a write does that can change roles.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RoleEffect<'a> {
    /// A user is created or replaced: it is active after the write or not.
    User {
        /// The user.
        id: &'a UserId,
        /// Active after the write.
        active: bool,
    },
    /// A group is created, replaced or has members edited.
    Group {
        /// The group.
        id: &'a GroupId,
        /// The group before (`None`: new or deleted).
        before: Option<&'a RoleGroup>,
        /// The group after (`None`: deleted).
        after: Option<&'a RoleGroup>,
        /// Members added.
        add: &'a [UserId],
        /// Members removed.
        remove: &'a [UserId],
    },
}

/// Whether a user write must read the user's roles facts (its groups): only if the
/// mapping is not empty, the user exists and its active-ness changes. A new user has no
/// groups, so nothing is read for it either.
pub fn user_role_reads(mapping: &RoleMapping, before: Option<&User>, after: &User) -> bool {
    !mapping.is_empty()
        && before
            .is_some_and(|b| (b.state == UserState::Active) != (after.state == UserState::Active))
}

/// The roles a group gives its members: those of the rules naming it.
pub(super) fn group_roles(mapping: &RoleMapping, group: Option<&RoleGroup>) -> BTreeSet<String> {
    let Some(group) = group else {
        return BTreeSet::new();
    };
    mapping
        .rules
        .iter()
        .filter(|rule| rule.group.matches(&group.facts()))
        .map(|rule| rule.role.clone())
        .collect()
}

/// Which users a group write must read roles facts for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupRoleReads {
    /// The users added or removed, in id order, each once.
    pub users: Vec<UserId>,
    /// Whether every current member must be read too: the roles the group gives changed
    /// (a rename, a new `externalId` or a deletion matching a rule differently).
    pub all_members: bool,
}

impl GroupRoleReads {
    /// Whether nothing is to be read.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && !self.all_members
    }
}

/// What a group write from `before` to `after` (`None`: new, or deleted) with
/// `membership` must read for roles. Nothing if no rule names the group before or after.
pub fn group_role_reads(
    mapping: &RoleMapping,
    before: Option<&RoleGroup>,
    after: Option<&RoleGroup>,
    membership: &MembershipPlan,
) -> GroupRoleReads {
    let (given_before, given_after) = (group_roles(mapping, before), group_roles(mapping, after));
    if given_before.is_empty() && given_after.is_empty() {
        return GroupRoleReads::default();
    }
    let users: BTreeSet<UserId> = membership
        .add
        .iter()
        .chain(&membership.remove)
        .cloned()
        .collect();
    GroupRoleReads {
        users: users.into_iter().collect(),
        all_members: given_before != given_after,
    }
}

/// The `user.roles_changed` entries of a write: one per user in `before` (in id order)
/// whose roles under `mapping` differ once `effect` is applied.
pub fn role_changes(
    mapping: &RoleMapping,
    before: &BTreeMap<UserId, RoleUser>,
    effect: &RoleEffect<'_>,
    at: OffsetDateTime,
) -> Vec<ChangeDraft> {
    if mapping.is_empty() {
        return Vec::new();
    }
    let mut drafts = Vec::new();
    let mut diff = |user: &UserId, old: BTreeSet<String>, new: BTreeSet<String>| {
        if old != new {
            drafts.push(ChangeDraft {
                roles: Some(RolesDelta::new(old, new)),
                ..ChangeDraft::new(ChangeKind::RolesChanged, user.clone(), at)
            });
        }
    };
    match *effect {
        RoleEffect::User { id, active } => {
            let (old, mut after) = match before.get(id) {
                Some(facts) => (facts.roles(mapping), facts.clone()),
                None => (BTreeSet::new(), RoleUser::default()),
            };
            after.active = active;
            diff(id, old, after.roles(mapping));
        }
        RoleEffect::Group {
            id,
            after: group_after,
            remove,
            ..
        } => {
            // `before` holds the users added (not members before: the membership plan is
            // the net difference), removed (members before) and, when the group's roles
            // changed, every other member: so each is a member after unless removed.
            for (user, facts) in before {
                let old = facts.roles(mapping);
                let mut next = facts.clone();
                next.groups.retain(|g| g.id != *id);
                if let (false, Some(group)) = (remove.contains(user), group_after) {
                    next.groups.push(group.clone());
                }
                diff(user, old, next.roles(mapping));
            }
        }
    }
    drafts
}

/// The `user.roles_changed` entries of a planned user write over `stored`, for a
/// backend that reads synchronously under its lock: `groups` reads the user's direct
/// groups (not deleted) as stored, and is called only if [`user_role_reads`] says so.
pub fn user_write_roles(
    mapping: &RoleMapping,
    stored: Option<&User>,
    planned: &super::UserPlan,
    groups: impl FnOnce() -> Result<Vec<RoleGroup>, super::StoreError>,
) -> Result<Vec<ChangeDraft>, super::StoreError> {
    if planned.is_noop() || mapping.is_empty() {
        return Ok(Vec::new());
    }
    let user = &planned.user;
    let mut before = BTreeMap::new();
    if let Some(stored) = stored {
        if !user_role_reads(mapping, Some(stored), user) {
            return Ok(Vec::new());
        }
        before.insert(
            user.id.clone(),
            RoleUser {
                active: stored.state == UserState::Active,
                groups: groups()?,
            },
        );
    }
    let effect = RoleEffect::User {
        id: &user.id,
        active: user.state == UserState::Active,
    };
    Ok(role_changes(
        mapping,
        &before,
        &effect,
        user.meta.last_modified,
    ))
}

/// The `user.roles_changed` entries of a planned group write over `stored` (`None`
/// for a new group), for a backend that reads synchronously under its lock, before
/// applying the plan: `members` reads every member of the group, `users` the
/// [`RoleUser`] of each given user that exists; each is called only if
/// [`group_role_reads`] needs it.
pub fn group_write_roles(
    mapping: &RoleMapping,
    stored: Option<&Group>,
    planned: &super::GroupPlan,
    members: impl FnOnce() -> Result<Vec<UserId>, super::StoreError>,
    users: impl FnOnce(&[UserId]) -> Result<BTreeMap<UserId, RoleUser>, super::StoreError>,
) -> Result<Vec<ChangeDraft>, super::StoreError> {
    if planned.is_noop() || mapping.is_empty() {
        return Ok(Vec::new());
    }
    let group_before = stored.and_then(RoleGroup::of);
    let group_after = RoleGroup::of(&planned.group);
    let reads = group_role_reads(
        mapping,
        group_before.as_ref(),
        group_after.as_ref(),
        &planned.membership,
    );
    if reads.is_empty() {
        return Ok(Vec::new());
    }
    let ids = role_read_ids(reads, members)?;
    let before = users(&ids)?;
    let effect = RoleEffect::Group {
        id: &planned.group.id,
        before: group_before.as_ref(),
        after: group_after.as_ref(),
        add: &planned.membership.add,
        remove: &planned.membership.remove,
    };
    Ok(role_changes(
        mapping,
        &before,
        &effect,
        planned.group.meta.last_modified,
    ))
}

/// The users whose facts a group write reads: those `reads` names plus, if it asks,
/// every member `members` returns; in id order, each once.
pub fn role_read_ids(
    reads: GroupRoleReads,
    members: impl FnOnce() -> Result<Vec<UserId>, super::StoreError>,
) -> Result<Vec<UserId>, super::StoreError> {
    let mut ids: BTreeSet<UserId> = reads.users.into_iter().collect();
    if reads.all_members {
        ids.extend(members()?);
    }
    Ok(ids.into_iter().collect())
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
            external_id: Some(format!("ext-{n}")),
        }
    }

    fn mapping() -> RoleMapping {
        RoleMapping::new()
            .map(GroupMatch::DisplayName("Eng".into()), "developer")
            .map(GroupMatch::ExternalId("ext-2".into()), "ops")
            .with_default("viewer")
    }

    fn adding(users: &[UserId]) -> MembershipPlan {
        MembershipPlan {
            add: users.to_vec(),
            ..MembershipPlan::default()
        }
    }

    #[test]
    fn a_group_no_rule_names_reads_nothing() {
        let marketing = group(9, "Marketing");
        let reads = group_role_reads(
            &mapping(),
            Some(&marketing),
            Some(&marketing),
            &adding(&[uid(1)]),
        );
        assert!(reads.is_empty());
    }

    #[test]
    fn member_edits_read_the_members_named_and_a_rename_reads_every_member() {
        let eng = group(1, "Eng");
        let reads = group_role_reads(&mapping(), Some(&eng), Some(&eng), &adding(&[uid(1)]));
        assert_eq!(reads.users, [uid(1)]);
        assert!(!reads.all_members);
        let renamed = group(1, "Platform");
        let reads = group_role_reads(
            &mapping(),
            Some(&eng),
            Some(&renamed),
            &MembershipPlan::default(),
        );
        assert!(reads.all_members, "a rename changes what the group gives");
        let reads = group_role_reads(&mapping(), Some(&eng), None, &MembershipPlan::default());
        assert!(reads.all_members, "so does a deletion");
    }

    #[test]
    fn a_user_write_reads_groups_only_when_active_ness_changes() {
        let user = |state| User {
            id: uid(1),
            directory_id: crate::model::DirectoryId::from_uuid(uuid::Uuid::from_u128(7)),
            email: None,
            state,
            attributes: serde_json::json!({"userName": "ann"}),
            meta: crate::model::Meta::new(OffsetDateTime::UNIX_EPOCH),
            unique_keys: Vec::new(),
        };
        let (on, off, gone) = (
            user(UserState::Active),
            user(UserState::Deactivated),
            user(UserState::Deleted),
        );
        assert!(user_role_reads(&mapping(), Some(&on), &off));
        assert!(!user_role_reads(&mapping(), Some(&off), &gone));
        assert!(!user_role_reads(&mapping(), Some(&on), &on));
        assert!(!user_role_reads(&RoleMapping::new(), Some(&on), &off));
    }

    #[test]
    fn a_rename_changes_every_affected_members_roles_once() {
        let (eng, renamed) = (group(1, "Eng"), group(1, "Platform"));
        let ops = group(2, "anything");
        let before = BTreeMap::from([
            (
                uid(1),
                RoleUser {
                    active: true,
                    groups: vec![eng.clone()],
                },
            ),
            (
                uid(2),
                RoleUser {
                    active: true,
                    groups: vec![eng.clone(), ops],
                },
            ),
            (
                uid(3),
                RoleUser {
                    active: false,
                    groups: vec![eng.clone()],
                },
            ),
        ]);
        let effect = RoleEffect::Group {
            id: &eng.id,
            before: Some(&eng),
            after: Some(&renamed),
            add: &[],
            remove: &[],
        };
        let changes = role_changes(&mapping(), &before, &effect, OffsetDateTime::UNIX_EPOCH);
        let summary: Vec<_> = changes
            .iter()
            .map(|c| {
                let roles = c.roles.clone().unwrap_or_default();
                (c.resource_id.clone(), roles.before, roles.after)
            })
            .collect();
        let set = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            summary,
            [
                (
                    ResourceId::from(uid(1)),
                    set(&["developer"]),
                    set(&["viewer"])
                ),
                (
                    ResourceId::from(uid(2)),
                    set(&["developer", "ops"]),
                    set(&["ops"])
                ),
            ],
            "a deprovisioned member has no roles either way"
        );
    }
}
