//! [`ScimService`]: turns an `http::Request` into an `http::Response`, whatever server
//! carries it.
//!
//! Every outcome is a response: `handle` never panics on input and never returns an
//! error. Routing, content negotiation, authentication and error mapping live here; what
//! a document means lives in the (private) protocol layer; state lives behind
//! [`crate::store`].

mod auth;
pub(crate) use auth::bearer_secret;
mod cas;
mod discovery;
mod form;
mod groups;
mod http;
mod limits;
mod list;
mod management;
mod oauth;
#[cfg(feature = "webhooks")]
pub(crate) use management::change_json;
mod observe;
mod offload;
mod patch;
mod route;
mod search;
mod setup;
#[cfg(feature = "tower")]
mod tower;
#[cfg(not(feature = "tower"))]
mod tower_hint;
#[cfg(not(feature = "tower"))]
pub use tower_hint::TowerFeature;
mod users;

use list::{ListParams, ListQuery};

use std::sync::Arc;

use ::http::{Method, Request, Response, StatusCode};
use bytes::Bytes;

use crate::error::{ScimError, ScimType, StoreError, UniqueAttribute};
use crate::model::{Clock, Directory, IdGenerator, Organization, RandomIds, SystemClock};
use crate::protocol::cursor::CursorCodec;
use crate::protocol::projection::Projection;
use crate::protocol::resource::Locations;
pub use crate::schema::EmailPolicy;
use crate::schema::{Extensions, SchemaExtension};
use crate::seal::Sealer;
use crate::store::ChangeNotifier;
use crate::store::{DirectoryStore, TokenStore};

pub use self::http::SCIM_JSON;
pub use limits::{
    DEFAULT_MAX_ATTRIBUTE_NAMES, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_MULTI_VALUED, DEFAULT_MAX_PATCH_OPERATIONS,
    DEFAULT_MAX_URI_BYTES,
};
pub use management::ManagementService;
pub use observe::{RequestLog, RequestRecord};
pub use setup::{RecentRequest, RecentRequests, SetupPage};

/// Default limit on request bodies: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long an access token from a directory's OAuth token endpoint is accepted.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: time::Duration = time::Duration::hours(1);
/// Default number of resources in a list response when the client sends no `count`.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Default upper bound on `count`.
pub const DEFAULT_MAX_PAGE_SIZE: usize = 1000;
/// Default ceiling on the resources a filter without an indexed equality (or a `sortBy`)
/// may read before the service answers 400 `tooMany`.
pub const DEFAULT_MAX_FILTER_CANDIDATES: usize = 10_000;
/// How often a write is retried when another writer changed the resource in between
/// (only for requests without `If-Match`).
const CAS_ATTEMPTS: usize = 16;

/// Settings of a [`ScimService`]; see [`ScimServiceBuilder`].
#[derive(Debug, Clone)]
struct Config {
    prefix: String,
    public_url: Option<String>,
    max_body_bytes: usize,
    default_page_size: usize,
    max_page_size: usize,
    restore_deleted_on_create: bool,
    patch_returns_content: bool,
    max_filter_candidates: usize,
    email_policy: EmailPolicy,
    limits: limits::Limits,
    access_token_lifetime: time::Duration,
    extensions: Arc<Extensions>,
}

/// A SCIM 2.0 service provider over a [`DirectoryStore`] and a [`TokenStore`]. Cheap to
/// clone; clones share state.
///
/// ```
/// use std::sync::Arc;
/// use scimkit::{ScimService, store::MemoryStore};
///
/// let store = Arc::new(MemoryStore::new());
/// let scim = ScimService::builder(store).prefix("/scim/v2").build();
/// # let _ = scim;
/// ```
#[derive(Clone)]
pub struct ScimService {
    inner: Arc<Inner>,
}

struct Inner {
    request_log: Option<Arc<dyn RequestLog>>,
    log_bodies: bool,
    notifier: Option<Arc<dyn ChangeNotifier>>,
    store: Arc<dyn DirectoryStore>,
    cursors: CursorCodec,
    tokens: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    config: Config,
}

impl std::fmt::Debug for ScimService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimService")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ScimService`].
pub struct ScimServiceBuilder {
    request_log: Option<Arc<dyn RequestLog>>,
    log_bodies: bool,
    notifier: Option<Arc<dyn ChangeNotifier>>,
    store: Arc<dyn DirectoryStore>,
    cursor_key: Option<[u8; 32]>,
    tokens: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    config: Config,
}

impl ScimServiceBuilder {
    /// The path prefix the service is mounted under (default `/scim/v2`). Directories
    /// live at `{prefix}/{directory_id}`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.config.prefix = prefix.trim_end_matches('/').to_owned();
        self
    }

    /// How long access tokens from the directories' OAuth 2.0 token endpoints
    /// (`{prefix}/{directory}/oauth/token`, client-credentials grant) are accepted
    /// (default an hour). See [`Admin::issue_oauth_client`](crate::Admin::issue_oauth_client).
    pub fn access_token_lifetime(mut self, lifetime: time::Duration) -> Self {
        self.config.access_token_lifetime = lifetime;
        self
    }

    /// The public origin (e.g. `https://api.example.com`) used in `meta.location`,
    /// `Location` and `$ref`. Without it, the request's `Host` header is used.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.config.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Largest accepted request body; larger ones get 413 (default 1 MiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.config.max_body_bytes = limit;
        self
    }

    /// Page size of list responses without `count` (default 100).
    pub fn default_page_size(mut self, size: usize) -> Self {
        self.config.default_page_size = size;
        self
    }

    /// Deepest nesting of objects and arrays in a request body (default
    /// [`DEFAULT_MAX_JSON_DEPTH`], 64); deeper bodies get 400 `invalidValue`. Kept well
    /// under serde_json's decode limit of 128 so every stored document can be read back.
    pub fn max_json_depth(mut self, depth: usize) -> Self {
        self.config.limits.max_json_depth = depth.clamp(2, 100);
        self
    }

    /// Most operations in one PATCH request (default [`DEFAULT_MAX_PATCH_OPERATIONS`],
    /// 1000); more get 400 `invalidValue` naming the limit. Not advertised:
    /// `/ServiceProviderConfig` has no place for it (RFC 7643 §5 gives `patch` only
    /// `supported`, and strict clients such as scim2-tester refuse extra fields there).
    pub fn max_patch_operations(mut self, operations: usize) -> Self {
        self.config.limits.max_patch_operations = operations.max(1);
        self
    }

    /// Most values of one multi-valued attribute (`emails`, `roles`, ...) in a request
    /// body or a patched document (default [`DEFAULT_MAX_MULTI_VALUED`], 1000). Group
    /// members are not counted: they are bounded by the body size.
    pub fn max_multi_valued(mut self, values: usize) -> Self {
        self.config.limits.max_multi_valued = values.max(1);
        self
    }

    /// Most names in `attributes` or `excludedAttributes` (default
    /// [`DEFAULT_MAX_ATTRIBUTE_NAMES`], 200).
    pub fn max_attribute_names(mut self, names: usize) -> Self {
        self.config.limits.max_attribute_names = names.max(1);
        self
    }

    /// Longest request URI, path and query (default [`DEFAULT_MAX_URI_BYTES`], 16 KiB);
    /// longer ones get 414. Set the HTTP server's own limit above it so clients get
    /// this SCIM error rather than the server's empty one.
    pub fn max_uri_bytes(mut self, bytes: usize) -> Self {
        self.config.limits.max_uri_bytes = bytes;
        self
    }

    /// Largest header block (default [`DEFAULT_MAX_HEADER_BYTES`], 32 KiB) and most
    /// header fields (default [`DEFAULT_MAX_HEADERS`], 64); past either, 431.
    pub fn max_headers(mut self, bytes: usize, fields: usize) -> Self {
        self.config.limits.max_header_bytes = bytes;
        self.config.limits.max_headers = fields;
        self
    }

    /// Upper bound on `count` (default 1000).
    pub fn max_page_size(mut self, size: usize) -> Self {
        self.config.max_page_size = size.max(1);
        self
    }

    /// Whether a POST whose `userName` matches a deleted or deactivated user restores
    /// that user under the same id (the default, `true`) or creates a fresh user.
    pub fn restore_deleted_on_create(mut self, restore: bool) -> Self {
        self.config.restore_deleted_on_create = restore;
        self
    }

    /// How many resources a list query may read when no index answers it: a filter
    /// without an `eq` on userName, externalId, emails.value, displayName or id, or any
    /// `sortBy` (default [`DEFAULT_MAX_FILTER_CANDIDATES`]). Past it the query is refused
    /// with 400 `tooMany` instead of scanning the directory; plain paging, cursors and
    /// indexed lookups never hit it.
    pub fn max_filter_candidates(mut self, ceiling: usize) -> Self {
        self.config.max_filter_candidates = ceiling;
        self
    }

    /// Whether every user needs an email (default [`EmailPolicy::Required`]: a user
    /// without one is 400 `invalidValue`, and `/Schemas` marks `emails` required). With
    /// [`EmailPolicy::Optional`], `{"userName": "dschrute", "externalId": ".."}` is
    /// accepted and [`SyncUser::email`](crate::sync::SyncUser::email) is `None`; an email
    /// that is present must still be in the organization's domains.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scimkit::{ScimService, service::EmailPolicy, store::MemoryStore};
    ///
    /// let store = Arc::new(MemoryStore::new());
    /// let scim = ScimService::builder(store)
    ///     .email_policy(EmailPolicy::Optional)
    ///     .build();
    /// # let _ = scim;
    /// ```
    pub fn email_policy(mut self, policy: EmailPolicy) -> Self {
        self.config.email_policy = policy;
        self
    }

    /// Declares a schema extension of the vendor's own
    /// (`urn:ietf:params:scim:schemas:extension:acme:2.0:User`): it is served in
    /// `/Schemas` and in its resource type's `schemaExtensions`, and every write of that
    /// resource type is checked against it (wrong types and missing `required` attributes
    /// are 400 `invalidValue` naming the attribute); flattened keys
    /// (`"urn:...:acme:2.0:User:costCenter": "x"`, as Entra sends them) are nested in its
    /// object, and its attributes filter, sort and project with their declared `caseExact`
    /// and `returned`. A second extension with the same URN replaces the first.
    /// See [`crate::docs::schema_extensions`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scimkit::schema::{AttributeDef, ResourceKind, SchemaExtension};
    /// use scimkit::{ScimService, store::MemoryStore};
    ///
    /// let acme = SchemaExtension::builder(
    ///     ResourceKind::User,
    ///     "urn:ietf:params:scim:schemas:extension:acme:2.0:User",
    /// )
    /// .attribute(AttributeDef::string("costCenter"))
    /// .build()?;
    /// let scim = ScimService::builder(Arc::new(MemoryStore::new()))
    ///     .schema_extension(acme)
    ///     .build();
    /// # let _ = scim;
    /// # Ok::<(), scimkit::schema::SchemaError>(())
    /// ```
    ///
    /// A directory may declare more of its own, for its requests only, with
    /// [`Admin::set_schema_extensions`](crate::Admin::set_schema_extensions).
    pub fn schema_extension(mut self, extension: SchemaExtension) -> Self {
        Arc::make_mut(&mut self.config.extensions).add(extension);
        self
    }

    /// Whether PATCH answers 200 with the resource (the default, `true`) or 204 with no
    /// body (saves rendering for IdPs that ignore it).
    pub fn patch_returns_content(mut self, returns_content: bool) -> Self {
        self.config.patch_returns_content = returns_content;
        self
    }

    /// Calls `log` with a [`RequestRecord`] for every request: method, path, status, the
    /// IdP's user agent, the refusal's `scimType` and detail, duration.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use scimkit::service::RequestRecord;
    /// # let store = Arc::new(scimkit::store::MemoryStore::new());
    /// let last: Arc<Mutex<Vec<RequestRecord>>> = Arc::default();
    /// let sink = last.clone();
    /// let scim = scimkit::ScimService::builder(store)
    ///     .request_log(Arc::new(move |record: RequestRecord| {
    ///         let mut log = sink.lock().unwrap();
    ///         log.push(record);
    ///         let excess = log.len().saturating_sub(100);
    ///         log.drain(..excess);
    ///     }))
    ///     .build();
    /// # let _ = scim;
    /// ```
    pub fn request_log(mut self, log: Arc<dyn RequestLog>) -> Self {
        self.request_log = Some(log);
        self
    }

    /// Also gives the request log each request's body, with passwords redacted (off by
    /// default: bodies carry personal data).
    pub fn log_request_bodies(mut self, enabled: bool) -> Self {
        self.log_bodies = enabled;
        self
    }

    /// Pings `notifier` after every successful write, so change-feed subscribers
    /// ([`crate::sync::DirectorySync::subscribe`]) wake at once. Give the same notifier
    /// (a [`crate::store::LocalNotifier`] in one process, the backend's own across
    /// processes) to `DirectorySync::with_notifier`.
    pub fn change_notifier(mut self, notifier: Arc<dyn ChangeNotifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The clock for timestamps (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The source of new ids (default: random UUID v7).
    pub fn ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = ids;
        self
    }

    /// The key that makes pagination cursors tamper-evident. Without it a random key is
    /// drawn, and cursors stop working when the process restarts; set one (kept secret,
    /// shared by every replica) for cursors that survive restarts and load balancers.
    pub fn cursor_key(mut self, key: [u8; 32]) -> Self {
        self.cursor_key = Some(key);
        self
    }

    /// The service.
    pub fn build(self) -> ScimService {
        let sealer = match self.cursor_key {
            Some(key) => Sealer::new(key),
            None => Sealer::random().unwrap_or_else(|| Sealer::new(crate::seal::fallback_key())),
        };
        ScimService {
            inner: Arc::new(Inner {
                request_log: self.request_log,
                log_bodies: self.log_bodies,
                notifier: self.notifier,
                cursors: CursorCodec::new(sealer),
                store: self.store,
                tokens: self.tokens,
                clock: self.clock,
                ids: self.ids,
                config: self.config,
            }),
        }
    }
}

/// The directory a request is for, with its organization, after authentication.
struct Ctx {
    directory: Directory,
    organization: Organization,
    locations: Locations,
    /// The service's schema extensions and the directory's own.
    extensions: Arc<Extensions>,
}

/// A SCIM 1.1 client (older OneLogin connectors, custom ones) configured with a `/v1` base
/// URL: `{prefix with v1 for v2}/...`, or a `v1` segment where the directory id belongs.
/// Refused with a 400 that names the version and the right base, rather than a 404 or a
/// 401 that sends the administrator looking at tokens. Checked before authentication; it
/// tells nothing about any directory.
fn scim_1_path(prefix: &str, path: &str) -> Option<ScimError> {
    // `{base}/v1` matched in two steps: this runs on every request, so no allocation.
    let under_v1_prefix = prefix.strip_suffix("/v2").is_some_and(|base| {
        path.strip_prefix(base)
            .and_then(|rest| rest.strip_prefix("/v1"))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    let v1_segment = path
        .strip_prefix(prefix)
        .and_then(|rest| rest.split('/').find(|s| !s.is_empty()))
        .is_some_and(|first| first.eq_ignore_ascii_case("v1"));
    (under_v1_prefix || v1_segment).then(|| {
        ScimError::status(
            StatusCode::BAD_REQUEST,
            format!(
                "`{path}` is a SCIM 1.1 path; this service provider speaks SCIM 2.0 (RFC 7644) only: set the client's base URL to `{prefix}/<directory id>` and its protocol to SCIM 2.0"
            ),
        )
    })
}

/// The path segment of a search request (RFC 7644 §3.4.3).
const SEARCH: &str = ".search";

/// Which collection a route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collection {
    Users,
    Groups,
}

impl ScimService {
    /// The schema extensions declared with
    /// [`ScimServiceBuilder::schema_extension`], served to every directory; give them to
    /// [`Admin::with_service_extensions`](crate::Admin::with_service_extensions) and
    /// [`ManagementService::with_service_extensions`] so no directory redeclares one.
    pub fn schema_extensions(&self) -> &[SchemaExtension] {
        self.inner.config.extensions.all()
    }

    /// A builder over one store that keeps both the directory and the tokens
    /// ([`MemoryStore`](crate::store::MemoryStore), `SledStore`, `PostgresStore`, or a
    /// [`Hooked`](crate::store::Hooked) wrapper around one of them).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use scimkit::{ScimService, store::MemoryStore};
    ///
    /// let scim = ScimService::builder(Arc::new(MemoryStore::new())).build();
    /// # let _ = scim;
    /// ```
    pub fn builder<S>(store: Arc<S>) -> ScimServiceBuilder
    where
        S: DirectoryStore + TokenStore + 'static,
    {
        Self::builder_with(store.clone(), store)
    }

    /// A builder over split backends: the directory in `store`, bearer tokens in
    /// `tokens` (say, a vendor's own secrets service). With one store for both, use
    /// [`ScimService::builder`].
    pub fn builder_with(
        store: Arc<dyn DirectoryStore>,
        tokens: Arc<dyn TokenStore>,
    ) -> ScimServiceBuilder {
        ScimServiceBuilder {
            request_log: None,
            log_bodies: false,
            notifier: None,
            store,
            cursor_key: None,
            tokens,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            config: Config {
                prefix: "/scim/v2".into(),
                public_url: None,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                access_token_lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
                default_page_size: DEFAULT_PAGE_SIZE,
                max_page_size: DEFAULT_MAX_PAGE_SIZE,
                restore_deleted_on_create: true,
                patch_returns_content: true,
                max_filter_candidates: DEFAULT_MAX_FILTER_CANDIDATES,
                email_policy: EmailPolicy::Required,
                limits: limits::Limits::default(),
                extensions: Arc::default(),
            },
        }
    }

    /// The path prefix the service answers under.
    pub fn prefix(&self) -> &str {
        &self.inner.config.prefix
    }

    /// The largest request body the service accepts. Adapters that stream a body stop
    /// reading past it and answer [`ScimService::payload_too_large`].
    pub fn max_body_bytes(&self) -> usize {
        self.inner.config.max_body_bytes
    }

    /// The 413 response for a body over [`ScimService::max_body_bytes`].
    pub fn payload_too_large(&self) -> Response<Bytes> {
        http::error_response(&self.too_large())
    }

    fn too_large(&self) -> ScimError {
        ScimError::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is over the limit of {} bytes",
                self.inner.config.max_body_bytes
            ),
        )
    }

    /// A SearchRequest body, its attribute lists within the limit.
    fn search_body(&self, request: &Request<Bytes>) -> Result<serde_json::Value, ScimError> {
        let body = self::http::json_body(request.headers(), request.body())?;
        if !body.is_object() {
            return Err(ScimError::bad_request(
                crate::error::ScimType::InvalidSyntax,
                "a SearchRequest body must be a JSON object",
            ));
        }
        self.inner.config.limits.check_search(&body)?;
        Ok(body)
    }

    /// Answers one request. Never fails: every error is a SCIM error response.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        // The tracing span and the request log wrap `answer` (see `observe`).
        self.observed(request).await
    }

    /// Routes a request and turns a refusal into its error response; the refusal comes
    /// back too, for the request log.
    async fn answer(
        &self,
        request: Request<Bytes>,
        route: &route::Route<'_>,
    ) -> (Response<Bytes>, Option<ScimError>) {
        let writes = matches!(
            *request.method(),
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        match self.route(request, route).await {
            Ok(response) => {
                // The directory id is parsed only for a successful write to announce.
                if let (true, true, Some(notifier)) =
                    (writes, response.status().is_success(), &self.inner.notifier)
                    && let Ok(directory) = route.directory().parse::<crate::model::DirectoryId>()
                {
                    notifier.notify(&directory);
                }
                (response, None)
            }
            Err(error) => {
                let mut response = http::error_response(&error);
                if error.status == StatusCode::UNAUTHORIZED {
                    response
                        .headers_mut()
                        .insert(::http::header::WWW_AUTHENTICATE, auth::challenge());
                }
                (response, Some(error))
            }
        }
    }

    async fn route(
        &self,
        request: Request<Bytes>,
        route: &route::Route<'_>,
    ) -> Result<Response<Bytes>, ScimError> {
        let config = &self.inner.config;
        config.limits.check_head(request.uri(), request.headers())?;
        let path = request.uri().path();
        if let Some(refusal) = scim_1_path(&config.prefix, path) {
            return Err(refusal);
        }
        if !route.under_prefix {
            return Err(ScimError::not_found(format!(
                "no SCIM endpoint at `{path}`"
            )));
        }
        if route.depth() == 3 && [route.endpoint(), route.item().unwrap_or("")] == oauth::TOKEN_PATH
        {
            return Ok(self.oauth_token(&request, route.directory()).await);
        }
        let ctx = auth::authenticate(&self.inner, &request, route.directory()).await?;
        if request.body().len() > config.max_body_bytes {
            return Err(self.too_large());
        }
        let endpoint = route.endpoint();
        config.limits.check_query(request.uri().query())?;
        if !request.body().is_empty() {
            let groups = endpoint.eq_ignore_ascii_case("Groups");
            config.limits.check_body(request.body(), groups)?;
        }
        if route.depth() <= 3 {
            let item = route.item();
            if let Some(answer) = discovery::answer(self, &ctx, request.method(), endpoint, item) {
                return answer;
            }
        }
        if endpoint == SEARCH && route.depth() == 2 {
            if request.method() != Method::POST {
                return Err(ScimError::status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "/.search takes a POST with a SearchRequest body",
                ));
            }
            let body = self.search_body(&request)?;
            let list = ListQuery::parse(&ListParams::from_search(&body)?, config, &ctx.extensions)?;
            return search::search_all(self, &ctx, &list, &Projection::from_search(&body)?).await;
        }
        let collection = if endpoint.eq_ignore_ascii_case("Users") {
            Collection::Users
        } else if endpoint.eq_ignore_ascii_case("Groups") {
            Collection::Groups
        } else {
            return Err(ScimError::not_found(format!(
                "no SCIM endpoint at `{path}`"
            )));
        };
        let method = request.method().clone();
        match (collection, route.item(), route.depth(), method) {
            (_, _, n, _) if n > 3 => Err(ScimError::not_found(format!(
                "no SCIM endpoint at `{path}`"
            ))),
            (Collection::Users, None, _, Method::GET) => {
                let query = self::http::Query::parse(request.uri().query());
                let list =
                    ListQuery::parse(&ListParams::from_query(&query)?, config, &ctx.extensions)?;
                users::search(self, &ctx, &list, &self::http::projection_from(&query)?).await
            }
            (Collection::Users, Some(SEARCH), _, Method::POST) => {
                let body = self.search_body(&request)?;
                let list =
                    ListQuery::parse(&ListParams::from_search(&body)?, config, &ctx.extensions)?;
                users::search(self, &ctx, &list, &Projection::from_search(&body)?).await
            }
            (Collection::Users, None, _, Method::POST) => users::create(self, &ctx, &request).await,
            (Collection::Users, Some(id), _, Method::GET) => {
                users::get(self, &ctx, &request, id).await
            }
            (Collection::Users, Some(id), _, Method::PUT) => {
                users::replace(self, &ctx, &request, id).await
            }
            (Collection::Users, Some(id), _, Method::PATCH) => {
                patch::user(self, &ctx, &request, id).await
            }
            (Collection::Groups, Some(id), _, Method::PATCH) => {
                patch::group(self, &ctx, &request, id).await
            }
            (Collection::Users, Some(id), _, Method::DELETE) => {
                users::delete(self, &ctx, &request, id).await
            }
            (Collection::Groups, None, _, Method::GET) => {
                let query = self::http::Query::parse(request.uri().query());
                let list =
                    ListQuery::parse(&ListParams::from_query(&query)?, config, &ctx.extensions)?;
                groups::search(self, &ctx, &list, &self::http::projection_from(&query)?).await
            }
            (Collection::Groups, Some(SEARCH), _, Method::POST) => {
                let body = self.search_body(&request)?;
                let list =
                    ListQuery::parse(&ListParams::from_search(&body)?, config, &ctx.extensions)?;
                groups::search(self, &ctx, &list, &Projection::from_search(&body)?).await
            }
            (Collection::Groups, None, _, Method::POST) => {
                groups::create(self, &ctx, &request).await
            }
            (Collection::Groups, Some(id), _, Method::GET) => {
                groups::get(self, &ctx, &request, id).await
            }
            (Collection::Groups, Some(id), _, Method::PUT) => {
                groups::replace(self, &ctx, &request, id).await
            }
            (Collection::Groups, Some(id), _, Method::DELETE) => {
                groups::delete(self, &ctx, &request, id).await
            }
            (_, id, _, method) => Err(ScimError::status(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{method} is not supported on {}",
                    if id.is_some() {
                        "a single resource"
                    } else {
                        "a collection"
                    }
                ),
            )),
        }
    }
}

/// Every protocol refusal is the client's to fix: 400 with its `scimType` and detail.
impl From<crate::protocol::ProtocolError> for ScimError {
    fn from(error: crate::protocol::ProtocolError) -> Self {
        ScimError::bad_request(error.scim_type, error.detail)
    }
}

impl From<crate::protocol::patch::PatchError> for ScimError {
    fn from(error: crate::protocol::patch::PatchError) -> Self {
        crate::protocol::ProtocolError::from(error).into()
    }
}

impl From<crate::protocol::filter::FilterError> for ScimError {
    fn from(error: crate::protocol::filter::FilterError) -> Self {
        crate::protocol::ProtocolError::from(error).into()
    }
}

/// Maps a store failure to what the client sees. Backend failures become a 500 whose
/// detail does not leak internals.
fn store_error(error: StoreError) -> ScimError {
    match error {
        StoreError::NotFound { kind, id } => {
            ScimError::not_found(format!("{kind} `{id}` not found in this directory"))
        }
        StoreError::Conflict(UniqueAttribute::UserName) => {
            ScimError::uniqueness("another active user of this directory has this userName")
        }
        StoreError::Conflict(attribute) => {
            ScimError::uniqueness(format!("{attribute:?} is already taken"))
        }
        StoreError::AttributeTaken { attribute } => ScimError::uniqueness(format!(
            "another active user of this directory has this value of `{attribute}`, which \
             is declared unique; send another value, or deactivate or delete that user first"
        )),
        StoreError::Precondition { actual, .. } => ScimError::status(
            StatusCode::PRECONDITION_FAILED,
            format!("the resource has changed: its version is now W/\"{actual}\""),
        ),
        StoreError::Nesting(refusal @ crate::store::plan::NestingRefusal::Unsupported(_)) => {
            ScimError::bad_request(
                ScimType::InvalidValue,
                format!("{refusal}; list the group's users as members instead"),
            )
        }
        StoreError::Nesting(refusal) => ScimError::bad_request(
            ScimType::InvalidValue,
            format!("{refusal}; remove the group from the members or nest it elsewhere"),
        ),
        StoreError::ChangesTrimmed { .. } | StoreError::Backend(_) => ScimError::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the directory store failed; try again later",
        ),
    }
}

/// A write that kept losing compare-and-swap races to other writers.
fn contended() -> ScimError {
    ScimError::status(
        StatusCode::CONFLICT,
        "the resource is being changed by other requests; retry",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GroupId;
    use crate::store::plan::NestingRefusal;

    #[test]
    fn a_nesting_refusal_is_a_400_invalid_value_naming_the_cycle() {
        let (a, b) = (
            GroupId::from_uuid(uuid::Uuid::from_u128(1)),
            GroupId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        let refusal = NestingRefusal::Cycle(vec![a.clone(), b.clone(), a.clone()]);
        let error = store_error(StoreError::Nesting(refusal));
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
        assert!(
            error.detail.contains(&format!("{a} ∋ {b} ∋ {a}")),
            "{}",
            error.detail
        );
    }
}
