//! [`ManagementService`]: the Sync API over HTTP, shaped like SSOReady's management API so
//! its users feel at home. Same contract as [`crate::ScimService`]: `http::Request<Bytes>`
//! in, `http::Response<Bytes>` out, every failure a response.
//!
//! | route | answer |
//! |---|---|
//! | `GET {prefix}/scim/users?<selector>&scimGroupId=&pageToken=&pageSize=` | `{"scimUsers": [...], "nextPageToken": ""}` |
//! | `GET {prefix}/scim/users/{id}` | `{"scimUser": {...}}` |
//! | `GET {prefix}/scim/groups?<selector>&scimGroupId=&pageToken=&pageSize=` | `{"scimGroups": [...], "nextPageToken": ""}`; with `scimGroupId`, that group's member groups |
//! | `GET {prefix}/scim/groups/{id}` | `{"scimGroup": {...}}` |
//! | `GET {prefix}/scim/changes?<selector>&after=&limit=` | `{"changes": [...], "nextCursor": "..."}` |
//! | `GET {prefix}/scim/directories/{id}` | `{"scimDirectory": {...}}` |
//! | `PATCH {prefix}/scim/directories/{id}` | `{"scimDirectory": {...}}`, after setting what the body names |
//! | `DELETE {prefix}/scim/directories/{id}` | `{"scimDirectory": {...}}` (deleted: tokens gone, data kept) |
//! | `GET {prefix}/scim/directories/{id}/fields` | `{"scimDirectoryId": "..", "idp": "entra", "fields": {..}, "effectiveFields": {..}}` |
//! | `PUT {prefix}/scim/directories/{id}/fields` with `{"fields": {"cost_center": "urn:..:costCenter"}}` | the same, after setting them |
//! | `GET {prefix}/scim/directories/{id}/schemas` | `{"scimDirectoryId": "..", "schemaExtensions": [..]}`: the directory's own schema extensions |
//! | `PUT {prefix}/scim/directories/{id}/schemas` with `{"schemaExtensions": [..]}` | the same, after replacing them |
//!
//! `GET .../scim/users` with `includeRoles=true` gives each user its effective `roles`
//! (one extra store call per page). A directory is
//! `{"id", "organizationId", "primary", "name", "idp", "state", "lastRequestAt",
//! "roleMapping": {"rules": [{"groupDisplayName" | "groupExternalId" | "groupId": "..",
//! "role": ".."}], "defaultRole": ".."}}`; a PATCH body holds any of `name` (a string or
//! `null`), `idp` (`entra`, `okta`, ...), `state` (`disabled` or `active`) and
//! `roleMapping`, applied in one atomic step (a bad body changes nothing: 400). A
//! `user.roles_changed` change carries `"roles": {"before": [..], "after": [..]}`.
//!
//! Each change carries the user and group as of that change (`user` on user and
//! membership kinds, `group` on group and membership kinds, in the `scimUser` and
//! `scimGroup` shapes), so forwarding it needs no read-back.
//!
//!
//! Users carry `fields` (the vendor fields the directory's attribute mapping reads, see
//! [`crate::docs::attribute_mapping`]) and, when some could not be read, `fieldErrors`
//! (`[{"field", "path", "reason"}]`). Setting a mapping with a path that does not parse
//! is a 400 naming the field and the path; nothing changes.
//!
//! A schema extension is the RFC 7643 §7 schema plus `resourceType` and `required`
//! ([`SchemaExtension::to_json`](crate::schema::SchemaExtension::to_json)); a PUT whose
//! list holds an invalid definition, a URN twice or one the service declares (see
//! [`ManagementService::with_service_extensions`]) is a 400 naming it, and nothing
//! changes. See [`crate::docs::schema_extensions`].
//!
//! `<selector>` is exactly one of `scimDirectoryId`, `organizationId` or
//! `organizationExternalId` (an organization means its primary directory). Getting a user
//! or group by id takes an optional selector: with one, only that directory is read;
//! without, every directory the API key may read is searched (ids are globally unique,
//! but the store is keyed by directory). `nextCursor` is the decimal `seq` of the last
//! change returned; pass it back as `after`. `pageSize` and `limit` are 1 to 1000
//! (default 100).
//!
//! Authentication is `Authorization: Bearer <API key>`: a global key reads everything, a
//! key scoped to an organization only that organization's directories (anything else
//! answers 404, exactly as if it did not exist). SCIM bearer tokens are not API keys.
//! Errors are `{"message": "..."}` with 400, 401, 404 or 405. Only the directory routes
//! take PATCH and DELETE; everything else is read-only.

use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::setup::{SetupContext, SetupPage};
use crate::admin::{Admin, AdminError};
use crate::model::{
    Change, Clock, Directory, DirectoryId, FieldMapping, GroupId, GroupMatch, OrganizationId,
    RoleMapping, SystemClock, TokenHash, TokenScope, UserId,
};
use crate::schema::SchemaExtension;
use crate::store::{DirectoryEdit, DirectoryStore, Keyset, TokenStore};
use crate::sync::{
    DEFAULT_PAGE_SIZE, DirectorySelector, DirectorySync, ListGroups, ListUsers, MAX_PAGE_SIZE,
    PageToken, SyncError, SyncGroup, SyncUser, check_field_mapping, effective_fields,
};

/// A management API error: a status and a message.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Bearer <API key>` with a valid API key",
        )
    }
}

impl From<SyncError> for ApiError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::UnknownOrganization
            | SyncError::UnknownDirectory
            | SyncError::NoPrimaryDirectory
            | SyncError::NotFound => ApiError::not_found(error.to_string()),
            SyncError::InvalidPageToken
            | SyncError::InvalidPageSize(_)
            | SyncError::CursorTrimmed { .. } => ApiError::bad_request(error.to_string()),
            SyncError::Store(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the directory store failed; try again later",
            ),
        }
    }
}

#[cfg(feature = "webhooks")]
fn webhook_error(error: crate::webhooks::WebhookError) -> ApiError {
    match error {
        crate::webhooks::WebhookError::NotFound => ApiError::not_found("no such dead letter"),
        crate::webhooks::WebhookError::Store(e) => e.into(),
        other => ApiError::bad_request(other.to_string()),
    }
}

impl From<crate::StoreError> for ApiError {
    fn from(error: crate::StoreError) -> Self {
        SyncError::Store(error).into()
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    super::http::json_response_as(status, body, "application/json")
}

fn user_json(user: SyncUser) -> Value {
    let mut doc = json!({
        "id": user.id,
        "scimDirectoryId": user.scim_directory_id,
        "email": user.email,
        "deleted": user.deleted,
        "state": user.state,
        "attributes": user.attributes,
        "fields": user.fields,
    });
    if let (Some(roles), Some(o)) = (user.roles, doc.as_object_mut()) {
        o.insert("roles".into(), json!(roles));
    }
    if !user.field_errors.is_empty()
        && let Some(o) = doc.as_object_mut()
    {
        o.insert("fieldErrors".into(), json!(user.field_errors));
    }
    doc
}

fn fields_json(directory: &Directory) -> Value {
    let map = |mapping: &FieldMapping| -> serde_json::Map<String, Value> {
        mapping
            .iter()
            .map(|(f, p)| (f.to_owned(), Value::from(p)))
            .collect()
    };
    json!({
        "scimDirectoryId": directory.id,
        "idp": directory.idp,
        "fields": map(&directory.fields),
        "effectiveFields": map(&effective_fields(directory)),
    })
}

fn group_json(group: SyncGroup) -> Value {
    json!({
        "id": group.id,
        "scimDirectoryId": group.scim_directory_id,
        "displayName": group.display_name,
        "deleted": group.deleted,
        "attributes": group.attributes,
    })
}

fn directory_json(directory: &Directory) -> Value {
    let rules: Vec<Value> = directory
        .roles
        .rules
        .iter()
        .map(|rule| {
            let (key, value) = match &rule.group {
                GroupMatch::Id(id) => ("groupId", id.to_string()),
                GroupMatch::DisplayName(name) => ("groupDisplayName", name.clone()),
                GroupMatch::ExternalId(id) => ("groupExternalId", id.clone()),
            };
            json!({key: value, "role": rule.role})
        })
        .collect();
    json!({
        "id": directory.id,
        "organizationId": directory.organization_id,
        "primary": directory.primary,
        "name": directory.name,
        "idp": directory.idp.as_str(),
        "state": directory.state.as_str(),
        "lastRequestAt": directory.last_request_at.map(|at| {
            at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
        }),
        "roleMapping": {"rules": rules, "defaultRole": directory.roles.default_role},
    })
}

/// A role mapping from its management-API shape; `Err` says what is wrong.
fn role_mapping_of(value: &Value) -> Result<RoleMapping, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("`roleMapping`: {why}"));
    let object = value.as_object().ok_or_else(|| bad("expected an object"))?;
    if let Some(key) = object.keys().find(|k| *k != "rules" && *k != "defaultRole") {
        return Err(bad(&format!("unknown field `{key}`")));
    }
    let mut mapping = RoleMapping::new();
    match object.get("defaultRole") {
        None | Some(Value::Null) => {}
        Some(Value::String(role)) if !role.is_empty() => mapping = mapping.with_default(role),
        Some(_) => return Err(bad("`defaultRole` must be a non-empty string or null")),
    }
    let rules = match object.get("rules") {
        None => &Vec::new(),
        Some(Value::Array(rules)) => rules,
        Some(_) => return Err(bad("`rules` must be an array")),
    };
    for (n, rule) in rules.iter().enumerate() {
        let rule = rule
            .as_object()
            .ok_or_else(|| bad(&format!("rule {n} must be an object")))?;
        let role = match rule.get("role") {
            Some(Value::String(role)) if !role.is_empty() => role.clone(),
            _ => return Err(bad(&format!("rule {n} needs a non-empty `role`"))),
        };
        let mut groups = rule.iter().filter(|(k, _)| *k != "role");
        let group = match (groups.next(), groups.next()) {
            (Some((key, Value::String(value))), None) if !value.is_empty() => match key.as_str() {
                "groupDisplayName" => GroupMatch::DisplayName(value.clone()),
                "groupExternalId" => GroupMatch::ExternalId(value.clone()),
                "groupId" => GroupMatch::Id(value.parse().map_err(|_| {
                    bad(&format!("rule {n}: `{value}` is not a scim_group_... id"))
                })?),
                other => return Err(bad(&format!("rule {n}: unknown field `{other}`"))),
            },
            _ => {
                return Err(bad(&format!(
                    "rule {n} needs exactly one of groupDisplayName, groupExternalId or groupId, a non-empty string"
                )));
            }
        };
        mapping = mapping.map(group, role);
    }
    Ok(mapping)
}

/// A request body as JSON, or the 400 that says it is not.
fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))
}

/// The edits a directory PATCH body asks for, in one atomic step.
fn directory_edits(body: &[u8]) -> Result<Vec<DirectoryEdit>, ApiError> {
    let value = json_body(body)?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
    let mut edits = Vec::new();
    for (key, value) in object {
        let edit = match (key.as_str(), value) {
            ("name", Value::Null) => DirectoryEdit::Name(None),
            ("name", Value::String(name)) => DirectoryEdit::Name(Some(name.clone())),
            ("idp", Value::String(idp)) => DirectoryEdit::Idp(
                idp.parse()
                    .map_err(|e: crate::model::UnknownIdp| ApiError::bad_request(e.to_string()))?,
            ),
            ("state", Value::String(state)) => match state.as_str() {
                "disabled" => DirectoryEdit::Disable,
                "active" => DirectoryEdit::Enable,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "`state` can be set to `disabled` or `active`, not `{other}` (DELETE the directory to delete it)"
                    )));
                }
            },
            ("roleMapping", mapping) => DirectoryEdit::Roles(role_mapping_of(mapping)?),
            ("name" | "idp" | "state", _) => {
                return Err(ApiError::bad_request(format!("`{key}` must be a string")));
            }
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown field `{other}`: a directory PATCH takes name, idp, state and roleMapping"
                )));
            }
        };
        edits.push(edit);
    }
    Ok(edits)
}

/// A change as the management API and webhooks send it: `seq`, `kind`, `resourceId`,
/// `at`, `memberId` (a user) or `memberGroupId` (a nested group) for membership kinds,
/// and the snapshots as of the change, `user` and
/// `group`, in the shapes of `scimUser` and `scimGroup` (absent where the change has
/// none).
pub(crate) fn change_json(change: &Change) -> Value {
    let mut doc = json!({
        "seq": change.seq,
        "kind": change.kind,
        "resourceId": change.resource_id,
        "at": change.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    if let Some(o) = doc.as_object_mut() {
        if let Some(member) = &change.member_id {
            o.insert("memberId".into(), json!(member));
        }
        if let Some(member) = &change.member_group_id {
            o.insert("memberGroupId".into(), json!(member));
        }
        if let Some(user) = change.sync_user() {
            o.insert("user".into(), user_json(user));
        }
        if let Some(group) = change.sync_group() {
            o.insert("group".into(), group_json(group));
        }
    }
    if let (Some(roles), Some(o)) = (&change.roles, doc.as_object_mut()) {
        o.insert(
            "roles".into(),
            json!({"before": roles.before, "after": roles.after}),
        );
    }
    doc
}

/// The SSOReady-shaped management API over a store.
#[derive(Clone)]
pub struct ManagementService {
    sync: DirectorySync,
    store: Arc<dyn DirectoryStore>,
    tokens: Arc<dyn TokenStore>,
    prefix: String,
    clock: Arc<dyn Clock>,
    setup: Option<SetupPage>,
    service_extensions: Vec<SchemaExtension>,
    #[cfg(feature = "webhooks")]
    webhooks: Vec<crate::webhooks::DeadLetters>,
}

impl std::fmt::Debug for ManagementService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagementService")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Query parameters.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "`{name}` must be a non-negative integer, got `{text}`"
                ))
            }),
        }
    }

    /// A page size or limit: 1 to [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] when absent.
    fn size(&self, name: &str) -> Result<usize, ApiError> {
        match self.number(name)? {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {n}"
                    ))
                }),
        }
    }

    /// Whether any directory selector parameter is present.
    fn has_selector(&self) -> bool {
        SELECTORS
            .iter()
            .any(|name| self.get(name).is_some_and(|v| !v.is_empty()))
    }
}

/// The query parameters that name a directory; exactly one is expected.
const SELECTORS: [&str; 3] = [
    "scimDirectoryId",
    "organizationId",
    "organizationExternalId",
];

impl ManagementService {
    /// The API over one store that keeps both the directory and the API keys, reading
    /// through `sync` (share its page-token key and notifier with the rest of your
    /// setup), under the default prefix `/api/v1`.
    pub fn new<S>(sync: DirectorySync, store: Arc<S>) -> Self
    where
        S: DirectoryStore + TokenStore + 'static,
    {
        Self::with_stores(sync, store.clone(), store)
    }

    /// The API over split backends: the directory in `store`, API keys in `tokens`. With
    /// one store for both, use [`ManagementService::new`].
    pub fn with_stores(
        sync: DirectorySync,
        store: Arc<dyn DirectoryStore>,
        tokens: Arc<dyn TokenStore>,
    ) -> Self {
        Self {
            sync,
            store,
            tokens,
            prefix: "/api/v1".into(),
            clock: Arc::new(SystemClock),
            setup: None,
            service_extensions: Vec::new(),
            #[cfg(feature = "webhooks")]
            webhooks: Vec::new(),
        }
    }

    /// The schema extensions the `ScimService` declares
    /// ([`ScimService::schema_extensions`](crate::ScimService::schema_extensions)), so
    /// `PUT .../schemas` refuses a directory's extension with one of their URNs.
    pub fn with_service_extensions(mut self, extensions: &[SchemaExtension]) -> Self {
        self.service_extensions = extensions.to_vec();
        self
    }

    /// Also serves the customer-facing [setup page](crate::service::SetupPage) under
    /// `{prefix}/setup`, opened with links from
    /// [`Admin::setup_link`](crate::Admin::setup_link).
    pub fn with_setup_page(mut self, page: SetupPage) -> Self {
        self.setup = Some(page);
        self
    }

    /// The URL of a setup link's secret (from [`Admin::setup_link`](crate::Admin::setup_link)),
    /// under `origin` (e.g. `https://api.example.com`).
    pub fn setup_url(&self, origin: &str, link_secret: &str) -> String {
        format!(
            "{}{}/setup/{link_secret}",
            origin.trim_end_matches('/'),
            self.prefix
        )
    }

    /// The clock that decides whether a key has expired (default: the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Serves a webhook endpoint's dead letters (feature `webhooks`), to global API keys
    /// only: `GET {prefix}/webhooks/{endpoint}/dead-letters?limit=` lists them
    /// (`{"deadLetters": [...]}`), `POST
    /// {prefix}/webhooks/{endpoint}/dead-letters/{scimDirectoryId}/{seq}/replay` sends one
    /// again (`{"replayed": true}`; 502 with the endpoint's answer if refused).
    #[cfg(feature = "webhooks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
    pub fn with_webhooks(mut self, dead_letters: crate::webhooks::DeadLetters) -> Self {
        self.webhooks.push(dead_letters);
        self
    }

    /// The path prefix (default `/api/v1`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().trim_end_matches('/').to_owned();
        self
    }

    /// The path prefix the service answers under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A JSON error response.
    pub(crate) fn error(&self, status: StatusCode, message: &str) -> Response<Bytes> {
        json_response(status, &json!({"message": message}))
    }

    /// Answers one request; never fails.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        if let Some(page) = &self.setup
            && let Some(rest) = request.uri().path().strip_prefix(self.prefix.as_str())
            && (rest == "/setup" || rest.starts_with("/setup/"))
        {
            let context = SetupContext {
                page,
                store: &self.store,
                tokens: &self.tokens,
                clock: &self.clock,
                prefix: &self.prefix,
            };
            return context.handle(&request, rest).await;
        }
        let routed = self.route(&request).await;
        match routed {
            Ok(body) => json_response(StatusCode::OK, &body),
            Err(error) => {
                let mut response = self.error(error.status, &error.message);
                let headers = response.headers_mut();
                match error.status {
                    StatusCode::UNAUTHORIZED => {
                        headers.insert(
                            http::header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Bearer"),
                        );
                    }
                    StatusCode::METHOD_NOT_ALLOWED => {
                        let allow = if request.uri().path().ends_with("/fields") {
                            "GET, PUT"
                        } else if is_directory_route(request.uri().path(), &self.prefix) {
                            "GET, PATCH, DELETE"
                        } else {
                            "GET"
                        };
                        headers.insert(http::header::ALLOW, HeaderValue::from_static(allow));
                    }
                    _ => {}
                }
                response
            }
        }
    }

    async fn authenticate(&self, request: &Request<Bytes>) -> Result<TokenScope, ApiError> {
        let secret = super::bearer_secret(request.headers()).ok_or_else(ApiError::unauthorized)?;
        let token = self
            .tokens
            .find_token(&TokenHash::of(secret))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if token.is_expired(self.clock.now()) {
            return Err(ApiError::unauthorized());
        }
        match token.scope {
            scope @ (TokenScope::Organization(_) | TokenScope::Global) => Ok(scope),
            // SCIM tokens and setup sessions open nothing here, and say so no differently
            // from a wrong key.
            TokenScope::Directory(_) | TokenScope::Setup(_) | TokenScope::OAuthClient(_) => {
                Err(ApiError::unauthorized())
            }
        }
    }

    async fn route(&self, request: &Request<Bytes>) -> Result<Value, ApiError> {
        let path = request.uri().path();
        let rest = path
            .strip_prefix(self.prefix.as_str())
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .ok_or_else(|| ApiError::not_found(format!("no route `{path}`")))?;
        let scope = self.authenticate(request).await?;
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        if let ["scim", "directories", id, "fields"] = segments.as_slice() {
            return self.fields(&scope, request, id).await;
        }
        if let ["scim", "directories", id, "schemas"] = segments.as_slice() {
            return self.schemas(&scope, request, id).await;
        }
        #[cfg(feature = "webhooks")]
        if segments.first() == Some(&"webhooks") {
            return self.webhook_route(request, &scope, &segments).await;
        }
        if let ["scim", "directories", id] = segments.as_slice() {
            return self.directory_route(&scope, request, id).await;
        }
        if request.method() != Method::GET {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "the management API is read-only: use GET, not {}",
                    request.method()
                ),
            ));
        }
        let params = Params(
            form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        );
        match segments.as_slice() {
            ["scim", "users"] => self.list_users(&scope, &params).await,
            ["scim", "users", id] => self.get_user(&scope, &params, id).await,
            ["scim", "groups"] => self.list_groups(&scope, &params).await,
            ["scim", "groups", id] => self.get_group(&scope, &params, id).await,
            ["scim", "changes"] => self.changes(&scope, &params).await,
            _ => Err(ApiError::not_found(format!("no route `{path}`"))),
        }
    }

    /// The directory `id` names, if the key's scope may read it; any other case (a
    /// malformed id, another organization's directory) is the same 404.
    async fn scoped_directory(&self, scope: &TokenScope, id: &str) -> Result<Directory, ApiError> {
        let missing = || ApiError::not_found(format!("no SCIM directory `{id}`"));
        let directory_id: DirectoryId = id.parse().map_err(|_| missing())?;
        self.store
            .get_directory(&directory_id)
            .await?
            .filter(|d| may_read(scope, &d.organization_id))
            .ok_or_else(missing)
    }

    /// `GET`, `PATCH` or `DELETE` of one directory.
    async fn directory_route(
        &self,
        scope: &TokenScope,
        request: &Request<Bytes>,
        id: &str,
    ) -> Result<Value, ApiError> {
        let directory = self.scoped_directory(scope, id).await?;
        let missing = || ApiError::not_found(format!("no SCIM directory `{id}`"));
        let id = directory.id.clone();
        let admin = Admin::with_stores(self.store.clone(), self.tokens.clone())
            .with_sources(self.clock.clone(), Arc::new(crate::model::RandomIds));
        let admin_error = |error: AdminError| match error {
            AdminError::UnknownDirectory(_) => missing(),
            AdminError::Store(e) => ApiError::from(e),
            other => ApiError::bad_request(other.to_string()),
        };
        let directory = match *request.method() {
            Method::GET => directory,
            Method::PATCH => {
                let edits = directory_edits(request.body())?;
                admin
                    .edit_directory(&id, &edits)
                    .await
                    .map_err(admin_error)?
            }
            Method::DELETE => admin.delete_directory(&id).await.map_err(admin_error)?,
            ref other => {
                return Err(ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("a directory takes GET, PATCH or DELETE, not {other}"),
                ));
            }
        };
        Ok(json!({"scimDirectory": directory_json(&directory)}))
    }

    /// The directory the parameters select, if the key may read it. What a key may not
    /// read answers exactly as what does not exist, so an organization-scoped key learns
    /// nothing about other customers.
    async fn selected(&self, scope: &TokenScope, params: &Params) -> Result<DirectoryId, ApiError> {
        let given: Vec<(&str, &str)> = SELECTORS
            .into_iter()
            .filter_map(|name| {
                params
                    .get(name)
                    .filter(|v| !v.is_empty())
                    .map(|v| (name, v))
            })
            .collect();
        let selector = match given.as_slice() {
            [("scimDirectoryId", id)] => DirectorySelector::Directory(
                id.parse()
                    .map_err(|_| ApiError::not_found(format!("no SCIM directory `{id}`")))?,
            ),
            [("organizationId", id)] => DirectorySelector::Organization(
                id.parse()
                    .map_err(|_| ApiError::not_found(format!("no organization `{id}`")))?,
            ),
            [(_, external_id)] => {
                DirectorySelector::OrganizationExternalId((*external_id).to_owned())
            }
            _ => {
                return Err(ApiError::bad_request(
                    "give exactly one of scimDirectoryId, organizationId or organizationExternalId",
                ));
            }
        };
        // Checked before resolving the primary directory, so another organization's lack
        // of one does not show.
        if let TokenScope::Organization(own) = scope {
            let own_organization = match &selector {
                DirectorySelector::Directory(_) => true,
                DirectorySelector::Organization(id) => id == own,
                DirectorySelector::OrganizationExternalId(external_id) => self
                    .store
                    .get_organization(own)
                    .await?
                    .is_some_and(|org| org.external_id.as_deref() == Some(external_id)),
            };
            if !own_organization {
                return Err(SyncError::UnknownOrganization.into());
            }
        }
        let directory = self.sync.directory(&selector).await?;
        if !may_read(scope, &directory.organization_id) {
            return Err(SyncError::UnknownDirectory.into());
        }
        Ok(directory.id)
    }

    async fn list_users(&self, scope: &TokenScope, params: &Params) -> Result<Value, ApiError> {
        let directory = DirectorySelector::Directory(self.selected(scope, params).await?);
        let group = match params.get("scimGroupId").filter(|g| !g.is_empty()) {
            Some(id) => Some(
                id.parse::<GroupId>()
                    .map_err(|_| ApiError::not_found(format!("no SCIM group `{id}`")))?,
            ),
            None => None,
        };
        let page = self
            .sync
            .list_users(ListUsers {
                directory,
                group,
                states: crate::store::States::All,
                page_size: Some(params.size("pageSize")?),
                page_token: params
                    .get("pageToken")
                    .filter(|token| !token.is_empty())
                    .map(PageToken::new),
                roles: params.get("includeRoles") == Some("true"),
            })
            .await?;
        Ok(json!({
            "scimUsers": page.items.into_iter().map(user_json).collect::<Vec<_>>(),
            // The wire keeps SSOReady's shape: an empty string at the end.
            "nextPageToken": page.next_page_token.map(PageToken::into_string).unwrap_or_default(),
        }))
    }

    async fn list_groups(&self, scope: &TokenScope, params: &Params) -> Result<Value, ApiError> {
        let directory = DirectorySelector::Directory(self.selected(scope, params).await?);
        // `scimGroupId` lists a group's member groups, as it lists a group's users at
        // `.../scim/users`.
        let parent = match params.get("scimGroupId").filter(|g| !g.is_empty()) {
            Some(id) => Some(
                id.parse::<GroupId>()
                    .map_err(|_| ApiError::not_found(format!("no SCIM group `{id}`")))?,
            ),
            None => None,
        };
        let page = self
            .sync
            .list_groups(ListGroups {
                directory,
                parent,
                page_size: Some(params.size("pageSize")?),
                page_token: params
                    .get("pageToken")
                    .filter(|token| !token.is_empty())
                    .map(PageToken::new),
            })
            .await?;
        Ok(json!({
            "scimGroups": page.items.into_iter().map(group_json).collect::<Vec<_>>(),
            // The wire keeps SSOReady's shape: an empty string at the end.
            "nextPageToken": page.next_page_token.map(PageToken::into_string).unwrap_or_default(),
        }))
    }

    #[cfg(feature = "webhooks")]
    async fn webhook_route(
        &self,
        request: &Request<Bytes>,
        scope: &TokenScope,
        segments: &[&str],
    ) -> Result<Value, ApiError> {
        use crate::webhooks::WebhookError;
        let not_found = || ApiError::not_found(format!("no route `{}`", request.uri().path()));
        if *scope != TokenScope::Global {
            return Err(not_found());
        }
        let Some(name) = segments.get(1) else {
            return Err(not_found());
        };
        let letters = self
            .webhooks
            .iter()
            .find(|w| w.endpoint() == *name)
            .ok_or_else(not_found)?;
        let method = request.method();
        match (segments.get(2..).unwrap_or_default(), method) {
            (["dead-letters"], &Method::GET) => {
                let params = Params(
                    form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect(),
                );
                let limit = params.size("limit")?;
                let list = letters.list(limit).await.map_err(webhook_error)?;
                Ok(json!({
                    "deadLetters": list
                        .iter()
                        .map(crate::webhooks::dead_letter_json)
                        .collect::<Vec<_>>(),
                }))
            }
            (["dead-letters", directory, seq, "replay"], &Method::POST) => {
                let directory: DirectoryId = directory.parse().map_err(|_| not_found())?;
                let seq: u64 = seq.parse().map_err(|_| not_found())?;
                match letters.replay(&directory, seq).await {
                    Ok(()) => Ok(json!({"replayed": true})),
                    Err(WebhookError::Delivery(why)) => Err(ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        format!("the endpoint did not accept the replay: {why}"),
                    )),
                    Err(other) => Err(webhook_error(other)),
                }
            }
            (["dead-letters"], _) | (["dead-letters", _, _, "replay"], _) => Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("`{method}` is not allowed here"),
            )),
            _ => Err(not_found()),
        }
    }

    async fn changes(&self, scope: &TokenScope, params: &Params) -> Result<Value, ApiError> {
        let directory = DirectorySelector::Directory(self.selected(scope, params).await?);
        let after = params.number("after")?.unwrap_or(0);
        let limit = params.size("limit")?;
        let page = self.sync.changes(&directory, after, limit).await?;
        Ok(json!({
            "changes": page.changes.iter().map(change_json).collect::<Vec<_>>(),
            "nextCursor": page.next_cursor.to_string(),
        }))
    }

    /// The directories a by-id lookup searches: the selected one when the request names
    /// one, else every directory the key may read.
    async fn lookup_directories(
        &self,
        scope: &TokenScope,
        params: &Params,
    ) -> Result<Vec<DirectoryId>, ApiError> {
        if params.has_selector() {
            return Ok(vec![self.selected(scope, params).await?]);
        }
        let organizations: Vec<OrganizationId> = match scope {
            TokenScope::Organization(org) => vec![org.clone()],
            TokenScope::Directory(_) | TokenScope::Setup(_) | TokenScope::OAuthClient(_) => {
                Vec::new()
            }
            TokenScope::Global => self
                .store
                .list_organizations(Keyset::all())
                .await?
                .into_iter()
                .map(|o| o.id)
                .collect(),
        };
        let mut directories = Vec::new();
        for org in organizations {
            directories.extend(
                self.store
                    .list_directories(&org)
                    .await?
                    .into_iter()
                    .map(|d| d.id),
            );
        }
        Ok(directories)
    }

    async fn get_user(
        &self,
        scope: &TokenScope,
        params: &Params,
        id: &str,
    ) -> Result<Value, ApiError> {
        let missing = || ApiError::not_found(format!("no SCIM user `{id}`"));
        let user_id: UserId = id.parse().map_err(|_| missing())?;
        for directory in self.lookup_directories(scope, params).await? {
            if let Some(user) = self.store.get_user(&directory, &user_id).await? {
                let user = match self.store.get_directory(&directory).await? {
                    Some(found) => SyncUser::mapped(user, &found),
                    None => user.into(),
                };
                return Ok(json!({"scimUser": user_json(user)}));
            }
        }
        Err(missing())
    }

    /// `GET` or `PUT` a directory's attribute mapping.
    async fn fields(
        &self,
        scope: &TokenScope,
        request: &Request<Bytes>,
        id: &str,
    ) -> Result<Value, ApiError> {
        let directory = self.scoped_directory(scope, id).await?;
        match *request.method() {
            Method::GET => Ok(fields_json(&directory)),
            Method::PUT => {
                let body = json_body(request.body())?;
                let Some(Value::Object(given)) = body.get("fields") else {
                    return Err(ApiError::bad_request(
                        "send `{\"fields\": {\"<vendor field>\": \"<SCIM attribute path>\"}}`",
                    ));
                };
                let mut fields = FieldMapping::new();
                for (field, path) in given {
                    let Value::String(path) = path else {
                        return Err(ApiError::bad_request(format!(
                            "field `{field}`: the path must be a string (an empty one drops the default)"
                        )));
                    };
                    fields = fields.map(field.clone(), path.clone());
                }
                check_field_mapping(&fields).map_err(|e| ApiError::bad_request(e.to_string()))?;
                // One atomic edit, so a concurrent edit of the name, roles or state is kept.
                let updated = self
                    .store
                    .edit_directory(
                        &directory.id,
                        &[DirectoryEdit::Fields(fields)],
                        self.clock.now(),
                    )
                    .await?;
                Ok(fields_json(&updated))
            }
            _ => Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "a directory's fields are read with GET and set with PUT, not {}",
                    request.method()
                ),
            )),
        }
    }

    /// `GET` or `PUT` the schema extensions a directory declares.
    async fn schemas(
        &self,
        scope: &TokenScope,
        request: &Request<Bytes>,
        id: &str,
    ) -> Result<Value, ApiError> {
        let directory = self.scoped_directory(scope, id).await?;
        let answer = |directory: &Directory| {
            json!({
                "scimDirectoryId": directory.id,
                "schemaExtensions": directory
                    .schema_extensions
                    .iter()
                    .map(SchemaExtension::to_json)
                    .collect::<Vec<_>>(),
            })
        };
        match *request.method() {
            Method::GET => Ok(answer(&directory)),
            Method::PUT => {
                let body = json_body(request.body())?;
                let Some(Value::Array(given)) = body.get("schemaExtensions") else {
                    return Err(ApiError::bad_request(
                        "send `{\"schemaExtensions\": [{\"id\": \"urn:...\", \"resourceType\": \"User\", \"attributes\": [..]}]}`",
                    ));
                };
                let extensions = given
                    .iter()
                    .map(SchemaExtension::from_json)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                let admin = Admin::with_stores(self.store.clone(), self.tokens.clone())
                    .with_sources(self.clock.clone(), Arc::new(crate::model::RandomIds))
                    .with_service_extensions(&self.service_extensions);
                let updated = admin
                    .set_schema_extensions(&directory.id, extensions)
                    .await
                    .map_err(|error| match error {
                        AdminError::UnknownDirectory(_) => {
                            ApiError::not_found(format!("no SCIM directory `{id}`"))
                        }
                        AdminError::Store(e) => ApiError::from(e),
                        other => ApiError::bad_request(other.to_string()),
                    })?;
                Ok(answer(&updated))
            }
            _ => Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "a directory's schema extensions are read with GET and set with PUT, not {}",
                    request.method()
                ),
            )),
        }
    }

    async fn get_group(
        &self,
        scope: &TokenScope,
        params: &Params,
        id: &str,
    ) -> Result<Value, ApiError> {
        let missing = || ApiError::not_found(format!("no SCIM group `{id}`"));
        let group_id: GroupId = id.parse().map_err(|_| missing())?;
        for directory in self.lookup_directories(scope, params).await? {
            if let Some(group) = self.store.get_group(&directory, &group_id).await? {
                return Ok(json!({"scimGroup": group_json(group.into())}));
            }
        }
        Err(missing())
    }
}

/// Whether `path` is `{prefix}/scim/directories/{id}`.
fn is_directory_route(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .map(|rest| {
            rest.split('/')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .is_some_and(|segments| matches!(segments.as_slice(), ["scim", "directories", _]))
}

fn may_read(scope: &TokenScope, organization: &OrganizationId) -> bool {
    match scope {
        TokenScope::Global => true,
        TokenScope::Organization(own) => own == organization,
        TokenScope::Directory(_) | TokenScope::Setup(_) | TokenScope::OAuthClient(_) => false,
    }
}
