//! Administration, in process: organizations, directories and the tokens that open them.
//!
//! ```
//! # tokio_test_block_on(async {
//! use std::sync::Arc;
//! use scimkit::{Admin, store::MemoryStore};
//!
//! let store = Arc::new(MemoryStore::new());
//! let admin = Admin::new(store.clone());
//! let org = admin.create_organization(Some("acme".into()), vec!["acme.com".into()]).await?;
//! let directory = admin.create_directory(&org.id, true).await?;
//! let token = admin.issue_scim_token(&directory.id).await?;
//! // Give `token.secret` to the customer's IdP, once; only its hash is stored.
//! assert!(token.secret.starts_with("scimkit_bearer_"));
//! # Ok::<_, scimkit::admin::AdminError>(()) });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f) }
//! ```

use std::sync::Arc;

use crate::error::{StoreError, UniqueAttribute};
use crate::model::{
    API_KEY_PREFIX, BEARER_TOKEN_PREFIX, Clock, Directory, DirectoryId, DirectoryState,
    EntropyError, FieldMapping, IdGenerator, IdpKind, OAUTH_CLIENT_SECRET_PREFIX, Organization,
    OrganizationId, RandomIds, RoleMapping, SETUP_LINK_PREFIX, SystemClock, TokenHash, TokenId,
    TokenRecord, TokenScope, generate_secret,
};
use crate::schema::{Extensions, SchemaExtension};
use crate::store::{DirectoryEdit, DirectoryStore, Keyset, TokenStore};

/// What can go wrong administering the directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The organization does not exist.
    #[error("organization {0} not found")]
    UnknownOrganization(OrganizationId),
    /// The directory does not exist.
    #[error("directory {0} not found")]
    UnknownDirectory(DirectoryId),
    /// Another organization has this external id.
    #[error("another organization has external id `{0}`")]
    ExternalIdTaken(String),
    /// A domain is not a plain lower-case-able DNS name.
    #[error("`{0}` is not a domain name (expected something like `example.com`)")]
    InvalidDomain(String),
    /// A token given to [`Admin::add_scim_token`] / [`Admin::add_api_key`] is too short
    /// to be a secret.
    #[error("a token must be at least {MIN_SECRET_LEN} characters long")]
    WeakSecret,
    /// A token with this secret exists already.
    #[error("this token is already registered")]
    TokenTaken,
    /// No randomness for a new secret.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// A field mapping with a field name or SCIM path that does not parse.
    #[error(transparent)]
    InvalidFieldMapping(#[from] crate::sync::FieldMappingError),
    /// A schema extension a directory may not declare: not a definition a SCIM client
    /// could read, a reserved URN, or a URN declared twice or by the service.
    #[error(transparent)]
    InvalidSchemaExtension(#[from] crate::schema::SchemaError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Shortest secret accepted from the caller (issued secrets are far longer).
pub const MIN_SECRET_LEN: usize = 16;

/// A token as issued: the secret is shown this once and never stored.
/// `#[non_exhaustive]`: read its fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The stored record (id, scope, hash).
    pub record: TokenRecord,
    /// The secret to hand over.
    pub secret: String,
}

/// In-process administration over the stores.
#[derive(Clone)]
pub struct Admin {
    store: Arc<dyn DirectoryStore>,
    tokens: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    service_extensions: Arc<Extensions>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

fn normalise_domain(domain: &str) -> Result<String, AdminError> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(d)
    } else {
        Err(AdminError::InvalidDomain(domain.to_owned()))
    }
}

impl Admin {
    /// Administration of one store that keeps both the directory and the tokens, with
    /// the system clock and random ids.
    pub fn new<S>(store: Arc<S>) -> Self
    where
        S: DirectoryStore + TokenStore + 'static,
    {
        Self::with_stores(store.clone(), store)
    }

    /// Administration of split backends (directory in `store`, tokens in `tokens`), with
    /// the system clock and random ids. With one store for both, use [`Admin::new`].
    pub fn with_stores(store: Arc<dyn DirectoryStore>, tokens: Arc<dyn TokenStore>) -> Self {
        Self {
            store,
            tokens,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            service_extensions: Arc::default(),
        }
    }

    /// The schema extensions the `ScimService` declares
    /// ([`ScimService::schema_extensions`](crate::ScimService::schema_extensions)), so
    /// [`Admin::set_schema_extensions`] refuses a directory's extension with one of their
    /// URNs.
    pub fn with_service_extensions(mut self, extensions: &[SchemaExtension]) -> Self {
        let mut declared = Extensions::default();
        for extension in extensions {
            declared.add(extension.clone());
        }
        self.service_extensions = Arc::new(declared);
        self
    }

    /// The same, with an injected clock and id source (for deterministic tests).
    pub fn with_sources(mut self, clock: Arc<dyn Clock>, ids: Arc<dyn IdGenerator>) -> Self {
        self.clock = clock;
        self.ids = ids;
        self
    }

    /// Creates an organization. Domains are lower-cased; none means any domain.
    pub async fn create_organization(
        &self,
        external_id: Option<String>,
        domains: Vec<String>,
    ) -> Result<Organization, AdminError> {
        let domains = domains
            .iter()
            .map(|d| normalise_domain(d))
            .collect::<Result<Vec<_>, _>>()?;
        let org = Organization {
            id: OrganizationId::from_uuid(self.ids.next_uuid()),
            external_id: external_id.clone(),
            domains,
            created: self.clock.now(),
        };
        match self.store.insert_organization(org.clone()).await {
            Ok(()) => Ok(org),
            Err(StoreError::Conflict(UniqueAttribute::OrganizationExternalId)) => {
                Err(AdminError::ExternalIdTaken(external_id.unwrap_or_default()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The organization with this external id, if any.
    pub async fn organization_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, AdminError> {
        Ok(self.store.find_organization(external_id).await?)
    }

    /// Organizations in id order, after `after`, at most `limit`.
    pub async fn list_organizations(
        &self,
        after: Option<&OrganizationId>,
        limit: usize,
    ) -> Result<Vec<Organization>, AdminError> {
        Ok(self
            .store
            .list_organizations(Keyset::after(after.cloned(), limit))
            .await?)
    }

    /// Changes an organization's external id and domains.
    pub async fn update_organization(
        &self,
        org: &OrganizationId,
        external_id: Option<String>,
        domains: Vec<String>,
    ) -> Result<Organization, AdminError> {
        let domains = domains
            .iter()
            .map(|d| normalise_domain(d))
            .collect::<Result<Vec<_>, _>>()?;
        let current = self
            .store
            .get_organization(org)
            .await?
            .ok_or_else(|| AdminError::UnknownOrganization(org.clone()))?;
        let updated = Organization {
            external_id: external_id.clone(),
            domains,
            ..current
        };
        match self.store.update_organization(updated.clone()).await {
            Ok(()) => Ok(updated),
            Err(StoreError::Conflict(UniqueAttribute::OrganizationExternalId)) => {
                Err(AdminError::ExternalIdTaken(external_id.unwrap_or_default()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The directories of an organization.
    pub async fn list_directories(
        &self,
        org: &OrganizationId,
    ) -> Result<Vec<Directory>, AdminError> {
        Ok(self.store.list_directories(org).await?)
    }

    /// The organization's primary directory, if it has one.
    pub async fn primary_directory(
        &self,
        org: &OrganizationId,
    ) -> Result<Option<Directory>, AdminError> {
        Ok(self
            .store
            .list_directories(org)
            .await?
            .into_iter()
            .find(|d| d.primary))
    }

    /// Makes a directory its organization's primary one; the previous primary stops being
    /// primary in the same step.
    pub async fn set_primary_directory(
        &self,
        directory: &DirectoryId,
    ) -> Result<Directory, AdminError> {
        // An atomic edit, so a concurrent IdP request or vendor edit is never undone.
        self.edit_directory(directory, &[DirectoryEdit::MakePrimary])
            .await
    }

    /// Sets a directory's attribute mapping: which SCIM attribute path fills which of the
    /// vendor's fields, on top of the defaults for the directory's IdP
    /// ([`crate::sync::effective_fields`]; an empty path drops a default). Every path is
    /// checked first: one that does not parse is refused with
    /// [`AdminError::InvalidFieldMapping`] and nothing changes. The mapping applies to
    /// every read from then on (it is evaluated when users are read, not stored with
    /// them). See [`crate::docs::attribute_mapping`].
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use scimkit::model::FieldMapping;
    /// use scimkit::admin::AdminError;
    /// use scimkit::{Admin, store::MemoryStore};
    ///
    /// let admin = Admin::new(Arc::new(MemoryStore::new()));
    /// let org = admin.create_organization(None, vec![]).await?;
    /// let directory = admin.create_directory(&org.id, true).await?;
    /// let bad = FieldMapping::new().map("team", "emails[type eq");
    /// assert!(matches!(
    ///     admin.set_field_mapping(&directory.id, bad).await,
    ///     Err(AdminError::InvalidFieldMapping(_))
    /// ));
    /// # Ok::<_, AdminError>(()) }).unwrap();
    /// ```
    pub async fn set_field_mapping(
        &self,
        directory: &DirectoryId,
        fields: FieldMapping,
    ) -> Result<Directory, AdminError> {
        crate::sync::check_field_mapping(&fields)?;
        // One atomic edit, so a concurrent edit of the name, roles or state is kept.
        self.edit_directory(directory, &[DirectoryEdit::Fields(fields)])
            .await
    }

    /// Replaces the schema extensions a directory declares on top of the service's: that
    /// directory's SCIM requests then see them in `/Schemas` and `/ResourceTypes`, and its
    /// writes, filters and projections follow them, as for
    /// [`ScimServiceBuilder::schema_extension`](crate::service::ScimServiceBuilder::schema_extension).
    /// One atomic edit, recording `directory.schema_extensions_changed` when the list
    /// differs; stored documents are not rewritten (the next write of each resource is
    /// checked). A URN declared twice, or declared by the service (see
    /// [`Admin::with_service_extensions`]), is refused with
    /// [`AdminError::InvalidSchemaExtension`] and nothing changes. An empty list removes
    /// them. See [`crate::docs::schema_extensions`].
    pub async fn set_schema_extensions(
        &self,
        directory: &DirectoryId,
        extensions: Vec<SchemaExtension>,
    ) -> Result<Directory, AdminError> {
        self.service_extensions.check_directory(&extensions)?;
        self.edit_directory(directory, &[DirectoryEdit::SchemaExtensions(extensions)])
            .await
    }

    /// The schema extensions a directory declares (not the service's).
    /// `UnknownDirectory` if it is absent or deleted.
    pub async fn schema_extensions(
        &self,
        directory: &DirectoryId,
    ) -> Result<Vec<SchemaExtension>, AdminError> {
        match self.store.get_directory(directory).await? {
            Some(found) if found.state != DirectoryState::Deleted => Ok(found.schema_extensions),
            _ => Err(AdminError::UnknownDirectory(directory.clone())),
        }
    }

    /// The SCIM base URL of a directory, for an IdP's configuration screen: `origin`
    /// (e.g. `https://api.example.com`) plus the service prefix plus the directory id.
    pub fn scim_base_url(origin: &str, prefix: &str, directory: &DirectoryId) -> String {
        format!(
            "{}/{}/{directory}",
            origin.trim_end_matches('/'),
            prefix.trim_matches('/')
        )
    }

    /// Creates a directory for an organization; `primary` makes it the primary one (the
    /// previous primary, if any, stops being primary in the same step).
    pub async fn create_directory(
        &self,
        org: &OrganizationId,
        primary: bool,
    ) -> Result<Directory, AdminError> {
        let directory = Directory::new(
            DirectoryId::from_uuid(self.ids.next_uuid()),
            org.clone(),
            primary,
        );
        match self.store.insert_directory(directory.clone()).await {
            Ok(()) => Ok(directory),
            Err(StoreError::NotFound { .. }) => Err(AdminError::UnknownOrganization(org.clone())),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `edits` to a directory in one atomic step (a concurrent IdP request or
    /// another edit is never lost), recording the lifecycle changes they make in the
    /// directory's change feed. `UnknownDirectory` if it is absent or deleted.
    ///
    /// ```
    /// # tokio_test_block_on(async {
    /// use std::sync::Arc;
    /// use scimkit::{Admin, store::{DirectoryEdit, MemoryStore}};
    /// use scimkit::model::{DirectoryState, GroupMatch, IdpKind, RoleMapping};
    ///
    /// let admin = Admin::new(Arc::new(MemoryStore::new()));
    /// let org = admin.create_organization(None, vec![]).await?;
    /// let directory = admin.create_directory(&org.id, true).await?;
    /// let roles = RoleMapping::new()
    ///     .map(GroupMatch::DisplayName("Engineering".into()), "developer")
    ///     .with_default("viewer");
    /// let directory = admin
    ///     .edit_directory(&directory.id, &[
    ///         DirectoryEdit::Name(Some("Acme's Okta".into())),
    ///         DirectoryEdit::Idp(IdpKind::Okta),
    ///         DirectoryEdit::Roles(roles),
    ///     ])
    ///     .await?;
    /// assert_eq!(directory.state, DirectoryState::Pending);
    /// let directory = admin.disable_directory(&directory.id).await?;
    /// assert_eq!(directory.state, DirectoryState::Disabled);
    /// # Ok::<_, scimkit::admin::AdminError>(()) });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f) }
    /// ```
    pub async fn edit_directory(
        &self,
        directory: &DirectoryId,
        edits: &[DirectoryEdit],
    ) -> Result<Directory, AdminError> {
        match self
            .store
            .edit_directory(directory, edits, self.clock.now())
            .await
        {
            Ok(directory) => Ok(directory),
            Err(StoreError::NotFound { .. }) => {
                Err(AdminError::UnknownDirectory(directory.clone()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Names a directory (or clears its name).
    pub async fn set_directory_name(
        &self,
        directory: &DirectoryId,
        name: Option<String>,
    ) -> Result<Directory, AdminError> {
        self.edit_directory(directory, &[DirectoryEdit::Name(name)])
            .await
    }

    /// Sets the identity provider the customer chose.
    pub async fn set_directory_idp(
        &self,
        directory: &DirectoryId,
        idp: IdpKind,
    ) -> Result<Directory, AdminError> {
        self.edit_directory(directory, &[DirectoryEdit::Idp(idp)])
            .await
    }

    /// Replaces the directory's group-to-role mapping. The feed records
    /// `directory.role_mapping_changed` (no per-user `RolesChanged`: re-read the users'
    /// roles, e.g. with `ListUsers::with_roles`).
    pub async fn set_role_mapping(
        &self,
        directory: &DirectoryId,
        roles: RoleMapping,
    ) -> Result<Directory, AdminError> {
        self.edit_directory(directory, &[DirectoryEdit::Roles(roles)])
            .await
    }

    /// Disables a directory: every SCIM request with a valid token gets a 403 until it is
    /// enabled again; the data is kept and the Sync API keeps reading it. Records
    /// `directory.disabled`.
    pub async fn disable_directory(
        &self,
        directory: &DirectoryId,
    ) -> Result<Directory, AdminError> {
        self.edit_directory(directory, &[DirectoryEdit::Disable])
            .await
    }

    /// Enables a disabled directory again (active, or pending if no IdP ever connected).
    /// Records `directory.enabled`.
    pub async fn enable_directory(&self, directory: &DirectoryId) -> Result<Directory, AdminError> {
        self.edit_directory(directory, &[DirectoryEdit::Enable])
            .await
    }

    /// Deletes a directory: it is marked [deleted](DirectoryState::Deleted) with a
    /// `directory.deleted` entry in its feed, then its bearer tokens and OAuth clients are
    /// deleted, so the IdP is locked out (with the same 401 as any bad token). Its users, groups and
    /// change log are kept for the vendor's sync to read out; [`Admin::purge_directory`]
    /// erases them. Deleting is final. Deleting a deleted directory again only makes sure
    /// its tokens are gone.
    pub async fn delete_directory(&self, directory: &DirectoryId) -> Result<Directory, AdminError> {
        let stored = self
            .store
            .get_directory(directory)
            .await?
            .ok_or_else(|| AdminError::UnknownDirectory(directory.clone()))?;
        let deleted = if stored.state == DirectoryState::Deleted {
            stored
        } else {
            self.edit_directory(directory, &[DirectoryEdit::Delete])
                .await?
        };
        for scope in [
            TokenScope::Directory(directory.clone()),
            TokenScope::OAuthClient(directory.clone()),
        ] {
            self.tokens.delete_tokens(&scope).await?;
        }
        Ok(deleted)
    }

    /// Issues a new SCIM bearer token for a directory. Earlier tokens stay valid until
    /// revoked, so a customer can rotate without downtime.
    pub async fn issue_scim_token(
        &self,
        directory: &DirectoryId,
    ) -> Result<IssuedToken, AdminError> {
        self.require_live_directory(directory).await?;
        let secret = generate_secret(BEARER_TOKEN_PREFIX)?;
        self.register(TokenScope::Directory(directory.clone()), secret)
            .await
    }

    /// Registers a caller-chosen secret as a SCIM bearer token for a directory (e.g. one
    /// kept in the vendor's own configuration).
    pub async fn add_scim_token(
        &self,
        directory: &DirectoryId,
        secret: &str,
    ) -> Result<IssuedToken, AdminError> {
        self.require_live_directory(directory).await?;
        self.register_chosen(TokenScope::Directory(directory.clone()), secret)
            .await
    }

    /// Issues a management API key, for one organization or (`None`) for all.
    pub async fn issue_api_key(
        &self,
        org: Option<&OrganizationId>,
    ) -> Result<IssuedToken, AdminError> {
        let scope = self.api_key_scope(org).await?;
        let secret = generate_secret(API_KEY_PREFIX)?;
        self.register(scope, secret).await
    }

    /// Registers a caller-chosen secret as a management API key.
    pub async fn add_api_key(
        &self,
        org: Option<&OrganizationId>,
        secret: &str,
    ) -> Result<IssuedToken, AdminError> {
        let scope = self.api_key_scope(org).await?;
        self.register_chosen(scope, secret).await
    }

    /// Issues a new SCIM bearer token for a directory and revokes every earlier one, so
    /// only the new token opens it from now on (the IdP must be given it at once).
    pub async fn rotate_scim_token(
        &self,
        directory: &DirectoryId,
    ) -> Result<IssuedToken, AdminError> {
        let earlier = self
            .tokens
            .list_tokens(&TokenScope::Directory(directory.clone()))
            .await?;
        let issued = self.issue_scim_token(directory).await?;
        for token in earlier {
            match self.tokens.revoke_token(&token.id).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(issued)
    }

    /// Registers an OAuth 2.0 client for a directory, for IdPs that authenticate with the
    /// client-credentials grant (Microsoft's gallery validation among them): the IdP posts
    /// the returned record's id (the `client_id`) and `secret` (the `client_secret`) to
    /// the directory's token endpoint, `{SCIM base URL}/oauth/token`, and gets
    /// short-lived bearer tokens. Several clients may live at once (rotate by issuing a
    /// new one, then revoking the old one with [`Admin::revoke_token`]; access tokens
    /// it issued run out within their lifetime).
    pub async fn issue_oauth_client(
        &self,
        directory: &DirectoryId,
    ) -> Result<IssuedToken, AdminError> {
        self.require_live_directory(directory).await?;
        let secret = generate_secret(OAUTH_CLIENT_SECRET_PREFIX)?;
        self.register(TokenScope::OAuthClient(directory.clone()), secret)
            .await
    }

    /// A link to the organization's [setup page](crate::service::SetupPage), for the
    /// customer's IT admin: it opens once, within `valid_for`, and then gives a session
    /// for that organization alone. Build the URL with
    /// [`ManagementService::setup_url`](crate::ManagementService::setup_url).
    pub async fn setup_link(
        &self,
        org: &OrganizationId,
        valid_for: time::Duration,
    ) -> Result<IssuedToken, AdminError> {
        if self.store.get_organization(org).await?.is_none() {
            return Err(AdminError::UnknownOrganization(org.clone()));
        }
        let secret = generate_secret(SETUP_LINK_PREFIX)?;
        self.register_expiring(TokenScope::Setup(org.clone()), secret, valid_for)
            .await
    }

    /// Tokens with a scope (their records; secrets are never stored).
    pub async fn list_tokens(&self, scope: &TokenScope) -> Result<Vec<TokenRecord>, AdminError> {
        Ok(self.tokens.list_tokens(scope).await?)
    }

    /// Revokes a token; it stops working at once.
    pub async fn revoke_token(&self, id: &TokenId) -> Result<(), AdminError> {
        Ok(self.tokens.revoke_token(id).await?)
    }

    /// Offboards a directory for good: its bearer tokens are deleted first (so the IdP is
    /// locked out at once), then its users, groups, memberships and change log are erased.
    /// Unlike deprovisioning this keeps nothing; use it when a customer leaves.
    pub async fn purge_directory(&self, directory: &DirectoryId) -> Result<(), AdminError> {
        self.require_directory(directory).await?;
        self.tokens
            .delete_tokens(&TokenScope::Directory(directory.clone()))
            .await?;
        match self.store.purge_directory(directory).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Drops the directory's change-log entries with `seq <= through` (retention). A feed
    /// reader whose cursor is older then gets `SyncError::CursorTrimmed` and must run a full
    /// sync. Returns how many entries were removed.
    pub async fn trim_changes(
        &self,
        directory: &DirectoryId,
        through: u64,
    ) -> Result<u64, AdminError> {
        self.require_directory(directory).await?;
        Ok(self.store.trim_changes(directory, through).await?)
    }

    async fn require_directory(&self, directory: &DirectoryId) -> Result<(), AdminError> {
        match self.store.get_directory(directory).await? {
            Some(_) => Ok(()),
            None => Err(AdminError::UnknownDirectory(directory.clone())),
        }
    }

    /// A directory that exists and is not deleted (tokens are issued only for those).
    async fn require_live_directory(&self, directory: &DirectoryId) -> Result<(), AdminError> {
        match self.store.get_directory(directory).await? {
            Some(d) if d.state != DirectoryState::Deleted => Ok(()),
            _ => Err(AdminError::UnknownDirectory(directory.clone())),
        }
    }

    async fn api_key_scope(&self, org: Option<&OrganizationId>) -> Result<TokenScope, AdminError> {
        match org {
            None => Ok(TokenScope::Global),
            Some(org) => match self.store.get_organization(org).await? {
                Some(_) => Ok(TokenScope::Organization(org.clone())),
                None => Err(AdminError::UnknownOrganization(org.clone())),
            },
        }
    }

    async fn register_chosen(
        &self,
        scope: TokenScope,
        secret: &str,
    ) -> Result<IssuedToken, AdminError> {
        if secret.chars().count() < MIN_SECRET_LEN || secret.chars().any(char::is_whitespace) {
            return Err(AdminError::WeakSecret);
        }
        self.register(scope, secret.to_owned()).await
    }

    /// Registers `secret` for `scope` until `valid_for` from now.
    pub(crate) async fn register_expiring(
        &self,
        scope: TokenScope,
        secret: String,
        valid_for: time::Duration,
    ) -> Result<IssuedToken, AdminError> {
        let now = self.clock.now();
        let record = TokenRecord::new(
            TokenId::from_uuid(self.ids.next_uuid()),
            scope,
            TokenHash::of(&secret),
            now,
        )
        .with_expiry(now + valid_for);
        self.insert(record, secret).await
    }

    async fn register(&self, scope: TokenScope, secret: String) -> Result<IssuedToken, AdminError> {
        let record = TokenRecord::new(
            TokenId::from_uuid(self.ids.next_uuid()),
            scope,
            TokenHash::of(&secret),
            self.clock.now(),
        );
        self.insert(record, secret).await
    }

    async fn insert(&self, record: TokenRecord, secret: String) -> Result<IssuedToken, AdminError> {
        match self.tokens.insert_token(record.clone()).await {
            Ok(()) => Ok(IssuedToken { record, secret }),
            Err(StoreError::Conflict(UniqueAttribute::TokenHash)) => Err(AdminError::TokenTaken),
            Err(e) => Err(e.into()),
        }
    }
}
