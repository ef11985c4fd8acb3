//! A store wrapped in a hook that runs before every call: count calls in tests (to pin
//! how many store round trips a request costs), add latency (to expose N+1 patterns the
//! way a network database would), trace. [`Hooked`] delegates every method, so a wrapper
//! store is one hook, not a re-implementation of both traits.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use scimkit::store::{CallCounter, DirectoryStore, Hooked, MemoryStore, StoreCall};
//! use scimkit::model::DirectoryId;
//!
//! let counter = Arc::new(CallCounter::default());
//! let store = Hooked::new(Arc::new(MemoryStore::new()), counter.clone());
//! let dir = DirectoryId::from_uuid(uuid::Uuid::now_v7());
//! store.get_directory(&dir).await.unwrap();
//! assert_eq!(counter.count(StoreCall::GetDirectory), 1);
//! assert_eq!(counter.total(), 1);
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    DirectoryEdit, DirectoryStore, GroupFilter, GroupMember, Keyset, MembershipEdit, States,
    StoreError, TokenStore, UserFilter, UserGroup,
};
use crate::model::{
    Change, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId, TokenHash,
    TokenId, TokenRecord, TokenScope, User, UserDocument, UserId,
};

/// Which store method was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StoreCall {
    /// [`DirectoryStore::insert_organization`]
    InsertOrganization,
    /// [`DirectoryStore::update_organization`]
    UpdateOrganization,
    /// [`DirectoryStore::get_organization`]
    GetOrganization,
    /// [`DirectoryStore::find_organization`]
    FindOrganization,
    /// [`DirectoryStore::list_organizations`]
    ListOrganizations,
    /// [`DirectoryStore::insert_directory`]
    InsertDirectory,
    /// [`DirectoryStore::update_directory`]
    UpdateDirectory,
    /// [`DirectoryStore::touch_directory`]
    TouchDirectory,
    /// [`DirectoryStore::edit_directory`]
    EditDirectory,
    /// [`DirectoryStore::get_directory`]
    GetDirectory,
    /// [`DirectoryStore::list_directories`]
    ListDirectories,
    /// [`DirectoryStore::purge_directory`]
    PurgeDirectory,
    /// [`DirectoryStore::insert_user`]
    InsertUser,
    /// [`DirectoryStore::update_user`]
    UpdateUser,
    /// [`DirectoryStore::get_user`]
    GetUser,
    /// [`DirectoryStore::get_users`]
    GetUsers,
    /// [`DirectoryStore::list_users`]
    ListUsers,
    /// [`DirectoryStore::count_users`]
    CountUsers,
    /// [`DirectoryStore::insert_group`]
    InsertGroup,
    /// [`DirectoryStore::update_group`]
    UpdateGroup,
    /// [`DirectoryStore::edit_members`]
    EditMembers,
    /// [`DirectoryStore::get_group`]
    GetGroup,
    /// [`DirectoryStore::get_groups`]
    GetGroups,
    /// [`DirectoryStore::list_groups`]
    ListGroups,
    /// [`DirectoryStore::count_groups`]
    CountGroups,
    /// [`DirectoryStore::groups_of_users`]
    GroupsOfUsers,
    /// [`DirectoryStore::members_of_groups`]
    MembersOfGroups,
    /// [`DirectoryStore::list_members`]
    ListMembers,
    /// [`DirectoryStore::list_changes`]
    ListChanges,
    /// [`DirectoryStore::latest_change_seq`]
    LatestChangeSeq,
    /// [`DirectoryStore::trim_changes`]
    TrimChanges,
    /// [`TokenStore::insert_token`]
    InsertToken,
    /// [`TokenStore::find_token`]
    FindToken,
    /// [`TokenStore::list_tokens`]
    ListTokens,
    /// [`TokenStore::revoke_token`]
    RevokeToken,
    /// [`TokenStore::delete_tokens`]
    DeleteTokens,
}

impl StoreCall {
    /// The method's name, e.g. `"list_users"`.
    pub fn name(self) -> &'static str {
        match self {
            StoreCall::InsertOrganization => "insert_organization",
            StoreCall::UpdateOrganization => "update_organization",
            StoreCall::GetOrganization => "get_organization",
            StoreCall::FindOrganization => "find_organization",
            StoreCall::ListOrganizations => "list_organizations",
            StoreCall::InsertDirectory => "insert_directory",
            StoreCall::UpdateDirectory => "update_directory",
            StoreCall::TouchDirectory => "touch_directory",
            StoreCall::EditDirectory => "edit_directory",
            StoreCall::GetDirectory => "get_directory",
            StoreCall::ListDirectories => "list_directories",
            StoreCall::PurgeDirectory => "purge_directory",
            StoreCall::InsertUser => "insert_user",
            StoreCall::UpdateUser => "update_user",
            StoreCall::GetUser => "get_user",
            StoreCall::GetUsers => "get_users",
            StoreCall::ListUsers => "list_users",
            StoreCall::CountUsers => "count_users",
            StoreCall::InsertGroup => "insert_group",
            StoreCall::UpdateGroup => "update_group",
            StoreCall::EditMembers => "edit_members",
            StoreCall::GetGroup => "get_group",
            StoreCall::GetGroups => "get_groups",
            StoreCall::ListGroups => "list_groups",
            StoreCall::CountGroups => "count_groups",
            StoreCall::GroupsOfUsers => "groups_of_users",
            StoreCall::MembersOfGroups => "members_of_groups",
            StoreCall::ListMembers => "list_members",
            StoreCall::ListChanges => "list_changes",
            StoreCall::LatestChangeSeq => "latest_change_seq",
            StoreCall::TrimChanges => "trim_changes",
            StoreCall::InsertToken => "insert_token",
            StoreCall::FindToken => "find_token",
            StoreCall::ListTokens => "list_tokens",
            StoreCall::RevokeToken => "revoke_token",
            StoreCall::DeleteTokens => "delete_tokens",
        }
    }
}

/// Runs before every call of a [`Hooked`] store.
#[async_trait]
pub trait StoreHook: Send + Sync {
    /// Called before `call` is passed on to the wrapped store.
    async fn before(&self, call: StoreCall);
}

/// A store whose every call runs a [`StoreHook`] first, then the wrapped store's method.
pub struct Hooked<S: ?Sized> {
    inner: Arc<S>,
    hook: Arc<dyn StoreHook>,
}

impl<S: ?Sized> Hooked<S> {
    /// Wraps `inner`, running `hook` before each call.
    pub fn new(inner: Arc<S>, hook: Arc<dyn StoreHook>) -> Self {
        Self { inner, hook }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }
}

impl<S: ?Sized> std::fmt::Debug for Hooked<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooked").finish_non_exhaustive()
    }
}

/// A [`StoreHook`] that counts calls per method.
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<StoreCall, u64>>,
}

impl CallCounter {
    fn counts(&self) -> std::sync::MutexGuard<'_, BTreeMap<StoreCall, u64>> {
        // A panic elsewhere while holding this lock leaves plain counters behind.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How often `call` was made since the last [`CallCounter::reset`].
    pub fn count(&self, call: StoreCall) -> u64 {
        self.counts().get(&call).copied().unwrap_or(0)
    }

    /// How many calls were made in all.
    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    /// Every call made, with its count, in a stable order.
    pub fn snapshot(&self) -> Vec<(StoreCall, u64)> {
        self.counts().iter().map(|(c, n)| (*c, *n)).collect()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.counts().clear();
    }
}

#[async_trait]
impl StoreHook for CallCounter {
    async fn before(&self, call: StoreCall) {
        *self.counts().entry(call).or_default() += 1;
    }
}

/// A [`StoreHook`] that waits before every call, as a network round trip would: in tests
/// it turns an N+1 access pattern into a visibly slow one. Needs a Tokio timer.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::exhaustive_structs, reason = "a newtype over the delay")]
pub struct Latency(pub Duration);

#[async_trait]
impl StoreHook for Latency {
    async fn before(&self, _call: StoreCall) {
        tokio::time::sleep(self.0).await;
    }
}

#[async_trait]
impl<S: DirectoryStore + ?Sized> DirectoryStore for Hooked<S> {
    async fn insert_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.hook.before(StoreCall::InsertOrganization).await;
        self.inner.insert_organization(org).await
    }

    async fn update_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.hook.before(StoreCall::UpdateOrganization).await;
        self.inner.update_organization(org).await
    }

    async fn get_organization(
        &self,
        id: &OrganizationId,
    ) -> Result<Option<Organization>, StoreError> {
        self.hook.before(StoreCall::GetOrganization).await;
        self.inner.get_organization(id).await
    }

    async fn find_organization(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, StoreError> {
        self.hook.before(StoreCall::FindOrganization).await;
        self.inner.find_organization(external_id).await
    }

    async fn list_organizations(
        &self,
        page: Keyset<OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        self.hook.before(StoreCall::ListOrganizations).await;
        self.inner.list_organizations(page).await
    }

    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.hook.before(StoreCall::InsertDirectory).await;
        self.inner.insert_directory(directory).await
    }

    async fn update_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.hook.before(StoreCall::UpdateDirectory).await;
        self.inner.update_directory(directory).await
    }

    async fn touch_directory(
        &self,
        id: &DirectoryId,
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        self.hook.before(StoreCall::TouchDirectory).await;
        self.inner.touch_directory(id, at).await
    }

    async fn edit_directory(
        &self,
        id: &DirectoryId,
        edits: &[DirectoryEdit],
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        self.hook.before(StoreCall::EditDirectory).await;
        self.inner.edit_directory(id, edits, at).await
    }

    async fn get_directory(&self, id: &DirectoryId) -> Result<Option<Directory>, StoreError> {
        self.hook.before(StoreCall::GetDirectory).await;
        self.inner.get_directory(id).await
    }

    async fn list_directories(&self, org: &OrganizationId) -> Result<Vec<Directory>, StoreError> {
        self.hook.before(StoreCall::ListDirectories).await;
        self.inner.list_directories(org).await
    }

    async fn purge_directory(&self, id: &DirectoryId) -> Result<(), StoreError> {
        self.hook.before(StoreCall::PurgeDirectory).await;
        self.inner.purge_directory(id).await
    }

    async fn insert_user(&self, user: User) -> Result<User, StoreError> {
        self.hook.before(StoreCall::InsertUser).await;
        self.inner.insert_user(user).await
    }

    async fn update_user(&self, user: User, expected_version: u64) -> Result<User, StoreError> {
        self.hook.before(StoreCall::UpdateUser).await;
        self.inner.update_user(user, expected_version).await
    }

    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.hook.before(StoreCall::GetUser).await;
        self.inner.get_user(dir, id).await
    }

    async fn get_user_document(
        &self,
        dir: &DirectoryId,
        id: &UserId,
    ) -> Result<Option<UserDocument>, StoreError> {
        // The same read of one user as `get_user`, counted as one.
        self.hook.before(StoreCall::GetUser).await;
        self.inner.get_user_document(dir, id).await
    }

    async fn get_users(&self, dir: &DirectoryId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        self.hook.before(StoreCall::GetUsers).await;
        self.inner.get_users(dir, ids).await
    }

    async fn list_users(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<User>, StoreError> {
        self.hook.before(StoreCall::ListUsers).await;
        self.inner.list_users(dir, filter, page).await
    }

    async fn list_user_documents(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserDocument>, StoreError> {
        // The same listing as `list_users`, counted as one.
        self.hook.before(StoreCall::ListUsers).await;
        self.inner.list_user_documents(dir, filter, page).await
    }

    async fn count_users(&self, dir: &DirectoryId, filter: &UserFilter) -> Result<u64, StoreError> {
        self.hook.before(StoreCall::CountUsers).await;
        self.inner.count_users(dir, filter).await
    }

    async fn insert_group(
        &self,
        group: Group,
        members: &[UserId],
        member_groups: &[GroupId],
    ) -> Result<Group, StoreError> {
        self.hook.before(StoreCall::InsertGroup).await;
        self.inner.insert_group(group, members, member_groups).await
    }

    async fn update_group(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError> {
        self.hook.before(StoreCall::UpdateGroup).await;
        self.inner
            .update_group(group, expected_version, edits)
            .await
    }

    async fn edit_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<Group, StoreError> {
        self.hook.before(StoreCall::EditMembers).await;
        self.inner.edit_members(dir, group, edits, at).await
    }

    async fn get_group(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        self.hook.before(StoreCall::GetGroup).await;
        self.inner.get_group(dir, id).await
    }

    async fn get_groups(
        &self,
        dir: &DirectoryId,
        ids: &[GroupId],
    ) -> Result<Vec<Group>, StoreError> {
        self.hook.before(StoreCall::GetGroups).await;
        self.inner.get_groups(dir, ids).await
    }

    async fn list_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
        page: Keyset<GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        self.hook.before(StoreCall::ListGroups).await;
        self.inner.list_groups(dir, filter, page).await
    }

    async fn count_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
    ) -> Result<u64, StoreError> {
        self.hook.before(StoreCall::CountGroups).await;
        self.inner.count_groups(dir, filter).await
    }

    async fn groups_of_users(
        &self,
        dir: &DirectoryId,
        users: &[UserId],
    ) -> Result<Vec<UserGroup>, StoreError> {
        self.hook.before(StoreCall::GroupsOfUsers).await;
        self.inner.groups_of_users(dir, users).await
    }

    async fn members_of_groups(
        &self,
        dir: &DirectoryId,
        groups: &[GroupId],
        states: States,
    ) -> Result<Vec<GroupMember>, StoreError> {
        self.hook.before(StoreCall::MembersOfGroups).await;
        self.inner.members_of_groups(dir, groups, states).await
    }

    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        self.hook.before(StoreCall::ListMembers).await;
        self.inner.list_members(dir, group, states, page).await
    }

    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        self.hook.before(StoreCall::ListChanges).await;
        self.inner.list_changes(dir, after, limit).await
    }

    async fn latest_change_seq(&self, dir: &DirectoryId) -> Result<u64, StoreError> {
        self.hook.before(StoreCall::LatestChangeSeq).await;
        self.inner.latest_change_seq(dir).await
    }

    async fn trim_changes(&self, dir: &DirectoryId, through: u64) -> Result<u64, StoreError> {
        self.hook.before(StoreCall::TrimChanges).await;
        self.inner.trim_changes(dir, through).await
    }
}

#[async_trait]
impl<S: TokenStore + ?Sized> TokenStore for Hooked<S> {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        self.hook.before(StoreCall::InsertToken).await;
        self.inner.insert_token(token).await
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.hook.before(StoreCall::FindToken).await;
        self.inner.find_token(hash).await
    }

    async fn list_tokens(&self, scope: &TokenScope) -> Result<Vec<TokenRecord>, StoreError> {
        self.hook.before(StoreCall::ListTokens).await;
        self.inner.list_tokens(scope).await
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<(), StoreError> {
        self.hook.before(StoreCall::RevokeToken).await;
        self.inner.revoke_token(id).await
    }

    async fn delete_tokens(&self, scope: &TokenScope) -> Result<u64, StoreError> {
        self.hook.before(StoreCall::DeleteTokens).await;
        self.inner.delete_tokens(scope).await
    }
}
