//! Finds the part of a filter a store index can answer: an equality on an indexed
//! attribute, alone or as one conjunct of an `and` chain (never under `or` or `not`).
//!
//! Sound, not exact: every resource the filter matches has the indexed value, so the caller
//! fetches the candidates from the index and then evaluates the whole filter on them. The
//! index must compare as the evaluator does (`userName`, `emails.value` and `displayName`
//! case-insensitively; `id` and `externalId` exactly).

use super::ast::{CompValue, CompareOp, Filter};
use super::eval::datetime;
use crate::protocol::path::AttrPath;

/// Which resource type a filter selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexedResource {
    /// Users.
    User,
    /// Groups.
    Group,
}

/// An attribute a store indexes for equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexedAttribute {
    /// `id`.
    Id,
    /// A user's `userName`.
    UserName,
    /// `externalId`.
    ExternalId,
    /// Any of a user's `emails[].value`.
    EmailValue,
    /// A group's `displayName`.
    DisplayName,
}

/// An equality the store can look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexedEq {
    /// The indexed attribute.
    pub attribute: IndexedAttribute,
    /// The value it must equal.
    pub value: String,
}

fn indexed_attribute(path: &AttrPath, resource: IndexedResource) -> Option<IndexedAttribute> {
    let core = match resource {
        IndexedResource::User => "urn:ietf:params:scim:schemas:core:2.0:User",
        IndexedResource::Group => "urn:ietf:params:scim:schemas:core:2.0:Group",
    };
    if path
        .urn
        .as_deref()
        .is_some_and(|urn| !urn.eq_ignore_ascii_case(core))
    {
        return None;
    }
    let attr = path.attribute.to_ascii_lowercase();
    let sub = path.sub_attribute.as_deref().map(str::to_ascii_lowercase);
    Some(match (resource, attr.as_str(), sub.as_deref()) {
        (_, "id", None) => IndexedAttribute::Id,
        (_, "externalid", None) => IndexedAttribute::ExternalId,
        (IndexedResource::User, "username", None) => IndexedAttribute::UserName,
        (IndexedResource::User, "emails", None | Some("value")) => IndexedAttribute::EmailValue,
        (IndexedResource::Group, "displayname", None) => IndexedAttribute::DisplayName,
        _ => return None,
    })
}

/// An indexed equality that every resource matching `filter` satisfies, if there is one.
///
/// The caller fetches the candidates from the index and still evaluates the whole filter
/// on them: the result is a superset of the matches, never a subset.
pub(crate) fn indexed_equality(filter: &Filter, resource: IndexedResource) -> Option<IndexedEq> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(value),
        } if !is_timestamp(value) => indexed_attribute(path, resource).map(|attribute| IndexedEq {
            attribute,
            value: value.clone(),
        }),
        Filter::And(a, b) => {
            indexed_equality(a, resource).or_else(|| indexed_equality(b, resource))
        }
        // `emails[value eq "x"]` (any other conjuncts inside still hold for that element).
        Filter::ValuePath { path, filter }
            if path.sub_attribute.is_none()
                && indexed_attribute(path, resource) == Some(IndexedAttribute::EmailValue) =>
        {
            value_eq(filter).map(|value| IndexedEq {
                attribute: IndexedAttribute::EmailValue,
                value,
            })
        }
        _ => None,
    }
}

/// Whether the filter is nothing but the equality [`indexed_equality`] pushes down, on an
/// attribute whose index selects exactly what the evaluator would: then the store's
/// selection is the answer, and evaluating the filter again on each candidate (after
/// rendering its SCIM view) changes nothing. `emails.value` is left out: its index keys
/// are normalised addresses, which the evaluator does not compare by.
pub(crate) fn is_whole_filter(filter: &Filter, pushed: &IndexedEq) -> bool {
    matches!(filter, Filter::Compare { .. })
        && matches!(
            pushed.attribute,
            IndexedAttribute::Id
                | IndexedAttribute::UserName
                | IndexedAttribute::ExternalId
                | IndexedAttribute::DisplayName
        )
}

/// The evaluator lets two RFC 3339 timestamps that name the same instant be equal
/// (`"2011-05-13T04:42:34Z"` and `"2011-05-13T06:42:34+02:00"`), which an index of the
/// text cannot find; such values are left to the full scan.
fn is_timestamp(value: &str) -> bool {
    datetime(value).is_some()
}

fn value_eq(filter: &Filter) -> Option<String> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(value),
        } if path.urn.is_none()
            && path.sub_attribute.is_none()
            && path.attribute.eq_ignore_ascii_case("value")
            && !is_timestamp(value) =>
        {
            Some(value.clone())
        }
        Filter::And(a, b) => value_eq(a).or_else(|| value_eq(b)),
        _ => None,
    }
}
