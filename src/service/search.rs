//! `POST {directory}/.search` (RFC 7644 §3.4.3): one query over Users, then Groups.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use super::groups::GroupListing;
use super::http::json_response;
use super::list::{ListQuery, Listable, Page, Paging};
use super::users::UserListing;
use super::{Ctx, ScimService, groups, users};
use crate::error::{ScimError, ScimType};
use crate::model::{Group, GroupId, UserDocument};
use crate::protocol::cursor::CursorPosition;
use crate::protocol::projection::Projection;
use crate::schema::ResourceKind;

enum Found {
    User(UserDocument),
    Group(Group),
}

impl Found {
    fn id(&self) -> String {
        match self {
            Found::User(u) => u.id.to_string(),
            Found::Group(g) => g.id.to_string(),
        }
    }
}

pub(super) async fn search_all(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
    projection: &Projection,
) -> Result<Response<Bytes>, ScimError> {
    let users = UserListing::new(svc, ctx, query);
    let groups = GroupListing::new(svc, ctx, query);
    let scope = format!("{}/.search", ctx.directory.id);
    let (page, envelope) = if query.needs_view() {
        selected(svc, query, &users, &groups, &scope).await?
    } else {
        store_paged(svc, query, &users, &groups, &scope).await?
    };
    let page_groups = page.iter().filter_map(|found| match found {
        Found::Group(group) => Some(group),
        Found::User(_) => None,
    });
    let members = groups::PageMembers::read(svc, ctx, page_groups, projection).await?;
    let mut rendered: Vec<Value> = Vec::with_capacity(page.len());
    for found in &page {
        rendered.push(match found {
            Found::User(user) => users::render(svc, ctx, user, projection).await?,
            Found::Group(group) => members.render(ctx, group, projection),
        });
    }
    Ok(json_response(StatusCode::OK, &envelope.respond(rendered)))
}

/// Filtered or sorted: each type's candidates selected under its own case rules (Group
/// rules for groups), then ordered and paged together.
async fn selected(
    svc: &ScimService,
    query: &ListQuery,
    users: &UserListing<'_>,
    groups: &GroupListing<'_>,
    scope: &str,
) -> Result<(Vec<Found>, Page), ScimError> {
    let ceiling = svc.inner.config.max_filter_candidates;
    let mut candidates = Vec::new();
    let found_users = users.list(None, 0, ceiling.saturating_add(1)).await?;
    let left = ceiling.saturating_sub(found_users.len());
    let found_groups = groups.list(None, 0, left.saturating_add(1)).await?;
    if found_users.len() + found_groups.len() > ceiling {
        return Err(ScimError::bad_request(
            ScimType::TooMany,
            format!(
                "this search would read more than {ceiling} resources; filter on an indexed \
                 attribute with `eq`, or search /Users or /Groups"
            ),
        ));
    }
    let user_views = users.views(&found_users).await?;
    for (user, view) in found_users.into_iter().zip(user_views) {
        if query.selects(&view, ResourceKind::User) {
            candidates.push((user.id.to_string(), Some(view), Found::User(user)));
        }
    }
    let group_views = groups.views(&found_groups).await?;
    for (group, view) in found_groups.into_iter().zip(group_views) {
        if query.selects(&view, ResourceKind::Group) {
            candidates.push((group.id.to_string(), Some(view), Found::Group(group)));
        }
    }
    query
        .without_filter()
        .run(candidates, ResourceKind::User, scope, &svc.inner.cursors)
}

/// Neither filtered nor sorted: users, then groups, each paged by the store.
async fn store_paged(
    svc: &ScimService,
    query: &ListQuery,
    users: &UserListing<'_>,
    groups: &GroupListing<'_>,
    scope: &str,
) -> Result<(Vec<Found>, Page), ScimError> {
    let user_total = usize::try_from(users.count().await?).unwrap_or(usize::MAX);
    let group_total = usize::try_from(groups.count().await?).unwrap_or(usize::MAX);
    let total = user_total.saturating_add(group_total);
    match &query.paging {
        Paging::Index { start_index, count } => {
            let skip = start_index - 1;
            let mut page: Vec<Found> = Vec::new();
            if skip < user_total {
                page.extend(
                    users
                        .list(None, skip, *count)
                        .await?
                        .into_iter()
                        .map(Found::User),
                );
            }
            let wanted = count.saturating_sub(page.len());
            if wanted > 0 {
                let group_skip = skip.saturating_sub(user_total);
                page.extend(
                    groups
                        .list(None, group_skip, wanted)
                        .await?
                        .into_iter()
                        .map(Found::Group),
                );
            }
            Ok((
                page,
                Page {
                    total,
                    start_index: Some(*start_index),
                    next_cursor: None,
                },
            ))
        }
        Paging::Cursor { cursor, count } => {
            let fingerprint = query.fingerprint_for(scope);
            let position = cursor
                .as_deref()
                .map(|c| svc.inner.cursors.decode(fingerprint, c))
                .transpose()?;
            // A cursor after a group means every user was listed already.
            let (user_after, group_after, users_done) = match &position {
                None => (None, None, false),
                Some(CursorPosition::AfterId(id)) if id.starts_with(GroupId::PREFIX) => {
                    (None, Some(id.as_str()), true)
                }
                Some(CursorPosition::AfterId(id)) => (Some(id.as_str()), None, false),
                Some(CursorPosition::Offset(_)) => return Err(users::stale_cursor()),
            };
            let wanted = count.saturating_add(1);
            let mut page: Vec<Found> = Vec::new();
            if !users_done {
                page.extend(
                    users
                        .list(user_after, 0, wanted)
                        .await?
                        .into_iter()
                        .map(Found::User),
                );
            }
            let left = wanted.saturating_sub(page.len());
            if left > 0 {
                page.extend(
                    groups
                        .list(group_after, 0, left)
                        .await?
                        .into_iter()
                        .map(Found::Group),
                );
            }
            let more = page.len() > *count;
            page.truncate(*count);
            let next_cursor = match (more, page.last()) {
                (true, Some(last)) => Some(
                    svc.inner
                        .cursors
                        .encode(fingerprint, &CursorPosition::AfterId(last.id())),
                ),
                _ => None,
            };
            Ok((
                page,
                Page {
                    total,
                    start_index: None,
                    next_cursor,
                },
            ))
        }
    }
}
