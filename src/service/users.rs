//! `/Users`: create, read, list, replace and delete users (RFC 7644 §3.3–3.6).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::Value;

use super::http::{
    Preconditions, empty_response, json_response, projection_of, rendered_response, request_json,
};
use super::list::{ListQuery, Listable};
use super::{Ctx, ScimService, cas, store_error};
use crate::error::ScimError;
use crate::model::{Meta, User, UserDocument, UserId, UserState};
use crate::protocol::document::{self, WriteKind};
use crate::protocol::filter::{
    IndexedAttribute, IndexedEq, IndexedResource, indexed_equality, is_whole_filter,
};
use crate::protocol::projection::Projection;
use crate::protocol::resource::{self, GroupRef, Rendered};
use crate::protocol::stored_text::TopLevel;
use crate::schema::ResourceKind;
use crate::store::{DirectoryStoreExt, Keyset, States, StoreError, UserFilter, UserKey};

fn not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("user `{id}` not found in this directory"))
}

/// Loads a user the IdP can see (not deleted).
pub(super) async fn load(svc: &ScimService, ctx: &Ctx, id: &str) -> Result<User, ScimError> {
    let user_id: UserId = id.parse().map_err(|_| not_found(id))?;
    svc.inner
        .store
        .get_user(&ctx.directory.id, &user_id)
        .await
        .map_err(store_error)?
        .filter(|u| u.state != UserState::Deleted)
        .ok_or_else(|| not_found(id))
}

/// The user as a SCIM resource, with its groups (unless the projection leaves them out).
pub(super) async fn render(
    svc: &ScimService,
    ctx: &Ctx,
    user: &UserDocument,
    projection: &Projection,
) -> Result<Value, ScimError> {
    let groups = groups_of_one(svc, ctx, &user.id, projection).await?;
    let attributes = stored_text(user)?;
    let rules = ctx.extensions.rules(ResourceKind::User);
    Ok(
        resource::user_document_text(user, &attributes, &groups, &ctx.locations)
            .project_declared(projection, &rules)
            .into_value(),
    )
}

/// The response carrying one user (`ETag`, and `Location` on 201), serialised from the
/// stored document without copying it.
pub(super) async fn respond(
    svc: &ScimService,
    ctx: &Ctx,
    user: &User,
    projection: &Projection,
    status: StatusCode,
) -> Result<Response<Bytes>, ScimError> {
    let groups = groups_of_one(svc, ctx, &user.id, projection).await?;
    Ok(single_response(status, user, &groups, ctx, projection))
}

/// The response for one user with `groups`.
fn single_response(
    status: StatusCode,
    user: &User,
    groups: &[GroupRef],
    ctx: &Ctx,
    projection: &Projection,
) -> Response<Bytes> {
    let rules = ctx.extensions.rules(ResourceKind::User);
    let doc =
        resource::user_document(user, groups, &ctx.locations).project_declared(projection, &rules);
    rendered_response(status, &doc)
}

/// A stored document's top level; text a backend hands over is JSON, so failing to split
/// it is the backend's error.
fn stored_text(user: &UserDocument) -> Result<TopLevel<'_>, ScimError> {
    TopLevel::parse(&user.attributes).map_err(|e| store_error(StoreError::Backend(Box::new(e))))
}

/// The groups of each user, read in one store call for the whole page (none when the
/// projection leaves `groups` out).
async fn groups_of(
    svc: &ScimService,
    ctx: &Ctx,
    ids: Vec<UserId>,
    projection: &Projection,
) -> Result<HashMap<UserId, Vec<GroupRef>>, ScimError> {
    let mut groups: HashMap<UserId, Vec<GroupRef>> = HashMap::new();
    if !projection.includes("groups") || ids.is_empty() {
        return Ok(groups);
    }
    let rows = svc
        .inner
        .store
        .groups_of_users(&ctx.directory.id, &ids)
        .await
        .map_err(store_error)?;
    let wanted: HashSet<&UserId> = ids.iter().collect();
    for row in rows.into_iter().filter(|r| !r.group_deleted) {
        if wanted.contains(&row.user_id) {
            groups.entry(row.user_id).or_default().push(GroupRef {
                id: row.group_id,
                display: row.display_name,
                direct: row.direct,
            });
        }
    }
    Ok(groups)
}

pub(super) async fn create(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let input = request_json(request).await?;
    let doc = document::declared_user(input, WriteKind::Create, &ctx.extensions)?;
    let email = resource::user_email(&doc, &ctx.organization, svc.inner.config.email_policy)?;
    let state = resource::requested_state(&doc);
    let now = svc.inner.clock.now();
    let store = &svc.inner.store;

    if svc.inner.config.restore_deleted_on_create {
        let user_name = doc.get("userName").and_then(Value::as_str).unwrap_or("");
        let same_name = store
            .find_users(&ctx.directory.id, UserKey::UserName(user_name.to_owned()))
            .await
            .map_err(store_error)?;
        let restorable = same_name
            .iter()
            .all(|u| u.state != UserState::Active)
            .then(|| {
                same_name
                    .into_iter()
                    .max_by(|a, b| a.meta.last_modified.cmp(&b.meta.last_modified))
            })
            .flatten();
        if let Some(old) = restorable {
            let version = old.meta.version;
            let user = User {
                email,
                state,
                unique_keys: ctx.extensions.unique_keys(ResourceKind::User, &doc),
                attributes: doc,
                meta: Meta {
                    last_modified: now,
                    ..old.meta
                },
                ..old
            };
            let stored = store
                .update_user(user, version)
                .await
                .map_err(store_error)?;
            return respond(svc, ctx, &stored, &projection, StatusCode::CREATED).await;
        }
    }

    let user = User {
        id: UserId::from_uuid(svc.inner.ids.next_uuid()),
        directory_id: ctx.directory.id.clone(),
        email,
        state,
        unique_keys: ctx.extensions.unique_keys(ResourceKind::User, &doc),
        attributes: doc,
        meta: Meta::new(now),
    };
    let stored = store.insert_user(user).await.map_err(store_error)?;
    // A user created just now is in no group (members name existing users), so its
    // `groups` need no store read.
    Ok(single_response(
        StatusCode::CREATED,
        &stored,
        &[],
        ctx,
        &projection,
    ))
}

pub(super) async fn get(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
    id: &str,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    // Read as text: the stored attributes go into the response unparsed.
    let user_id: UserId = id.parse().map_err(|_| not_found(id))?;
    let user = svc
        .inner
        .store
        .get_user_document(&ctx.directory.id, &user_id)
        .await
        .map_err(store_error)?
        .filter(|u| u.state != UserState::Deleted)
        .ok_or_else(|| not_found(id))?;
    if Preconditions::from_headers(request.headers()).not_modified(|| user.meta.etag()) {
        return Ok(empty_response(StatusCode::NOT_MODIFIED));
    }
    let attributes = stored_text(&user)?;
    let groups = groups_of_one(svc, ctx, &user.id, &projection).await?;
    let rules = ctx.extensions.rules(ResourceKind::User);
    let doc = resource::user_document_text(&user, &attributes, &groups, &ctx.locations)
        .project_declared(&projection, &rules);
    Ok(rendered_response(StatusCode::OK, &doc))
}

/// The groups of one user (none when the projection leaves `groups` out).
async fn groups_of_one(
    svc: &ScimService,
    ctx: &Ctx,
    user: &UserId,
    projection: &Projection,
) -> Result<Vec<GroupRef>, ScimError> {
    if !projection.includes("groups") {
        return Ok(Vec::new());
    }
    let rows = svc
        .inner
        .store
        .groups_of_users(&ctx.directory.id, std::slice::from_ref(user))
        .await
        .map_err(store_error)?;
    Ok(rows
        .into_iter()
        .filter(|row| !row.group_deleted && row.user_id == *user)
        .map(|row| GroupRef {
            id: row.group_id,
            display: row.display_name,
            direct: row.direct,
        })
        .collect())
}

/// The users a list query reads from the store: those its indexed equality selects (all
/// visible ones without one), never deleted ones.
pub(super) struct UserListing<'a> {
    svc: &'a ScimService,
    ctx: &'a Ctx,
    query: &'a ListQuery,
    filter: UserFilter,
    /// `id eq "..."`: at most this one user (`None`: an id that cannot exist).
    only: Option<Option<UserId>>,
    /// The filter is the indexed equality alone ([`is_whole_filter`]).
    whole_filter: bool,
}

impl<'a> UserListing<'a> {
    pub(super) fn new(svc: &'a ScimService, ctx: &'a Ctx, query: &'a ListQuery) -> Self {
        let mut filter = UserFilter {
            states: States::Visible,
            ..UserFilter::default()
        };
        let mut only = None;
        let indexed = query
            .filter
            .as_ref()
            .and_then(|f| indexed_equality(f, IndexedResource::User));
        let whole_filter = match (&query.filter, &indexed) {
            (Some(filter), Some(pushed)) => is_whole_filter(filter, pushed),
            _ => false,
        };
        if let Some(IndexedEq { attribute, value }) = indexed {
            match attribute {
                IndexedAttribute::Id => only = Some(value.parse::<UserId>().ok()),
                IndexedAttribute::UserName => filter.key = Some(UserKey::UserName(value)),
                IndexedAttribute::ExternalId => filter.key = Some(UserKey::ExternalId(value)),
                IndexedAttribute::EmailValue => filter.key = Some(UserKey::Email(value)),
                _ => {}
            }
        }
        Self {
            svc,
            ctx,
            query,
            filter,
            only,
            whole_filter,
        }
    }

    async fn the_one(&self, id: &Option<UserId>) -> Result<Vec<UserDocument>, ScimError> {
        let Some(id) = id else {
            return Ok(Vec::new());
        };
        Ok(self
            .svc
            .inner
            .store
            .get_user_document(&self.ctx.directory.id, id)
            .await
            .map_err(store_error)?
            .filter(|u| self.filter.states.includes_user(u.state))
            .into_iter()
            .collect())
    }
}

#[async_trait]
impl Listable for UserListing<'_> {
    type Item = UserDocument;

    fn id(item: &UserDocument) -> String {
        item.id.to_string()
    }

    async fn count(&self) -> Result<u64, ScimError> {
        match &self.only {
            Some(id) => Ok(self.the_one(id).await?.len() as u64),
            None => self
                .svc
                .inner
                .store
                .count_users(&self.ctx.directory.id, &self.filter)
                .await
                .map_err(store_error),
        }
    }

    async fn list(
        &self,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<UserDocument>, ScimError> {
        if let Some(id) = &self.only {
            let one = self.the_one(id).await?;
            return Ok(one
                .into_iter()
                .filter(|u| after.is_none_or(|a| u.id.as_str() > a))
                .skip(skip)
                .take(limit)
                .collect());
        }
        let after = match after {
            Some(a) => Some(a.parse::<UserId>().map_err(|_| stale_cursor())?),
            None => None,
        };
        self.svc
            .inner
            .store
            .list_user_documents(
                &self.ctx.directory.id,
                &self.filter,
                Keyset { after, skip, limit },
            )
            .await
            .map_err(store_error)
    }

    fn selects_by_whole_filter(&self) -> bool {
        self.whole_filter
    }

    async fn views(&self, items: &[UserDocument]) -> Result<Vec<Value>, ScimError> {
        // Only what the filter and sort read is parsed into each view (a user's whole
        // document and its `meta` otherwise, for every candidate).
        Ok(items
            .iter()
            .map(|user| match TopLevel::parse(&user.attributes) {
                Ok(attributes) => {
                    resource::user_document_text(user, &attributes, &[], &self.ctx.locations)
                        .only(|key| self.query.reads(key))
                        .into_value()
                }
                // Matches no filter, and is left out when the page is rendered.
                Err(_) => Value::Null,
            })
            .collect())
    }
}

/// A sealed cursor whose position no longer parses (issued by another version).
pub(super) fn stale_cursor() -> ScimError {
    ScimError::bad_request(
        crate::error::ScimType::InvalidCursor,
        "this cursor is no longer valid; start again with `cursor=` (empty)",
    )
}

/// GET /Users and POST /Users/.search.
pub(super) async fn search(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
    projection: &Projection,
) -> Result<Response<Bytes>, ScimError> {
    let listing = UserListing::new(svc, ctx, query);
    let scope = format!("{}/Users", ctx.directory.id);
    let (page, envelope) = query
        .answer(
            &listing,
            ResourceKind::User,
            &scope,
            &svc.inner.cursors,
            svc.inner.config.max_filter_candidates,
        )
        .await?;
    let ids = page.iter().map(|user| user.id.clone()).collect();
    let groups = groups_of(svc, ctx, ids, projection).await?;
    let texts: Vec<(&UserDocument, TopLevel<'_>)> = page
        .iter()
        .filter_map(|user| match stored_text(user) {
            Ok(text) => Some((user, text)),
            Err(_) => {
                // One bad record must not take every page that holds it down.
                tracing::warn!(user = %user.id, "skipped a user whose stored text is not a JSON object");
                None
            }
        })
        .collect();
    let rules = ctx.extensions.rules(ResourceKind::User);
    let rendered: Vec<Rendered<'_>> = texts
        .iter()
        .map(|(user, text)| {
            let of_user = groups.get(&user.id).map(Vec::as_slice).unwrap_or(&[]);
            resource::user_document_text(user, text, of_user, &ctx.locations)
                .project_declared(projection, &rules)
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &envelope.list_body(&rendered),
    ))
}

pub(super) async fn replace(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
    id: &str,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let input = request_json(request).await?;
    let preconditions = Preconditions::from_headers(request.headers());
    let mut retries = cas::Retries::new(&preconditions);
    let stored = loop {
        retries.attempt()?;
        let old = load(svc, ctx, id).await?;
        preconditions.check_if_match(&old.meta.etag())?;
        let doc = document::declared_user(input.clone(), WriteKind::Replace, &ctx.extensions)?;
        let email = resource::user_email(&doc, &ctx.organization, svc.inner.config.email_policy)?;
        let version = old.meta.version;
        let user = User {
            email,
            state: resource::requested_state(&doc),
            unique_keys: ctx.extensions.unique_keys(ResourceKind::User, &doc),
            attributes: doc,
            meta: Meta {
                last_modified: svc.inner.clock.now(),
                ..old.meta.clone()
            },
            ..old
        };
        if let Some(stored) = retries.settle(
            svc.inner.store.update_user(user, version).await,
            store_error,
        )? {
            break stored;
        }
    };
    respond(svc, ctx, &stored, &projection, StatusCode::OK).await
}

pub(super) async fn delete(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
    id: &str,
) -> Result<Response<Bytes>, ScimError> {
    let preconditions = Preconditions::from_headers(request.headers());
    let mut retries = cas::Retries::new(&preconditions);
    loop {
        retries.attempt()?;
        let old = load(svc, ctx, id).await?;
        preconditions.check_if_match(&old.meta.etag())?;
        let version = old.meta.version;
        let user = User {
            state: UserState::Deleted,
            meta: Meta {
                last_modified: svc.inner.clock.now(),
                ..old.meta.clone()
            },
            ..old
        };
        if retries
            .settle(
                svc.inner.store.update_user(user, version).await,
                store_error,
            )?
            .is_some()
        {
            break;
        }
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}
