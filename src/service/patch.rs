//! PATCH on Users and Groups (RFC 7644 §3.5.2). Users: compare-and-swap of the whole
//! document. Groups: member operations become atomic membership edits, so parallel
//! PATCHes from an IdP never conflict or lose a member.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};

use super::http::{Preconditions, empty_response, projection_of, request_json, resource_response};
use super::limits::Limits;
use super::offload;
use super::{Ctx, ScimService, cas, groups, store_error, users};
use crate::error::{ScimError, ScimType};
use crate::model::{Group, GroupId, Meta, User, UserId};
use crate::protocol::document::{self, WriteKind};
use crate::protocol::filter::{CompValue, CompareOp, Filter};
use crate::protocol::patch::{OpKind, PatchOp, PatchPath, apply_operations, parse_request};
use crate::protocol::resource::MemberRef;
use crate::protocol::{quirks, resource};
use crate::schema::ResourceKind;
use crate::store::{DirectoryStoreExt, GroupFilter, Keyset, MembershipEdit, States};

async fn parse(
    request: &Request<Bytes>,
    kind: ResourceKind,
    id: &str,
) -> Result<Vec<PatchOp>, ScimError> {
    let mut body = request_json(request).await?;
    quirks::normalise_patch(quirks::PatchTarget { kind, id }, &mut body);
    Ok(parse_request(&body, kind)?)
}

/// The user document `operations` make of `old`, checked and reduced for storing.
fn patched_user(
    old: &Value,
    operations: &[PatchOp],
    limits: &Limits,
    extensions: &crate::schema::Extensions,
) -> Result<Value, ScimError> {
    let patched = apply_operations(old, operations, ResourceKind::User)?;
    limits.check_document(&patched)?;
    Ok(document::declared_user(
        patched,
        WriteKind::Replace,
        extensions,
    )?)
}

/// The 200 answer with the resource, or (when the service answers PATCH without content)
/// 204 with its `ETag`.
fn respond(svc: &ScimService, mut response: Response<Bytes>) -> Response<Bytes> {
    if !svc.inner.config.patch_returns_content {
        let headers = response.headers().clone();
        response = empty_response(StatusCode::NO_CONTENT);
        if let Some(etag) = headers.get(http::header::ETAG) {
            response
                .headers_mut()
                .insert(http::header::ETAG, etag.clone());
        }
    }
    response
}

pub(super) async fn user(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
    id: &str,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let operations = Arc::new(parse(request, ResourceKind::User, id).await?);
    let heavy = operations.len() >= offload::HEAVY_PATCH_OPERATIONS
        || request.body().len() >= offload::HEAVY_BODY_BYTES;
    let preconditions = Preconditions::from_headers(request.headers());
    let mut retries = cas::Retries::new(&preconditions);
    let stored = loop {
        retries.attempt()?;
        let old = users::load(svc, ctx, id).await?;
        preconditions.check_if_match(&old.meta.etag())?;
        // The engine's work grows with operations × elements: a big PATCH runs on the
        // blocking pool, and hands the stored user back with the patched document.
        let (limits, ops) = (svc.inner.config.limits.clone(), operations.clone());
        let extensions = ctx.extensions.clone();
        let (old, doc) = offload::run(heavy, move || {
            let doc = patched_user(&old.attributes, &ops, &limits, &extensions);
            Ok((old, doc))
        })
        .await?;
        let doc = doc?;
        let version = old.meta.version;
        let user = User {
            email: resource::user_email(&doc, &ctx.organization, svc.inner.config.email_policy)?,
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
    Ok(respond(
        svc,
        users::respond(svc, ctx, &stored, &projection, StatusCode::OK).await?,
    ))
}

fn targets_members(path: &Option<PatchPath>) -> bool {
    matches!(path, Some(PatchPath::Attribute { path, .. }) if path.urn.is_none() && path.attribute.eq_ignore_ascii_case("members"))
}

/// Members listed in a `members` value (`[{"value": id}, ...]` or one object).
fn listed_members(value: Option<&Value>) -> Result<Vec<MemberRef>, ScimError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .map(resource::member_ref)
            .collect::<Result<_, _>>()?),
        Some(one) => Ok(vec![resource::member_ref(one)?]),
    }
}

/// The edit that adds `member`.
fn add(member: MemberRef) -> MembershipEdit {
    match member {
        MemberRef::User(user) => MembershipEdit::Add(user),
        MemberRef::Group(group) => MembershipEdit::AddGroup(group),
    }
}

/// The edit that removes `member`.
fn remove(member: MemberRef) -> MembershipEdit {
    match member {
        MemberRef::User(user) => MembershipEdit::Remove(user),
        MemberRef::Group(group) => MembershipEdit::RemoveGroup(group),
    }
}

/// Splits a group PATCH into membership edits and the operations on other attributes.
async fn split_group_operations(
    svc: &ScimService,
    ctx: &Ctx,
    group: &Group,
    operations: Vec<PatchOp>,
) -> Result<(Vec<MembershipEdit>, Vec<PatchOp>), ScimError> {
    let mut edits = Vec::new();
    let mut rest = Vec::new();
    for op in operations {
        if targets_members(&op.path) {
            let Some(PatchPath::Attribute {
                filter,
                sub_attribute,
                path,
            }) = &op.path
            else {
                continue;
            };
            if path.sub_attribute.is_some() || sub_attribute.is_some() {
                return Err(ScimError::bad_request(
                    ScimType::InvalidPath,
                    "group members are changed whole: use `members` or `members[value eq \"id\"]`",
                ));
            }
            match (op.op, filter) {
                (OpKind::Add, None) => {
                    edits.extend(listed_members(op.value.as_ref())?.into_iter().map(add))
                }
                (OpKind::Replace, None) => {
                    edits.push(MembershipEdit::RemoveAll);
                    edits.extend(listed_members(op.value.as_ref())?.into_iter().map(add));
                }
                (OpKind::Remove, None) => match op.value.as_ref() {
                    None | Some(Value::Null) => edits.push(MembershipEdit::RemoveAll),
                    listed => edits.extend(listed_members(listed)?.into_iter().map(remove)),
                },
                (OpKind::Remove, Some(filter)) => {
                    // `members[value eq "id"]` names its member: removing it needs no read
                    // (and removing a non-member is a no-op).
                    if let Some(member) = member_named_by(filter) {
                        edits.extend(member.map(remove));
                        continue;
                    }
                    let users = svc
                        .inner
                        .store
                        .all_members(&ctx.directory.id, &group.id, States::All)
                        .await
                        .map_err(store_error)?;
                    let nested = svc
                        .inner
                        .store
                        .list_groups(
                            &ctx.directory.id,
                            &GroupFilter {
                                parent: Some(group.id.clone()),
                                ..GroupFilter::default()
                            },
                            Keyset::all(),
                        )
                        .await
                        .map_err(store_error)?;
                    let members = users
                        .into_iter()
                        .map(MemberRef::User)
                        .chain(nested.into_iter().map(|g| MemberRef::Group(g.id)));
                    edits.extend(
                        members
                            .filter(|m| {
                                let (value, kind) = match m {
                                    MemberRef::User(u) => (u.as_str(), "User"),
                                    MemberRef::Group(g) => (g.as_str(), "Group"),
                                };
                                filter.matches(
                                    &json!({"value": value, "type": kind}),
                                    &ResourceKind::Group,
                                )
                            })
                            .map(remove),
                    );
                }
                (_, Some(_)) => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidPath,
                        "a member filter selects members to remove; add or replace members with `path: \"members\"`",
                    ));
                }
            }
            continue;
        }
        // A path-less value may carry `members` beside other attributes.
        if let (None, Some(Value::Object(values))) = (&op.path, &op.value)
            && let Some(key) = values
                .keys()
                .find(|k| k.eq_ignore_ascii_case("members"))
                .cloned()
        {
            let mut values = values.clone();
            let listed = listed_members(values.remove(&key).as_ref())?;
            if op.op == OpKind::Replace {
                edits.push(MembershipEdit::RemoveAll);
            }
            edits.extend(listed.into_iter().map(add));
            if !values.is_empty() {
                rest.push(PatchOp {
                    value: Some(Value::Object(values)),
                    ..op
                });
            }
            continue;
        }
        rest.push(op);
    }
    Ok((edits, rest))
}

/// The member a `value eq "id"` filter names: `Some(None)` for an id no user or group can
/// have.
fn member_named_by(filter: &Filter) -> Option<Option<MemberRef>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(value),
        } if path.urn.is_none()
            && path.sub_attribute.is_none()
            && path.attribute.eq_ignore_ascii_case("value") =>
        {
            Some(
                value
                    .parse::<UserId>()
                    .map(MemberRef::User)
                    .or_else(|_| value.parse::<GroupId>().map(MemberRef::Group))
                    .ok(),
            )
        }
        _ => None,
    }
}

/// Refuses edits that add users who are not visible users of the directory.
async fn check_added_members(
    svc: &ScimService,
    ctx: &Ctx,
    edits: &[MembershipEdit],
) -> Result<(), ScimError> {
    let added: Vec<UserId> = edits
        .iter()
        .filter_map(|edit| match edit {
            MembershipEdit::Add(user) => Some(user.clone()),
            _ => None,
        })
        .collect();
    groups::check_visible_users(svc, ctx, &added).await
}

pub(super) async fn group(
    svc: &ScimService,
    ctx: &Ctx,
    request: &Request<Bytes>,
    id: &str,
) -> Result<Response<Bytes>, ScimError> {
    let projection = projection_of(request)?;
    let operations = parse(request, ResourceKind::Group, id).await?;
    let preconditions = Preconditions::from_headers(request.headers());
    let mut retries = cas::Retries::new(&preconditions);
    let stored = loop {
        retries.attempt()?;
        let old = groups::load(svc, ctx, id).await?;
        preconditions.check_if_match(&old.meta.etag())?;
        let (edits, rest) = split_group_operations(svc, ctx, &old, operations.clone()).await?;
        check_added_members(svc, ctx, &edits).await?;
        let now = svc.inner.clock.now();
        let group_id = old.id.clone();
        let written = if rest.is_empty() && !preconditions.has_if_match() {
            // Membership alone: no version check, so concurrent PATCHes all land.
            svc.inner
                .store
                .edit_members(&ctx.directory.id, &old.id, &edits, now)
                .await
        } else {
            let patched = apply_operations(&old.attributes, &rest, ResourceKind::Group)?;
            svc.inner.config.limits.check_document(&patched)?;
            let doc = document::declared_group(patched, WriteKind::Replace, &ctx.extensions)?;
            let version = old.meta.version;
            let group = Group {
                display_name: resource::group_display_name(&doc)?,
                unique_keys: ctx.extensions.unique_keys(ResourceKind::Group, &doc),
                attributes: doc,
                meta: Meta {
                    last_modified: now,
                    ..old.meta.clone()
                },
                ..old
            };
            svc.inner.store.update_group(group, version, &edits).await
        };
        if let Some(stored) = retries.settle(written, groups::membership_error(Some(&group_id)))? {
            break stored;
        }
    };
    Ok(respond(
        svc,
        resource_response(
            StatusCode::OK,
            &groups::render(svc, ctx, &stored, &projection).await?,
        ),
    ))
}
