//! `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).
//!
//! The order is total over any JSON a client sends: values of different types rank by type
//! (booleans, numbers, dates, other strings) instead of comparing "equal", because an
//! inconsistent comparison makes the standard library's sort panic.

use std::cmp::Ordering;

use serde_json::{Number, Value};
use time::OffsetDateTime;

use super::eval::{attribute, compare_numbers, datetime, fold, get_ignore_case, leaves};
use crate::error::ScimType;
use crate::protocol::ProtocolError;
use crate::protocol::path::{AttrPath, CaseExactness};

/// The direction of a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SortOrder {
    /// Smallest first (the default).
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

impl SortOrder {
    /// Reads `ascending` / `descending`, case-insensitively; anything else is a 400
    /// `invalidValue` error.
    pub(crate) fn parse(text: &str) -> Result<Self, ProtocolError> {
        if text.eq_ignore_ascii_case("ascending") {
            Ok(Self::Ascending)
        } else if text.eq_ignore_ascii_case("descending") {
            Ok(Self::Descending)
        } else {
            Err(ProtocolError::new(
                ScimType::InvalidValue,
                format!("sortOrder must be `ascending` or `descending`, not `{text}`"),
            ))
        }
    }
}

/// What a resource sorts by, in the rank order of the variants.
enum SortKey<'a> {
    Bool(bool),
    Number(&'a Number),
    Date(OffsetDateTime),
    /// Folded to lower case unless the attribute is case-exact.
    Text(std::borrow::Cow<'a, str>),
}

impl SortKey<'_> {
    fn rank(&self) -> u8 {
        match self {
            Self::Bool(_) => 0,
            Self::Number(_) => 1,
            Self::Date(_) => 2,
            Self::Text(_) => 3,
        }
    }

    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Bool(x), Self::Bool(y)) => x.cmp(y),
            (Self::Number(x), Self::Number(y)) => compare_numbers(x, y),
            (Self::Date(x), Self::Date(y)) => x.cmp(y),
            (Self::Text(x), Self::Text(y)) => x.cmp(y),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// The value a resource sorts by: for a multi-valued attribute, its primary element's
/// (else its first). Objects and nulls have no key.
fn sort_key<'a>(resource: &'a Value, by: &AttrPath, case_exact: bool) -> Option<SortKey<'a>> {
    let primary_value = match attribute(resource, by) {
        Some(Value::Array(elements)) => elements
            .iter()
            .filter_map(Value::as_object)
            .find(|e| get_ignore_case(e, "primary").and_then(Value::as_bool) == Some(true))
            .and_then(|p| get_ignore_case(p, by.sub_attribute.as_deref().unwrap_or("value"))),
        _ => None,
    };
    let value = primary_value.or_else(|| leaves(resource, by).into_iter().next())?;
    match value {
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::Number(n) => Some(SortKey::Number(n)),
        Value::String(s) => Some(match datetime(s) {
            Some(date) => SortKey::Date(date),
            None => SortKey::Text(fold(s, case_exact)),
        }),
        _ => None,
    }
}

/// Resources without a key come last in either order.
fn compare_keys(a: Option<&SortKey<'_>>, b: Option<&SortKey<'_>>, order: SortOrder) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => match order {
            SortOrder::Ascending => x.cmp(y),
            SortOrder::Descending => x.cmp(y).reverse(),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// How two resources order under `sortBy`/`sortOrder`: strings case-insensitively unless
/// case-exact, numbers by value, RFC 3339 dates chronologically, a multi-valued attribute by
/// its primary (else first) value; resources without a value come last in either order.
/// A total order, whatever the JSON holds.
pub(crate) fn compare_resources(
    a: &Value,
    b: &Value,
    by: &AttrPath,
    order: SortOrder,
    rules: &dyn CaseExactness,
) -> Ordering {
    let case_exact = rules.case_exact(by);
    compare_keys(
        sort_key(a, by, case_exact).as_ref(),
        sort_key(b, by, case_exact).as_ref(),
        order,
    )
}

#[cfg(test)]
/// Sorts resources by an attribute, stably (see [`compare_resources`]). Each resource's
/// key is worked out once, not once per comparison.
pub(crate) fn sort_resources(
    resources: &mut [Value],
    by: &AttrPath,
    order: SortOrder,
    rules: &dyn CaseExactness,
) {
    let case_exact = rules.case_exact(by);
    let mut positions: Vec<usize> = (0..resources.len()).collect();
    {
        let keys: Vec<Option<SortKey<'_>>> = resources
            .iter()
            .map(|r| sort_key(r, by, case_exact))
            .collect();
        positions.sort_by(|&i, &j| {
            compare_keys(
                keys.get(i).and_then(Option::as_ref),
                keys.get(j).and_then(Option::as_ref),
                order,
            )
        });
    }
    let mut taken: Vec<Value> = resources.iter_mut().map(std::mem::take).collect();
    for (slot, position) in resources.iter_mut().zip(positions) {
        if let Some(value) = taken.get_mut(position) {
            *slot = std::mem::take(value);
        }
    }
}
