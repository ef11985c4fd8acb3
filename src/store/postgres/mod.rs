//! [`PostgresStore`]: the backend several processes share (feature `postgres`).
//!
//! Every write is one transaction at `READ COMMITTED`: the entity row is locked
//! (`SELECT ... FOR NO KEY UPDATE`) before the planner ([`super::plan`]) decides, so the version
//! check is a compare-and-swap across processes; `userName` uniqueness is a unique partial
//! index (a race the planner's read missed fails on the index and maps to
//! `Conflict(UserName)`); the change-log entries are numbered from the directory's counter
//! row, locked as the last step before commit, so `seq` has no gaps and its order is commit
//! order; and `pg_notify` in the same transaction wakes [`PostgresNotifier`]s in other
//! processes once the write is visible.
//!
//! Modules by concern: `schema` (migrations), `reads`, `writes`, `nesting` (the nesting
//! lock and the planner's nesting reads inside a write), `tokens`, `notify`, and `sql`
//! (row decoding, query building, error mapping).

mod nesting;
mod notify;
mod prepared;
mod reads;
mod schema;
mod sql;
mod tokens;
mod unique;
mod webhooks;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use time::OffsetDateTime;
use tokio_postgres::NoTls;

pub use notify::PostgresNotifier;
pub use schema::POSTGRES_SCHEMA_VERSION;

use super::{
    DirectoryEdit, DirectoryStore, GroupFilter, GroupMember, Keyset, MembershipEdit, States,
    StoreError, TokenStore, UserFilter, UserGroup,
};
use crate::model::{
    Change, Directory, DirectoryId, Group, GroupId, Organization, OrganizationId, TokenHash,
    TokenId, TokenRecord, TokenScope, User, UserId,
};

/// How [`PostgresStore::connect`] sets up the pool and the schema.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The PostgreSQL schema scimkit's tables live in, created by [`PostgresStore::migrate`]
    /// (lower-case letters, digits and `_`, starting with a letter or `_`, at most 63
    /// bytes). Default `scimkit`.
    pub schema: String,
    /// Connections the pool keeps open at most. Default 16.
    pub max_connections: usize,
    /// How long a request waits for a free connection before failing. Default 10 s.
    pub wait_timeout: Duration,
    /// Run [`PostgresStore::migrate`] while connecting. Default `true`; turn it off when
    /// migrations run as a separate deploy step, and connect then refuses a schema that is
    /// not at [`POSTGRES_SCHEMA_VERSION`].
    pub migrate: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: "scimkit".to_owned(),
            max_connections: 16,
            wait_timeout: Duration::from_secs(10),
            migrate: true,
        }
    }
}

impl PostgresOptions {
    /// The default options with another schema name.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The options with another pool size.
    pub fn with_max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections;
        self
    }

    /// The options with another wait for a free connection.
    pub fn with_wait_timeout(mut self, wait_timeout: Duration) -> Self {
        self.wait_timeout = wait_timeout;
        self
    }

    /// The options with migration on connect turned on or off.
    pub fn with_migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }
}

/// Why a [`PostgresStore`] or [`PostgresNotifier`] could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresOpenError {
    /// The connection string does not parse.
    #[error("invalid PostgreSQL connection string: {0}")]
    Config(#[source] tokio_postgres::Error),
    /// The schema name is not a plain lower-case identifier.
    #[error("invalid schema name `{0}`: use lower-case letters, digits and `_` (at most 63 bytes)")]
    SchemaName(String),
    /// The pool could not be built.
    #[error("could not build the connection pool: {0}")]
    Pool(String),
    /// No connection could be made, or a setup statement failed.
    #[error("PostgreSQL refused: {0}")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The schema was written by a newer scimkit.
    #[error("schema `{schema}` is at version {found}, newer than this scimkit's {supported}")]
    TooNew {
        /// The schema name.
        schema: String,
        /// Its version.
        found: i32,
        /// [`POSTGRES_SCHEMA_VERSION`].
        supported: i32,
    },
    /// `migrate` was off and the schema is behind (or absent).
    #[error("schema `{schema}` is at version {found}, not {supported}: run PostgresStore::migrate")]
    NotMigrated {
        /// The schema name.
        schema: String,
        /// Its version (0: absent).
        found: i32,
        /// [`POSTGRES_SCHEMA_VERSION`].
        supported: i32,
    },
}

/// A [`DirectoryStore`] and [`TokenStore`] in PostgreSQL, shared safely by any number of
/// processes. Cheap to clone (clones share the pool).
///
/// Groups nest (a group may be a member group of another) up to
/// [`DEFAULT_MAX_GROUP_DEPTH`](super::plan::DEFAULT_MAX_GROUP_DEPTH) levels, or the limit
/// [`PostgresStore::with_max_group_depth`] sets. Every process sharing a schema should
/// use the same limit: it is checked by the process that writes an edge.
///
/// ```no_run
/// # async fn run() -> Result<(), scimkit::store::PostgresOpenError> {
/// use scimkit::store::{PostgresOptions, PostgresStore};
/// let store = PostgresStore::connect(
///     "postgresql://app@db.internal/app",
///     PostgresOptions::default().with_schema("scim"),
/// )
/// .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: Arc<Schema>,
    max_group_depth: usize,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema.name)
            .field("max_group_depth", &self.max_group_depth)
            .field("pool", &self.pool.status())
            .finish()
    }
}

/// A validated schema name and what is derived from it.
#[derive(Debug)]
pub(crate) struct Schema {
    /// As given.
    name: String,
    /// Double-quoted, for SQL text.
    quoted: String,
    /// The `NOTIFY` channel writes in this schema signal on.
    channel: String,
}

impl Schema {
    fn new(name: &str) -> Result<Self, PostgresOpenError> {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(PostgresOpenError::SchemaName(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            quoted: format!("\"{name}\""),
            channel: format!("scimkit:{name}"),
        })
    }

    /// `template` with every `{s}` replaced by the quoted schema name.
    pub(crate) fn sql(&self, template: &str) -> String {
        template.replace("{s}", &self.quoted)
    }
}

impl PostgresStore {
    /// Connects to `url` (a libpq-style `postgresql://...` URL or `key=value` string)
    /// without TLS, with a pool of `options.max_connections`, and migrates the schema if
    /// `options.migrate`. For TLS, build a pool yourself and use [`PostgresStore::from_pool`].
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, PostgresOpenError> {
        let config: tokio_postgres::Config = url.parse().map_err(PostgresOpenError::Config)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.wait_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| PostgresOpenError::Pool(e.to_string()))?;
        Self::from_pool(pool, options).await
    }

    /// A store over a pool the caller built (TLS, custom settings). Migrates or checks the
    /// schema as [`PostgresStore::connect`] does.
    pub async fn from_pool(
        pool: Pool,
        options: PostgresOptions,
    ) -> Result<Self, PostgresOpenError> {
        let store = Self {
            pool,
            schema: Arc::new(Schema::new(&options.schema)?),
            max_group_depth: super::plan::DEFAULT_MAX_GROUP_DEPTH,
        };
        if options.migrate {
            store.migrate().await?;
        } else {
            let found = store.schema_version().await?;
            if found != POSTGRES_SCHEMA_VERSION {
                return Err(if found > POSTGRES_SCHEMA_VERSION {
                    store.too_new(found)
                } else {
                    PostgresOpenError::NotMigrated {
                        schema: store.schema.name.clone(),
                        found,
                        supported: POSTGRES_SCHEMA_VERSION,
                    }
                });
            }
        }
        Ok(store)
    }

    /// The store with at most `levels` levels of group-in-group nesting: a member group
    /// that would make a longer chain is refused ([`NestingRefusal::TooDeep`]), and roles
    /// resolve through at most that many levels.
    ///
    /// [`NestingRefusal::TooDeep`]: super::plan::NestingRefusal::TooDeep
    #[must_use]
    pub fn with_max_group_depth(mut self, levels: usize) -> Self {
        self.max_group_depth = levels;
        self
    }

    /// The schema name.
    pub fn schema(&self) -> &str {
        &self.schema.name
    }

    /// The `NOTIFY` channel this store's writes signal on (what [`PostgresNotifier`]
    /// listens to).
    pub fn notify_channel(&self) -> &str {
        &self.schema.channel
    }

    /// The pool, to share with the vendor's own queries or to inspect.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        prepared::bound_statement_cache(&client);
        Ok(client)
    }
}

#[async_trait]
impl DirectoryStore for PostgresStore {
    async fn insert_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.insert_organization_impl(org).await
    }

    async fn update_organization(&self, org: Organization) -> Result<(), StoreError> {
        self.update_organization_impl(org).await
    }

    async fn get_organization(
        &self,
        id: &OrganizationId,
    ) -> Result<Option<Organization>, StoreError> {
        self.get_organization_impl(id).await
    }

    async fn find_organization(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, StoreError> {
        self.find_organization_impl(external_id).await
    }

    async fn list_organizations(
        &self,
        page: Keyset<OrganizationId>,
    ) -> Result<Vec<Organization>, StoreError> {
        self.list_organizations_impl(page).await
    }

    async fn insert_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.insert_directory_impl(directory).await
    }

    async fn update_directory(&self, directory: Directory) -> Result<(), StoreError> {
        self.update_directory_impl(directory).await
    }

    async fn touch_directory(
        &self,
        id: &DirectoryId,
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        self.plan_directory_write(id, |stored| super::plan::touch_directory(stored, id, at))
            .await
    }

    async fn edit_directory(
        &self,
        id: &DirectoryId,
        edits: &[DirectoryEdit],
        at: OffsetDateTime,
    ) -> Result<Directory, StoreError> {
        self.plan_directory_write(id, |stored| {
            super::plan::edit_directory(stored, id, edits, at)
        })
        .await
    }

    async fn get_directory(&self, id: &DirectoryId) -> Result<Option<Directory>, StoreError> {
        self.get_directory_impl(id).await
    }

    async fn list_directories(&self, org: &OrganizationId) -> Result<Vec<Directory>, StoreError> {
        self.list_directories_impl(org).await
    }

    async fn purge_directory(&self, id: &DirectoryId) -> Result<(), StoreError> {
        self.purge_directory_impl(id).await
    }

    async fn insert_user(&self, user: User) -> Result<User, StoreError> {
        self.insert_user_impl(user).await
    }

    async fn update_user(&self, user: User, expected_version: u64) -> Result<User, StoreError> {
        self.update_user_impl(user, expected_version).await
    }

    async fn get_user(&self, dir: &DirectoryId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get_user_impl(dir, id).await
    }

    async fn get_users(&self, dir: &DirectoryId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        self.get_users_impl(dir, ids).await
    }

    async fn list_users(
        &self,
        dir: &DirectoryId,
        filter: &UserFilter,
        page: Keyset<UserId>,
    ) -> Result<Vec<User>, StoreError> {
        self.list_users_impl(dir, filter, page).await
    }

    async fn count_users(&self, dir: &DirectoryId, filter: &UserFilter) -> Result<u64, StoreError> {
        self.count_users_impl(dir, filter).await
    }

    async fn insert_group(
        &self,
        group: Group,
        members: &[UserId],
        member_groups: &[GroupId],
    ) -> Result<Group, StoreError> {
        self.insert_group_impl(group, members, member_groups).await
    }

    async fn update_group(
        &self,
        group: Group,
        expected_version: u64,
        edits: &[MembershipEdit],
    ) -> Result<Group, StoreError> {
        self.update_group_impl(group, expected_version, edits).await
    }

    async fn edit_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        edits: &[MembershipEdit],
        at: OffsetDateTime,
    ) -> Result<Group, StoreError> {
        self.edit_members_impl(dir, group, edits, at).await
    }

    async fn get_group(
        &self,
        dir: &DirectoryId,
        id: &GroupId,
    ) -> Result<Option<Group>, StoreError> {
        self.get_group_impl(dir, id).await
    }

    async fn get_groups(
        &self,
        dir: &DirectoryId,
        ids: &[GroupId],
    ) -> Result<Vec<Group>, StoreError> {
        self.get_groups_impl(dir, ids).await
    }

    async fn list_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
        page: Keyset<GroupId>,
    ) -> Result<Vec<Group>, StoreError> {
        self.list_groups_impl(dir, filter, page).await
    }

    async fn count_groups(
        &self,
        dir: &DirectoryId,
        filter: &GroupFilter,
    ) -> Result<u64, StoreError> {
        self.count_groups_impl(dir, filter).await
    }

    async fn groups_of_users(
        &self,
        dir: &DirectoryId,
        users: &[UserId],
    ) -> Result<Vec<UserGroup>, StoreError> {
        self.groups_of_users_impl(dir, users).await
    }

    async fn members_of_groups(
        &self,
        dir: &DirectoryId,
        groups: &[GroupId],
        states: States,
    ) -> Result<Vec<GroupMember>, StoreError> {
        self.members_of_groups_impl(dir, groups, states).await
    }

    async fn list_members(
        &self,
        dir: &DirectoryId,
        group: &GroupId,
        states: States,
        page: Keyset<UserId>,
    ) -> Result<Vec<UserId>, StoreError> {
        self.list_members_impl(dir, group, states, page).await
    }

    async fn list_changes(
        &self,
        dir: &DirectoryId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        self.list_changes_impl(dir, after, limit).await
    }

    async fn latest_change_seq(&self, dir: &DirectoryId) -> Result<u64, StoreError> {
        self.latest_change_seq_impl(dir).await
    }

    async fn trim_changes(&self, dir: &DirectoryId, through: u64) -> Result<u64, StoreError> {
        self.trim_changes_impl(dir, through).await
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn insert_token(&self, token: TokenRecord) -> Result<(), StoreError> {
        self.insert_token_impl(token).await
    }

    async fn find_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.find_token_impl(hash).await
    }

    async fn list_tokens(&self, scope: &TokenScope) -> Result<Vec<TokenRecord>, StoreError> {
        self.list_tokens_impl(scope).await
    }

    async fn revoke_token(&self, id: &TokenId) -> Result<(), StoreError> {
        self.revoke_token_impl(id).await
    }

    async fn delete_tokens(&self, scope: &TokenScope) -> Result<u64, StoreError> {
        self.delete_tokens_impl(scope).await
    }
}
