//! Storage: the [`DirectoryStore`] and [`TokenStore`] traits and the backends.
//!
//! A backend keeps documents, indexes, memberships and the change log, and makes each
//! write atomic: the entity, its index entries and its change-log entry land together or
//! not at all. It knows nothing of HTTP or SCIM semantics beyond the stored documents;
//! filtering beyond indexed equality, sorting, projection and PATCH live above it.
//!
//! The traits have no default methods on purpose: a default is a promise a backend forgets
//! to keep. Conveniences live in [`DirectoryStoreExt`].

#[cfg(feature = "conformance")]
pub mod conformance;
mod ext;
mod memory;
#[cfg(feature = "sled")]
mod sled;

#[cfg(feature = "sled")]
pub use self::sled::{FORMAT_VERSION, SledOpenError, SledStore};
pub use ext::DirectoryStoreExt;
pub use memory::MemoryStore;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use crate::error::{StoreError, UniqueAttribute};
use crate::model::{
    Change, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId, TokenHash,
    TokenId, TokenRecord, TokenScope, User, UserId,
};

/// An indexed user attribute to look up by equality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    /// `userName`, compared case-insensitively (RFC 7643: not case-exact).
    UserName(String),
    /// `externalId`, compared exactly.
    ExternalId(String),
    /// Any `emails[].value`, compared case-insensitively.
    Email(String),
}

/// An indexed group attribute to look up by equality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    /// `displayName`, compared case-insensitively.
    DisplayName(String),
    /// `externalId`, compared exactly.
    ExternalId(String),
}

/// One step of a membership change, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipEdit {
    /// Add the user; a no-op if it is a member already.
    Add(UserId),
    /// Remove the user; a no-op if it is not a member.
    Remove(UserId),
    /// Remove every member.
    RemoveAll,
}

/// A keyset page request: items after `after` in id order, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset<'a, K> {
    /// Exclusive lower bound; `None` starts at the beginning.
    pub after: Option<&'a K>,
    /// Maximum number of items.
    pub limit: usize,
}

/// Organizations, directories, users, groups, memberships and the change log.
///
/// Every user and group write records its [`Change`] (with the kind given by
/// [`crate::model::ChangeKind::for_user`] / [`crate::model::ChangeKind::for_group`]) in
/// the same atomic step. Listing is keyset-ordered by id; deleted entities are included
/// (callers decide what to show).
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Stores a new organization. `Conflict(OrganizationExternalId)` if its external id is
    /// taken, `Conflict(Id)` if its id is.
    async fn insert_organization(&self, org: Organization) -> Result<(), StoreError>;
    /// Replaces an organization. `NotFound` if absent; external id uniqueness as above.
    async fn update_organization(&self, org: Organization) -> Result<(), StoreError>;
    /// An organization by id.
    async fn get_organization(
        &self,
        id: &OrganizationId,
    ) -> Result<Option<Organization>, StoreError>;
    /// An organization by its external id (exact).
    async fn find_organization(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, StoreError>;
    /// Organizations in id order.
    async fn list_organizations(
        &self,
        page: Keyset<'_, OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError>;

    /// Stores a new directory. `NotFound` if its organization is absent, `Conflict(Id)` if
    /// its id is taken. If it is primary, the organization's previous primary directory
    /// stops being primary in the same step.
    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError>;
    /// Replaces a directory (its organization cannot change); primary handled as above.
    async fn update_directory(&self, directory: Directory) -> Result<(), StoreError>;
    /// A directory by id.
    async fn get_directory(&self, id: &DirectoryId) -> Result<Option<Directory>, StoreError>;
    /// The directories of an organization, in id order.
    async fn list_directories(&self, org: &OrganizationId) -> Result<Vec<Directory>, StoreError>;

    /// Stores a new user with version 1 and records `user.created`. `NotFound` if the
    /// directory is absent; `Conflict(Id)` if its id is taken; `Conflict(UserName)` if an
    /// active user of the directory has the same `userName` (case-insensitively).
    async fn insert_user(&self, user: User) -> Result<User, StoreError>;
    /// Replaces a user if its stored version is `expected_version`, storing it with
    /// version `expected_version + 1`, and records the change. `Precondition` on a version
    /// mismatch, `NotFound` if absent, `Conflict(UserName)` as for insert when the result
    /// is active.
    async fn update_user(&self, user: User, expected_version: u64) -> Result<User, StoreError>;
    /// A user of the directory by id, whatever its state.
    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError>;
    /// Users of the directory whose indexed attribute equals `key`, whatever their state,
    /// in id order.
    async fn find_users(&self, dir: &DirectoryId, key: &UserKey) -> Result<Vec<User>, StoreError>;
    /// Users of the directory in id order; only members of `group` when given.
    async fn list_users(
        &self,
        dir: &DirectoryId,
        group: Option<&GroupId>,
        page: Keyset<'_, UserId>,
    ) -> Result<Vec<User>, StoreError>;

    /// Stores a new group with version 1 and the given members, recording
    /// `group.created` and one `group.member_added` per member. `NotFound` if the directory
    /// or a member (a user of the same directory) is absent; `Conflict(Id)` if its id is
    /// taken.
    async fn insert_group(&self, group: Group, members: &[UserId]) -> Result<Group, StoreError>;
    /// Replaces a group if its stored version is `expected_version` and applies `edits`,
    /// all in one step; stores version `expected_version + 1`. Errors as for users.
    async fn update_group(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError>;
    /// Applies membership edits without a version check (so concurrent edits never
    /// conflict), bumping the version and setting `lastModified` to `at` if anything
    /// changed. `NotFound` for a missing or deleted group or a member not in the directory.
    async fn edit_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<Group, StoreError>;
    /// A group of the directory by id, deleted or not.
    async fn get_group(&self, dir: &DirectoryId, id: &GroupId)
    -> Result<Option<Group>, StoreError>;
    /// Groups of the directory whose indexed attribute equals `key`, in id order.
    async fn find_groups(
        &self,
        dir: &DirectoryId,
        key: &GroupKey,
    ) -> Result<Vec<Group>, StoreError>;
    /// Groups of the directory in id order.
    async fn list_groups(
        &self,
        dir: &DirectoryId,
        page: Keyset<'_, GroupId>,
    ) -> Result<Vec<Group>, StoreError>;
    /// Member ids of a group, in id order.
    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        page: Keyset<'_, UserId>,
    ) -> Result<Vec<UserId>, StoreError>;
    /// Ids of the groups a user belongs to, in id order.
    async fn list_groups_of_user(
        &self,
        dir: &DirectoryId,
        user: &UserId,
        page: Keyset<'_, GroupId>,
    ) -> Result<Vec<GroupId>, StoreError>;

    /// Change-log entries of the directory with `seq > after`, in order, at most `limit`.
    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError>;
}

/// Bearer tokens and API keys, by the hash of their secret.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token. `Conflict(TokenHash)` if a token with the same hash exists,
    /// `Conflict(Id)` if its id is taken.
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError>;
    /// The token whose secret hashes to `hash`, if it exists and is not revoked.
    async fn find_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError>;
    /// Tokens with the given scope, in id order.
    async fn list_tokens(&self, scope: &TokenScope) -> Result<Vec<TokenRecord>, StoreError>;
    /// Revokes a token: `find_token` stops finding it. `NotFound` if absent.
    async fn revoke_token(&self, id: &TokenId) -> Result<(), StoreError>;
}
