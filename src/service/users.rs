//! `/Users`: create, read, list, replace and delete users (RFC 7644 §3.3–3.6).

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::Value;

use super::http::{
    Preconditions, empty_response, json_body, json_response, projection_of, resource_response,
};
use super::list::ListQuery;
use super::{Ctx, ScimService, cas, store_error};
use crate::error::ScimError;
use crate::model::{Meta, User, UserId, UserState};
use crate::protocol::document::{self, WriteKind};
use crate::protocol::filter::{IndexedAttribute, IndexedEq, IndexedResource, indexed_equality};
use crate::protocol::projection::Projection;
use crate::protocol::resource::{self, GroupRef};
use crate::schema::ResourceKind;
use crate::store::{DirectoryStoreExt, UserKey};

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
    user: &User,
    projection: &Projection,
) -> Result<Value, ScimError> {
    let store = &svc.inner.store;
    let mut groups = Vec::new();
    let group_ids = if projection.includes("groups") {
        store
            .all_groups_of_user(&ctx.directory.id, &user.id)
            .await
            .map_err(store_error)?
    } else {
        Vec::new()
    };
    for group_id in group_ids {
        if let Some(group) = store
            .get_group(&ctx.directory.id, &group_id)
            .await
            .map_err(store_error)?
            .filter(|g| !g.deleted)
        {
            groups.push(GroupRef {
                id: group.id,
                display: group.display_name,
            });
        }
    }
    let doc = resource::render_user(user, &groups, &ctx.locations);
    Ok(projection.apply(doc, ResourceKind::User))
}

pub(super) async fn create(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let input = json_body(request.headers(), request.body())?;
    let doc = document::user(input, WriteKind::Create)?;
    let email = resource::user_email(&doc, &ctx.organization, svc.inner.config.email_policy)?;
    let state = resource::requested_state(&doc);
    let now = svc.inner.clock.now();
    let store = &svc.inner.store;

    if svc.inner.config.restore_deleted_on_create {
        let user_name = doc.get("userName").and_then(Value::as_str).unwrap_or("");
        let same_name = store
            .find_users(&ctx.directory.id, &UserKey::UserName(user_name.to_owned()))
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
            let body = render(svc, ctx, &stored, &projection).await?;
            return Ok(resource_response(StatusCode::CREATED, &body));
        }
    }

    let user = User {
        id: UserId::from_uuid(svc.inner.ids.next_uuid()),
        directory_id: ctx.directory.id.clone(),
        email,
        state,
        attributes: doc,
        meta: Meta::new(now),
    };
    let stored = store.insert_user(user).await.map_err(store_error)?;
    let body = render(svc, ctx, &stored, &projection).await?;
    Ok(resource_response(StatusCode::CREATED, &body))
}

pub(super) async fn get(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
    id: &str,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let user = load(svc, ctx, id).await?;
    if Preconditions::from_headers(request.headers()).not_modified(&user.meta.etag()) {
        return Ok(empty_response(StatusCode::NOT_MODIFIED));
    }
    let body = render(svc, ctx, &user, &projection).await?;
    Ok(resource_response(StatusCode::OK, &body))
}

/// Users matching the query's indexed equality, if it has one, else all; never deleted
/// ones.
async fn candidates(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
) -> Result<Vec<User>, ScimError> {
    let store = &svc.inner.store;
    let dir = &ctx.directory.id;
    let indexed = query
        .filter
        .as_ref()
        .and_then(|f| indexed_equality(f, IndexedResource::User));
    let users = match indexed {
        Some(IndexedEq {
            attribute: IndexedAttribute::Id,
            value,
        }) => match value.parse::<UserId>() {
            Ok(id) => store
                .get_user(dir, &id)
                .await
                .map_err(store_error)?
                .into_iter()
                .collect(),
            Err(_) => Vec::new(),
        },
        Some(IndexedEq {
            attribute: IndexedAttribute::UserName,
            value,
        }) => store
            .find_users(dir, &UserKey::UserName(value))
            .await
            .map_err(store_error)?,
        Some(IndexedEq {
            attribute: IndexedAttribute::ExternalId,
            value,
        }) => store
            .find_users(dir, &UserKey::ExternalId(value))
            .await
            .map_err(store_error)?,
        Some(IndexedEq {
            attribute: IndexedAttribute::EmailValue,
            value,
        }) => store
            .find_users(dir, &UserKey::Email(value))
            .await
            .map_err(store_error)?,
        _ => store.all_users(dir).await.map_err(store_error)?,
    };
    Ok(users
        .into_iter()
        .filter(|u| u.state != UserState::Deleted)
        .collect())
}

/// GET /Users and POST /Users/.search.
pub(super) async fn search(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
    projection: &Projection,
) -> Result<Response<Bytes>, ScimError> {
    let users = candidates(svc, ctx, query).await?;
    let with_views = users
        .into_iter()
        .map(|u| {
            let view = query
                .needs_view()
                .then(|| resource::render_user(&u, &[], &ctx.locations));
            (u.id.to_string(), view, u)
        })
        .collect();
    let scope = format!("{}/Users", ctx.directory.id);
    let (page, envelope) = query.run(with_views, ResourceKind::User, &scope, &svc.inner.cursors)?;
    let mut rendered = Vec::with_capacity(page.len());
    for user in &page {
        rendered.push(render(svc, ctx, user, projection).await?);
    }
    Ok(json_response(StatusCode::OK, &envelope.respond(rendered)))
}

pub(super) async fn replace(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
    id: &str,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let input = json_body(request.headers(), request.body())?;
    let preconditions = Preconditions::from_headers(request.headers());
    let mut retries = cas::Retries::new(&preconditions);
    let stored = loop {
        retries.attempt()?;
        let old = load(svc, ctx, id).await?;
        preconditions.check_if_match(&old.meta.etag())?;
        let doc = document::user(input.clone(), WriteKind::Replace(&old.attributes))?;
        let email = resource::user_email(&doc, &ctx.organization, svc.inner.config.email_policy)?;
        let version = old.meta.version;
        let user = User {
            email,
            state: resource::requested_state(&doc),
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
    let body = render(svc, ctx, &stored, &projection).await?;
    Ok(resource_response(StatusCode::OK, &body))
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
