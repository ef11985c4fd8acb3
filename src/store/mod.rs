//! Storage: the [`DirectoryStore`] and [`TokenStore`] traits and the backends.
//!
//! A backend keeps documents, indexes, memberships and the change log, and makes each
//! write atomic: the entity, its index entries and its change-log entry land together or
//! not at all. It knows nothing of HTTP or SCIM semantics beyond the stored documents;
//! filtering beyond indexed equality, sorting, projection and PATCH live above it.
//!
//! The traits have no default methods on purpose: a default is a promise a backend forgets
//! to keep. Conveniences live in [`DirectoryStoreExt`]. The one exception,
//! [`DirectoryStore::members_of_groups`], is a batch form of two reads every backend
//! already has, defaulted to them so existing backends keep compiling.

#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod ext;
mod hooked;
mod memory;
mod notify;
pub mod plan;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sled")]
mod sled;
mod webhooks;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use self::postgres::{
    POSTGRES_SCHEMA_VERSION, PostgresNotifier, PostgresOpenError, PostgresOptions, PostgresStore,
};
#[cfg(feature = "sled")]
#[cfg_attr(docsrs, doc(cfg(feature = "sled")))]
pub use self::sled::{FORMAT_VERSION, SledOpenError, SledStore};
pub use ext::DirectoryStoreExt;
pub use hooked::{CallCounter, Hooked, Latency, StoreCall, StoreHook};
pub use memory::MemoryStore;
pub use notify::{ChangeListener, ChangeNotifier, LocalNotifier, watch_listener};
pub use webhooks::{DeadLetter, WebhookStore};

use async_trait::async_trait;
use time::OffsetDateTime;

pub use crate::error::{EntityKind, StoreError, UniqueAttribute};
use crate::model::{
    Change, Directory, DirectoryId, FieldMapping, Group, GroupId, IdpKind, Organization,
    OrganizationId, RoleMapping, TokenHash, TokenId, TokenRecord, TokenScope, User, UserDocument,
    UserId, UserState,
};

/// One step of [`DirectoryStore::edit_directory`], applied in order, atomically with the
/// others of the call (plan: [`plan::edit_directory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryEdit {
    /// Set (or clear) the name.
    Name(Option<String>),
    /// Set the identity provider.
    Idp(IdpKind),
    /// Replace the group-to-role mapping (records `directory.role_mapping_changed` if it
    /// differs).
    Roles(RoleMapping),
    /// Replace the attribute mapping.
    Fields(FieldMapping),
    /// Replace the directory's own schema extensions (records
    /// `directory.schema_extensions_changed` if they differ). The store does not check
    /// them: [`Admin::set_schema_extensions`](crate::Admin::set_schema_extensions) does.
    SchemaExtensions(Vec<crate::schema::SchemaExtension>),
    /// Refuse SCIM traffic, keeping the data (records `directory.disabled`); a no-op on a
    /// disabled directory.
    Disable,
    /// Take SCIM traffic again: a disabled directory becomes active, or pending if no
    /// identity provider ever connected (records `directory.enabled`); a no-op otherwise.
    Enable,
    /// Mark the directory deleted (records `directory.deleted`); final.
    Delete,
    /// Make it its organization's primary directory; the previous primary stops being
    /// primary in the same step.
    MakePrimary,
}

/// An indexed user attribute to look up by equality.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a backend must index every key: a new one must break its match"
)]
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
#[allow(
    clippy::exhaustive_enums,
    reason = "a backend must index every key: a new one must break its match"
)]
pub enum GroupKey {
    /// `displayName`, compared case-insensitively.
    DisplayName(String),
    /// `externalId`, compared exactly.
    ExternalId(String),
}

/// One step of a membership change, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a backend must apply every edit: a new one must break its match"
)]
pub enum MembershipEdit {
    /// Add the user; a no-op if it is a member already.
    Add(UserId),
    /// Remove the user; a no-op if it is not a member.
    Remove(UserId),
    /// Add a group of the same directory (not deleted) as a member group: its users, and
    /// those of the groups nested in it, get this group's roles. A no-op if it is a member
    /// group already. Refused with [`StoreError::Nesting`] when the edge would be a
    /// self-membership, close a cycle or nest deeper than the backend's limit (see
    /// [`plan::check_nesting`]); `NotFound(Group)` for a group that is absent or deleted.
    AddGroup(GroupId),
    /// Remove a member group; a no-op if it is not one.
    RemoveGroup(GroupId),
    /// Remove every member: users and member groups.
    RemoveAll,
}

/// Which lifecycle states a listing or count includes.
///
/// For groups, [`States::Visible`] and [`States::Active`] both mean "not deleted".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum States {
    /// Every state, deleted included: what the vendor's sync reads.
    #[default]
    All,
    /// What SCIM shows: active and deactivated users, groups not deleted.
    Visible,
    /// Active users only (groups: not deleted).
    Active,
}

impl States {
    /// Whether a user in `state` is included.
    pub fn includes_user(self, state: UserState) -> bool {
        match self {
            States::All => true,
            States::Visible => state != UserState::Deleted,
            States::Active => state == UserState::Active,
        }
    }

    /// Whether a group, deleted or not, is included.
    pub fn includes_group(self, deleted: bool) -> bool {
        self == States::All || !deleted
    }
}

/// Which users a listing or count selects. `Default` selects every user of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "callers build it with struct update from Default"
)]
pub struct UserFilter {
    /// Lifecycle states to include.
    pub states: States,
    /// Only users whose indexed attribute equals this, exactly as the key compares (no
    /// extra candidates): a SCIM filter that is only `userName`, `externalId` or `id eq`
    /// is answered with what the store returns, without evaluating it again.
    pub key: Option<UserKey>,
    /// Only members of this group.
    pub group: Option<GroupId>,
}

/// Which groups a listing or count selects. `Default` selects every group of the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "callers build it with struct update from Default"
)]
pub struct GroupFilter {
    /// Lifecycle states to include.
    pub states: States,
    /// Only groups whose indexed attribute equals this, exactly as the key compares: a
    /// filter that is only `displayName`, `externalId` or `id eq` is answered with what
    /// the store returns.
    pub key: Option<GroupKey>,
    /// Only groups this user is a direct member of.
    pub member: Option<UserId>,
    /// Only the groups this group is a direct member group of (its parents).
    pub member_group: Option<GroupId>,
    /// Only the direct member groups of this group (its children).
    pub parent: Option<GroupId>,
}

/// One membership row of [`DirectoryStore::groups_of_users`]: a group the user is a
/// direct member of, or one it belongs to through nesting (`direct: false`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::exhaustive_structs, reason = "rows a backend builds")]
pub struct UserGroup {
    /// The member.
    pub user_id: UserId,
    /// The group.
    pub group_id: GroupId,
    /// The group's `displayName`.
    pub display_name: String,
    /// The group's `externalId` (what a [`GroupMatch::ExternalId`](crate::model::GroupMatch)
    /// role rule matches).
    pub external_id: Option<String>,
    /// Whether the group is deleted.
    pub group_deleted: bool,
    /// Whether the user is a member of the group itself (`false`: only through member
    /// groups nested in it).
    pub direct: bool,
}

impl UserGroup {
    /// What a [`RoleMapping`] looks at in the group.
    pub fn facts(&self) -> crate::model::GroupFacts<'_> {
        crate::model::GroupFacts {
            id: &self.group_id,
            display_name: &self.display_name,
            external_id: self.external_id.as_deref(),
        }
    }
}

/// One row of [`DirectoryStore::members_of_groups`]: a member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::exhaustive_structs, reason = "rows a backend builds")]
pub struct GroupMember {
    /// The group.
    pub group_id: GroupId,
    /// Its member.
    pub member: Member,
}

/// A member of a group: a user, or a member group nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a group's members are users and groups; a reader must render every kind"
)]
pub enum Member {
    /// A user member.
    User(UserId),
    /// A member group, with its `displayName` (what a group's `members` renders).
    Group {
        /// The member group.
        id: GroupId,
        /// Its `displayName`.
        display_name: String,
    },
}

/// A page request in id order: skip `skip` items after `after` (exclusive; `None` starts
/// at the beginning), then return at most `limit`.
///
/// Keyset paging (`after`) costs the page; `skip` lets `startIndex` paging avoid reading the
/// skipped rows where the backend can (an index scan that counts without decoding, SQL
/// `OFFSET`). Backends document its cost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_structs,
    reason = "callers and backends build and read it field by field"
)]
pub struct Keyset<K> {
    /// Exclusive lower bound; `None` starts at the beginning.
    pub after: Option<K>,
    /// Items to pass over after `after` before the page starts.
    pub skip: usize,
    /// Maximum number of items; `usize::MAX` means all.
    pub limit: usize,
}

impl<K> Keyset<K> {
    /// The first `limit` items.
    pub fn first(limit: usize) -> Self {
        Self {
            after: None,
            skip: 0,
            limit,
        }
    }

    /// At most `limit` items after `after` (`None`: from the start).
    pub fn after(after: Option<K>, limit: usize) -> Self {
        Self {
            after,
            skip: 0,
            limit,
        }
    }

    /// Every item, in one call.
    pub fn all() -> Self {
        Self::first(usize::MAX)
    }
}

impl<K> Default for Keyset<K> {
    /// The first 100 items.
    fn default() -> Self {
        Self::first(100)
    }
}

/// Organizations, directories, users, groups, memberships and the change log.
///
/// # Writes
/// Every user and group write records its [`Change`]s in the same atomic step, as planned by
/// [`plan`] (which every backend uses, so all record the same thing): the version check,
/// `userName` uniqueness among active users, the declared unique values
/// ([`User::unique_keys`]) among active users and ([`Group::unique_keys`]) among groups
/// that are not deleted, apart, the membership diff and the change kinds.
/// A write that changes nothing (same attributes, email and state; no membership change)
/// stores nothing, keeps the version and records no change.
///
/// # The change log
/// Each directory has its own log. `seq` starts at 1, is strictly increasing and has no
/// gaps, and entries become visible in `seq` order: once a reader has seen `seq = n`, no
/// entry with a lower `seq` can appear later (a backend that commits concurrently must
/// allocate `seq` under the same lock or row that orders the commits, so a late commit
/// never lands behind a reader's cursor). `Change::at` is the write's time as the caller
/// gave it (the resource's `lastModified`, or `at` for membership edits), not the
/// backend's clock.
///
/// Each entry carries the object as of that change ([`Change::user`], [`Change::group`]):
/// the planner attaches the written user or group; for membership changes the backend
/// reads the members whose membership changes ([`plan::MembershipPlan::changed_members`],
/// one batch, under the same lock or row locks that order the write against user writes)
/// and attaches them with [`plan::GroupPlan::with_member_snapshots`]. Snapshots are
/// stored with the entry, so a later write never changes what an earlier entry reads.
///
/// # Costs
/// Every method costs what it returns plus a constant number of index reads: no method
/// reads a whole directory or member list to answer, except where documented
/// ([`MembershipEdit::RemoveAll`] reads the group's members; `Keyset::skip` may scan the
/// skipped entries of an index).
///
/// # Listing
/// Listings are in id order. Deleted entities are included unless the filter's
/// [`States`] leaves them out.
///
/// # Nested groups
/// A group's members are users and *member groups* (groups of the same directory). The
/// contract every backend that nests keeps (`MemoryStore`, `SledStore` and `PostgresStore` do; one
/// that does not must refuse [`MembershipEdit::AddGroup`] and `insert_group`'s
/// `member_groups` with
/// [`StoreError::Nesting`]`(`[`NestingRefusal::Unsupported`](plan::NestingRefusal::Unsupported)`)`,
/// treat `RemoveGroup` as a no-op, and select no group by [`GroupFilter::member_group`] /
/// [`GroupFilter::parent`]):
///
/// - **Edges** are `(parent, child)` rows per directory, added by
///   [`MembershipEdit::AddGroup`] (or `insert_group`'s `member_groups`) and removed by
///   [`MembershipEdit::RemoveGroup`] and [`MembershipEdit::RemoveAll`], with the same net
///   difference as user members ([`plan::membership`]). An added child that is absent or
///   deleted is `NotFound(Group)`.
/// - **Rules**, checked under the write's lock against the graph as stored with
///   [`plan::check_member_groups`] (that is, [`plan::check_nesting`] per added edge,
///   reading each group's parents / children that are not deleted): no self-membership,
///   no cycle, no chain longer than the backend's depth limit
///   ([`plan::DEFAULT_MAX_GROUP_DEPTH`] unless configured). A refusal is
///   [`StoreError::Nesting`] and the write changes nothing.
/// - **Deleted groups drop out of nesting**: their edges are kept (as a deleted group's
///   user memberships are), but every walk skips a deleted group, so it passes no roles
///   up, is nobody's ancestor, and is not counted by the rules.
/// - **The log**: a member group joining or leaving records `group.member_added` /
///   `group.member_removed` with `resource_id` the parent, [`Change::member_group_id`]
///   the child, no `member_id` and no user snapshot; the group snapshot is the parent
///   after the write. Removals come before additions, users before groups.
/// - **Roles resolve transitively**: a user's effective groups are its direct groups
///   (not deleted) and their ancestors (not deleted, through groups not deleted) up to
///   the depth limit. Every write that changes some user's effective roles records
///   exactly one `user.roles_changed` per such user in the same step: member edits
///   (the users added or removed), edge edits (every user below the child,
///   transitively), a group's rename, `externalId` change or deletion (every user below
///   the group) and a user's active-ness. [`plan::nested_group_write_roles`] and
///   [`plan::nested_user_write_roles`] plan them from a [`plan::NestingReads`] over the
///   stored state before the write.
/// - **Reads**: [`groups_of_users`](Self::groups_of_users) lists each user's ancestor
///   groups too (`direct: false`, see [`plan::ancestor_groups`]); [`GroupFilter::parent`]
///   lists a group's member groups and [`GroupFilter::member_group`] its parents (direct
///   edges only; `States` as for any group listing);
///   [`members_of_groups`](Self::members_of_groups) lists a batch of groups' member
///   groups (direct edges, not deleted) after their users.
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
    /// Organizations in id order (`skip` honoured).
    async fn list_organizations(
        &self,
        page: Keyset<OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError>;

    /// Stores a new directory. `NotFound` if its organization is absent, `Conflict(Id)` if
    /// its id is taken. If it is primary, the organization's previous primary directory
    /// stops being primary in the same step.
    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError>;
    /// Replaces a directory (its organization cannot change); primary handled as above.
    async fn update_directory(&self, directory: Directory) -> Result<(), StoreError>;
    /// Records an authenticated identity-provider request at `at`, atomically (a
    /// concurrent [`edit_directory`](Self::edit_directory) is never lost): moves
    /// `last_request_at` forward to `at` (never back) and makes a
    /// [pending](crate::model::DirectoryState::Pending) directory active, recording
    /// `directory.activated` in the same step; other states are kept. Writes nothing if
    /// nothing changes. Returns the directory as stored. `NotFound` if absent.
    async fn touch_directory(
        &self,
        id: &DirectoryId,
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError>;
    /// Applies `edits` to the stored directory as one atomic read-modify-write (plan:
    /// [`plan::edit_directory`]), recording the lifecycle entries the plan names
    /// (`directory.disabled`, `.enabled`, `.deleted`, `.role_mapping_changed`) in the same
    /// step. Writes nothing if nothing changes. Returns the directory as stored.
    /// `NotFound` if absent or deleted.
    async fn edit_directory(
        &self,
        id: &DirectoryId,
        edits: &[DirectoryEdit],
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError>;
    /// A directory by id.
    async fn get_directory(&self, id: &DirectoryId) -> Result<Option<Directory>, StoreError>;
    /// The directories of an organization, in id order.
    async fn list_directories(&self, org: &OrganizationId) -> Result<Vec<Directory>, StoreError>;
    /// Erases a directory and everything in it: users, groups, memberships and its change
    /// log (tokens live in the [`TokenStore`]; see [`TokenStore::delete_tokens`]). For a
    /// vendor's offboarding; unlike deprovisioning, nothing is kept. `NotFound` if absent.
    async fn purge_directory(&self, id: &DirectoryId) -> Result<(), StoreError>;

    /// Stores a new user with version 1 and records `user.created` (plan:
    /// [`plan::insert_user`]). `NotFound` if the directory is absent; `Conflict(Id)` if its
    /// id is taken; `Conflict(UserName)` if an active user of the directory has the same
    /// `userName` (case-insensitively) and the new user is active; `AttributeTaken` if
    /// another active user of the directory holds one of the keys the user claims
    /// ([`User::unique_keys`], held from then on while the user is active; see
    /// [`plan::check_unique_keys`]).
    async fn insert_user(&self, user: User) -> Result<User, StoreError>;
    /// Replaces a user if its stored version is `expected_version`, storing it with
    /// version `expected_version + 1`, and records the change (plan:
    /// [`plan::update_user`]); a replacement that changes nothing returns the stored user
    /// untouched. `Precondition` on a version mismatch, `NotFound` if absent,
    /// `Conflict(UserName)` and `AttributeTaken` as for insert when the result is active.
    /// The keys the user claims replace those it held (none when the result is not
    /// active, which releases them); a no-op keeps what it held.
    async fn update_user(&self, user: User, expected_version: u64) -> Result<User, StoreError>;
    /// A user of the directory by id, whatever its state.
    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError>;
    /// [`get_user`](Self::get_user) for a read that only renders the user (GET of one
    /// user), its attributes as JSON text. The default serialises what `get_user`
    /// returns; a backend that stores the text returns it as it is, unparsed.
    async fn get_user_document(
        &self,
        dir: &DirectoryId,
        id: &UserId,
    ) -> Result<Option<UserDocument>, StoreError> {
        Ok(self.get_user(dir, id).await?.map(UserDocument::from))
    }
    /// The users of the directory among `ids`, whatever their state, in id order, each
    /// once; ids not found are left out. One round trip for the whole batch.
    async fn get_users(&self, dir: &DirectoryId, ids: &[UserId]) -> Result<Vec<User>, StoreError>;
    /// Users of the directory that `filter` selects, in id order, paged by `page`.
    /// An unknown directory lists nothing.
    async fn list_users(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<User>, StoreError>;
    /// [`list_users`](Self::list_users) for a listing that only renders the users (a
    /// SCIM page), their attributes as JSON text. The default serialises what
    /// `list_users` returns; a backend that stores the text returns it unparsed.
    async fn list_user_documents(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserDocument>, StoreError> {
        Ok(self
            .list_users(dir, filter, page)
            .await?
            .into_iter()
            .map(UserDocument::from)
            .collect())
    }
    /// How many users `filter` selects (what `list_users` would return unpaged).
    async fn count_users(&self, dir: &DirectoryId, filter: &UserFilter) -> Result<u64, StoreError>;

    /// Stores a new group with version 1, the given user members and member groups,
    /// recording `group.created` and one `group.member_added` per member (users, then
    /// groups). `NotFound` if the directory, a member (a user of the same directory) or a
    /// member group (a group of it, not deleted) is absent; `Conflict(Id)` if its id is
    /// taken; `AttributeTaken` if another group of the directory, not deleted, holds one
    /// of the keys the group claims ([`Group::unique_keys`], held from then on while it
    /// is not deleted; see [`plan::check_group_unique_keys`]); `Nesting` if a member
    /// group breaks a nesting rule (see [Nested groups](DirectoryStore#nested-groups)).
    async fn insert_group(
        &self,
        group: Group,
        members: &[UserId],
        member_groups: &[GroupId],
    ) -> Result<Group, StoreError>;
    /// Replaces a group if its stored version is `expected_version` and applies `edits`,
    /// all in one step (plan: [`plan::update_group`] and [`plan::membership`]); stores
    /// version `expected_version + 1` unless nothing changed. Errors as for users,
    /// `NotFound` for an added member that is not a user of the directory (or an added
    /// member group that is not a group of it), and `AttributeTaken` and `Nesting` as for
    /// `insert_group`. When the document, name or deleted-ness changes, the keys the
    /// group claims replace those it held (none when deleted, which releases them;
    /// restoring claims again); otherwise it keeps what it held, as `edit_members`
    /// always does.
    async fn update_group(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError>;
    /// Applies membership edits without a version check (so concurrent edits never
    /// conflict), bumping the version and setting `lastModified` to `at` if membership
    /// changed. Reads only the memberships the edits name (all of them for
    /// [`MembershipEdit::RemoveAll`]). `NotFound` for a missing or deleted group or an
    /// added member not in the directory; `Nesting` as for `insert_group`.
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
    /// The groups of the directory among `ids`, deleted or not, in id order, each once.
    async fn get_groups(
        &self,
        dir: &DirectoryId,
        ids: &[GroupId],
    ) -> Result<Vec<Group>, StoreError>;
    /// Groups of the directory that `filter` selects, in id order, paged by `page`.
    async fn list_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
        page: Keyset<GroupId>,
    ) -> Result<Vec<Group>, StoreError>;
    /// How many groups `filter` selects.
    async fn count_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
    ) -> Result<u64, StoreError>;
    /// The groups each of `users` belongs to, as `(user, group)` rows with the group's
    /// `displayName`, `externalId` and deleted-ness, ordered by user then group: the
    /// groups it is a direct member of (deleted ones included, `direct: true`), and the
    /// ancestors of those not deleted (`direct: false`; a group reached both ways is one
    /// direct row). One round trip for the whole batch: what rendering a page of users
    /// with their `groups`, and resolving their roles, needs.
    async fn groups_of_users(
        &self,
        dir: &DirectoryId,
        users: &[UserId],
    ) -> Result<Vec<UserGroup>, StoreError>;
    /// The members of each of `groups`, as `(group, member)` rows ordered by group, then
    /// the group's user members in id order (those whose state `states` includes, as
    /// [`list_members`](Self::list_members) selects them), then its member groups in id
    /// order (not deleted, with their `displayName`, as [`GroupFilter::parent`] with
    /// [`States::Visible`] lists them). Each group once; groups that are unknown, of
    /// another directory or without members add no rows. What rendering a page of groups
    /// with their `members` needs, as [`groups_of_users`](Self::groups_of_users) is for a
    /// page of users.
    ///
    /// The default loops those two reads per group, so a backend written before this
    /// method keeps compiling and answering correctly; ours answer in one round trip for
    /// the whole batch (one lock, one pass over the membership prefixes, one SQL
    /// statement), and a backend behind a network should too. The only default method:
    /// it is a faster path over promises already kept, not a new promise.
    async fn members_of_groups(
        &self,
        dir: &DirectoryId,
        groups: &[GroupId],
        states: States,
    ) -> Result<Vec<GroupMember>, StoreError> {
        let mut groups: Vec<&GroupId> = groups.iter().collect();
        groups.sort_unstable();
        groups.dedup();
        let mut rows = Vec::new();
        for group in groups {
            let users = self.list_members(dir, group, states, Keyset::all()).await?;
            let filter = GroupFilter {
                states: States::Visible,
                parent: Some(group.clone()),
                ..GroupFilter::default()
            };
            let children = self.list_groups(dir, &filter, Keyset::all()).await?;
            rows.extend(users.into_iter().map(|user| GroupMember {
                group_id: group.clone(),
                member: Member::User(user),
            }));
            rows.extend(children.into_iter().map(|child| GroupMember {
                group_id: group.clone(),
                member: Member::Group {
                    id: child.id,
                    display_name: child.display_name,
                },
            }));
        }
        Ok(rows)
    }

    /// Member ids of a group whose state `states` includes, in id order. Reads the
    /// membership index, plus each member's state unless `states` is [`States::All`].
    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserId>, StoreError>;

    /// Change-log entries of the directory with `seq > after`, in order, at most `limit`.
    /// `ChangesTrimmed` if entries after `after` were trimmed away.
    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError>;
    /// The `seq` of the directory's latest change, 0 if none (trimming keeps it).
    async fn latest_change_seq(&self, dir: &DirectoryId) -> Result<u64, StoreError>;
    /// Removes the directory's change-log entries with `seq <= through` (retention);
    /// later entries, and `latest_change_seq`, are unchanged. Returns how many were removed.
    async fn trim_changes(&self, dir: &DirectoryId, through: u64) -> Result<u64, StoreError>;
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
    /// Deletes every token with the given scope (offboarding); returns how many.
    async fn delete_tokens(&self, scope: &TokenScope) -> Result<u64, StoreError>;
}
