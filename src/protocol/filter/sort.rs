//! `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).

use std::cmp::Ordering;

use serde_json::Value;

use super::eval::{attribute, compare_strings, leaves};
use crate::error::{ScimError, ScimType};
use crate::protocol::path::{AttrPath, CaseExactness};

/// The direction of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Smallest first (the default).
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

impl SortOrder {
    /// Reads `ascending` / `descending`, case-insensitively.
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        if text.eq_ignore_ascii_case("ascending") {
            Ok(Self::Ascending)
        } else if text.eq_ignore_ascii_case("descending") {
            Ok(Self::Descending)
        } else {
            Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("sortOrder must be `ascending` or `descending`, not `{text}`"),
            ))
        }
    }
}

/// The value a resource sorts by: for a multi-valued attribute, its primary element's
/// (else its first).
fn sort_key<'a>(resource: &'a Value, by: &AttrPath) -> Option<&'a Value> {
    if let Some(Value::Array(elements)) = attribute(resource, by) {
        let primary = elements
            .iter()
            .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
        let sub = by.sub_attribute.as_deref().unwrap_or("value");
        if let Some(key) = primary.and_then(|p| p.get(sub)) {
            return Some(key);
        }
    }
    leaves(resource, by).into_iter().next()
}

fn compare_keys(a: &Value, b: &Value, case_exact: bool) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => compare_strings(x, y, case_exact),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// How two resources order under `sortBy`/`sortOrder`: resources without a value come
/// last in either order.
pub fn compare_resources(
    a: &Value,
    b: &Value,
    by: &AttrPath,
    order: SortOrder,
    rules: &dyn CaseExactness,
) -> Ordering {
    match (sort_key(a, by), sort_key(b, by)) {
        (Some(x), Some(y)) => {
            let ordering = compare_keys(x, y, rules.case_exact(by));
            match order {
                SortOrder::Ascending => ordering,
                SortOrder::Descending => ordering.reverse(),
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Sorts resources by an attribute, stably (see [`compare_resources`]).
pub fn sort_resources(
    resources: &mut [Value],
    by: &AttrPath,
    order: SortOrder,
    rules: &dyn CaseExactness,
) {
    resources.sort_by(|a, b| compare_resources(a, b, by, order, rules));
}
