//! List requests (RFC 7644 §3.4.2, RFC 9865): the query, and running it over candidates.

use async_trait::async_trait;
use serde_json::Value;

use super::Config;
use super::http::Query;
use crate::error::{ScimError, ScimType};
use crate::protocol::cursor::{CursorCodec, CursorPosition, QueryFingerprint};
use crate::protocol::filter::{Filter, SortOrder, compare_resources, parse_filter};
use crate::protocol::path::AttrPath;
use crate::protocol::resource::list_response;
use std::sync::Arc;

use crate::schema::{Extensions, ResourceKind};

/// How the client pages.
#[derive(Debug, Clone)]
pub(super) enum Paging {
    /// `startIndex` (1-based) and `count`.
    Index { start_index: usize, count: usize },
    /// RFC 9865: `cursor` (`None` for the first page) and `count`.
    Cursor {
        cursor: Option<String>,
        count: usize,
    },
}

/// A parsed list or search request.
#[derive(Debug, Clone)]
pub(super) struct ListQuery {
    pub filter: Option<Filter>,
    filter_text: String,
    sort: Option<(AttrPath, SortOrder)>,
    pub paging: Paging,
    /// The declared schema extensions, for their attributes' `caseExact`.
    extensions: Arc<Extensions>,
}

fn invalid_value(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

/// The request's parameters, whether from a query string or a SearchRequest body.
pub(super) struct ListParams<'a> {
    pub filter: Option<&'a str>,
    pub sort_by: Option<&'a str>,
    pub sort_order: Option<&'a str>,
    pub start_index: Option<usize>,
    pub count: Option<usize>,
    pub cursor: Option<&'a str>,
}

impl<'a> ListParams<'a> {
    pub(super) fn from_query(query: &'a Query) -> Result<Self, ScimError> {
        Ok(Self {
            filter: query.get("filter"),
            sort_by: query.get("sortBy"),
            sort_order: query.get("sortOrder"),
            start_index: query.integer("startIndex")?,
            count: query.integer("count")?,
            cursor: query.get("cursor"),
        })
    }

    /// A SearchRequest body (RFC 7644 §3.4.3).
    pub(super) fn from_search(body: &'a Value) -> Result<Self, ScimError> {
        let text = |name: &str| -> Result<Option<&'a str>, ScimError> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(invalid_value(format!("`{name}` must be a string"))),
            }
        };
        let integer = |name: &str| -> Result<Option<usize>, ScimError> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(n) => Ok(Some(usize::try_from(n.max(0)).unwrap_or(usize::MAX))),
                    None => Err(invalid_value(format!("`{name}` must be an integer"))),
                },
                Some(_) => Err(invalid_value(format!("`{name}` must be an integer"))),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start_index: integer("startIndex")?,
            count: integer("count")?,
            cursor: text("cursor")?,
        })
    }
}

impl ListQuery {
    pub(super) fn parse(
        params: &ListParams<'_>,
        config: &Config,
        extensions: &Arc<Extensions>,
    ) -> Result<Self, ScimError> {
        let filter = params.filter.map(parse_filter).transpose()?;
        let sort = match params.sort_by {
            Some(by) => {
                let path =
                    AttrPath::parse(by).map_err(|e| invalid_value(format!("sortBy: {e}")))?;
                let order = params
                    .sort_order
                    .map(SortOrder::parse)
                    .transpose()?
                    .unwrap_or_default();
                Some((path, order))
            }
            None => None,
        };
        let count = params
            .count
            .unwrap_or(config.default_page_size)
            .min(config.max_page_size);
        let paging = match (params.cursor, params.start_index) {
            (Some(_), Some(_)) => {
                return Err(invalid_value(
                    "use either `cursor` or `startIndex` paging, not both".into(),
                ));
            }
            (Some(cursor), None) => Paging::Cursor {
                cursor: Some(cursor).filter(|c| !c.is_empty()).map(str::to_owned),
                count,
            },
            (None, start_index) => Paging::Index {
                start_index: start_index.unwrap_or(1).max(1),
                count,
            },
        };
        Ok(Self {
            filter,
            filter_text: params.filter.unwrap_or("").to_owned(),
            sort,
            paging,
            extensions: extensions.clone(),
        })
    }

    /// Whether the filter or `sortBy` may read the top-level attribute `key` of a view
    /// (named as an attribute, or as the extension URN it lives under). The evaluator
    /// and the sort reach a view only through these names, so a view of just these
    /// attributes selects and orders exactly as the whole resource does.
    pub(super) fn reads(&self, key: &str) -> bool {
        let names = |path: &AttrPath| {
            path.attribute.eq_ignore_ascii_case(key)
                || path
                    .urn
                    .as_deref()
                    .is_some_and(|urn| urn.eq_ignore_ascii_case(key))
        };
        fn filter_reads(filter: &Filter, names: &dyn Fn(&AttrPath) -> bool) -> bool {
            match filter {
                Filter::Compare { path, .. } | Filter::Present(path) => names(path),
                // The inner filter's paths are relative to the multi-valued attribute.
                Filter::ValuePath { path, .. } => names(path),
                Filter::And(a, b) | Filter::Or(a, b) => {
                    filter_reads(a, names) || filter_reads(b, names)
                }
                Filter::Not(inner) => filter_reads(inner, names),
            }
        }
        self.filter
            .as_ref()
            .is_some_and(|f| filter_reads(f, &names))
            || self.sort.as_ref().is_some_and(|(path, _)| names(path))
    }

    /// Whether candidates need their SCIM view to be selected and ordered.
    pub(super) fn needs_view(&self) -> bool {
        self.filter.is_some() || self.sort.is_some()
    }

    fn fingerprint(&self, scope: &str) -> QueryFingerprint {
        let (sort_by, order) = match &self.sort {
            Some((path, order)) => (path.to_string(), format!("{order:?}")),
            None => (String::new(), String::new()),
        };
        QueryFingerprint::of(&[scope, &self.filter_text, &sort_by, &order])
    }

    /// Selects, orders and pages `candidates` (in id order, each with its id and, when
    /// [`ListQuery::needs_view`], its SCIM view), returning the page and the envelope.
    pub(super) fn run<T>(
        &self,
        candidates: Vec<(String, Option<Value>, T)>,
        kind: ResourceKind,
        scope: &str,
        cursors: &CursorCodec,
    ) -> Result<(Vec<T>, Page), ScimError> {
        let mut matches: Vec<(String, Option<Value>, T)> = match &self.filter {
            Some(filter) => candidates
                .into_iter()
                .filter(|(_, view, _)| {
                    view.as_ref()
                        .is_some_and(|v| filter.matches(v, &self.extensions.rules(kind)))
                })
                .collect(),
            None => candidates,
        };
        if let Some((by, order)) = &self.sort {
            let null = Value::Null;
            matches.sort_by(|a, b| {
                let (x, y) = (a.1.as_ref().unwrap_or(&null), b.1.as_ref().unwrap_or(&null));
                compare_resources(x, y, by, *order, &self.extensions.rules(kind))
            });
        }
        let total = matches.len();
        match &self.paging {
            Paging::Index { start_index, count } => {
                let items = matches
                    .into_iter()
                    .skip(start_index - 1)
                    .take(*count)
                    .map(|(_, _, t)| t)
                    .collect();
                Ok((
                    items,
                    Page {
                        total,
                        start_index: Some(*start_index),
                        next_cursor: None,
                    },
                ))
            }
            Paging::Cursor { cursor, count } => {
                let fingerprint = self.fingerprint(scope);
                let skip = match cursor
                    .as_deref()
                    .map(|c| cursors.decode(fingerprint, c))
                    .transpose()?
                {
                    None => 0,
                    Some(CursorPosition::Offset(n)) => n,
                    Some(CursorPosition::AfterId(after)) => {
                        let after = listing_order(&after);
                        matches
                            .iter()
                            .take_while(|(id, _, _)| listing_order(id) <= after)
                            .count()
                    }
                };
                let rest = total.saturating_sub(skip);
                let page: Vec<(String, Option<Value>, T)> =
                    matches.into_iter().skip(skip).take(*count).collect();
                let next_cursor = (rest > page.len() && *count > 0).then(|| {
                    let position = match (&self.sort, page.last()) {
                        (None, Some((id, _, _))) => CursorPosition::AfterId(id.clone()),
                        _ => CursorPosition::Offset(skip + page.len()),
                    };
                    cursors.encode(fingerprint, &position)
                });
                let items = page.into_iter().map(|(_, _, t)| t).collect();
                Ok((
                    items,
                    Page {
                        total,
                        start_index: None,
                        next_cursor,
                    },
                ))
            }
        }
    }
}

/// Where an id sorts in an unsorted listing: in id order, users before groups (root
/// `.search` lists users first).
fn listing_order(id: &str) -> (bool, &str) {
    (id.starts_with(crate::model::GroupId::PREFIX), id)
}

/// One resource type's side of a listing: its store calls and its SCIM view, so that
/// `/Users`, `/Groups` and root `.search` share one paging flow.
#[async_trait]
pub(super) trait Listable: Send + Sync {
    type Item: Send + Sync;
    /// The item's id, as cursors carry it.
    fn id(item: &Self::Item) -> String;
    /// How many items the store-side selection holds.
    async fn count(&self) -> Result<u64, ScimError>;
    /// A page of the store-side selection, in id order.
    async fn list(
        &self,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<Self::Item>, ScimError>;
    /// The SCIM views the filter and sort read, one per item, in order.
    async fn views(&self, items: &[Self::Item]) -> Result<Vec<Value>, ScimError>;
    /// Whether the store-side selection is exactly what the query's filter selects
    /// (the filter is one indexed equality), so no view needs reading.
    fn selects_by_whole_filter(&self) -> bool {
        false
    }
}

fn too_many(ceiling: usize) -> ScimError {
    ScimError::bad_request(
        ScimType::TooMany,
        format!(
            "this filter or sortBy is not answered by an index and would read more than \
             {ceiling} resources; filter on userName, externalId, emails.value, displayName \
             or id with `eq`, or page without sortBy"
        ),
    )
}

impl ListQuery {
    /// Answers the query over `source`: paged by the store when there is nothing to
    /// select or order above it, else over at most `ceiling` candidates (more is
    /// `tooMany`, never an unbounded scan).
    pub(super) async fn answer<L: Listable>(
        &self,
        source: &L,
        kind: ResourceKind,
        scope: &str,
        cursors: &CursorCodec,
        ceiling: usize,
    ) -> Result<(Vec<L::Item>, Page), ScimError> {
        if self.needs_view() {
            let items = source.list(None, 0, ceiling.saturating_add(1)).await?;
            if items.len() > ceiling {
                return Err(too_many(ceiling));
            }
            if self.sort.is_none() && source.selects_by_whole_filter() {
                // `userName eq "..."` and the like, as IdPs send before every write: the
                // store has selected by the whole filter, so skip rendering each
                // candidate's view and evaluating the filter on it again.
                let candidates = items
                    .into_iter()
                    .map(|item| (L::id(&item), None, item))
                    .collect();
                return self.without_filter().run(candidates, kind, scope, cursors);
            }
            let views = source.views(&items).await?;
            let candidates = items
                .into_iter()
                .zip(views)
                .map(|(item, view)| (L::id(&item), Some(view), item))
                .collect();
            return self.run(candidates, kind, scope, cursors);
        }
        let total = usize::try_from(source.count().await?).unwrap_or(usize::MAX);
        match &self.paging {
            Paging::Index { start_index, count } => {
                let items = source.list(None, start_index - 1, *count).await?;
                Ok((
                    items,
                    Page {
                        total,
                        start_index: Some(*start_index),
                        next_cursor: None,
                    },
                ))
            }
            Paging::Cursor { cursor, count } => {
                let fingerprint = self.fingerprint(scope);
                let position = cursor
                    .as_deref()
                    .map(|c| cursors.decode(fingerprint, c))
                    .transpose()?;
                let (after, skip) = match &position {
                    None => (None, 0),
                    Some(CursorPosition::AfterId(id)) => (Some(id.as_str()), 0),
                    Some(CursorPosition::Offset(n)) => (None, *n),
                };
                let mut items = source.list(after, skip, count.saturating_add(1)).await?;
                let more = items.len() > *count;
                items.truncate(*count);
                let next_cursor = match (more, items.last()) {
                    (true, Some(last)) => {
                        Some(cursors.encode(fingerprint, &CursorPosition::AfterId(L::id(last))))
                    }
                    _ => None,
                };
                Ok((
                    items,
                    Page {
                        total,
                        start_index: None,
                        next_cursor,
                    },
                ))
            }
        }
    }

    /// Whether the filter (if any) selects `view`, under `kind`'s case rules.
    pub(super) fn selects(&self, view: &Value, kind: ResourceKind) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.matches(view, &self.extensions.rules(kind)))
    }

    /// The same query with its selection already applied: sorts and pages only (the
    /// cursor fingerprint still covers the filter).
    pub(super) fn without_filter(&self) -> Self {
        Self {
            filter: None,
            ..self.clone()
        }
    }

    /// The query's fingerprint for `scope`, for listings that page themselves.
    pub(super) fn fingerprint_for(&self, scope: &str) -> QueryFingerprint {
        self.fingerprint(scope)
    }
}

/// The envelope of a page of results.
#[derive(Debug, Clone)]
pub(super) struct Page {
    pub total: usize,
    pub start_index: Option<usize>,
    pub next_cursor: Option<String>,
}

/// A ListResponse (RFC 7644 §3.4.2) over borrowed resources, serialised with the same
/// members in the same order as [`Page::respond`] builds.
pub(super) struct ListBody<'r, R> {
    page: &'r Page,
    resources: &'r [R],
}

impl<R: serde::Serialize> serde::Serialize for ListBody<'_, R> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("schemas", &[crate::urn::LIST_RESPONSE])?;
        map.serialize_entry("totalResults", &self.page.total)?;
        map.serialize_entry("itemsPerPage", &self.resources.len())?;
        if let Some(start_index) = self.page.start_index {
            map.serialize_entry("startIndex", &start_index)?;
        }
        map.serialize_entry("Resources", self.resources)?;
        if let Some(cursor) = &self.page.next_cursor {
            map.serialize_entry("nextCursor", cursor)?;
        }
        map.end()
    }
}

impl Page {
    /// The ListResponse holding `resources`, to serialise without building it.
    pub(super) fn list_body<'r, R>(&'r self, resources: &'r [R]) -> ListBody<'r, R> {
        ListBody {
            page: self,
            resources,
        }
    }

    /// The ListResponse holding `resources`.
    pub(super) fn respond(self, resources: Vec<Value>) -> Value {
        let mut body = list_response(resources, self.total, self.start_index.unwrap_or(1));
        if let Some(object) = body.as_object_mut() {
            if self.start_index.is_none() {
                object.remove("startIndex");
            }
            if let Some(cursor) = self.next_cursor {
                object.insert("nextCursor".into(), cursor.into());
            }
        }
        body
    }
}

#[cfg(test)]
mod view_tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_query_reads_the_attributes_and_extensions_its_filter_and_sort_name() {
        let svc = crate::ScimService::builder(Arc::new(crate::store::MemoryStore::new())).build();
        let filter = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\" \
                      and not (emails[type eq \"work\"]) or Title pr";
        let params = ListParams {
            filter: Some(filter),
            sort_by: Some("name.familyName"),
            sort_order: None,
            start_index: None,
            count: None,
            cursor: None,
        };
        let query =
            ListQuery::parse(&params, &svc.inner.config, &svc.inner.config.extensions).unwrap();
        for key in [
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "emails",
            "title",
            "NAME",
        ] {
            assert!(query.reads(key), "{key}");
        }
        for key in ["userName", "meta", "type", "id"] {
            assert!(!query.reads(key), "{key}");
        }
    }
}
