//! `/Groups`: create, read, list, replace and delete groups. Members are a relation kept
//! by the store, never a list rewritten inside the group document.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::Value;

use super::http::{
    Preconditions, empty_response, json_response, projection_of, request_json, resource_response,
};
use super::list::{ListQuery, Listable};
use super::{Ctx, ScimService, cas, store_error, users};
use crate::error::{EntityKind, ScimError, ScimType, StoreError};
use crate::model::{Group, GroupId, Meta, UserId, UserState};
use crate::protocol::document::{self, WriteKind};
use crate::protocol::filter::{
    IndexedAttribute, IndexedEq, IndexedResource, indexed_equality, is_whole_filter,
};
use crate::protocol::projection::Projection;
use crate::protocol::resource::{self, GroupRef, MemberRef};
use crate::schema::ResourceKind;
use crate::store::{GroupFilter, GroupKey, Keyset, Member, MembershipEdit, States};

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

/// The group as a SCIM resource, with its members (unless the projection leaves them out).
pub(super) async fn render(
    svc: &ScimService,
    ctx: &Ctx,
    group: &Group,
    projection: &Projection,
) -> Result<Value, ScimError> {
    let members = PageMembers::read(svc, ctx, [group], projection).await?;
    Ok(members.render(ctx, group, projection))
}

/// The members of a page of groups as rendered, read in one store call for the whole
/// page, or not at all when the projection leaves `members` out.
pub(super) struct PageMembers {
    /// `None`: not read.
    of_group: Option<HashMap<GroupId, GroupMembers>>,
}

/// One group's members: its users, then the groups nested in it, each in id order.
#[derive(Default)]
struct GroupMembers {
    users: Vec<UserId>,
    groups: Vec<GroupRef>,
}

impl PageMembers {
    pub(super) async fn read<'g>(
        svc: &ScimService,
        ctx: &Ctx,
        groups: impl IntoIterator<Item = &'g Group>,
        projection: &Projection,
    ) -> Result<Self, ScimError> {
        if !projection.includes("members") {
            return Ok(Self { of_group: None });
        }
        let ids: Vec<GroupId> = groups.into_iter().map(|g| g.id.clone()).collect();
        let mut of_group: HashMap<GroupId, GroupMembers> = HashMap::new();
        if ids.is_empty() {
            return Ok(Self {
                of_group: Some(of_group),
            });
        }
        // A DELETEd user is gone from SCIM, so it is gone from `members` too; a deactivated
        // one stays, as it stays visible at /Users. Deleted member groups are gone too.
        let rows = svc
            .inner
            .store
            .members_of_groups(&ctx.directory.id, &ids, States::Visible)
            .await
            .map_err(store_error)?;
        for row in rows {
            let members = of_group.entry(row.group_id).or_default();
            match row.member {
                Member::User(user) => members.users.push(user),
                Member::Group { id, display_name } => members.groups.push(GroupRef {
                    id,
                    display: display_name,
                    direct: true,
                }),
            }
        }
        Ok(Self {
            of_group: Some(of_group),
        })
    }

    /// `group` (one of the page's) as a SCIM resource, projected.
    pub(super) fn render(&self, ctx: &Ctx, group: &Group, projection: &Projection) -> Value {
        let members = self.of_group.as_ref().map(|of_group| {
            of_group
                .get(&group.id)
                .map_or(resource::Members::NONE, |m| resource::Members {
                    users: &m.users,
                    groups: &m.groups,
                })
        });
        let doc = resource::render_group(group, members, &ctx.locations);
        // `attributes` / `excludedAttributes` beyond `members`, with the `returned` of
        // declared Group extensions.
        projection.apply_declared(doc, ctx.extensions.rules(ResourceKind::Group))
    }
}

/// The edits that add each member a document lists (users first, then groups), the users
/// checked to be visible users of the directory (groups are checked by the store).
async fn checked_members(
    svc: &ScimService,
    ctx: &Ctx,
    input: &Value,
) -> Result<(Vec<UserId>, Vec<GroupId>), ScimError> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for member in resource::member_refs(input)? {
        match member {
            MemberRef::User(user) => users.push(user),
            MemberRef::Group(group) => groups.push(group),
        }
    }
    check_visible_users(svc, ctx, &users).await?;
    Ok((users, groups))
}

/// Refuses any of `members` that is not a visible user of the directory, reading them all
/// in one store call.
pub(super) async fn check_visible_users(
    svc: &ScimService,
    ctx: &Ctx,
    members: &[UserId],
) -> Result<(), ScimError> {
    if members.is_empty() {
        return Ok(());
    }
    let found = svc
        .inner
        .store
        .get_users(&ctx.directory.id, members)
        .await
        .map_err(store_error)?;
    let visible: HashSet<&UserId> = found
        .iter()
        .filter(|u| u.state != UserState::Deleted)
        .map(|u| &u.id)
        .collect();
    match members.iter().find(|m| !visible.contains(m)) {
        Some(missing) => Err(unknown_member(missing)),
        None => Ok(()),
    }
}

pub(super) fn unknown_member(member: &UserId) -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidValue,
        format!("group member `{member}` is not a user of this directory"),
    )
}

/// A member that vanished between the check and the write, or a member group that is not
/// a group of the directory, reads as a bad member; `written` (the group written, if it
/// existed before) missing is the group itself gone. A taken declared unique value is
/// another group's (groups hold them apart from users).
pub(super) fn membership_error(written: Option<&GroupId>) -> impl FnOnce(StoreError) -> ScimError {
    move |error| match error {
        StoreError::NotFound {
            kind: EntityKind::User,
            id,
        } => ScimError::bad_request(
            ScimType::InvalidValue,
            format!("group member `{id}` is not a user of this directory"),
        ),
        StoreError::NotFound {
            kind: EntityKind::Group,
            id,
        } if written.is_none_or(|w| w.as_str() != id) => ScimError::bad_request(
            ScimType::InvalidValue,
            format!("group member `{id}` is not a group of this directory"),
        ),
        StoreError::AttributeTaken { attribute } => ScimError::uniqueness(format!(
            "another group of this directory has this value of `{attribute}`, which is \
             declared unique; send another value, or delete that group first"
        )),
        other => store_error(other),
    }
}

pub(super) async fn create(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let input = request_json(request).await?;
    let (members, member_groups) = checked_members(svc, ctx, &input).await?;
    let doc = document::declared_group(input, WriteKind::Create, &ctx.extensions)?;
    let group = Group {
        id: GroupId::from_uuid(svc.inner.ids.next_uuid()),
        directory_id: ctx.directory.id.clone(),
        display_name: resource::group_display_name(&doc)?,
        deleted: false,
        unique_keys: ctx.extensions.unique_keys(ResourceKind::Group, &doc),
        attributes: doc,
        meta: Meta::new(svc.inner.clock.now()),
    };
    let stored = svc
        .inner
        .store
        .insert_group(group, &members, &member_groups)
        .await
        .map_err(membership_error(None))?;
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
    if Preconditions::from_headers(request.headers()).not_modified(|| group.meta.etag()) {
        return Ok(empty_response(StatusCode::NOT_MODIFIED));
    }
    let body = render(svc, ctx, &group, &projection).await?;
    Ok(resource_response(StatusCode::OK, &body))
}

/// The groups a list query reads from the store: those its indexed equality selects (all
/// without one), never deleted ones.
pub(super) struct GroupListing<'a> {
    svc: &'a ScimService,
    ctx: &'a Ctx,
    filter: GroupFilter,
    /// `id eq "..."`: at most this one group (`None`: an id that cannot exist).
    only: Option<Option<GroupId>>,
    /// Whether the filter reads `members`, so the views must carry them.
    views_need_members: bool,
    /// The filter is the indexed equality alone ([`is_whole_filter`]).
    whole_filter: bool,
}

impl<'a> GroupListing<'a> {
    pub(super) fn new(svc: &'a ScimService, ctx: &'a Ctx, query: &ListQuery) -> Self {
        let mut filter = GroupFilter {
            states: States::Visible,
            ..GroupFilter::default()
        };
        let mut only = None;
        let indexed = query
            .filter
            .as_ref()
            .and_then(|f| indexed_equality(f, IndexedResource::Group));
        let whole_filter = match (&query.filter, &indexed) {
            (Some(filter), Some(pushed)) => is_whole_filter(filter, pushed),
            _ => false,
        };
        if let Some(IndexedEq { attribute, value }) = indexed {
            match attribute {
                IndexedAttribute::Id => only = Some(value.parse::<GroupId>().ok()),
                IndexedAttribute::DisplayName => filter.key = Some(GroupKey::DisplayName(value)),
                IndexedAttribute::ExternalId => filter.key = Some(GroupKey::ExternalId(value)),
                _ => {}
            }
        }
        Self {
            svc,
            ctx,
            filter,
            only,
            views_need_members: query.filter.as_ref().is_some_and(|f| f.mentions("members")),
            whole_filter,
        }
    }

    async fn the_one(&self, id: &Option<GroupId>) -> Result<Vec<Group>, ScimError> {
        let Some(id) = id else {
            return Ok(Vec::new());
        };
        Ok(self
            .svc
            .inner
            .store
            .get_group(&self.ctx.directory.id, id)
            .await
            .map_err(store_error)?
            .filter(|g| !g.deleted)
            .into_iter()
            .collect())
    }
}

#[async_trait]
impl Listable for GroupListing<'_> {
    type Item = Group;

    fn id(item: &Group) -> String {
        item.id.to_string()
    }

    async fn count(&self) -> Result<u64, ScimError> {
        match &self.only {
            Some(id) => Ok(self.the_one(id).await?.len() as u64),
            None => self
                .svc
                .inner
                .store
                .count_groups(&self.ctx.directory.id, &self.filter)
                .await
                .map_err(store_error),
        }
    }

    async fn list(
        &self,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<Group>, ScimError> {
        if let Some(id) = &self.only {
            let one = self.the_one(id).await?;
            return Ok(one
                .into_iter()
                .filter(|g| after.is_none_or(|a| g.id.as_str() > a))
                .skip(skip)
                .take(limit)
                .collect());
        }
        let after = match after {
            Some(a) => Some(a.parse::<GroupId>().map_err(|_| users::stale_cursor())?),
            None => None,
        };
        self.svc
            .inner
            .store
            .list_groups(
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

    async fn views(&self, items: &[Group]) -> Result<Vec<Value>, ScimError> {
        // Filters on `members` need them in the view; otherwise the view skips reading them.
        let projection = if self.views_need_members {
            Projection::default()
        } else {
            without_members()
        };
        let members = PageMembers::read(self.svc, self.ctx, items, &projection).await?;
        Ok(items
            .iter()
            .map(|group| members.render(self.ctx, group, &projection))
            .collect())
    }
}

/// A projection that leaves `members` out (and so never reads them).
pub(super) fn without_members() -> Projection {
    Projection {
        attributes: Vec::new(),
        excluded: vec!["members".into()],
    }
}

/// GET /Groups and POST /Groups/.search.
pub(super) async fn search(
    svc: &ScimService,
    ctx: &Ctx,
    query: &ListQuery,
    projection: &Projection,
) -> Result<Response<Bytes>, ScimError> {
    let listing = GroupListing::new(svc, ctx, query);
    let scope = format!("{}/Groups", ctx.directory.id);
    let (page, envelope) = query
        .answer(
            &listing,
            ResourceKind::Group,
            &scope,
            &svc.inner.cursors,
            svc.inner.config.max_filter_candidates,
        )
        .await?;
    let members = PageMembers::read(svc, ctx, &page, projection).await?;
    let rendered = page
        .iter()
        .map(|group| members.render(ctx, group, projection))
        .collect();
    Ok(json_response(StatusCode::OK, &envelope.respond(rendered)))
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
    let (members, member_groups) = checked_members(svc, ctx, &input).await?;
    let mut edits = vec![MembershipEdit::RemoveAll];
    edits.extend(members.into_iter().map(MembershipEdit::Add));
    edits.extend(member_groups.into_iter().map(MembershipEdit::AddGroup));
    let mut retries = cas::Retries::new(&preconditions);
    let stored = loop {
        retries.attempt()?;
        let old = load(svc, ctx, id).await?;
        preconditions.check_if_match(&old.meta.etag())?;
        let doc = document::declared_group(input.clone(), WriteKind::Replace, &ctx.extensions)?;
        let version = old.meta.version;
        let written = old.id.clone();
        let group = Group {
            display_name: resource::group_display_name(&doc)?,
            unique_keys: ctx.extensions.unique_keys(ResourceKind::Group, &doc),
            attributes: doc,
            meta: Meta {
                last_modified: svc.inner.clock.now(),
                ..old.meta.clone()
            },
            ..old
        };
        if let Some(stored) = retries.settle(
            svc.inner.store.update_group(group, version, &edits).await,
            membership_error(Some(&written)),
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
