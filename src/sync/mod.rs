//! The vendor side: read what identity providers provisioned, page by page, and follow
//! every change as it happens.
//!
//! The sync loop reads every user (optionally of one group) and group as a stream
//! ([`DirectorySync::users`], [`members`](DirectorySync::members),
//! [`groups`](DirectorySync::groups)) that pages under the hood; deprovisioned users stay
//! listed with `deleted: true`, so the loop both provisions and deprovisions. Paging is
//! keyset-based: every item that exists for the whole walk appears exactly once, even
//! while the IdP changes the directory mid-walk. The page methods
//! ([`DirectorySync::list_users`], [`list_groups`](DirectorySync::list_groups)) are there
//! for a walk that must stop and resume from a stored `next_page_token`. Afterwards,
//! [`DirectorySync::subscribe`] follows the change feed: a [`ChangeSubscription`] is a
//! stream of every later change.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use futures_util::TryStreamExt;
//! use scimkit::store::MemoryStore;
//! use scimkit::sync::{DirectorySelector, DirectorySync, ListGroups, ListUsers};
//! use scimkit::Admin;
//!
//! let store = Arc::new(MemoryStore::new());
//! let admin = Admin::new(store.clone());
//! let org = admin.create_organization(Some("acme".into()), vec![]).await?;
//! admin.create_directory(&org.id, true).await?;
//!
//! let sync = DirectorySync::new(store);
//! let acme = DirectorySelector::OrganizationExternalId("acme".into());
//! // Taken before the full sync, so a change made during it is replayed afterwards.
//! let cursor = sync.latest_cursor(&acme).await?;
//! let mut users = sync.users(ListUsers::new(acme.clone()));
//! while let Some(user) = users.try_next().await? {
//!     if user.deleted { /* deprovision user.email */ } else { /* provision it */ }
//! }
//! let mut groups = sync.groups(ListGroups::new(acme.clone()));
//! while let Some(group) = groups.try_next().await? {
//!     let members: Vec<_> = sync.members(&acme, &group.id).try_collect().await?;
//!     # let _ = members;
//! }
//! let feed = sync.subscribe(&acme, cursor).await?; // then: while let Some(change) = feed.try_next().await? { .. }
//! # drop(feed);
//! # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

mod accessors;
mod changes;
mod fields;
mod page_token;
mod stream;

pub use crate::service::ManagementService;
pub use crate::store::{ChangeNotifier, LocalNotifier, States};
pub use changes::{ChangePage, ChangeSubscription, DEFAULT_POLL_INTERVAL};
pub use fields::{
    FieldError, FieldMappingError, MAX_MAPPED_FIELDS, STANDARD_FIELDS, check_field_mapping,
    default_fields, effective_fields,
};
pub use stream::Items;

use fields::CompiledFields;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::error::StoreError;
use crate::model::{
    Directory, DirectoryId, Group, GroupId, OrganizationId, User, UserId, UserState,
};
use crate::seal::Sealer;
use crate::store::{DirectoryStore, DirectoryStoreExt, Keyset, UserFilter};

/// Default page size.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page size.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Which directory to read: one by id, or an organization's primary directory.
/// `#[non_exhaustive]`: more ways to name a directory may come.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectorySelector {
    /// A directory by id.
    Directory(DirectoryId),
    /// The primary directory of an organization, by id.
    Organization(OrganizationId),
    /// The primary directory of an organization, by the vendor's external id.
    OrganizationExternalId(String),
}

/// What can go wrong reading the directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// No organization with that id or external id.
    #[error("no such organization")]
    UnknownOrganization,
    /// No directory with that id.
    #[error("no such directory")]
    UnknownDirectory,
    /// The organization has no primary directory.
    #[error("the organization has no primary SCIM directory")]
    NoPrimaryDirectory,
    /// A page token that this server did not issue for this listing.
    #[error("the page token is invalid, or belongs to another listing or directory")]
    InvalidPageToken,
    /// A page size outside 1..=1000.
    #[error("page size must be between 1 and {MAX_PAGE_SIZE}, got {0}")]
    InvalidPageSize(usize),
    /// No user or group with that id in the directory.
    #[error("not found")]
    NotFound,
    /// The change log no longer holds the changes after this cursor (they were trimmed
    /// for retention): run a full sync, then follow the feed from
    /// [`DirectorySync::latest_cursor`] taken before it.
    #[error("changes through {through} were trimmed; run a full sync")]
    CursorTrimmed {
        /// Changes with `seq <= through` are gone.
        through: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A provisioned user, as the vendor reads it. `#[non_exhaustive]`: fields may be added;
/// build one from a [`User`] with `From`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SyncUser {
    /// `scim_user_...`.
    pub id: UserId,
    /// The directory it came from.
    pub scim_directory_id: DirectoryId,
    /// Its email: always present under the default
    /// [`EmailPolicy::Required`](crate::service::EmailPolicy); `None` when the service runs
    /// with `EmailPolicy::Optional` and the IdP sent no email for this user.
    pub email: Option<String>,
    /// Deprovisioned (deleted or deactivated by the IdP): remove its access.
    pub deleted: bool,
    /// Why it is deprovisioned, if it is: [`UserState::Deactivated`] (`active: false`,
    /// still visible to the IdP) or [`UserState::Deleted`] (DELETEd by the IdP).
    pub state: UserState,
    /// The SCIM resource as the IdP last sent it.
    pub attributes: Value,
    /// The user's effective roles under the directory's
    /// [`RoleMapping`](crate::model::RoleMapping), when the listing asked for them
    /// ([`ListUsers::with_roles`]); `None` otherwise. Empty for a deprovisioned user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<BTreeSet<String>>,
    /// The vendor's fields, read from `attributes` by the directory's attribute mapping
    /// ([`effective_fields`]: the IdP's defaults and the directory's own); a field whose
    /// attribute the IdP did not send is absent. Filled by [`DirectorySync`]; empty for a
    /// `SyncUser` built with `From<User>`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
    /// The mapped fields that could not be read for this user, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_errors: Vec<FieldError>,
}

impl From<User> for SyncUser {
    fn from(user: User) -> Self {
        Self {
            deleted: user.deleted(),
            state: user.state,
            id: user.id,
            scim_directory_id: user.directory_id,
            email: user.email,
            attributes: user.attributes,
            roles: None,
            fields: BTreeMap::new(),
            field_errors: Vec::new(),
        }
    }
}

impl SyncUser {
    /// A user with its fields read by `directory`'s attribute mapping.
    pub fn mapped(user: User, directory: &Directory) -> Self {
        Self::from(user).with_fields(&CompiledFields::for_directory(directory))
    }

    fn with_fields(mut self, fields: &CompiledFields) -> Self {
        let (values, errors) = fields.resolve(&self.attributes);
        self.fields = values;
        self.field_errors = errors;
        self
    }

    /// A mapped field (see [`SyncUser::fields`]): `user.field("cost_center")`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use scimkit::model::FieldMapping;
    /// use scimkit::store::{DirectoryStore, MemoryStore};
    /// use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
    /// use scimkit::Admin;
    ///
    /// let store = Arc::new(MemoryStore::new());
    /// let admin = Admin::new(store.clone());
    /// let org = admin.create_organization(Some("acme".into()), vec![]).await?;
    /// let directory = admin.create_directory(&org.id, true).await?;
    /// admin
    ///     .set_field_mapping(
    ///         &directory.id,
    ///         FieldMapping::new().map(
    ///             "cost_center",
    ///             "urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter",
    ///         ),
    ///     )
    ///     .await?;
    /// // ... the IdP provisions users ...
    /// let sync = DirectorySync::new(store);
    /// let page = sync.list_users(ListUsers::new(DirectorySelector::Directory(directory.id))).await?;
    /// for user in page.items {
    ///     let cost_center = user.field("cost_center").and_then(|v| v.as_str());
    ///     for error in user.field_errors() {
    ///         eprintln!("user {}: {error}", user.id);
    ///     }
    /// #   let _ = cost_center;
    /// }
    /// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// A mapped field that is a string.
    pub fn field_str(&self, name: &str) -> Option<&str> {
        self.field(name).and_then(Value::as_str)
    }

    /// The mapped fields that could not be read for this user.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.field_errors
    }
}

/// A provisioned group, as the vendor reads it. `#[non_exhaustive]`: fields may be
/// added; build one from a [`Group`] with `From`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SyncGroup {
    /// `scim_group_...`.
    pub id: GroupId,
    /// The directory it came from.
    pub scim_directory_id: DirectoryId,
    /// Its display name.
    pub display_name: String,
    /// Deleted by the IdP.
    pub deleted: bool,
    /// The SCIM resource as the IdP last sent it (members are listed separately).
    pub attributes: Value,
}

impl From<Group> for SyncGroup {
    fn from(group: Group) -> Self {
        Self {
            id: group.id,
            scim_directory_id: group.directory_id,
            display_name: group.display_name,
            deleted: group.deleted,
            attributes: group.attributes,
        }
    }
}

/// An opaque position in a listing, handed out as [`Page::next_page_token`] and passed
/// back (as [`ListUsers::page_token`] or [`ListGroups::page_token`]) for the next page.
/// It is sealed: it works only for the listing and directory it came from, and only on
/// a server with the same page-token key. Store it as its string form and rebuild it
/// with [`PageToken::new`] to resume a walk later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PageToken(String);

impl PageToken {
    /// A token from its string form (as [`PageToken::as_str`] gave it, or as a client
    /// sent it); it is checked when used, not here.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The string form, to store or send.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The string form, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for PageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A page of a listing. `#[non_exhaustive]`: read its fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass it back for the next page; `None` at the end.
    pub next_page_token: Option<PageToken>,
}

/// Parameters of [`DirectorySync::list_users`] and [`DirectorySync::users`]: start from
/// [`ListUsers::new`] (every user of a directory, 100 a page, from the start).
///
/// ```
/// use scimkit::sync::{DirectorySelector, ListUsers, States};
///
/// let acme = DirectorySelector::OrganizationExternalId("acme".into());
/// let request = ListUsers::new(acme).with_states(States::Active).with_page_size(500);
/// assert_eq!(request.page_size, Some(500));
/// ```
///
/// `#[non_exhaustive]`, so that new options do not break callers: build it with `new`
/// and the `with_` methods (its fields stay readable and assignable).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListUsers {
    /// Whose users.
    pub directory: DirectorySelector,
    /// Only members of this group.
    pub group: Option<GroupId>,
    /// Which users: by default [`States::All`], so deprovisioned users (and deleted
    /// members of `group`) are listed with `deleted: true` and the loop deprovisions them;
    /// [`States::Active`] lists only users to provision.
    pub states: States,
    /// 1 to 1000; `None` means 100.
    pub page_size: Option<usize>,
    /// `None` for the first page.
    pub page_token: Option<PageToken>,
    /// Fill each user's [`SyncUser::roles`] (one extra store call per page).
    pub roles: bool,
}

/// Parameters of [`DirectorySync::list_groups`] and [`DirectorySync::groups`]: start
/// from [`ListGroups::new`] (every group of a directory, 100 a page, from the start).
/// `#[non_exhaustive]`, like [`ListUsers`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListGroups {
    /// Whose groups.
    pub directory: DirectorySelector,
    /// Only the groups nested directly in this group (its member groups); `None`: every
    /// group.
    pub parent: Option<GroupId>,
    /// 1 to 1000; `None` means 100.
    pub page_size: Option<usize>,
    /// `None` for the first page.
    pub page_token: Option<PageToken>,
}

impl ListUsers {
    /// Every user of `directory` (deprovisioned ones included), the default page size,
    /// from the first page.
    pub fn new(directory: DirectorySelector) -> Self {
        Self {
            directory,
            group: None,
            states: States::All,
            page_size: None,
            page_token: None,
            roles: false,
        }
    }

    /// With each user's effective roles in [`SyncUser::roles`], read with one
    /// `groups_of_users` call per page (not one per user).
    pub fn with_roles(mut self) -> Self {
        self.roles = true;
        self
    }

    /// Only members of `group`.
    pub fn with_group(mut self, group: GroupId) -> Self {
        self.group = Some(group);
        self
    }

    /// Only users in these states.
    pub fn with_states(mut self, states: States) -> Self {
        self.states = states;
        self
    }

    /// Pages of `size` (1 to 1000; checked when the request is run).
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Resume from a `next_page_token` an earlier page returned (`None`: from the
    /// start), so a page loop passes `page.next_page_token` straight back.
    pub fn with_page_token(mut self, token: impl Into<Option<PageToken>>) -> Self {
        self.page_token = token.into();
        self
    }
}

impl ListGroups {
    /// Every group of `directory` (deleted ones included), the default page size, from
    /// the first page.
    pub fn new(directory: DirectorySelector) -> Self {
        Self {
            directory,
            parent: None,
            page_size: None,
            page_token: None,
        }
    }

    /// Only the member groups of `group`: the groups nested directly in it (their users
    /// get its roles). A group deleted since it was nested is listed with
    /// `deleted: true`, as in every listing. [`SyncError::NotFound`] for an unknown
    /// group.
    pub fn member_groups_of(mut self, group: GroupId) -> Self {
        self.parent = Some(group);
        self
    }

    /// Pages of `size` (1 to 1000; checked when the request is run).
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Resume from a `next_page_token` an earlier page returned (`None`: from the
    /// start), so a page loop passes `page.next_page_token` straight back.
    pub fn with_page_token(mut self, token: impl Into<Option<PageToken>>) -> Self {
        self.page_token = token.into();
        self
    }
}

/// Reads provisioned users and groups and the change feed, for the vendor's own code.
#[derive(Clone)]
pub struct DirectorySync {
    store: Arc<dyn DirectoryStore>,
    sealer: Sealer,
    notifier: Option<Arc<dyn ChangeNotifier>>,
    poll_interval: std::time::Duration,
}

impl std::fmt::Debug for DirectorySync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectorySync").finish_non_exhaustive()
    }
}

fn page_size(requested: Option<usize>) -> Result<usize, SyncError> {
    match requested {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(n) => Err(SyncError::InvalidPageSize(n)),
    }
}

impl DirectorySync {
    /// Reads `store`, with page tokens sealed under a random key (they stop working when
    /// the process restarts; see [`DirectorySync::with_page_token_key`]).
    pub fn new(store: Arc<dyn DirectoryStore>) -> Self {
        Self {
            store,
            sealer: Sealer::random().unwrap_or_else(|| Sealer::new(crate::seal::fallback_key())),
            notifier: None,
            poll_interval: changes::POLL_WITHOUT_NOTIFIER,
        }
    }

    /// Seals page tokens under `key`, so they survive restarts and work across replicas.
    pub fn with_page_token_key(mut self, key: [u8; 32]) -> Self {
        self.sealer = Sealer::new(key);
        self
    }

    /// Wakes change subscriptions with `notifier` (give the same one to the
    /// `ScimService` builder, or use the backend's cross-process notifier). With a
    /// notifier, subscriptions stop polling every 250 ms and look at the store only when
    /// woken, or after [`DEFAULT_POLL_INTERVAL`] (see
    /// [`DirectorySync::with_poll_interval`]) to cover writes that bypass it.
    pub fn with_notifier(mut self, notifier: Arc<dyn ChangeNotifier>) -> Self {
        self.notifier = Some(notifier);
        if self.poll_interval == changes::POLL_WITHOUT_NOTIFIER {
            self.poll_interval = DEFAULT_POLL_INTERVAL;
        }
        self
    }

    /// How long a subscription waits before reading the store when nothing woke it:
    /// 250 ms without a notifier, [`DEFAULT_POLL_INTERVAL`] with one. A change made
    /// where no notifier sees it (another process without a shared notifier, a write
    /// straight to the store) reaches subscribers within this bound.
    pub fn with_poll_interval(mut self, interval: std::time::Duration) -> Self {
        self.poll_interval = interval.max(std::time::Duration::from_millis(1));
        self
    }

    /// The notifier subscriptions wait on, if any.
    pub fn notifier(&self) -> Option<&Arc<dyn ChangeNotifier>> {
        self.notifier.as_ref()
    }

    /// The directory a selector names.
    pub async fn directory(&self, selector: &DirectorySelector) -> Result<Directory, SyncError> {
        let org = match selector {
            DirectorySelector::Directory(id) => {
                return self
                    .store
                    .get_directory(id)
                    .await?
                    .ok_or(SyncError::UnknownDirectory);
            }
            DirectorySelector::Organization(id) => self.store.get_organization(id).await?,
            DirectorySelector::OrganizationExternalId(external_id) => {
                self.store.find_organization(external_id).await?
            }
        }
        .ok_or(SyncError::UnknownOrganization)?;
        self.store
            .list_directories(&org.id)
            .await?
            .into_iter()
            .find(|d| d.primary)
            .ok_or(SyncError::NoPrimaryDirectory)
    }

    /// A page of users, deprovisioned ones included with `deleted: true`.
    pub async fn list_users(&self, request: ListUsers) -> Result<Page<SyncUser>, SyncError> {
        let directory = self.directory(&request.directory).await?;
        let limit = page_size(request.page_size)?;
        if let Some(group) = &request.group
            && self.store.get_group(&directory.id, group).await?.is_none()
        {
            return Err(SyncError::NotFound);
        }
        let listing = match (&request.group, request.states) {
            (Some(group), States::All) => format!("users_of:{group}"),
            (None, States::All) => "users".to_owned(),
            (Some(group), states) => format!("users_of:{group}:{states:?}"),
            (None, states) => format!("users:{states:?}"),
        };
        let after: Option<UserId> = match &request.page_token {
            None => None,
            Some(token) => Some(
                page_token::decode(&self.sealer, token.as_str(), &listing, &directory.id)?
                    .parse()
                    .map_err(|_| SyncError::InvalidPageToken)?,
            ),
        };
        // One extra item tells whether another page follows.
        let filter = UserFilter {
            states: request.states,
            group: request.group.clone(),
            ..UserFilter::default()
        };
        let mut users = self
            .store
            .list_users(&directory.id, &filter, Keyset::after(after, limit + 1))
            .await?;
        let more = users.len() > limit;
        users.truncate(limit);
        let next_page_token = match (more, users.last()) {
            (true, Some(last)) => Some(PageToken(page_token::encode(
                &self.sealer,
                &page_token::Position {
                    listing,
                    directory: directory.id.clone(),
                    after: last.id.to_string(),
                },
            ))),
            _ => None,
        };
        let roles = if request.roles {
            Some(self.page_roles(&directory, &users).await?)
        } else {
            None
        };
        let fields = CompiledFields::for_directory(&directory);
        let items = users
            .into_iter()
            .map(|user| {
                let user_roles = roles
                    .as_ref()
                    .map(|r| r.get(&user.id).cloned().unwrap_or_default());
                SyncUser {
                    roles: user_roles,
                    ..SyncUser::from(user)
                }
                .with_fields(&fields)
            })
            .collect();
        Ok(Page {
            items,
            next_page_token,
        })
    }

    /// The effective roles of each of `users`, from one `groups_of_users` call.
    async fn page_roles(
        &self,
        directory: &Directory,
        users: &[User],
    ) -> Result<BTreeMap<UserId, BTreeSet<String>>, SyncError> {
        let ids: Vec<UserId> = users
            .iter()
            .filter(|u| u.state == UserState::Active)
            .map(|u| u.id.clone())
            .collect();
        let rows = if ids.is_empty() || directory.roles.rules.is_empty() {
            Vec::new()
        } else {
            self.store.groups_of_users(&directory.id, &ids).await?
        };
        Ok(users
            .iter()
            .map(|user| {
                let groups = rows
                    .iter()
                    .filter(|row| row.user_id == user.id && !row.group_deleted)
                    .map(crate::store::UserGroup::facts);
                let roles = directory
                    .roles
                    .roles_of(user.state == UserState::Active, groups);
                (user.id.clone(), roles)
            })
            .collect())
    }

    /// A user's effective roles under the directory's
    /// [`RoleMapping`](crate::model::RoleMapping): the role of every rule naming a group
    /// the user is a member of, directly or through groups nested in it, else the
    /// default role; none for a deprovisioned user.
    /// `NotFound` for an unknown user.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use scimkit::model::{GroupMatch, RoleMapping};
    /// use scimkit::store::MemoryStore;
    /// use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
    /// use scimkit::Admin;
    ///
    /// let store = Arc::new(MemoryStore::new());
    /// let admin = Admin::new(store.clone());
    /// let org = admin.create_organization(Some("acme".into()), vec![]).await?;
    /// let directory = admin.create_directory(&org.id, true).await?;
    /// admin
    ///     .set_role_mapping(
    ///         &directory.id,
    ///         RoleMapping::new()
    ///             .map(GroupMatch::DisplayName("Engineering".into()), "developer")
    ///             .with_default("viewer"),
    ///     )
    ///     .await?;
    /// let sync = DirectorySync::new(store);
    /// let acme = DirectorySelector::OrganizationExternalId("acme".into());
    /// let page = sync.list_users(ListUsers::new(acme).with_roles()).await?;
    /// for user in page.items {
    ///     let roles = user.roles.unwrap_or_default(); // e.g. {"viewer"}
    ///     # let _ = roles;
    /// }
    /// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub async fn roles_of(
        &self,
        directory: &DirectorySelector,
        id: &UserId,
    ) -> Result<BTreeSet<String>, SyncError> {
        let directory = self.directory(directory).await?;
        let user = self
            .store
            .get_user(&directory.id, id)
            .await?
            .ok_or(SyncError::NotFound)?;
        let mut roles = self
            .page_roles(&directory, std::slice::from_ref(&user))
            .await?;
        Ok(roles.remove(&user.id).unwrap_or_default())
    }

    /// A page of groups, deleted ones included with `deleted: true`.
    pub async fn list_groups(&self, request: ListGroups) -> Result<Page<SyncGroup>, SyncError> {
        let directory = self.directory(&request.directory).await?;
        let limit = page_size(request.page_size)?;
        if let Some(parent) = &request.parent
            && self.store.get_group(&directory.id, parent).await?.is_none()
        {
            return Err(SyncError::NotFound);
        }
        let listing = match &request.parent {
            Some(parent) => format!("groups_in:{parent}"),
            None => "groups".to_owned(),
        };
        let after: Option<GroupId> = match &request.page_token {
            None => None,
            Some(token) => Some(
                page_token::decode(&self.sealer, token.as_str(), &listing, &directory.id)?
                    .parse()
                    .map_err(|_| SyncError::InvalidPageToken)?,
            ),
        };
        let filter = crate::store::GroupFilter {
            parent: request.parent.clone(),
            ..crate::store::GroupFilter::default()
        };
        let mut groups = self
            .store
            .list_groups(&directory.id, &filter, Keyset::after(after, limit + 1))
            .await?;
        let more = groups.len() > limit;
        groups.truncate(limit);
        let next_page_token = match (more, groups.last()) {
            (true, Some(last)) => Some(PageToken(page_token::encode(
                &self.sealer,
                &page_token::Position {
                    listing,
                    directory: directory.id.clone(),
                    after: last.id.to_string(),
                },
            ))),
            _ => None,
        };
        Ok(Page {
            items: groups.into_iter().map(SyncGroup::from).collect(),
            next_page_token,
        })
    }

    /// Every user of the listing `request` describes (the directory, optionally one
    /// group, which states), as a stream that reads one page of `request.page_size` at a
    /// time; `request.page_token` resumes a walk. The same keyset walk as
    /// [`list_users`](DirectorySync::list_users): each user present for the whole walk
    /// appears exactly once.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use futures_util::TryStreamExt;
    /// use scimkit::store::MemoryStore;
    /// use scimkit::sync::{DirectorySelector, DirectorySync, ListUsers};
    /// use scimkit::Admin;
    ///
    /// let store = Arc::new(MemoryStore::new());
    /// let admin = Admin::new(store.clone());
    /// let org = admin.create_organization(Some("acme".into()), vec![]).await?;
    /// admin.create_directory(&org.id, true).await?;
    ///
    /// let sync = DirectorySync::new(store);
    /// let acme = DirectorySelector::OrganizationExternalId("acme".into());
    /// let mut users = sync.users(ListUsers::new(acme));
    /// while let Some(user) = users.try_next().await? {
    ///     if user.deleted { /* deprovision user.email */ } else { /* provision it */ }
    /// }
    /// # Ok::<_, Box<dyn std::error::Error>>(()) }).unwrap();
    /// ```
    pub fn users(&self, request: ListUsers) -> Items<SyncUser> {
        let sync = self.clone();
        let first = request.page_token.clone();
        stream::paged(first, move |page_token| {
            let (sync, request) = (
                sync.clone(),
                ListUsers {
                    page_token,
                    ..request.clone()
                },
            );
            async move { sync.list_users(request).await }
        })
    }

    /// Every user of a group, deleted members included with `deleted: true`, as a
    /// stream that pages under the hood (see [`DirectorySync::users`]; this is `users`
    /// with `group` set). An unknown group is one `SyncError::NotFound` item.
    pub fn members(&self, directory: &DirectorySelector, group: &GroupId) -> Items<SyncUser> {
        self.users(ListUsers::new(directory.clone()).with_group(group.clone()))
    }

    /// Every group, deleted ones included with `deleted: true`, as a stream that reads
    /// one page of `request.page_size` at a time (see [`DirectorySync::users`]).
    pub fn groups(&self, request: ListGroups) -> Items<SyncGroup> {
        let sync = self.clone();
        let first = request.page_token.clone();
        stream::paged(first, move |page_token| {
            let (sync, request) = (
                sync.clone(),
                ListGroups {
                    page_token,
                    ..request.clone()
                },
            );
            async move { sync.list_groups(request).await }
        })
    }

    /// A user by id, deleted or not.
    pub async fn get_user(
        &self,
        directory: &DirectorySelector,
        id: &UserId,
    ) -> Result<SyncUser, SyncError> {
        let directory = self.directory(directory).await?;
        self.store
            .get_user(&directory.id, id)
            .await?
            .map(|user| SyncUser::mapped(user, &directory))
            .ok_or(SyncError::NotFound)
    }

    /// A group by id, deleted or not.
    pub async fn get_group(
        &self,
        directory: &DirectorySelector,
        id: &GroupId,
    ) -> Result<SyncGroup, SyncError> {
        let directory = self.directory(directory).await?;
        self.store
            .get_group(&directory.id, id)
            .await?
            .map(SyncGroup::from)
            .ok_or(SyncError::NotFound)
    }

    /// The groups a user is a direct member of (deleted groups included, marked). The
    /// groups it belongs to through nesting count for [`DirectorySync::roles_of`]; a
    /// group's member groups are listed by [`ListGroups::member_groups_of`].
    pub async fn groups_of_user(
        &self,
        directory: &DirectorySelector,
        id: &UserId,
    ) -> Result<Vec<SyncGroup>, SyncError> {
        let directory = self.directory(directory).await?;
        if self.store.get_user(&directory.id, id).await?.is_none() {
            return Err(SyncError::NotFound);
        }
        Ok(self
            .store
            .groups_of_user(&directory.id, id, States::All)
            .await?
            .into_iter()
            .map(SyncGroup::from)
            .collect())
    }
}
