//! The per-directory change log: what happened, in order.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::entity::UserState;
use super::id::{DirectoryId, UserId};

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
    /// A user joined a group.
    #[serde(rename = "group.member_added")]
    GroupMemberAdded,
    /// A user left a group.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// Position in the directory's log: starts at 1, strictly increasing, no gaps.
    pub seq: u64,
    /// The directory.
    pub directory_id: DirectoryId,
    /// What happened.
    pub kind: ChangeKind,
    /// The user or group changed (`scim_user_...` or `scim_group_...`).
    pub resource_id: String,
    /// For membership changes, the user who joined or left.
    pub member_id: Option<UserId>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// For [`ChangeKind::RolesChanged`], the user's roles before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesDelta>,
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

impl Change {
    /// An entry with every field given (`member_id` only for membership kinds).
    pub fn new(
        seq: u64,
        directory_id: DirectoryId,
        kind: ChangeKind,
        resource_id: impl Into<String>,
        member_id: Option<UserId>,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            seq,
            directory_id,
            kind,
            resource_id: resource_id.into(),
            member_id,
            at,
            roles: None,
        }
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
