//! [`ManagementService`]: the Sync API over HTTP, shaped like SSOReady's management API so
//! its users feel at home. Same contract as [`crate::ScimService`]: `http::Request<Bytes>`
//! in, `http::Response<Bytes>` out, every failure a response.
//!
//! | route | answer |
//! |---|---|
//! | `GET {prefix}/scim/users?<selector>&scimGroupId=&pageToken=&pageSize=` | `{"scimUsers": [...], "nextPageToken": ""}` |
//! | `GET {prefix}/scim/users/{id}` | `{"scimUser": {...}}` |
//! | `GET {prefix}/scim/groups?<selector>&pageToken=&pageSize=` | `{"scimGroups": [...], "nextPageToken": ""}` |
//! | `GET {prefix}/scim/groups/{id}` | `{"scimGroup": {...}}` |
//! | `GET {prefix}/scim/changes?<selector>&after=&limit=` | `{"changes": [...], "nextCursor": "..."}` |
//! | `GET {prefix}/scim/directories/{id}/fields` | `{"scimDirectoryId": "..", "idp": "entra", "fields": {..}, "effectiveFields": {..}}` |
//! | `PUT {prefix}/scim/directories/{id}/fields` with `{"fields": {"cost_center": "urn:..:costCenter"}}` | the same, after setting them |
//!
//! Users carry `fields` (the vendor fields the directory's attribute mapping reads, see
//! [`crate::docs::attribute_mapping`]) and, when some could not be read, `fieldErrors`
//! (`[{"field", "path", "reason"}]`). Setting a mapping with a path that does not parse
//! is a 400 naming the field and the path; nothing changes.
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
//! Errors are `{"message": "..."}` with 400, 401, 404 or 405.

use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::model::{
    Change, Directory, DirectoryId, FieldMapping, GroupId, OrganizationId, TokenHash, TokenScope,
    UserId,
};
use crate::store::{DirectoryStore, Keyset, TokenStore};
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

fn change_json(change: Change) -> Value {
    let mut doc = json!({
        "seq": change.seq,
        "kind": change.kind,
        "resourceId": change.resource_id,
        "at": change.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    if let (Some(member), Some(o)) = (change.member_id, doc.as_object_mut()) {
        o.insert("memberId".into(), json!(member));
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
        }
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
        match token.scope {
            TokenScope::Directory(_) => Err(ApiError::unauthorized()),
            scope => Ok(scope),
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
        let page = self
            .sync
            .list_groups(ListGroups {
                directory,
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

    async fn changes(&self, scope: &TokenScope, params: &Params) -> Result<Value, ApiError> {
        let directory = DirectorySelector::Directory(self.selected(scope, params).await?);
        let after = params.number("after")?.unwrap_or(0);
        let limit = params.size("limit")?;
        let page = self.sync.changes(&directory, after, limit).await?;
        Ok(json!({
            "changes": page.changes.into_iter().map(change_json).collect::<Vec<_>>(),
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
            TokenScope::Directory(_) => Vec::new(),
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
        let missing = || ApiError::not_found(format!("no SCIM directory `{id}`"));
        let directory_id: DirectoryId = id.parse().map_err(|_| missing())?;
        let directory = self
            .store
            .get_directory(&directory_id)
            .await?
            .filter(|d| may_read(scope, &d.organization_id))
            .ok_or_else(missing)?;
        match *request.method() {
            Method::GET => Ok(fields_json(&directory)),
            Method::PUT => {
                let body: Value = serde_json::from_slice(request.body())
                    .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
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
                let updated = directory.with_fields(fields);
                self.store.update_directory(updated.clone()).await?;
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

fn may_read(scope: &TokenScope, organization: &OrganizationId) -> bool {
    match scope {
        TokenScope::Global => true,
        TokenScope::Organization(own) => own == organization,
        TokenScope::Directory(_) => false,
    }
}
