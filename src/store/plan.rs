//! The write planner: the rules every backend would otherwise repeat, as pure functions.
//!
//! A backend reads what a write depends on (the stored entity, whether a `userName` is
//! held, the memberships the edits name), hands it here, and commits what comes back
//! atomically: the entity to store, the memberships to add and remove, and the change-log
//! entries to number and append, each with the snapshot of the user or group it records
//! (a membership change's member is read by the backend: see
//! [`GroupPlan::with_member_snapshots`]). Nothing here reads or writes a store, so every backend
//! — memory, sled, PostgreSQL, a vendor's own — enforces the same version checks,
//! uniqueness, no-op detection and change kinds.
//!
//! ```
//! use scimkit::store::plan::{self, MembershipFacts};
//! use scimkit::store::MembershipEdit;
//! # use scimkit::model::{GroupId, UserId};
//! # let (group, ann, bob) = (GroupId::from_uuid(uuid::Uuid::now_v7()),
//! #     UserId::from_uuid(uuid::Uuid::now_v7()), UserId::from_uuid(uuid::Uuid::now_v7()));
//! let edits = [MembershipEdit::RemoveAll, MembershipEdit::Add(ann.clone())];
//! let reads = plan::membership_reads(&edits);
//! assert!(reads.all_members); // RemoveAll needs the current member list
//! // The backend reads: bob is a member now, ann is a user of the directory.
//! let facts = MembershipFacts {
//!     members: [bob.clone()].into(),
//!     users: [ann.clone()].into(),
//!     ..MembershipFacts::default()
//! };
//! let at = time::OffsetDateTime::UNIX_EPOCH;
//! let planned = plan::membership(&group, &edits, &facts, at).unwrap();
//! assert_eq!(planned.add, vec![ann]);
//! assert_eq!(planned.remove, vec![bob]);
//! assert_eq!(planned.changes.len(), 2);
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use time::OffsetDateTime;

mod nested_writes;
mod nesting;
mod roles;
pub use nested_writes::{
    NestingReads, ancestor_groups, check_member_groups, nested_group_write_roles,
    nested_user_write_roles,
};
pub use nesting::{
    DEFAULT_MAX_GROUP_DEPTH, NestedEffect, NestedRoleFacts, NestedUser, NestingRefusal,
    check_nesting, effective_groups, nested_role_changes,
};
pub use roles::{
    GroupRoleReads, RoleEffect, RoleGroup, RoleUser, group_role_reads, group_write_roles,
    role_changes, role_read_ids, user_role_reads, user_write_roles,
};

use super::{DirectoryEdit, EntityKind, MembershipEdit, StoreError, UniqueAttribute};
use crate::model::{
    Change, ChangeKind, Directory, DirectoryId, DirectoryState, Group, GroupId, ResourceId,
    RolesDelta, UniqueKey, User, UserId, UserState,
};

/// A change-log entry before the backend numbers it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeDraft {
    /// What happened.
    pub kind: ChangeKind,
    /// The user, group or directory changed (as for [`Change::resource_id`]).
    pub resource_id: ResourceId,
    /// For membership changes, the user who joined or left.
    pub member_id: Option<UserId>,
    /// For membership changes of a member group, the group that joined or left.
    pub member_group_id: Option<GroupId>,
    /// The write's time, as the caller gave it.
    pub at: OffsetDateTime,
    /// The user as of this change: the stored user for user kinds (set by the planner),
    /// the member for membership kinds (set by [`GroupPlan::with_member_snapshots`]).
    pub user: Option<Arc<User>>,
    /// The group as of this change, for group and membership kinds (set by the planner).
    pub group: Option<Arc<Group>>,
    /// For [`ChangeKind::RolesChanged`], the roles before and after.
    pub roles: Option<RolesDelta>,
}

// As for `Change`: every field compares as a total equivalence.
impl Eq for ChangeDraft {}

impl ChangeDraft {
    /// An entry of `kind` about `resource_id` at `at`, with no member, no snapshot and
    /// no roles.
    pub fn new(kind: ChangeKind, resource_id: impl Into<ResourceId>, at: OffsetDateTime) -> Self {
        Self {
            kind,
            resource_id: resource_id.into(),
            member_id: None,
            member_group_id: None,
            at,
            user: None,
            group: None,
            roles: None,
        }
    }

    /// The entry with its place in the directory's log, snapshots and roles included.
    pub fn numbered(self, directory: &DirectoryId, seq: u64) -> Change {
        let mut change = Change::new(
            seq,
            directory.clone(),
            self.kind,
            self.resource_id,
            self.member_id,
            self.at,
        );
        if let Some(member) = self.member_group_id {
            change = change.with_member_group(member);
        }
        if let Some(user) = self.user {
            change = change.with_user_snapshot(user);
        }
        if let Some(roles) = self.roles {
            change = change.with_roles(roles);
        }
        if let Some(group) = self.group {
            change = change.with_group_snapshot(group);
        }
        change
    }
}

/// Numbers `drafts` after `last_seq`, the directory's latest `seq`.
pub fn number(directory: &DirectoryId, last_seq: u64, drafts: Vec<ChangeDraft>) -> Vec<Change> {
    drafts
        .into_iter()
        .zip(last_seq + 1..)
        .map(|(draft, seq)| draft.numbered(directory, seq))
        .collect()
}

/// The normalised keys a backend indexes a user under.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserIndexKeys {
    /// `userName`, lower-cased (compared case-insensitively).
    pub user_name: String,
    /// `externalId`, exact.
    pub external_id: Option<String>,
    /// Every `emails[].value`, lower-cased, each once.
    pub emails: Vec<String>,
}

/// The index keys of `user`.
pub fn user_index_keys(user: &User) -> UserIndexKeys {
    let mut emails: Vec<String> = user.email_values().map(str::to_lowercase).collect();
    emails.sort();
    emails.dedup();
    UserIndexKeys {
        user_name: user_name_key(user.user_name()),
        external_id: user.external_id().map(str::to_owned),
        emails,
    }
}

/// The normalised keys a backend indexes a group under.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupIndexKeys {
    /// `displayName`, lower-cased.
    pub display_name: String,
    /// `externalId`, exact.
    pub external_id: Option<String>,
}

/// The index keys of `group`.
pub fn group_index_keys(group: &Group) -> GroupIndexKeys {
    GroupIndexKeys {
        display_name: group.display_name.to_lowercase(),
        external_id: group.external_id().map(str::to_owned),
    }
}

/// How a `userName` (or any case-insensitive key) is compared: lower-cased.
pub fn user_name_key(user_name: &str) -> String {
    user_name.to_lowercase()
}

/// The normalised value of an indexed lookup key, as the index stores it.
pub fn user_key_value(key: &super::UserKey) -> String {
    match key {
        super::UserKey::UserName(v) | super::UserKey::Email(v) => v.to_lowercase(),
        super::UserKey::ExternalId(v) => v.clone(),
    }
}

/// The normalised value of an indexed group lookup key.
pub fn group_key_value(key: &super::GroupKey) -> String {
    match key {
        super::GroupKey::DisplayName(v) => v.to_lowercase(),
        super::GroupKey::ExternalId(v) => v.clone(),
    }
}

/// What a user write stores and records. No changes means nothing is written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UserPlan {
    /// The user as stored (the stored one, untouched, for a no-op), without
    /// [`User::unique_keys`].
    pub user: User,
    /// The declared unique keys the user holds once the write commits, sorted, each once
    /// ([`held_unique_keys`] of the written user): the backend replaces the keys it held
    /// before with these, after [`check_unique_keys`]. Empty for a no-op, which keeps
    /// whatever the user held.
    pub unique_keys: Vec<UniqueKey>,
    /// The change-log entries to record.
    pub changes: Vec<ChangeDraft>,
}

impl UserPlan {
    /// Whether the write changes nothing and must store nothing.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The declared unique keys `user` holds once written: its [`User::unique_keys`],
/// sorted and each once, if it is active; none otherwise (as for `userName`, only active
/// users hold values, so deactivating or deleting a user releases them).
pub fn held_unique_keys(user: &User) -> Vec<UniqueKey> {
    if user.state != UserState::Active {
        return Vec::new();
    }
    sorted_keys(&user.unique_keys)
}

/// The declared unique keys `group` holds once written: its [`Group::unique_keys`],
/// sorted and each once, unless it is deleted (deleting a group releases them).
pub fn held_group_unique_keys(group: &Group) -> Vec<UniqueKey> {
    if group.deleted {
        return Vec::new();
    }
    sorted_keys(&group.unique_keys)
}

fn sorted_keys(keys: &[UniqueKey]) -> Vec<UniqueKey> {
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    keys
}

/// Refuses `planned` with [`StoreError::AttributeTaken`] if a user other than the
/// written one holds one of [`UserPlan::unique_keys`]. `holders` are the current holders
/// of those keys, as the backend read them under the lock (or in the transaction) that
/// orders the write; keys nobody holds are left out. A no-op claims nothing and passes.
pub fn check_unique_keys<'a>(
    planned: &UserPlan,
    holders: impl IntoIterator<Item = (&'a UniqueKey, &'a UserId)>,
) -> Result<(), StoreError> {
    if planned.is_noop() {
        return Ok(());
    }
    refuse_held_by_others(&planned.unique_keys, &planned.user.id, holders)
}

/// [`check_unique_keys`] for a group write: refuses `planned` if a group other than the
/// written one holds one of the [`GroupPlan::unique_keys`] it claims. `holders` are the
/// current group holders of those keys (users' keys are another namespace). A write that
/// claims nothing (`None`) passes.
pub fn check_group_unique_keys<'a>(
    planned: &GroupPlan,
    holders: impl IntoIterator<Item = (&'a UniqueKey, &'a GroupId)>,
) -> Result<(), StoreError> {
    match &planned.unique_keys {
        Some(claimed) => refuse_held_by_others(claimed, &planned.group.id, holders),
        None => Ok(()),
    }
}

/// `AttributeTaken` for the first of `holders` that is not `writer` and holds a key of
/// `claimed` (sorted).
fn refuse_held_by_others<'a, I: PartialEq + 'a>(
    claimed: &[UniqueKey],
    writer: &I,
    holders: impl IntoIterator<Item = (&'a UniqueKey, &'a I)>,
) -> Result<(), StoreError> {
    for (key, holder) in holders {
        if holder != writer && claimed.binary_search(key).is_ok() {
            return Err(StoreError::AttributeTaken {
                attribute: key.attribute.clone(),
            });
        }
    }
    Ok(())
}

fn user_name_check(user: &User, user_name_taken: bool) -> Result<(), StoreError> {
    if user.state == UserState::Active && user_name_taken {
        Err(StoreError::Conflict(UniqueAttribute::UserName))
    } else {
        Ok(())
    }
}

/// Plans a new user. `user_name_taken`: another active user of the directory holds its
/// `userName` (compared by [`user_name_key`]).
pub fn insert_user(mut user: User, user_name_taken: bool) -> Result<UserPlan, StoreError> {
    user_name_check(&user, user_name_taken)?;
    let unique_keys = held_unique_keys(&user);
    user.unique_keys = Vec::new();
    user.meta.version = 1;
    let change = ChangeDraft {
        kind: ChangeKind::UserCreated,
        resource_id: user.id.clone().into(),
        member_id: None,
        member_group_id: None,
        at: user.meta.last_modified,
        user: Some(Arc::new(user.clone())),
        group: None,
        roles: None,
    };
    Ok(UserPlan {
        user,
        unique_keys,
        changes: vec![change],
    })
}

/// Plans a user replacement over `stored` (the backend's current copy, `None` if absent).
/// `user_name_taken` as for [`insert_user`], counting users other than this one.
pub fn update_user(
    stored: Option<&User>,
    mut user: User,
    expected_version: u64,
    user_name_taken: bool,
) -> Result<UserPlan, StoreError> {
    let stored = stored.ok_or_else(|| StoreError::not_found(EntityKind::User, &user.id))?;
    if stored.meta.version != expected_version {
        return Err(StoreError::Precondition {
            expected: expected_version,
            actual: stored.meta.version,
        });
    }
    // Same document, same keys claimed: a user stored before its directory's extensions
    // declared an attribute unique keeps what it holds until it changes.
    if stored.attributes == user.attributes
        && stored.email == user.email
        && stored.state == user.state
    {
        return Ok(UserPlan {
            user: stored.clone(),
            unique_keys: Vec::new(),
            changes: Vec::new(),
        });
    }
    user_name_check(&user, user_name_taken)?;
    let unique_keys = held_unique_keys(&user);
    user.unique_keys = Vec::new();
    user.directory_id = stored.directory_id.clone();
    user.meta.created = stored.meta.created;
    user.meta.version = expected_version + 1;
    let change = ChangeDraft {
        kind: ChangeKind::for_user(Some(stored.state), user.state),
        resource_id: user.id.clone().into(),
        member_id: None,
        member_group_id: None,
        at: user.meta.last_modified,
        user: Some(Arc::new(user.clone())),
        group: None,
        roles: None,
    };
    Ok(UserPlan {
        user,
        unique_keys,
        changes: vec![change],
    })
}

/// What a backend must read before planning membership edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MembershipReads {
    /// Every user the edits name, in id order, each once: read whether each is a member.
    pub named: Vec<UserId>,
    /// The users the edits add: read whether each is a user of the directory.
    pub added: Vec<UserId>,
    /// Every group the edits name, in id order, each once: read whether each is a member
    /// group.
    pub named_groups: Vec<GroupId>,
    /// The groups the edits add: read whether each is a group of the directory, not
    /// deleted.
    pub added_groups: Vec<GroupId>,
    /// Whether the edits remove every member, so the whole member list (users and member
    /// groups) must be read.
    pub all_members: bool,
}

/// What `edits` need read.
pub fn membership_reads(edits: &[MembershipEdit]) -> MembershipReads {
    let mut named = BTreeSet::new();
    let mut added = BTreeSet::new();
    let mut named_groups = BTreeSet::new();
    let mut added_groups = BTreeSet::new();
    let mut all_members = false;
    for edit in edits {
        match edit {
            MembershipEdit::Add(user) => {
                named.insert(user.clone());
                added.insert(user.clone());
            }
            MembershipEdit::Remove(user) => {
                named.insert(user.clone());
            }
            MembershipEdit::AddGroup(group) => {
                named_groups.insert(group.clone());
                added_groups.insert(group.clone());
            }
            MembershipEdit::RemoveGroup(group) => {
                named_groups.insert(group.clone());
            }
            MembershipEdit::RemoveAll => all_members = true,
        }
    }
    MembershipReads {
        named: named.into_iter().collect(),
        added: added.into_iter().collect(),
        named_groups: named_groups.into_iter().collect(),
        added_groups: added_groups.into_iter().collect(),
        all_members,
    }
}

/// What the backend read, as [`membership_reads`] asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "facts a backend builds for the planner"
)]
pub struct MembershipFacts {
    /// Which of the named users (every member, when `all_members`) are members now.
    pub members: BTreeSet<UserId>,
    /// Which of the added users are users of the directory.
    pub users: BTreeSet<UserId>,
    /// Which of the named groups (every member group, when `all_members`) are member
    /// groups now.
    pub member_groups: BTreeSet<GroupId>,
    /// Which of the added groups are groups of the directory, not deleted.
    pub groups: BTreeSet<GroupId>,
}

/// The net effect of membership edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MembershipPlan {
    /// Users to add to the group, in id order.
    pub add: Vec<UserId>,
    /// Users to remove from the group, in id order.
    pub remove: Vec<UserId>,
    /// Member groups to add, in id order (each to be checked with [`check_nesting`]).
    pub add_groups: Vec<GroupId>,
    /// Member groups to remove, in id order.
    pub remove_groups: Vec<GroupId>,
    /// `group.member_removed` then `group.member_added` entries (users, then groups).
    pub changes: Vec<ChangeDraft>,
}

impl MembershipPlan {
    /// Whether membership stays as it is.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.remove.is_empty()
            && self.add_groups.is_empty()
            && self.remove_groups.is_empty()
    }

    /// The users whose membership changes, in id order, each once: the users a backend
    /// reads (one batch) for the membership changes' snapshots
    /// ([`GroupPlan::with_member_snapshots`]). As many as the user entries the write
    /// records.
    pub fn changed_members(&self) -> Vec<UserId> {
        let all: BTreeSet<&UserId> = self.add.iter().chain(&self.remove).collect();
        all.into_iter().cloned().collect()
    }
}

/// Applies `edits` in order to the membership `facts` describe and returns the net
/// difference: a member removed and added back in one request is left alone, and a replace
/// with the same members records nothing. `NotFound` for an added user that is not a user
/// of the directory, or an added group that is not a group of it (or is deleted). Nesting
/// rules are checked separately ([`check_member_groups`]), against the stored graph.
pub fn membership(
    group: &GroupId,
    edits: &[MembershipEdit],
    facts: &MembershipFacts,
    at: OffsetDateTime,
) -> Result<MembershipPlan, StoreError> {
    let mut current = facts.members.clone();
    let mut current_groups = facts.member_groups.clone();
    for edit in edits {
        match edit {
            MembershipEdit::Add(user) => {
                if !facts.users.contains(user) {
                    return Err(StoreError::not_found(EntityKind::User, user));
                }
                current.insert(user.clone());
            }
            MembershipEdit::Remove(user) => {
                current.remove(user);
            }
            MembershipEdit::AddGroup(member) => {
                if !facts.groups.contains(member) {
                    return Err(StoreError::not_found(EntityKind::Group, member));
                }
                current_groups.insert(member.clone());
            }
            MembershipEdit::RemoveGroup(member) => {
                current_groups.remove(member);
            }
            MembershipEdit::RemoveAll => {
                current.clear();
                current_groups.clear();
            }
        }
    }
    let remove: Vec<UserId> = facts.members.difference(&current).cloned().collect();
    let add: Vec<UserId> = current.difference(&facts.members).cloned().collect();
    let remove_groups: Vec<GroupId> = facts
        .member_groups
        .difference(&current_groups)
        .cloned()
        .collect();
    let add_groups: Vec<GroupId> = current_groups
        .difference(&facts.member_groups)
        .cloned()
        .collect();
    let draft = |kind, user: &UserId| ChangeDraft {
        member_id: Some(user.clone()),
        ..ChangeDraft::new(kind, group.clone(), at)
    };
    let group_draft = |kind, member: &GroupId| ChangeDraft {
        member_group_id: Some(member.clone()),
        ..ChangeDraft::new(kind, group.clone(), at)
    };
    let changes = remove
        .iter()
        .map(|u| draft(ChangeKind::GroupMemberRemoved, u))
        .chain(
            remove_groups
                .iter()
                .map(|g| group_draft(ChangeKind::GroupMemberRemoved, g)),
        )
        .chain(add.iter().map(|u| draft(ChangeKind::GroupMemberAdded, u)))
        .chain(
            add_groups
                .iter()
                .map(|g| group_draft(ChangeKind::GroupMemberAdded, g)),
        )
        .collect();
    Ok(MembershipPlan {
        add,
        remove,
        add_groups,
        remove_groups,
        changes,
    })
}

/// What a group write stores and records.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GroupPlan {
    /// The group as stored (the stored one, untouched, for a no-op), without
    /// [`Group::unique_keys`].
    pub group: Group,
    /// The declared unique keys the group holds once the write commits, sorted, each
    /// once ([`held_group_unique_keys`] of the written group; none for a deleted one),
    /// when the write stores the group's document: the backend replaces the keys the
    /// group held with these, after [`check_group_unique_keys`]. `None` when the
    /// document, name and deleted-ness stay (a no-op, a membership-only write,
    /// [`edit_members`]), which keeps whatever the group held.
    pub unique_keys: Option<Vec<UniqueKey>>,
    /// The membership to change.
    pub membership: MembershipPlan,
    /// Every change-log entry to record: the group's own, then the membership's.
    pub changes: Vec<ChangeDraft>,
}

impl GroupPlan {
    /// Whether the write changes nothing and must store nothing.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }

    /// Attaches each member's snapshot (the users of
    /// [`MembershipPlan::changed_members`], as stored when the write commits) to the
    /// membership changes that name it. A member not among `members` keeps none.
    pub fn with_member_snapshots(mut self, members: impl IntoIterator<Item = User>) -> Self {
        let members: std::collections::BTreeMap<UserId, Arc<User>> = members
            .into_iter()
            .map(|u| (u.id.clone(), Arc::new(u)))
            .collect();
        for change in &mut self.changes {
            if let Some(member) = change.member_id.as_ref().and_then(|m| members.get(m)) {
                change.user = Some(member.clone());
            }
        }
        self
    }
}

/// The group as every change of its write records it.
fn with_group_snapshot(group: &Group, changes: &mut [ChangeDraft]) {
    if changes.is_empty() {
        return;
    }
    let snapshot = Arc::new(group.clone());
    for change in changes {
        change.group = Some(snapshot.clone());
    }
}

/// The edits a new group's members make: each user added, then each member group.
pub fn insert_edits(members: &[UserId], member_groups: &[GroupId]) -> Vec<MembershipEdit> {
    members
        .iter()
        .cloned()
        .map(MembershipEdit::Add)
        .chain(member_groups.iter().cloned().map(MembershipEdit::AddGroup))
        .collect()
}

/// Plans a new group with `membership` (from [`membership`] over empty facts and
/// the [`insert_edits`]).
pub fn insert_group(mut group: Group, membership: MembershipPlan) -> GroupPlan {
    let unique_keys = held_group_unique_keys(&group);
    group.unique_keys = Vec::new();
    group.meta.version = 1;
    let mut changes = vec![ChangeDraft {
        kind: ChangeKind::GroupCreated,
        resource_id: group.id.clone().into(),
        member_id: None,
        member_group_id: None,
        at: group.meta.last_modified,
        user: None,
        group: None,
        roles: None,
    }];
    changes.extend(membership.changes.iter().cloned());
    with_group_snapshot(&group, &mut changes);
    GroupPlan {
        group,
        unique_keys: Some(unique_keys),
        membership,
        changes,
    }
}

/// Plans a group replacement over `stored`, with the membership change planned for it.
pub fn update_group(
    stored: Option<&Group>,
    mut group: Group,
    expected_version: u64,
    membership: MembershipPlan,
) -> Result<GroupPlan, StoreError> {
    let stored = stored.ok_or_else(|| StoreError::not_found(EntityKind::Group, &group.id))?;
    if stored.meta.version != expected_version {
        return Err(StoreError::Precondition {
            expected: expected_version,
            actual: stored.meta.version,
        });
    }
    let same_document = stored.attributes == group.attributes
        && stored.display_name == group.display_name
        && stored.deleted == group.deleted;
    if same_document && membership.is_empty() {
        return Ok(GroupPlan {
            group: stored.clone(),
            unique_keys: None,
            membership,
            changes: Vec::new(),
        });
    }
    // Same document, same keys: a group stored before its directory's extensions
    // declared an attribute unique keeps what it holds until the document changes.
    let unique_keys = (!same_document).then(|| held_group_unique_keys(&group));
    group.unique_keys = Vec::new();
    group.directory_id = stored.directory_id.clone();
    group.meta.created = stored.meta.created;
    group.meta.version = expected_version + 1;
    let mut changes = Vec::new();
    if !same_document {
        changes.push(ChangeDraft {
            kind: ChangeKind::for_group(Some(stored.deleted), group.deleted),
            resource_id: group.id.clone().into(),
            member_id: None,
            member_group_id: None,
            at: group.meta.last_modified,
            user: None,
            group: None,
            roles: None,
        });
    }
    changes.extend(membership.changes.iter().cloned());
    with_group_snapshot(&group, &mut changes);
    Ok(GroupPlan {
        group,
        unique_keys,
        membership,
        changes,
    })
}

/// Plans membership edits without a version check over `stored` (absent or deleted:
/// `NotFound`): the version is bumped and `lastModified` set to `at` only if membership
/// changes.
pub fn edit_members(
    stored: Option<&Group>,
    group_id: &GroupId,
    membership: MembershipPlan,
    at: OffsetDateTime,
) -> Result<GroupPlan, StoreError> {
    let stored = stored
        .filter(|g| !g.deleted)
        .ok_or_else(|| StoreError::not_found(EntityKind::Group, group_id))?;
    let mut group = stored.clone();
    if !membership.is_empty() {
        group.meta.version += 1;
        group.meta.last_modified = at;
    }
    let mut changes = membership.changes.clone();
    with_group_snapshot(&group, &mut changes);
    Ok(GroupPlan {
        group,
        unique_keys: None,
        membership,
        changes,
    })
}

/// What a directory write stores and records. No changes and an unchanged directory mean
/// nothing is written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DirectoryPlan {
    /// The directory as stored.
    pub directory: Directory,
    /// Whether the directory differs from the stored one (and must be written).
    pub changed: bool,
    /// The change-log entries to record.
    pub changes: Vec<ChangeDraft>,
}

/// Plans [`DirectoryStore::touch_directory`](super::DirectoryStore::touch_directory) over
/// `stored`: `last_request_at` moves forward to `at` (never back), and a pending directory
/// becomes active with a `directory.activated` entry. Other states are kept.
pub fn touch_directory(
    stored: Option<&Directory>,
    id: &DirectoryId,
    at: OffsetDateTime,
) -> Result<DirectoryPlan, StoreError> {
    let stored = stored.ok_or_else(|| StoreError::not_found(EntityKind::Directory, id))?;
    let mut directory = stored.clone();
    if directory.last_request_at.is_none_or(|last| last < at) {
        directory.last_request_at = Some(at);
    }
    let mut changes = Vec::new();
    if directory.state == DirectoryState::Pending {
        directory.state = DirectoryState::Active;
        changes.push(ChangeDraft::new(
            ChangeKind::DirectoryActivated,
            id.clone(),
            at,
        ));
    }
    Ok(DirectoryPlan {
        changed: directory != *stored,
        directory,
        changes,
    })
}

/// Plans [`DirectoryStore::edit_directory`](super::DirectoryStore::edit_directory) over
/// `stored`: `NotFound` if it is absent or [deleted](DirectoryState::Deleted). The edits
/// apply in order; the entries recorded follow from the state before and after the whole
/// call (`directory.disabled`, `directory.enabled`, `directory.deleted`) and from whether
/// the role mapping changed (`directory.role_mapping_changed`) and the schema extensions
/// (`directory.schema_extensions_changed`).
pub fn edit_directory(
    stored: Option<&Directory>,
    id: &DirectoryId,
    edits: &[DirectoryEdit],
    at: OffsetDateTime,
) -> Result<DirectoryPlan, StoreError> {
    let stored = stored
        .filter(|d| d.state != DirectoryState::Deleted)
        .ok_or_else(|| StoreError::not_found(EntityKind::Directory, id))?;
    let mut directory = stored.clone();
    for edit in edits {
        match edit {
            DirectoryEdit::Name(name) => directory.name = name.clone(),
            DirectoryEdit::Idp(idp) => directory.idp = *idp,
            DirectoryEdit::Roles(roles) => directory.roles = roles.clone(),
            DirectoryEdit::Fields(fields) => directory.fields = fields.clone(),
            DirectoryEdit::SchemaExtensions(extensions) => {
                directory.schema_extensions = extensions.clone();
            }
            DirectoryEdit::Disable => {
                if directory.state.serves() {
                    directory.state = DirectoryState::Disabled;
                }
            }
            DirectoryEdit::Enable => {
                if directory.state == DirectoryState::Disabled {
                    directory.state = match directory.last_request_at {
                        Some(_) => DirectoryState::Active,
                        None => DirectoryState::Pending,
                    };
                }
            }
            DirectoryEdit::Delete => directory.state = DirectoryState::Deleted,
            DirectoryEdit::MakePrimary => directory.primary = true,
        }
    }
    let mut changes = Vec::new();
    let kind = match (stored.state.serves(), directory.state) {
        (_, DirectoryState::Deleted) => Some(ChangeKind::DirectoryDeleted),
        (true, DirectoryState::Disabled) => Some(ChangeKind::DirectoryDisabled),
        (false, DirectoryState::Pending | DirectoryState::Active) => {
            Some(ChangeKind::DirectoryEnabled)
        }
        _ => None,
    };
    if let Some(kind) = kind {
        changes.push(ChangeDraft::new(kind, id.clone(), at));
    }
    if directory.roles != stored.roles {
        changes.push(ChangeDraft::new(
            ChangeKind::RoleMappingChanged,
            id.clone(),
            at,
        ));
    }
    if directory.schema_extensions != stored.schema_extensions {
        changes.push(ChangeDraft::new(
            ChangeKind::SchemaExtensionsChanged,
            id.clone(),
            at,
        ));
    }
    Ok(DirectoryPlan {
        changed: directory != *stored,
        directory,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Meta;
    use serde_json::json;

    fn at() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    fn uid(n: u128) -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn user(state: UserState) -> User {
        User {
            id: uid(1),
            directory_id: DirectoryId::from_uuid(uuid::Uuid::from_u128(9)),
            email: Some("ann@example.com".into()),
            state,
            attributes: json!({"userName": "ann@example.com"}),
            meta: Meta::new(at()),
            unique_keys: Vec::new(),
        }
    }

    #[test]
    fn an_active_user_cannot_take_a_held_user_name_but_an_inactive_one_can() {
        assert!(matches!(
            insert_user(user(UserState::Active), true),
            Err(StoreError::Conflict(UniqueAttribute::UserName))
        ));
        assert!(insert_user(user(UserState::Deactivated), true).is_ok());
    }

    #[test]
    fn an_update_with_a_stale_version_is_a_precondition_failure() {
        let stored = user(UserState::Active);
        let mut next = stored.clone();
        next.attributes = json!({"userName": "ann@example.com", "title": "x"});
        let err = update_user(Some(&stored), next, 7, false).unwrap_err();
        assert!(matches!(
            err,
            StoreError::Precondition {
                expected: 7,
                actual: 1
            }
        ));
    }

    #[test]
    fn an_update_that_changes_nothing_keeps_the_version_and_records_nothing() {
        let stored = user(UserState::Active);
        let mut same = stored.clone();
        same.meta.last_modified = at() + time::Duration::hours(1);
        let planned = update_user(Some(&stored), same, 1, false).unwrap();
        assert!(planned.is_noop());
        assert_eq!(planned.user, stored);
    }

    #[test]
    fn deactivation_and_restoration_are_recorded_as_such() {
        let stored = user(UserState::Active);
        let mut off = stored.clone();
        off.state = UserState::Deactivated;
        let planned = update_user(Some(&stored), off.clone(), 1, false).unwrap();
        assert_eq!(planned.changes[0].kind, ChangeKind::UserDeactivated);
        assert_eq!(planned.user.meta.version, 2);
        let mut on = planned.user.clone();
        on.state = UserState::Active;
        let planned = update_user(Some(&planned.user), on, 2, false).unwrap();
        assert_eq!(planned.changes[0].kind, ChangeKind::UserRestored);
    }

    #[test]
    fn declared_unique_keys_are_claimed_by_active_users_only() {
        let badge = UniqueKey::new("urn:example:2.0:User:badge", "b-1");
        let claiming = |state| user(state).with_unique_keys(vec![badge.clone(), badge.clone()]);
        let planned = insert_user(claiming(UserState::Active), false).unwrap();
        assert_eq!(planned.unique_keys, vec![badge.clone()]);
        assert!(planned.user.unique_keys.is_empty());
        let other = uid(2);
        assert!(matches!(
            check_unique_keys(&planned, [(&badge, &other)]),
            Err(StoreError::AttributeTaken { attribute }) if attribute == badge.attribute
        ));
        assert!(check_unique_keys(&planned, [(&badge, &planned.user.id)]).is_ok());
        let inactive = insert_user(claiming(UserState::Deactivated), false).unwrap();
        assert!(inactive.unique_keys.is_empty());
        assert!(check_unique_keys(&inactive, [(&badge, &other)]).is_ok());
    }

    #[test]
    fn declared_group_unique_keys_are_held_while_not_deleted_and_kept_by_membership_writes() {
        let code = UniqueKey::new("urn:example:2.0:Group:code", "c-1");
        let (gid, other) = (
            GroupId::from_uuid(uuid::Uuid::from_u128(5)),
            GroupId::from_uuid(uuid::Uuid::from_u128(6)),
        );
        let dir = DirectoryId::from_uuid(uuid::Uuid::from_u128(9));
        let eng = Group::new(gid.clone(), dir, "Eng", json!({}), Meta::new(at()));
        let claiming = |group: Group| group.with_unique_keys(vec![code.clone(), code.clone()]);
        let planned = insert_group(claiming(eng), MembershipPlan::default());
        assert_eq!(planned.unique_keys, Some(vec![code.clone()]));
        assert!(planned.group.unique_keys.is_empty());
        assert!(matches!(
            check_group_unique_keys(&planned, [(&code, &other)]),
            Err(StoreError::AttributeTaken { attribute }) if attribute == code.attribute
        ));
        assert!(check_group_unique_keys(&planned, [(&code, &gid)]).is_ok());

        let stored = planned.group;
        let facts = MembershipFacts {
            users: [uid(1)].into(),
            ..MembershipFacts::default()
        };
        let members_only = membership(&gid, &[MembershipEdit::Add(uid(1))], &facts, at()).unwrap();
        let kept = update_group(Some(&stored), claiming(stored.clone()), 1, members_only).unwrap();
        assert!(!kept.is_noop());
        assert_eq!(
            kept.unique_keys, None,
            "a membership-only write keeps its keys"
        );
        assert!(check_group_unique_keys(&kept, [(&code, &other)]).is_ok());

        let deleted = claiming(stored.clone().with_deleted(true));
        let deleted = update_group(Some(&stored), deleted, 1, MembershipPlan::default()).unwrap();
        assert_eq!(deleted.unique_keys, Some(Vec::new()), "deleting releases");
        let restored = claiming(deleted.group.clone().with_deleted(false));
        let restored =
            update_group(Some(&deleted.group), restored, 2, MembershipPlan::default()).unwrap();
        assert_eq!(
            restored.unique_keys,
            Some(vec![code.clone()]),
            "restoring claims"
        );
    }

    #[test]
    fn membership_is_planned_as_the_net_difference() {
        let group = GroupId::from_uuid(uuid::Uuid::from_u128(5));
        let facts = MembershipFacts {
            members: [uid(1), uid(2)].into(),
            users: [uid(1), uid(2), uid(3)].into(),
            ..MembershipFacts::default()
        };
        let edits = [
            MembershipEdit::RemoveAll,
            MembershipEdit::Add(uid(1)),
            MembershipEdit::Add(uid(3)),
            MembershipEdit::Remove(uid(4)),
        ];
        let planned = membership(&group, &edits, &facts, at()).unwrap();
        assert_eq!(planned.add, vec![uid(3)]);
        assert_eq!(planned.remove, vec![uid(2)]);
        let kinds: Vec<_> = planned.changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [ChangeKind::GroupMemberRemoved, ChangeKind::GroupMemberAdded]
        );
    }

    #[test]
    fn adding_a_user_outside_the_directory_is_refused() {
        let group = GroupId::from_uuid(uuid::Uuid::from_u128(5));
        let err = membership(
            &group,
            &[MembershipEdit::Add(uid(8))],
            &MembershipFacts::default(),
            at(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            StoreError::NotFound {
                kind: EntityKind::User,
                ..
            }
        ));
    }

    #[test]
    fn reads_name_each_user_once_and_flag_remove_all() {
        let reads = membership_reads(&[
            MembershipEdit::Add(uid(2)),
            MembershipEdit::Remove(uid(2)),
            MembershipEdit::Remove(uid(1)),
        ]);
        assert_eq!(reads.named, vec![uid(1), uid(2)]);
        assert_eq!(reads.added, vec![uid(2)]);
        assert!(!reads.all_members);
    }
}
