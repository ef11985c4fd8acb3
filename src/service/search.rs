//! `POST {directory}/.search` (RFC 7644 §3.4.3): one query over Users and Groups.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use super::http::json_response;
use super::list::ListQuery;
use super::{Ctx, ScimService, groups, store_error, users};
use crate::error::ScimError;
use crate::model::{Group, User, UserState};
use crate::protocol::projection::Projection;
use crate::protocol::resource;
use crate::schema::ResourceKind;
use crate::store::DirectoryStoreExt;

enum Found {
    User(User),
    Group(Group),
}

pub(super) async fn search_all(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
    projection: &Projection,
) -> Result<Response<Bytes>, ScimError> {
    let store = &svc.inner.store;
    let dir = &ctx.directory.id;
    let without_members = Projection {
        attributes: Vec::new(),
        excluded: vec!["members".into()],
    };
    let mut candidates = Vec::new();
    for user in store.all_users(dir).await.map_err(store_error)? {
        if user.state == UserState::Deleted {
            continue;
        }
        let view = query
            .needs_view()
            .then(|| resource::render_user(&user, &[], &ctx.locations));
        candidates.push((user.id.to_string(), view, Found::User(user)));
    }
    for group in store.all_groups(dir).await.map_err(store_error)? {
        if group.deleted {
            continue;
        }
        let view = match query.needs_view() {
            true => Some(groups::render(svc, ctx, &group, &without_members).await?),
            false => None,
        };
        candidates.push((group.id.to_string(), view, Found::Group(group)));
    }
    let scope = format!("{dir}/.search");
    let (page, envelope) = query.run(candidates, ResourceKind::User, &scope, &svc.inner.cursors)?;
    let mut rendered: Vec<Value> = Vec::with_capacity(page.len());
    for found in &page {
        rendered.push(match found {
            Found::User(user) => users::render(svc, ctx, user, projection).await?,
            Found::Group(group) => groups::render(svc, ctx, group, projection).await?,
        });
    }
    Ok(json_response(StatusCode::OK, &envelope.respond(rendered)))
}
