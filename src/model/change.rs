//! The per-directory change log: what happened, in order.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::entity::{Group, User, UserState};
use super::id::{DirectoryId, GroupId, ResourceId, UserId};

/// What kind of change a [`Change`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A user was created.
    #[serde(rename = "user.created")]
    UserCreated,
    /// A user's attributes changed.
    #[serde(rename = "user.updated")]
    UserUpdated,
    /// A user was DELETEd by the IdP (gone from SCIM, kept for the vendor).
    #[serde(rename = "user.deleted")]
    UserDeleted,
    /// A user was deactivated (`active: false`; still visible to the IdP).
    #[serde(rename = "user.deactivated")]
    UserDeactivated,
    /// A deleted or deactivated user came back.
    #[serde(rename = "user.restored")]
    UserRestored,
    /// A group was created.
    #[serde(rename = "group.created")]
    GroupCreated,
    /// A group's attributes changed.
    #[serde(rename = "group.updated")]
    GroupUpdated,
    /// A group was deleted.
    #[serde(rename = "group.deleted")]
    GroupDeleted,
    /// A user joined a group ([`Change::member_id`]), or a group became one of its member
    /// groups ([`Change::member_group_id`]).
    #[serde(rename = "group.member_added")]
    GroupMemberAdded,
    /// A user left a group, or a member group was removed from it.
    #[serde(rename = "group.member_removed")]
    GroupMemberRemoved,
    /// A user's effective roles (see [`RoleMapping`](super::RoleMapping)) changed; the
    /// change's [`Change::roles`] holds them before and after. `resource_id` is the user.
    #[serde(rename = "user.roles_changed")]
    RolesChanged,
    /// The first authenticated request from an identity provider made a pending directory
    /// active. `resource_id` is the directory.
    #[serde(rename = "directory.activated")]
    DirectoryActivated,
    /// The vendor disabled the directory: SCIM requests are refused, the data is kept.
    #[serde(rename = "directory.disabled")]
    DirectoryDisabled,
    /// The vendor enabled a disabled directory again.
    #[serde(rename = "directory.enabled")]
    DirectoryEnabled,
    /// The vendor deleted the directory: its tokens are gone, its data is kept until
    /// purged.
    #[serde(rename = "directory.deleted")]
    DirectoryDeleted,
    /// The vendor changed the directory's group-to-role mapping. No `RolesChanged` entries
    /// follow it: a subscriber re-reads the users' roles (one page call per page of users).
    #[serde(rename = "directory.role_mapping_changed")]
    RoleMappingChanged,
    /// The vendor changed the schema extensions the directory declares (see
    /// [`Directory::schema_extensions`](super::Directory::schema_extensions)); users'
    /// documents are not rewritten. `resource_id` is the directory.
    #[serde(rename = "directory.schema_extensions_changed")]
    SchemaExtensionsChanged,
}

impl ChangeKind {
    /// The change a user write records, from the state before (None: it is new) to after.
    pub fn for_user(before: Option<UserState>, after: UserState) -> Self {
        match (before, after) {
            (None, _) => ChangeKind::UserCreated,
            (Some(UserState::Active | UserState::Deactivated), UserState::Deleted) => {
                ChangeKind::UserDeleted
            }
            (Some(UserState::Active), UserState::Deactivated) => ChangeKind::UserDeactivated,
            (Some(UserState::Deactivated | UserState::Deleted), UserState::Active) => {
                ChangeKind::UserRestored
            }
            (Some(_), _) => ChangeKind::UserUpdated,
        }
    }

    /// Whether the change ends a user's access: [`ChangeKind::UserDeleted`] or
    /// [`ChangeKind::UserDeactivated`] (the vendor's sync treats both as deprovisioning).
    pub fn deprovisions(self) -> bool {
        matches!(self, ChangeKind::UserDeleted | ChangeKind::UserDeactivated)
    }

    /// The change a group write records.
    pub fn for_group(before_deleted: Option<bool>, after_deleted: bool) -> Self {
        match (before_deleted, after_deleted) {
            (None, _) => ChangeKind::GroupCreated,
            (Some(false), true) => ChangeKind::GroupDeleted,
            _ => ChangeKind::GroupUpdated,
        }
    }
}

/// One entry of a directory's change log. `#[non_exhaustive]`: read its fields; build
/// one (in a backend or a test double) with [`Change::new`].
///
/// A change carries a snapshot of what it changed, as of that change: [`Change::user`]
/// for user changes, [`Change::group`] for group changes, and both on membership changes
/// (the group after the edit, the member as it stood). A consumer that forwards events
/// reads them from the change itself, so no read-back can race a later write. Entries
/// written before snapshots existed (an older sled database, a PostgreSQL schema before
/// migration 3) have none.
///
/// ```
/// use scimkit::model::{Change, ChangeKind, DirectoryId, Meta, User, UserId};
/// # let (dir, id) = (DirectoryId::from_uuid(uuid::Uuid::now_v7()), UserId::from_uuid(uuid::Uuid::now_v7()));
/// let at = time::OffsetDateTime::UNIX_EPOCH;
/// let attributes = serde_json::json!({"userName": "ann@example.com"});
/// let user = User::new(id.clone(), dir.clone(), attributes, Meta::new(at))
///     .with_email(Some("ann@example.com".into()));
/// let change = Change::new(1, dir, ChangeKind::UserCreated, id.clone(), None, at)
///     .with_user_snapshot(user);
/// assert_eq!(change.user().map(|u| u.user_name()), Some("ann@example.com"));
/// assert!(change.group().is_none());
/// assert_eq!(change.user_id(), Some(&id));
/// assert_eq!(change.resource_id.to_string(), id.to_string());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// Position in the directory's log: starts at 1, strictly increasing, no gaps.
    pub seq: u64,
    /// The directory.
    pub directory_id: DirectoryId,
    /// What happened.
    pub kind: ChangeKind,
    /// What changed: the user (user kinds and [`ChangeKind::RolesChanged`]), the group
    /// (group and membership kinds) or the directory (directory kinds). Stored and sent
    /// as the plain id (`scim_user_...`, `scim_group_...`, `scim_directory_...`);
    /// [`Change::user_id`] and [`Change::group_id`] read it without a `match`.
    pub resource_id: ResourceId,
    /// For membership changes, the user who joined or left.
    pub member_id: Option<UserId>,
    /// For membership changes of a nested group, the member group that joined or left
    /// (`member_id` is then `None`, and there is no user snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_group_id: Option<GroupId>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The user as of this change (the member, for membership kinds). Shared, so that
    /// copies of a change (a page, a subscriber's buffer) share one document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<Arc<User>>,
    /// The group as of this change (group and membership kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<Arc<Group>>,
    /// For [`ChangeKind::RolesChanged`], the user's roles before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesDelta>,
}

// Every field compares as a total equivalence (`serde_json::Value` included); the
// entities only lack the derive.
impl Eq for Change {}

impl Change {
    /// An entry with every field given (`member_id` only for membership kinds) and no
    /// snapshot; add them with [`Change::with_user_snapshot`] and
    /// [`Change::with_group_snapshot`]. `resource_id` is a [`UserId`], [`GroupId`] or
    /// [`DirectoryId`] (or a [`ResourceId`]).
    pub fn new(
        seq: u64,
        directory_id: DirectoryId,
        kind: ChangeKind,
        resource_id: impl Into<ResourceId>,
        member_id: Option<UserId>,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            seq,
            directory_id,
            kind,
            resource_id: resource_id.into(),
            member_id,
            member_group_id: None,
            at,
            user: None,
            group: None,
            roles: None,
        }
    }

    /// The user this change is about: the changed user for user kinds and
    /// [`ChangeKind::RolesChanged`], the member for membership kinds (the user that
    /// [`Change::user`] is a snapshot of). `None` for group and directory kinds.
    pub fn user_id(&self) -> Option<&UserId> {
        self.resource_id.user().or(self.member_id.as_ref())
    }

    /// The group this change is about: for group kinds the group changed, for membership
    /// kinds the group joined or left. `None` for user and directory kinds.
    pub fn group_id(&self) -> Option<&GroupId> {
        self.resource_id.group()
    }

    /// The entry with the member group of a membership change (a nested group joining or
    /// leaving the group `resource_id` names).
    pub fn with_member_group(mut self, member: GroupId) -> Self {
        self.member_group_id = Some(member);
        self
    }

    /// The entry with the user as of this change: the changed user, or the member of a
    /// membership change.
    pub fn with_user_snapshot(mut self, user: impl Into<Arc<User>>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Takes the user snapshot out, so a backend can hold it in its own form and attach
    /// it again when the entry is read.
    pub(crate) fn take_user_snapshot(&mut self) -> Option<Arc<User>> {
        self.user.take()
    }

    /// The entry with the group as of this change (after a membership edit).
    pub fn with_group_snapshot(mut self, group: impl Into<Arc<Group>>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// The user as of this change: for user kinds the user as this change stored it, for
    /// membership kinds the member as it stood when it joined or left. `None` for group
    /// kinds and for entries written before snapshots were recorded.
    pub fn user(&self) -> Option<&User> {
        self.user.as_deref()
    }

    /// The group as of this change: for group kinds the group as stored, for membership
    /// kinds the group after the edit. `None` for user kinds and for entries written
    /// before snapshots were recorded.
    pub fn group(&self) -> Option<&Group> {
        self.group.as_deref()
    }

    /// With the roles before and after (for [`ChangeKind::RolesChanged`]).
    pub fn with_roles(mut self, roles: RolesDelta) -> Self {
        self.roles = Some(roles);
        self
    }

    /// For [`ChangeKind::RolesChanged`], the user's roles before the change.
    pub fn roles_before(&self) -> Option<&BTreeSet<String>> {
        self.roles.as_ref().map(|r| &r.before)
    }

    /// For [`ChangeKind::RolesChanged`], the user's roles after the change.
    pub fn roles_after(&self) -> Option<&BTreeSet<String>> {
        self.roles.as_ref().map(|r| &r.after)
    }
}

/// A user's effective roles before and after a [`ChangeKind::RolesChanged`] change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RolesDelta {
    /// The roles before, in order.
    pub before: BTreeSet<String>,
    /// The roles after, in order.
    pub after: BTreeSet<String>,
}

impl RolesDelta {
    /// From `before` to `after`.
    pub fn new(before: BTreeSet<String>, after: BTreeSet<String>) -> Self {
        Self { before, after }
    }

    /// The roles gained.
    pub fn added(&self) -> impl Iterator<Item = &str> {
        self.after.difference(&self.before).map(String::as_str)
    }

    /// The roles lost.
    pub fn removed(&self) -> impl Iterator<Item = &str> {
        self.before.difference(&self.after).map(String::as_str)
    }
}
