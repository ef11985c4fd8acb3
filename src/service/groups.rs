//! `/Groups`: create, read, list, replace and delete groups. Members are a relation kept
//! by the store, never a list rewritten inside the group document.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::Value;

use super::http::{
    Preconditions, empty_response, json_body, json_response, projection_of, resource_response,
};
use super::list::ListQuery;
use super::{Ctx, ScimService, cas, store_error};
use crate::error::{ScimError, ScimType, StoreError};
use crate::model::{Group, GroupId, Meta, UserId, UserState};
use crate::protocol::document::{self, WriteKind};
use crate::protocol::filter::{IndexedAttribute, IndexedEq, IndexedResource, indexed_equality};
use crate::protocol::projection::Projection;
use crate::protocol::resource;
use crate::schema::ResourceKind;
use crate::store::{DirectoryStoreExt, GroupKey, MembershipEdit};

fn not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("group `{id}` not found in this directory"))
}

pub(super) async fn load(svc: &ScimService, ctx: &Ctx, id: &str) -> Result<Group, ScimError> {
    let group_id: GroupId = id.parse().map_err(|_| not_found(id))?;
    svc.inner
        .store
        .get_group(&ctx.directory.id, &group_id)
        .await
        .map_err(store_error)?
        .filter(|g| !g.deleted)
        .ok_or_else(|| not_found(id))
}

pub(super) async fn render(
    svc: &ScimService,
    ctx: &Ctx,
    group: &Group,
    projection: &Projection,
) -> Result<Value, ScimError> {
    let members = if projection.includes("members") {
        Some(
            svc.inner
                .store
                .all_members(&ctx.directory.id, &group.id)
                .await
                .map_err(store_error)?,
        )
    } else {
        None
    };
    Ok(resource::render_group(
        group,
        members.as_deref(),
        &ctx.locations,
    ))
}

/// The members a document lists, each checked to be a visible user of the directory.
async fn checked_members(
    svc: &ScimService,
    ctx: &Ctx,
    input: &Value,
) -> Result<Vec<UserId>, ScimError> {
    let members = resource::member_ids(input)?;
    for member in &members {
        let user = svc
            .inner
            .store
            .get_user(&ctx.directory.id, member)
            .await
            .map_err(store_error)?;
        if user.is_none_or(|u| u.state == UserState::Deleted) {
            return Err(unknown_member(member));
        }
    }
    Ok(members)
}

pub(super) fn unknown_member(member: &UserId) -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidValue,
        format!("group member `{member}` is not a user of this directory"),
    )
}

/// A member that vanished between the check and the write reads as a bad member.
pub(super) fn membership_error(error: StoreError) -> ScimError {
    match error {
        StoreError::NotFound(what) if what.starts_with("user ") => ScimError::bad_request(
            ScimType::InvalidValue,
            format!("group member {what} is not a user of this directory"),
        ),
        other => store_error(other),
    }
}

pub(super) async fn create(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let input = json_body(request.headers(), request.body())?;
    let members = checked_members(svc, ctx, &input).await?;
    let doc = document::group(input, WriteKind::Create)?;
    let group = Group {
        id: GroupId::from_uuid(svc.inner.ids.next_uuid()),
        directory_id: ctx.directory.id.clone(),
        display_name: resource::group_display_name(&doc)?,
        deleted: false,
        attributes: doc,
        meta: Meta::new(svc.inner.clock.now()),
    };
    let stored = svc
        .inner
        .store
        .insert_group(group, &members)
        .await
        .map_err(membership_error)?;
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
    let group = load(svc, ctx, id).await?;
    if Preconditions::from_headers(request.headers()).not_modified(&group.meta.etag()) {
        return Ok(empty_response(StatusCode::NOT_MODIFIED));
    }
    let body = render(svc, ctx, &group, &projection).await?;
    Ok(resource_response(StatusCode::OK, &body))
}

async fn candidates(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
) -> Result<Vec<Group>, ScimError> {
    let store = &svc.inner.store;
    let dir = &ctx.directory.id;
    let indexed = query
        .filter
        .as_ref()
        .and_then(|f| indexed_equality(f, IndexedResource::Group));
    let groups = match indexed {
        Some(IndexedEq {
            attribute: IndexedAttribute::Id,
            value,
        }) => match value.parse::<GroupId>() {
            Ok(id) => store
                .get_group(dir, &id)
                .await
                .map_err(store_error)?
                .into_iter()
                .collect(),
            Err(_) => Vec::new(),
        },
        Some(IndexedEq {
            attribute: IndexedAttribute::DisplayName,
            value,
        }) => store
            .find_groups(dir, &GroupKey::DisplayName(value))
            .await
            .map_err(store_error)?,
        Some(IndexedEq {
            attribute: IndexedAttribute::ExternalId,
            value,
        }) => store
            .find_groups(dir, &GroupKey::ExternalId(value))
            .await
            .map_err(store_error)?,
        _ => store.all_groups(dir).await.map_err(store_error)?,
    };
    Ok(groups.into_iter().filter(|g| !g.deleted).collect())
}

/// GET /Groups and POST /Groups/.search.
pub(super) async fn search(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
    projection: &Projection,
) -> Result<Response<Bytes>, ScimError> {
    let groups = candidates(svc, ctx, query).await?;
    // Filters on `members` need them in the view; otherwise the view skips reading them.
    let filter_reads_members = query.filter.as_ref().is_some_and(|f| f.mentions("members"));
    let view_projection = if filter_reads_members {
        Projection::default()
    } else {
        Projection {
            attributes: Vec::new(),
            excluded: vec!["members".into()],
        }
    };
    let mut with_views = Vec::with_capacity(groups.len());
    for group in groups {
        let view = if query.needs_view() {
            Some(render(svc, ctx, &group, &view_projection).await?)
        } else {
            None
        };
        with_views.push((group.id.to_string(), view, group));
    }
    let scope = format!("{}/Groups", ctx.directory.id);
    let (page, envelope) =
        query.run(with_views, ResourceKind::Group, &scope, &svc.inner.cursors)?;
    let mut rendered = Vec::with_capacity(page.len());
    for group in &page {
        rendered.push(render(svc, ctx, group, projection).await?);
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
    let members = checked_members(svc, ctx, &input).await?;
    let mut edits = vec![MembershipEdit::RemoveAll];
    edits.extend(members.into_iter().map(MembershipEdit::Add));
    let mut retries = cas::Retries::new(&preconditions);
    let stored = loop {
        retries.attempt()?;
        let old = load(svc, ctx, id).await?;
        preconditions.check_if_match(&old.meta.etag())?;
        let doc = document::group(input.clone(), WriteKind::Replace(&old.attributes))?;
        let version = old.meta.version;
        let group = Group {
            display_name: resource::group_display_name(&doc)?,
            attributes: doc,
            meta: Meta {
                last_modified: svc.inner.clock.now(),
                ..old.meta.clone()
            },
            ..old
        };
        if let Some(stored) = retries.settle(
            svc.inner.store.update_group(group, version, &edits).await,
            membership_error,
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
        let group = Group {
            deleted: true,
            meta: Meta {
                last_modified: svc.inner.clock.now(),
                ..old.meta.clone()
            },
            ..old
        };
        if retries
            .settle(
                svc.inner.store.update_group(group, version, &[]).await,
                store_error,
            )?
            .is_some()
        {
            break;
        }
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}
